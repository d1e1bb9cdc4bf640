"""NumPy reference implementations of the recurrent cells, from the equations."""

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def simple_rnn_cell(x, states, kernel, recurrent_kernel, bias, activation=np.tanh):
    (h,) = states
    out = x @ kernel + h @ recurrent_kernel
    if bias is not None:
        out = out + bias
    out = activation(out)
    return out, [out]


def lstm_cell(x, states, kernel, recurrent_kernel, bias, peepholes=None):
    h, c = states
    z = x @ kernel + h @ recurrent_kernel
    if bias is not None:
        z = z + bias
    zi, zf, zc, zo = np.split(z, 4, axis=-1)
    if peepholes is not None:
        zi = zi + peepholes[0] * c
        zf = zf + peepholes[1] * c
    i, f = sigmoid(zi), sigmoid(zf)
    c = f * c + i * np.tanh(zc)
    if peepholes is not None:
        zo = zo + peepholes[2] * c
    o = sigmoid(zo)
    h = o * np.tanh(c)
    return h, [h, c]


def gru_cell(x, states, kernel, recurrent_kernel, bias, reset_after=True):
    (h,) = states
    units = h.shape[-1]
    if bias is None:
        input_bias = recurrent_bias = 0.0
    elif reset_after:
        input_bias, recurrent_bias = bias[0], bias[1]
    else:
        input_bias, recurrent_bias = bias, 0.0
    xz, xr, xh = np.split(x @ kernel + input_bias, 3, axis=-1)
    if reset_after:
        rz, rr, rh = np.split(h @ recurrent_kernel + recurrent_bias, 3, axis=-1)
        z, r = sigmoid(xz + rz), sigmoid(xr + rr)
        hh = np.tanh(xh + r * rh)
    else:
        rz, rr = np.split(h @ recurrent_kernel[:, : 2 * units], 2, axis=-1)
        z, r = sigmoid(xz + rz), sigmoid(xr + rr)
        hh = np.tanh(xh + (r * h) @ recurrent_kernel[:, 2 * units :])
    h = z * h + (1 - z) * hh
    return h, [h]


def layer_norm(x, gamma, beta, epsilon):
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


def layer_norm_lstm_cell(x, states, kernel, recurrent_kernel, bias, norms, epsilon=1e-3):
    """The LSTM of Ba et al. (2016) as tfa.rnn.LayerNormLSTMCell computes it:
    `norms` maps "kernel_norm", "recurrent_norm", "state_norm" to (gamma, beta);
    the normalized cell state is the state carried."""
    h, c = states
    z = layer_norm(x @ kernel, *norms["kernel_norm"], epsilon)
    z = z + layer_norm(h @ recurrent_kernel, *norms["recurrent_norm"], epsilon)
    if bias is not None:
        z = z + bias
    zi, zf, zc, zo = np.split(z, 4, axis=-1)
    c = sigmoid(zf) * c + sigmoid(zi) * np.tanh(zc)
    c = layer_norm(c, *norms["state_norm"], epsilon)
    h = sigmoid(zo) * np.tanh(c)
    return h, [h, c]


def zoneout_inference(cell_fn, rates):
    """Zoneout at inference (Krueger et al. 2016) around a reference step:
    each state is (1 - p) new + p old; the output is the zoned-out first state
    when the cell outputs its first state."""

    def step(x, states):
        out, new = cell_fn(x, states)
        zoned = [(1 - p) * n + p * s for n, s, p in zip(new, states, rates)]
        return (zoned[0] if out is new[0] else out), zoned

    return step


def run_sequence(cell_fn, inputs, states, mask=None, go_backwards=False):
    """Keras semantics: masked steps keep states and repeat the last output."""
    batch, steps = inputs.shape[:2]
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outputs, prev = [], np.zeros_like(states[0])
    for t in order:
        out, new = cell_fn(inputs[:, t], states)
        if mask is not None:
            m = mask[:, t][:, None]
            new = [np.where(m, n, s) for n, s in zip(new, states)]
            out = np.where(m, out, prev)
        states, prev = new, out
        outputs.append(out)
    return np.stack(outputs, axis=1), states


def masked_softmax(scores, mask):
    scores = np.where(mask, scores, -np.inf)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def additive_scores(q, value, query_kernel, memory_kernel, v, g=None, b=None):
    """Bahdanau / Luong-concat scores of queries `(B, Tq, dq)` over `value`;
    with `g` and `b`, weight normalization of `v` and a bias."""
    hidden = (q @ query_kernel)[:, :, None, :] + (value @ memory_kernel)[:, None]
    if g is not None:
        v = g * v / np.linalg.norm(v)
        hidden = hidden + b
    return np.tanh(hidden) @ v


def attention(scores, value, mask, single_query):
    """(context, weights) of `(B, Tq, Tv)` scores; `single_query` drops the Tq axis."""
    weights = masked_softmax(scores, mask[:, None, :])
    context = weights @ value
    if single_query:
        return context[:, 0], weights[:, 0]
    return context, weights
