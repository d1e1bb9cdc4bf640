"""Layer-normalized LSTM: `LayerNormLSTMCell` and `LayerNormLSTM`."""

import keras
from keras import initializers
from keras import ops

from kerasrnn.layers.cell import RecurrentCell
from kerasrnn.layers.cell import get_activation
from kerasrnn.layers.lstm import unit_forget_bias_initializer
from kerasrnn.layers.sequence import RecurrentLayer
from kerasrnn.validation import check_positive_number

__all__ = ["LayerNormLSTM", "LayerNormLSTMCell", "layer_norm", "layer_norm_lstm_step"]

#: The three normalizations of the cell, in the order of their weights.
NORMS = ("kernel_norm", "recurrent_norm", "state_norm")


def layer_norm(x, gamma, beta, epsilon):
    """LN(x) = (x − μ) / sqrt(σ² + ε) ⊙ γ + β over the last axis of `x`.

    Half-precision inputs are normalized in float32 (as
    `keras.layers.LayerNormalization` does) and the result cast back.
    """
    dtype = keras.backend.standardize_dtype(x.dtype)
    compute = "float32" if dtype in ("float16", "bfloat16") else dtype
    x = ops.cast(x, compute)
    mean, variance = ops.moments(x, axes=[-1], keepdims=True)
    y = (x - mean) * ops.rsqrt(variance + epsilon) * ops.cast(gamma, compute) + ops.cast(beta, compute)
    return ops.cast(y, dtype)


def layer_norm_lstm_step(z, c, activation, recurrent_activation, state_norm):
    """Gate maths of the layer-normalized LSTM given the (normalized)
    pre-activations `z = [z_i, z_f, z_c, z_o]`; `state_norm(c)` normalizes the
    new cell state. Returns `(h, c)` with `c` normalized."""
    z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
    i = recurrent_activation(z_i)
    f = recurrent_activation(z_f)
    c = state_norm(f * c + i * activation(z_c))
    o = recurrent_activation(z_o)
    return o * activation(c), c


@keras.saving.register_keras_serializable(package="kerasrnn")
class LayerNormLSTMCell(RecurrentCell):
    """Cell of the LSTM with layer normalization (Ba et al. 2016).

    With LN(v; γ, β) = (v − mean(v)) / sqrt(var(v) + ε) ⊙ γ + β, the mean and
    variance taken over the features of each sample:

    [z_i; z_f; z_c; z_o] = LN(x_t W; γ_x, β_x) + LN(h_{t-1} U; γ_h, β_h) + b
    i_t = σ(z_i),  f_t = σ(z_f),  o_t = σ(z_o)
    c_t = LN(f_t ⊙ c_{t-1} + i_t ⊙ tanh(z_c); γ_c, β_c)
    h_t = o_t ⊙ tanh(c_t)

    (σ is `recurrent_activation`, tanh is `activation`.) This is the cell of
    `tfa.rnn.LayerNormLSTMCell` (TensorFlow Addons), with its arguments,
    defaults and numbers: the input and recurrent normalizations each take the
    whole `4 units` pre-activation vector (all four gates together, as in
    Ba et al.'s equations), the bias is added after them, and the normalized
    cell state is the state carried to the next step. Its weights, in order,
    are `kernel` `(input_dim, 4 units)`, `recurrent_kernel` `(units, 4 units)`,
    `bias` `(4 units,)` (gate order i, f, c, o, as `keras.layers.LSTMCell`),
    then γ and β of each normalization: `kernel_norm_gamma`,
    `kernel_norm_beta`, `recurrent_norm_gamma`, `recurrent_norm_beta`
    (`(4 units,)`), `state_norm_gamma`, `state_norm_beta` (`(units,)`) — the
    order of `get_weights()` of the TensorFlow Addons cell, so its weights
    load with `set_weights`.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation of the candidate and the output. Default tanh.
        recurrent_activation: Activation of the gates. Default sigmoid.
        use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
        unit_forget_bias, *_regularizer, *_constraint, dropout,
        recurrent_dropout, seed: As for `kerasrnn.layers.LSTMCell`.
        norm_gamma_initializer: Initializer of the three γ. Default `"ones"`.
        norm_beta_initializer: Initializer of the three β. Default `"zeros"`.
        norm_epsilon: Positive float ε added to the variances. Default 1e-3.

    Call arguments:
        inputs: `(batch, features)` tensor.
        states: `[h, c]`, two `(batch, units)` tensors.
        training: Whether dropout is active.

    Example:

    >>> layer = keras.layers.RNN(kerasrnn.layers.LayerNormLSTMCell(4))
    >>> layer(np.zeros((2, 3, 5))).shape
    (2, 4)

    Reference:
        Ba, Kiros & Hinton, "Layer Normalization", arXiv:1607.06450, 2016
        (§3.1 and the LSTM equations of its supplementary material).
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
        norm_gamma_initializer="ones",
        norm_beta_initializer="zeros",
        norm_epsilon=1e-3,
        **kwargs,
    ):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = get_activation(recurrent_activation, "recurrent_activation")
        self.unit_forget_bias = bool(unit_forget_bias)
        self.norm_gamma_initializer = initializers.get(norm_gamma_initializer)
        self.norm_beta_initializer = initializers.get(norm_beta_initializer)
        self.norm_epsilon = check_positive_number("norm_epsilon", norm_epsilon)

    def make_bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        return unit_forget_bias_initializer(self.bias_initializer, self.units)

    def build_extra_weights(self):
        widths = {"kernel_norm": 4 * self.units, "recurrent_norm": 4 * self.units, "state_norm": self.units}
        for norm in NORMS:
            for param, initializer in (("gamma", self.norm_gamma_initializer), ("beta", self.norm_beta_initializer)):
                name = f"{norm}_{param}"
                setattr(self, name, self.add_weight(shape=(widths[norm],), name=name, initializer=initializer))

    def normalize(self, norm, x):
        """`layer_norm` of `x` with the γ and β of `norm` (one of `NORMS`)."""
        return layer_norm(x, getattr(self, f"{norm}_gamma"), getattr(self, f"{norm}_beta"), self.norm_epsilon)

    def input_projection(self, inputs, dropout_mask=None):
        # The bias comes after the normalization (which would cancel most of
        # it); `recurrent_matmul` applies one dropout mask per gate block.
        z = self.normalize("kernel_norm", self.recurrent_matmul(inputs, self.kernel, dropout_mask))
        if self.use_bias:
            z = z + self.bias
        return z

    def recurrent_step(self, projected_inputs, states, recurrent_mask=None):
        h, c = states
        recurrent = self.recurrent_matmul(h, self.recurrent_kernel, recurrent_mask)
        z = projected_inputs + self.normalize("recurrent_norm", recurrent)
        h, c = layer_norm_lstm_step(
            z, c, self.activation, self.recurrent_activation, lambda v: self.normalize("state_norm", v)
        )
        return h, [h, c]

    def get_config(self):
        config = {
            "unit_forget_bias": self.unit_forget_bias,
            "norm_gamma_initializer": initializers.serialize(self.norm_gamma_initializer),
            "norm_beta_initializer": initializers.serialize(self.norm_beta_initializer),
            "norm_epsilon": self.norm_epsilon,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="kerasrnn")
class LayerNormLSTM(RecurrentLayer):
    """LSTM layer with layer normalization (Ba et al. 2016).

    Runs `LayerNormLSTMCell` over a sequence: the input projection and its
    normalization for all time steps are computed before the loop (one matrix
    product), the loop runs the recurrent product, its normalization and the
    gate maths, differentiated automatically. With `fast_path=False` Keras's
    generic loop drives `cell.call` instead; the numbers are the same.
    `keras.layers.RNN(LayerNormLSTMCell(units))` replaces
    `keras.layers.RNN(tfa.rnn.LayerNormLSTMCell(units))` with the same
    weights and numbers; this layer is the faster equivalent.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation, recurrent_activation, use_bias, *_initializer,
        unit_forget_bias, *_regularizer, *_constraint, dropout,
        recurrent_dropout, seed, norm_gamma_initializer,
        norm_beta_initializer, norm_epsilon: As for `LayerNormLSTMCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
        fast_path: As for `kerasrnn.layers.LSTM`.

    Call arguments:
        sequences: `(batch, timesteps, features)` tensor.
        initial_state: Optional list `[h, c]` of `(batch, units)` tensors.
        mask: Optional boolean `(batch, timesteps)`; masked steps keep the
            previous states and repeat the previous output.
        training: Whether dropout is active.

    Output shape: `(batch, units)`, or `(batch, timesteps, units)` with
    `return_sequences=True`; followed by `h` and `c` with `return_state=True`.

    Example:

    >>> layer = kerasrnn.layers.LayerNormLSTM(8, return_sequences=True)
    >>> layer(np.zeros((2, 5, 3))).shape
    (2, 5, 8)

    Reference:
        Ba, Kiros & Hinton, "Layer Normalization", arXiv:1607.06450, 2016.
    """

    cell_class = LayerNormLSTMCell
    cell_name = "layer_norm_lstm_cell"
