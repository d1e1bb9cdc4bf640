"""Long short-term memory: `LSTMCell` and `LSTM`, with optional peepholes."""

import random

import keras
from keras import activations
from keras import initializers
from keras import ops

from kerasrnn.layers.cell import RecurrentCell
from kerasrnn.layers.sequence import RecurrentLayer
from kerasrnn.layers.cell import get_activation
from kerasrnn.ops.fused import LSTMKernel


def lstm_step(z, c, activation, recurrent_activation, peepholes=None):
    """LSTM gate maths given the pre-activations `z = [z_i, z_f, z_c, z_o]`.

    With `peepholes = (p_i, p_f, p_o)` the previous cell state feeds the input
    and forget gates and the new cell state feeds the output gate.
    Returns `(h, c)`.
    """
    z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
    if peepholes is not None:
        p_i, p_f, p_o = peepholes
        z_i = z_i + p_i * c
        z_f = z_f + p_f * c
    i = recurrent_activation(z_i)
    f = recurrent_activation(z_f)
    c = f * c + i * activation(z_c)
    if peepholes is not None:
        z_o = z_o + p_o * c
    o = recurrent_activation(z_o)
    return o * activation(c), c


def unit_forget_bias_initializer(base, units, gates=4):
    """Bias initializer of gate blocks [i, f, ...]: `base` everywhere but the
    forget gate (second block), which starts at 1 (Jozefowicz et al. 2015)."""

    def bias_initializer(_, *args, **kwargs):
        return ops.concatenate(
            [
                base((units,), *args, **kwargs),
                initializers.get("ones")((units,), *args, **kwargs),
                base(((gates - 2) * units,), *args, **kwargs),
            ]
        )

    return bias_initializer


@keras.saving.register_keras_serializable(package="kerasrnn")
class LSTMCell(RecurrentCell):
    """Cell of the long short-term memory network.

    i_t = σ(x_t W_i + h_{t-1} U_i + b_i [+ p_i ⊙ c_{t-1}])
    f_t = σ(x_t W_f + h_{t-1} U_f + b_f [+ p_f ⊙ c_{t-1}])
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ tanh(x_t W_c + h_{t-1} U_c + b_c)
    o_t = σ(x_t W_o + h_{t-1} U_o + b_o [+ p_o ⊙ c_t])
    h_t = o_t ⊙ tanh(c_t)

    (σ is `recurrent_activation`, tanh is `activation`; the bracketed peephole
    terms only with `peephole=True`.) With `zoneout` (Krueger et al. 2016)
    each state s ∈ {h, c} with rate p then becomes, per unit,
    d ⊙ s_{t-1} + (1 − d) ⊙ s_t with d ~ Bernoulli(p) drawn every step in
    training, and (1 − p) s_t + p s_{t-1} in inference; the output is the
    zoned-out h. Same arguments, defaults, weights
    (`kernel` `(input_dim, 4 units)`, `recurrent_kernel` `(units, 4 units)`,
    `bias` `(4 units,)`, gate order i, f, c, o) and numbers as
    `keras.layers.LSTMCell`.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the candidate and the output. Default tanh.
        recurrent_activation: Activation of the gates. Default sigmoid.
        use_bias: Whether the layer uses a bias vector. Default: `True`.
        kernel_initializer, recurrent_initializer, bias_initializer:
            Initializers (`"glorot_uniform"`, `"orthogonal"`, `"zeros"`).
        unit_forget_bias: Add 1 to the forget-gate bias at initialization.
        kernel_regularizer, recurrent_regularizer, bias_regularizer:
            Regularizers. Default: `None`.
        kernel_constraint, recurrent_constraint, bias_constraint:
            Constraints. Default: `None`.
        dropout: Fraction of the input units to drop (same mask every step).
        recurrent_dropout: Fraction of the recurrent units to drop.
        seed: Random seed for dropout and zoneout.
        zoneout: Zoneout rates, each in [0, 1): one float for both states or
            `[rate_h, rate_c]` (e.g. `[0.05, 0.5]`: Krueger et al. zone
            out the cell state more often than the output). Default 0: no zoneout. The same update as
            `ZoneoutCell(LSTMCell(...), rate=zoneout)`.
        peephole: Add the peephole connections of Gers & Schmidhuber (2000):
            three extra weight vectors `input_gate_peephole_weights`,
            `forget_gate_peephole_weights`, `output_gate_peephole_weights`
            of shape `(units,)`, initialized by `peephole_initializer`.
        peephole_initializer: Default `"glorot_uniform"`.

    Call arguments:
        inputs: `(batch, features)` tensor.
        states: `[h, c]`, two `(batch, units)` tensors.
        training: Whether dropout is active.

    Example:

    >>> layer = keras.layers.RNN(kerasrnn.layers.LSTMCell(4, peephole=True))
    >>> layer(np.zeros((2, 3, 5))).shape
    (2, 4)

    Reference:
        Hochreiter & Schmidhuber, "Long Short-Term Memory", 1997;
        Gers & Schmidhuber, "Recurrent nets that time and count", 2000.
    """

    gates = 4
    state_names = ("h", "c")
    _activation_args = ("activation", "recurrent_activation")

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        unit_forget_bias=True,
        peephole=False,
        peephole_initializer="glorot_uniform",
        zoneout=0.0,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = get_activation(recurrent_activation, "recurrent_activation")
        self.set_zoneout(zoneout)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.peephole = bool(peephole)
        if self.peephole:
            self.peephole_initializer = initializers.get(peephole_initializer)
        else:
            # No peephole weights will be drawn, so resolving the initializer
            # must not take a seed from Python's global `random` either (an
            # unseeded Keras initializer does on construction): every weight
            # created after this layer then gets the value it gets after
            # Keras's LSTM under the same `keras.utils.set_random_seed`.
            state = random.getstate()
            self.peephole_initializer = initializers.get(peephole_initializer)
            random.setstate(state)

    def make_bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        return unit_forget_bias_initializer(self.bias_initializer, self.units)

    def build_extra_weights(self):
        self.peephole_weights = None
        if self.peephole:
            self.peephole_weights = tuple(
                self.add_weight(
                    shape=(self.units,),
                    name=f"{gate}_gate_peephole_weights",
                    initializer=self.peephole_initializer,
                )
                for gate in ("input", "forget", "output")
            )

    def fused_kernel(self, recurrent_mask=None):
        if (
            recurrent_mask is None
            and not self.has_zoneout
            and not self.peephole
            and self.activation is activations.tanh
            and self.recurrent_activation is activations.sigmoid
        ):
            return LSTMKernel()
        return None

    def recurrent_step(self, projected_inputs, states, recurrent_mask=None):
        h, c = states
        z = projected_inputs + self.recurrent_matmul(h, self.recurrent_kernel, recurrent_mask)
        h, c = lstm_step(z, c, self.activation, self.recurrent_activation, self.peephole_weights)
        return h, [h, c]

    def get_config(self):
        config = {
            "unit_forget_bias": self.unit_forget_bias,
            "peephole": self.peephole,
            "peephole_initializer": initializers.serialize(self.peephole_initializer),
            "zoneout": self.zoneout,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="kerasrnn")
class LSTM(RecurrentLayer):
    """Long short-term memory layer (Hochreiter & Schmidhuber 1997), fused.

    A drop-in replacement for `keras.layers.LSTM`: same constructor arguments
    and defaults, same weights, same outputs, plus `peephole=True`. The input
    projection of all time steps is one matrix product outside the loop, and
    the loop runs one recurrent matrix product and the fused gate maths per
    step. Unlike Keras's cuDNN-eligible LSTM it never turns XLA off.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation, recurrent_activation, use_bias, *_initializer,
        unit_forget_bias, *_regularizer, *_constraint, dropout,
        recurrent_dropout, seed, peephole, peephole_initializer:
            As for `LSTMCell`.
        zoneout: Zoneout rate(s) of `h` and `c`, as for `LSTMCell` (one
            float or `[rate_h, rate_c]`; default 0, no zoneout). With a rate
            above 0 the layer runs its `"fused_autodiff"` loop (the hoisted
            input projection, then the cell's step and the zoneout update,
            differentiated automatically) instead of the hand-written fused
            kernel. In training the masks of all steps are drawn before the
            loop, so training works under XLA and on every backend,
            JAX's `lax.scan` included (unlike `ZoneoutCell` in
            `keras.layers.RNN`, which draws inside the loop and needs
            `unroll=True` to train on JAX); `fast_path=False` draws them step
            by step in the cell, as `ZoneoutCell` does.
        activity_regularizer: Regularizer applied to the layer's output.
        return_sequences: Return the full sequence (else the last output).
        return_state: Also return the final states `h` and `c`.
        go_backwards: Process the sequence backwards and return the reversed
            sequence.
        stateful: Carry the last states of each sample into the next batch.
        unroll: Unroll the time loop in Python (short, static lengths only).
        use_cudnn: Accepted for compatibility with `keras.layers.LSTM` and
            ignored: kerasrnn has no cuDNN kernel.
        fast_path: Use the fused path (default). `False` drives `cell.call`
            through Keras's generic loop; the numbers are the same.

    Call arguments:
        sequences: `(batch, timesteps, features)` tensor.
        initial_state: Optional list `[h, c]` of `(batch, units)` tensors.
        mask: Optional boolean `(batch, timesteps)`; masked steps keep the
            previous states and repeat the previous output.
        training: Whether dropout is active.

    Output shape: `(batch, units)`, or `(batch, timesteps, units)` with
    `return_sequences=True`; followed by `h` and `c` with `return_state=True`.

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input((None,), dtype="int32"),
    ...     keras.layers.Embedding(1000, 32, mask_zero=True),
    ...     kerasrnn.layers.LSTM(64),
    ...     keras.layers.Dense(1, activation="sigmoid"),
    ... ])
    >>> model.compile("adam", "binary_crossentropy")
    >>> zoned = kerasrnn.layers.LSTM(64, zoneout=[0.05, 0.5])  # rates of h and c

    Reference:
        Hochreiter & Schmidhuber, "Long Short-Term Memory", 1997; Krueger et
        al., "Zoneout: Regularizing RNNs by Randomly Preserving Hidden
        Activations", ICLR 2017 (arXiv:1606.01305).
    """

    cell_class = LSTMCell
    cell_name = "lstm_cell"
