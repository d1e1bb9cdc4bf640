"""Gated recurrent unit: `GRUCell` and `GRU`, both reset conventions."""

import keras
from keras import activations
from keras import ops

from kerasrnn.layers.cell import RecurrentCell
from kerasrnn.layers.sequence import RecurrentLayer
from kerasrnn.layers.cell import get_activation
from kerasrnn.ops.fused import GRUKernel


def gru_step(x, r_h, h, activation, recurrent_activation, candidate):
    """GRU update given input parts `x = [x_z, x_r, x_h]` and recurrent parts
    `r_h = [r_z, r_r]` (plus `r_h` of the candidate for `reset_after`).

    `candidate(r, x_h)` returns the candidate's pre-activation.
    Returns the new `h`.
    """
    x_z, x_r, x_h = ops.split(x, 3, axis=-1)
    r_z, r_r = r_h
    z = recurrent_activation(x_z + r_z)
    r = recurrent_activation(x_r + r_r)
    hh = activation(candidate(r, x_h))
    return z * h + (1 - z) * hh


@keras.saving.register_keras_serializable(package="kerasrnn")
class GRUCell(RecurrentCell):
    """Cell of the gated recurrent unit network.

    z_t = σ(x_t W_z + h_{t-1} U_z + b_z)
    r_t = σ(x_t W_r + h_{t-1} U_r + b_r)
    reset_after=True:  ĥ_t = tanh(x_t W_h + b_h + r_t ⊙ (h_{t-1} U_h + b'_h))
    reset_after=False: ĥ_t = tanh(x_t W_h + (r_t ⊙ h_{t-1}) U_h + b_h)
    h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ ĥ_t

    With `zoneout` rate p (Krueger et al. 2016), h_t then becomes, per unit,
    d ⊙ h_{t-1} + (1 − d) ⊙ h_t with d ~ Bernoulli(p) drawn every step in
    training, and (1 − p) h_t + p h_{t-1} in inference.

    Same arguments, defaults, weights (`kernel` `(input_dim, 3 units)`,
    `recurrent_kernel` `(units, 3 units)`, `bias` `(2, 3 units)` with
    `reset_after` (input and recurrent biases) else `(3 units,)`; gate order
    z, r, h) and numbers as `keras.layers.GRUCell`.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the candidate. Default tanh.
        recurrent_activation: Activation of the gates. Default sigmoid.
        use_bias, *_initializer, *_regularizer, *_constraint, dropout,
        recurrent_dropout, seed: As for `LSTMCell`.
        reset_after: Apply the reset gate after the recurrent matrix product
            (default, cuDNN-compatible) or before it (Cho et al. 2014).
        zoneout: Zoneout rate of `h` in [0, 1) (a float, or a list of one
            float as `ZoneoutCell` takes it). Default 0: no zoneout. The
            same update as `ZoneoutCell(GRUCell(...), rate=zoneout)`; drawn
            with `seed`.

    Call arguments:
        inputs: `(batch, features)` tensor.
        states: `[h]`, one `(batch, units)` tensor.
        training: Whether dropout is active.

    Example:

    >>> layer = keras.layers.RNN(kerasrnn.layers.GRUCell(4, reset_after=False))
    >>> layer(np.zeros((2, 3, 5))).shape
    (2, 4)

    Reference:
        Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder
        for Statistical Machine Translation", 2014.
    """

    gates = 3
    _activation_args = ("activation", "recurrent_activation")

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        reset_after=True,
        zoneout=0.0,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = get_activation(recurrent_activation, "recurrent_activation")
        self.reset_after = bool(reset_after)
        self.set_zoneout(zoneout)

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    @property
    def input_bias(self):
        return self.bias[0] if self.reset_after else self.bias

    @property
    def fused_input_bias(self):
        if not self.reset_after:
            return self.input_bias
        # The fused loop (`GRUKernel`) takes the update and reset gates'
        # recurrent biases with the input bias: two fewer adds per step.
        rec = self.bias[1]
        return self.bias[0] + ops.concatenate([rec[: 2 * self.units], ops.zeros_like(rec[2 * self.units :])])

    def fused_kernel(self, recurrent_mask=None):
        if (
            recurrent_mask is None
            and not self.has_zoneout
            and self.reset_after
            and self.activation is activations.tanh
            and self.recurrent_activation is activations.sigmoid
        ):
            return GRUKernel()
        return None

    def recurrent_step(self, projected_inputs, states, recurrent_mask=None):
        h = states[0]
        masks = recurrent_mask if recurrent_mask is not None else [None] * 3
        units = self.units
        if self.reset_after:
            inner = self.recurrent_matmul(h, self.recurrent_kernel, recurrent_mask)
            if self.use_bias:
                inner = inner + self.bias[1]
            r_z, r_r, r_h = ops.split(inner, 3, axis=-1)

            def candidate(r, x_h):
                return x_h + r * r_h

        else:
            inner = self.recurrent_matmul(
                h, self.recurrent_kernel[:, : 2 * units], None if recurrent_mask is None else masks[:2]
            )
            r_z, r_r = ops.split(inner, 2, axis=-1)
            h_h = h if masks[2] is None else h * masks[2]

            def candidate(r, x_h):
                return x_h + ops.matmul(r * h_h, self.recurrent_kernel[:, 2 * units :])

        h = gru_step(projected_inputs, (r_z, r_r), h, self.activation, self.recurrent_activation, candidate)
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after, "zoneout": self.zoneout}


@keras.saving.register_keras_serializable(package="kerasrnn")
class GRU(RecurrentLayer):
    """Gated recurrent unit layer (Cho et al. 2014), fused over time.

    A drop-in replacement for `keras.layers.GRU`: same constructor arguments
    and defaults (`reset_after=True`), same weights, same outputs. The input
    projection of all time steps is one matrix product outside the loop.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation, recurrent_activation, use_bias, *_initializer,
        *_regularizer, *_constraint, dropout, recurrent_dropout, seed,
        reset_after: As for `GRUCell`.
        zoneout: Zoneout rate of `h`, as for `GRUCell` (default 0). With a
            rate above 0 the layer runs as `kerasrnn.layers.LSTM` says for
            its `zoneout`.
        activity_regularizer: Regularizer applied to the layer's output.
        return_sequences, return_state, go_backwards, stateful, unroll,
        use_cudnn, fast_path: As for `kerasrnn.layers.LSTM`.

    Call arguments:
        sequences: `(batch, timesteps, features)` tensor.
        initial_state: Optional list with one `(batch, units)` tensor.
        mask: Optional boolean `(batch, timesteps)`.
        training: Whether dropout is active.

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input((None, 8)),
    ...     kerasrnn.layers.GRU(32, return_sequences=True),
    ...     keras.layers.Dense(1),
    ... ])
    """

    cell_class = GRUCell
    cell_name = "gru_cell"
