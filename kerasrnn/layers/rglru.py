"""Real-gated linear recurrent unit (De et al. 2024): `RGLRUCell` and `RGLRU`."""

import random as python_random
import keras
from keras import ops

from kerasrnn.layers.linear_recurrence import LinearRecurrentCell
from kerasrnn.layers.linear_recurrence import LinearRecurrentLayer
from kerasrnn.validation import check_positive_number


def rglru_coefficients(gate_a, gate_x, values, a_param, c):
    """`(log a_t, b_t)` of the RG-LRU from the pre-activations of its
    recurrence gate and input gate and the values it reads:
    `log a_t = −c σ(gate_a) softplus(−Λ)` (that is `a_t = σ(Λ)^(c r_t)`) and
    `b_t = √(1 − a_t²) ⊙ σ(gate_x) ⊙ values`."""
    log_a = -c * ops.sigmoid(gate_a) * ops.softplus(-a_param)
    # √(1 − a²) has an unbounded derivative as a → 1 (Griffin bounds it too).
    multiplier = ops.sqrt(ops.maximum(-ops.expm1(2.0 * log_a), 1e-6))
    return log_a, multiplier * ops.sigmoid(gate_x) * values


def a_param_initializer(low=0.9, high=0.999, seed=None):
    """Initializer of Λ such that `a^c = σ(Λ)^c` is uniform in `[low, high]`
    for `c = 8` (De et al., section 2.4). Without a `seed`, one is drawn
    from Python's `random` when the initializer is made, as Keras's
    initializers draw theirs: the draw is stateless and works wherever the
    layer is built, a traced graph included."""
    if seed is None:
        seed = python_random.randint(1, int(1e9))

    def init(shape, dtype=None):
        a = keras.random.uniform(shape, minval=low, maxval=high, dtype=dtype, seed=seed) ** (1.0 / 8.0)
        return ops.log(a) - ops.log1p(-a)

    return init


@keras.saving.register_keras_serializable(package="kerasrnn")
class RGLRUCell(LinearRecurrentCell):
    """Cell of the real-gated linear recurrent unit (RG-LRU) of Griffin and Hawk.

    r_t = σ(x_t W_a + b_a)                  recurrence gate
    i_t = σ(x_t W_x + b_x)                  input gate
    a_t = a^(c r_t),  a = σ(Λ)              log a_t = −c r_t softplus(−Λ)
    h_t = a_t ⊙ h_{t-1} + √(1 − a_t²) ⊙ (i_t ⊙ (x_t W_v + b_v))

    with `c = 8` and Λ initialised so that `a^c` is uniform in
    `[0.9, 0.999]`. The gates depend on the input only, so the recurrence
    is linear in `h`. In the paper the RG-LRU reads an input as wide as its
    state (the output of the Hawk block's convolution, see `HawkBlock`); here
    its values are a learnt projection `x_t W_v + b_v`, so that the layer
    takes any input width like the other kerasrnn layers.

    Weights: `kernel` `(input_dim, 3 units)` and `bias` `(3 units,)` (blocks
    a, x, v) and `a_param` (Λ) `(units,)`.

    Args:
        units: Positive integer, width of the state and the output.
        c: The fixed scale of the recurrence gate's exponent. Default 8.
        use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, kernel_constraint, bias_constraint, dropout, seed:
            As for `MinGRUCell`.

    Call arguments:
        inputs: `(batch, features)` tensor.
        states: `[h]`, one `(batch, units)` tensor.
        training: Whether dropout is active.

    Example:

    >>> layer = keras.layers.RNN(kerasrnn.layers.RGLRUCell(4))
    >>> layer(np.zeros((2, 3, 5))).shape
    (2, 4)

    Reference:
        De, Smith, Fernando et al., "Griffin: Mixing Gated Linear Recurrences
        with Local Attention for Efficient Language Models", 2024.
    """

    def __init__(self, units, c=8.0, **kwargs):
        super().__init__(units, **kwargs)
        self.c = check_positive_number("c", c)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.kernel = self.add_kernel("kernel", (input_dim, 3 * self.units))
        self.bias = self.add_bias("bias", (3 * self.units,)) if self.use_bias else None
        self.a_param = self.add_weight(shape=(self.units,), name="a_param", initializer=a_param_initializer(seed=self.seed))

    def coefficients(self, inputs):
        gate_a, gate_x, values = ops.split(self.dense(inputs, self.kernel, self.bias), 3, axis=-1)
        log_a, b = rglru_coefficients(gate_a, gate_x, values, self.a_param, self.c)
        return ops.exp(log_a), b

    def get_config(self):
        return {**super().get_config(), "c": self.c}


@keras.saving.register_keras_serializable(package="kerasrnn")
class RGLRU(LinearRecurrentLayer):
    """Real-gated linear recurrent unit layer (De et al. 2024), by a parallel scan.

    The equations are those of `RGLRUCell`; arguments, call arguments and
    shapes as for `kerasrnn.layers.MinGRU` (plus `c`).

    Example:

    >>> layer = kerasrnn.layers.RGLRU(16, return_sequences=True)
    >>> layer(np.zeros((2, 10, 8))).shape
    (2, 10, 16)

    Reference:
        De, Smith, Fernando et al., "Griffin: Mixing Gated Linear Recurrences
        with Local Attention for Efficient Language Models", 2024.
    """

    cell_class = RGLRUCell
    cell_name = "rglru_cell"
