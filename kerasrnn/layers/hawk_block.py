"""The recurrent block of Hawk (De et al. 2024): `HawkBlockCell` and `HawkBlock`."""

import keras
from keras import activations
from keras import ops

from kerasrnn.layers.cell import get_activation
from kerasrnn.layers.linear_recurrence import LinearRecurrentCell
from kerasrnn.layers.linear_recurrence import LinearRecurrentLayer
from kerasrnn.layers.linear_recurrence import scan_dtype
from kerasrnn.layers.rglru import a_param_initializer
from kerasrnn.layers.rglru import rglru_coefficients
from kerasrnn.ops.linear_scan import linear_scan
from kerasrnn.validation import check_int
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number


@keras.saving.register_keras_serializable(package="kerasrnn")
class HawkBlockCell(LinearRecurrentCell):
    """One step of Hawk's recurrent (temporal-mixing) block.

    Two branches of width `rnn_units` read the input; a causal convolution
    of width `w` and an RG-LRU run on one, a GeLU gate on the other, and their
    product is projected back to `units`:

    u_t = x_t W_u + b_u
    v_t = Σ_{k<w} K_k ⊙ u_{t−k} + b_K               (depthwise causal convolution)
    r_t = σ(v_t W_a + b_a),  i_t = σ(v_t W_x + b_x)
    a_t = σ(Λ)^(c r_t)
    h_t = a_t ⊙ h_{t-1} + √(1 − a_t²) ⊙ (i_t ⊙ v_t)  (the RG-LRU, `RGLRUCell`)
    y_t = (GeLU(x_t W_g + b_g) ⊙ h_t) W_o + b_o

    The state is `h` and the convolution's window, the last `w − 1` values
    of `u` (newest first) flattened to one `((w − 1) rnn_units)` tensor. The
    paper's gate matrices `W_a`, `W_x` are block-diagonal; here they are
    dense. The residual connections, normalisation and MLP of a full Hawk
    residual block are left to the model.

    Weights: `gate_kernel`, `input_kernel` `(input_dim, rnn_units)`,
    `conv_kernel` `(conv_width, rnn_units)` (row `k` multiplies `u_{t−k}`),
    `rglru_kernel` `(rnn_units, 2 rnn_units)`, `a_param` `(rnn_units,)`,
    `output_kernel` `(rnn_units, units)`, and with `use_bias` one bias per
    kernel (`gate_bias`, `input_bias`, `conv_bias`, `rglru_bias`,
    `output_bias`).

    Args:
        units: Positive integer, width of the output.
        rnn_units: Width of the branches and of the recurrence (default
            `units`; Hawk uses 4/3 of the model width).
        conv_width: Width of the causal convolution, >= 2. Default 4.
        c: Scale of the recurrence gate's exponent (`RGLRUCell`). Default 8.
        activation: Activation of the gate branch. Default `"gelu"`.
        use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, kernel_constraint, bias_constraint, dropout, seed:
            As for `MinGRUCell`.

    Call arguments:
        inputs: `(batch, features)` tensor.
        states: `[h, conv_state]`: `(batch, rnn_units)` and
            `(batch, (conv_width − 1) rnn_units)`.
        training: Whether dropout is active.

    Example:

    >>> layer = keras.layers.RNN(kerasrnn.layers.HawkBlockCell(4, rnn_units=6))
    >>> layer(np.zeros((2, 3, 5))).shape
    (2, 4)

    Reference:
        De, Smith, Fernando et al., "Griffin: Mixing Gated Linear Recurrences
        with Local Attention for Efficient Language Models", 2024.
    """

    def __init__(self, units, rnn_units=None, conv_width=4, c=8.0, activation="gelu", **kwargs):
        super().__init__(units, **kwargs)
        self.rnn_units = check_positive_int("rnn_units", rnn_units if rnn_units is not None else units)
        self.conv_width = check_int("conv_width", conv_width, minimum=2)
        self.c = check_positive_number("c", c)
        self.activation = get_activation(activation, "activation")

    state_names = ("h", "conv_state")

    @property
    def state_size(self):
        return [self.rnn_units, (self.conv_width - 1) * self.rnn_units]

    def build(self, input_shape):
        input_dim, r = input_shape[-1], self.rnn_units
        bias = (lambda name, n: self.add_bias(name, (n,))) if self.use_bias else (lambda name, n: None)
        self.gate_kernel = self.add_kernel("gate_kernel", (input_dim, r))
        self.gate_bias = bias("gate_bias", r)
        self.input_kernel = self.add_kernel("input_kernel", (input_dim, r))
        self.input_bias = bias("input_bias", r)
        self.conv_kernel = self.add_kernel("conv_kernel", (self.conv_width, r))
        self.conv_bias = bias("conv_bias", r)
        self.rglru_kernel = self.add_kernel("rglru_kernel", (r, 2 * r))
        self.rglru_bias = bias("rglru_bias", 2 * r)
        self.a_param = self.add_weight(shape=(r,), name="a_param", initializer=a_param_initializer(seed=self.seed))
        self.output_kernel = self.add_kernel("output_kernel", (r, self.units))
        self.output_bias = bias("output_bias", self.units)

    def _recurrence_inputs(self, v):
        gate_a, gate_x = ops.split(self.dense(v, self.rglru_kernel, self.rglru_bias), 2, axis=-1)
        log_a, b = rglru_coefficients(gate_a, gate_x, v, self.a_param, self.c)
        return ops.exp(log_a), b

    def _output(self, x, h):
        gate = self.activation(self.dense(x, self.gate_kernel, self.gate_bias))
        return self.dense(gate * h, self.output_kernel, self.output_bias)

    def _conv_bias(self, v):
        return v if self.conv_bias is None else v + self.conv_bias

    def call(self, inputs, states, training=False):
        h, window = states
        mask = self.input_dropout_mask(inputs, training)
        if mask is not None:
            inputs = inputs * mask
        u = self.dense(inputs, self.input_kernel, self.input_bias)
        previous = ops.split(window, self.conv_width - 1, axis=-1)  # u_{t-1}, u_{t-2}, ...
        v = u * self.conv_kernel[0]
        for k, u_prev in enumerate(previous, start=1):
            v = v + u_prev * self.conv_kernel[k]
        a, b = self._recurrence_inputs(self._conv_bias(v))
        h = a * h + b
        window = ops.concatenate([u] + previous[:-1], axis=-1)
        return self._output(inputs, h), [h, window]

    def scan_sequence(self, inputs, initial_state, mask=None, training=False):
        """As `LinearRecurrentCell.scan_sequence`. With a mask, the unmasked
        steps of each sequence are first gathered to the front, in order, so
        that the convolution reads the previous *unmasked* inputs as the
        step form does; the outputs are gathered back after."""
        dtype = self.compute_dtype
        dropout_mask = self.input_dropout_mask(inputs[0], training)
        if dropout_mask is not None:
            inputs = inputs * ops.expand_dims(dropout_mask, 0)
        steps, w, r = ops.shape(inputs)[0], self.conv_width, self.rnn_units
        time = ops.arange(steps)[:, None]
        if mask is not None:
            # Stable order of the unmasked steps, then the masked ones.
            order = ops.argsort(ops.where(mask, time, time + steps), axis=0)
            inputs = ops.take_along_axis(inputs, order[..., None], axis=0)
            mask = ops.take_along_axis(mask, order, axis=0)
        h0, window = initial_state
        # The window, oldest first, then this sequence's values of u.
        previous = ops.split(window, w - 1, axis=-1)[::-1]
        u = self.dense(inputs, self.input_kernel, self.input_bias)
        u_all = ops.concatenate([ops.stack(previous, axis=0), u], axis=0)
        length = inputs.shape[0] if inputs.shape[0] is not None else steps
        v = u * self.conv_kernel[0]
        for k in range(1, w):
            v = v + u_all[w - 1 - k : w - 1 - k + length] * self.conv_kernel[k]
        a, b = self._recurrence_inputs(self._conv_bias(v))
        work = scan_dtype(dtype)
        h = linear_scan(ops.cast(a, work), ops.cast(b, work), ops.cast(h0, work), mask, axis=0)
        h = ops.cast(h, dtype)
        outputs = self._output(inputs, h)
        # The final window: the last w - 1 values of u of unmasked steps.
        if mask is None:
            last = ops.flip(u_all[-(w - 1) :], axis=0)
        else:
            count = ops.sum(ops.cast(mask, "int32"), axis=0)
            index = count[None, :] + (w - 2) - ops.arange(w - 1, dtype="int32")[:, None]
            last = ops.take_along_axis(u_all, index[..., None], axis=0)
        window = ops.concatenate(ops.split(last, w - 1, axis=0), axis=-1)[0]
        if mask is not None:
            # Step t shows the output of the last unmasked step up to t.
            position = ops.cumsum(ops.cast(ops.take_along_axis(mask, ops.argsort(order, axis=0), axis=0),
                                           "int32"), axis=0) - 1
            gathered = ops.take_along_axis(outputs, ops.maximum(position, 0)[..., None], axis=0)
            outputs = ops.where(ops.expand_dims(position >= 0, -1), gathered, ops.zeros_like(gathered))
        return outputs, [h[-1], window]

    def get_config(self):
        return {
            **super().get_config(),
            "rnn_units": self.rnn_units,
            "conv_width": self.conv_width,
            "c": self.c,
            "activation": activations.serialize(self.activation),
        }


@keras.saving.register_keras_serializable(package="kerasrnn")
class HawkBlock(LinearRecurrentLayer):
    """Hawk's recurrent block (De et al. 2024) over a sequence, by a parallel scan.

    The equations are those of `HawkBlockCell`. The convolution is a sum of
    shifted copies of the sequence, the RG-LRU's states come from
    `kerasrnn.ops.linear_scan`, and every projection is one matrix product
    over the whole sequence. Arguments, call arguments and shapes as for
    `kerasrnn.layers.MinGRU` (plus `rnn_units`, `conv_width`, `c`,
    `activation`); `return_state=True` returns `h` and `conv_state`.

    Example:

    >>> block = kerasrnn.layers.HawkBlock(16, rnn_units=24, return_sequences=True)
    >>> block(np.zeros((2, 10, 16))).shape
    (2, 10, 16)

    Reference:
        De, Smith, Fernando et al., "Griffin: Mixing Gated Linear Recurrences
        with Local Attention for Efficient Language Models", 2024.
    """

    cell_class = HawkBlockCell
    cell_name = "hawk_block_cell"
