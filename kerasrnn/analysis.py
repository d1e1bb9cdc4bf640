"""Tools to look inside recurrent networks: gradient flow and gate activity,
parameter counts, and step timing.

Used by the tutorials (vanishing/exploding gradients, LSTM and GRU gates)
and the benchmarks. The inspection tools run the cell one step at a time
eagerly on small inputs; they are meant for inspection, not for training.
"""

import time

import numpy as np
from keras import ops

from kerasrnn.layers.gru import GRUCell
from kerasrnn.layers.lstm import LSTMCell


def _cell_of(layer_or_cell):
    return getattr(layer_or_cell, "cell", layer_or_cell)


def _check_inputs(inputs):
    inputs = np.asarray(inputs, dtype="float32")
    if inputs.ndim != 3:
        raise ValueError(
            f"`inputs` must have shape (batch, timesteps, features). Received: inputs.shape={inputs.shape}"
        )
    return inputs


def state_gradient_norms(layer_or_cell, inputs, seed=0):
    """‖∂L/∂s_t‖ for every step t, where L = u·h_T projects the last output.

    `s_t` is the full state after step t (`h_t`, and `c_t` for an LSTM) and
    `u` a fixed random unit vector, so the curve shows how much the last
    output still depends on the state `T - t` steps earlier: it decays
    exponentially when gradients vanish and grows when they explode.

    Args:
        layer_or_cell: A built kerasrnn (or Keras) recurrent layer or cell.
        inputs: Array `(batch, timesteps, features)`.
        seed: Seed of the projection vector `u`.

    Returns:
        NumPy array `(timesteps,)`: the batch-mean gradient norm for the
        state after each step (index `T - 1` is the last step).
    """
    import tensorflow as tf

    inputs = _check_inputs(inputs)
    cell = _cell_of(layer_or_cell)
    if not cell.built:
        cell.build(inputs.shape[:1] + inputs.shape[2:])
    batch, steps = inputs.shape[:2]
    states = [tf.zeros((batch, size)) for size in _state_sizes(cell)]
    u = np.random.RandomState(seed).randn(cell.output_size).astype("float32")
    u /= np.linalg.norm(u)
    with tf.GradientTape(persistent=True) as tape:
        history = []
        for t in range(steps):
            output, states = cell(inputs[:, t], states)
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            for s in states:
                tape.watch(s)
            history.append(states)
        loss = tf.reduce_sum(output * u)
    norms = []
    for states_t in history:
        grads = tape.gradient(loss, states_t)
        squared = sum(tf.reduce_sum(tf.square(g), axis=-1) for g in grads if g is not None)
        norms.append(float(tf.reduce_mean(tf.sqrt(squared))))
    del tape
    return np.array(norms)


def _state_sizes(cell):
    size = cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


GATE_NAMES = {
    LSTMCell: ("input", "forget", "candidate", "output"),
    GRUCell: ("update", "reset", "candidate"),
}


def gate_activations(layer_or_cell, inputs):
    """Per-step gate activations of a kerasrnn `LSTMCell` or `GRUCell`.

    Args:
        layer_or_cell: A kerasrnn `LSTM`/`GRU` layer or cell (built or not).
        inputs: Array `(batch, timesteps, features)`.

    Returns:
        Dict gate name → NumPy array `(batch, timesteps, units)`: for an
        LSTM `input`, `forget`, `candidate`, `output` (plus the `cell` state);
        for a GRU `update`, `reset`, `candidate`.
    """
    inputs = _check_inputs(inputs)
    cell = _cell_of(layer_or_cell)
    kind = next((k for k in GATE_NAMES if isinstance(cell, k)), None)
    if kind is None:
        raise ValueError(
            "`layer_or_cell` must be a kerasrnn LSTM or GRU layer or cell. "
            f"Received: {type(layer_or_cell).__name__}"
        )
    if not cell.built:
        cell.build(inputs.shape[:1] + inputs.shape[2:])
    batch, steps = inputs.shape[:2]
    states = [ops.zeros((batch, cell.units)) for _ in _state_sizes(cell)]
    records = {name: [] for name in GATE_NAMES[kind]}
    if kind is LSTMCell:
        records["cell"] = []
    act, rec_act = cell.activation, cell.recurrent_activation
    for t in range(steps):
        projected = cell.input_projection(inputs[:, t])
        h = states[0]
        if kind is LSTMCell:
            z = projected + ops.matmul(h, cell.recurrent_kernel)
            z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
            c = states[1]
            if cell.peephole:
                p_i, p_f, p_o = cell.peephole_weights
                z_i, z_f = z_i + p_i * c, z_f + p_f * c
            gates = {"input": rec_act(z_i), "forget": rec_act(z_f), "candidate": act(z_c)}
            c_new = gates["forget"] * c + gates["input"] * gates["candidate"]
            if cell.peephole:
                z_o = z_o + cell.peephole_weights[2] * c_new
            gates["output"] = rec_act(z_o)
            gates["cell"] = c_new
        else:
            if cell.reset_after:
                inner = ops.matmul(h, cell.recurrent_kernel)
                if cell.use_bias:
                    inner = inner + cell.bias[1]
            else:
                inner = ops.matmul(h, cell.recurrent_kernel[:, : 2 * cell.units])
            x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
            r_z, r_r = inner[:, : cell.units], inner[:, cell.units : 2 * cell.units]
            gates = {"update": rec_act(x_z + r_z), "reset": rec_act(x_r + r_r)}
            if cell.reset_after:
                gates["candidate"] = act(x_h + gates["reset"] * inner[:, 2 * cell.units :])
            else:
                gates["candidate"] = act(
                    x_h + ops.matmul(gates["reset"] * h, cell.recurrent_kernel[:, 2 * cell.units :])
                )
        for name, value in gates.items():
            records[name].append(np.asarray(value))
        _, states = cell(inputs[:, t], states)
        states = list(states) if isinstance(states, (list, tuple)) else [states]
    return {name: np.stack(values, axis=1) for name, values in records.items()}


def recurrent_spectral_radius(layer_or_cell, gate=None):
    """Largest absolute eigenvalue of the recurrent matrix (of one gate block).

    For an Elman network with a contractive activation, a spectral radius
    below 1 makes gradients vanish over long lags; above 1 they can explode.

    Args:
        layer_or_cell: A built kerasrnn layer or cell.
        gate: Index of the `units × units` block of the recurrent kernel
            (gate order of the cell); `None` for a single-block cell.
    """
    cell = _cell_of(layer_or_cell)
    kernel = np.asarray(cell.recurrent_kernel)
    units = kernel.shape[0]
    blocks = kernel.shape[1] // units
    if gate is None:
        if blocks != 1:
            raise ValueError(
                f"`gate` must be given for a cell with {blocks} gate blocks. Received: gate=None"
            )
        gate = 0
    if not 0 <= gate < blocks:
        raise ValueError(f"`gate` must be in [0, {blocks}). Received: gate={gate}")
    block = kernel[:, gate * units : (gate + 1) * units]
    return float(np.max(np.abs(np.linalg.eigvals(block))))


def count_parameters(layer):
    """Number of trainable scalars of a built layer."""
    return int(sum(np.prod(w.shape) for w in layer.trainable_weights))


def time_alternating(fns, steps, warmup, samples=False):
    """Median milliseconds of each of `fns`, timed in alternation (f0, f1, ...,
    f0, f1, ...) after `warmup` calls each, so that drift of the machine's
    load hits all of them alike. With `samples=True`, also returns every
    call's milliseconds: one list per function, in round order."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(steps):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[i].append(1000 * (time.perf_counter() - start))
    medians = [float(np.median(t)) for t in times]
    return (medians, times) if samples else medians
