"""Linear recurrent unit (Orvieto et al. 2023): `LRUCell` and `LRU`."""

import math
import random as python_random

import keras
from keras import initializers
from keras import ops

from kerasrnn.layers.linear_recurrence import LinearRecurrentCell
from kerasrnn.layers.linear_recurrence import LinearRecurrentLayer
from kerasrnn.validation import ArgumentError
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number


def ring_init(shape, r_min, r_max, max_phase, seed=None):
    """`(nu_log, theta_log)` of eigenvalues drawn uniformly on the ring
    `r_min <= |λ| <= r_max` with phases in `[0, max_phase]` (Orvieto et al.,
    Lemma 3.2). Without a `seed`, one is drawn from Python's `random`, as
    Keras's initializers draw theirs (so `keras.utils.set_random_seed`
    fixes it): the draws are then stateless, and work wherever the layer
    is built, a traced graph included."""
    if seed is None:
        seed = python_random.randint(1, int(1e9))
    u1 = keras.random.uniform(shape, seed=seed)
    u2 = keras.random.uniform(shape, seed=seed + 1)
    nu_log = ops.log(-0.5 * ops.log(u1 * (r_max**2 - r_min**2) + r_min**2))
    theta_log = ops.log(max_phase * u2 + 1e-12)
    return nu_log, theta_log


@keras.saving.register_keras_serializable(package="kerasrnn")
class LRUCell(LinearRecurrentCell):
    """Cell of the linear recurrent unit.

    A complex diagonal linear recurrence with an exponential
    parametrisation of its eigenvalues and a normalised input:

    λ = exp(−exp(ν) + i exp(θ))                 (|λ| < 1 for any ν, θ)
    γ = exp(γ_log),  γ_log initialised to log √(1 − |λ|²)
    s_t = λ ⊙ s_{t-1} + γ ⊙ (x_t B)             (s_t ∈ ℂ^N)
    y_t = Re(s_t C) + x_t D + b

    The eigenvalues start uniformly on the ring `r_min <= |λ| <= r_max` with
    phases in `[0, max_phase]` (the defaults are the long-range setting of
    the paper). `B` and `C` are complex, stored as real and imaginary parts.
    The paper's `D` is diagonal because its input and output widths are
    equal; here the output has `units` features whatever the input width, so
    `D` is an `(input_dim, units)` matrix (and `b` an optional bias).

    Weights: `nu_log`, `theta_log`, `gamma_log` `(state_units,)`;
    `input_kernel_real`, `input_kernel_imag` `(input_dim, state_units)`;
    `output_kernel_real`, `output_kernel_imag` `(state_units, units)`;
    `kernel` (D) `(input_dim, units)`; `bias` `(units,)`.

    Args:
        units: Positive integer, width of the output.
        state_units: Width of the complex state (default `units`).
        r_min, r_max: Radii of the eigenvalues at initialisation,
            `0 < r_min <= r_max < 1`. Default 0.9, 0.999.
        max_phase: Largest phase at initialisation. Default π / 10.
        use_bias: Whether the output has a bias. Default: `True`.
        kernel_initializer: Initializer of `D`. Default: variance-scaled
            normal, standard deviation `1 / sqrt(input_dim)`.
        bias_initializer: Default `"zeros"`.
        kernel_regularizer, bias_regularizer, kernel_constraint,
        bias_constraint: Regularizers / constraints of `B`, `C`, `D` / of the
            bias. Default `None`.
        dropout: Fraction of the input units to drop (same mask every step).
        seed: Random seed for dropout and the eigenvalues' initialisation.

    `B` starts normal with standard deviation `1 / sqrt(2 input_dim)` and
    `C` with `1 / sqrt(state_units)`, each part, as in the paper.

    Call arguments:
        inputs: `(batch, features)` tensor.
        states: `[s_real, s_imag]`, two `(batch, state_units)` tensors.
        training: Whether dropout is active.

    Example:

    >>> layer = keras.layers.RNN(kerasrnn.layers.LRUCell(4, state_units=8))
    >>> layer(np.zeros((2, 3, 5))).shape
    (2, 4)

    Reference:
        Orvieto, Smith, Gu, Fernando, Gulcehre, Pascanu & De, "Resurrecting
        Recurrent Neural Networks for Long Sequences", ICML 2023.
    """

    complex_state = True

    def __init__(
        self,
        units,
        state_units=None,
        r_min=0.9,
        r_max=0.999,
        max_phase=math.pi / 10,
        kernel_initializer=None,
        **kwargs,
    ):
        if kernel_initializer is None:
            kernel_initializer = initializers.VarianceScaling(1.0, "fan_in", "untruncated_normal")
        super().__init__(units, kernel_initializer=kernel_initializer, **kwargs)
        self.state_units = check_positive_int("state_units", state_units if state_units is not None else units)
        r_min = check_positive_number("r_min", r_min)
        r_max = check_positive_number("r_max", r_max)
        if not r_min < 1:
            raise ArgumentError("r_min", r_min, "a radius in (0, 1)")
        if not r_min <= r_max < 1:
            raise ArgumentError("r_max", r_max, f"a radius in [r_min, 1) = [{r_min}, 1)")
        self.r_min, self.r_max = r_min, r_max
        self.max_phase = check_positive_number("max_phase", max_phase)

    @property
    def recurrent_units(self):
        return self.state_units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        n = self.state_units
        # The initial values are computed inside the initializers, in the
        # context where Keras creates the variables: a build traced in a
        # graph (a subclassed model's first call on TensorFlow) must not hand
        # them tensors of that graph. One draw of the ring gives both ν and
        # θ, and γ is computed from the variable ν.
        ring = {}

        def nu_init(*args, **kwargs):
            ring["nu"], ring["theta"] = ring_init((n,), self.r_min, self.r_max, self.max_phase, self.seed)
            return ring["nu"]

        def gamma_init(*args, **kwargs):
            return 0.5 * ops.log(-ops.expm1(-2.0 * ops.exp(ops.convert_to_tensor(self.nu_log))))

        self.nu_log = self.add_weight(shape=(n,), name="nu_log", initializer=nu_init)
        self.theta_log = self.add_weight(shape=(n,), name="theta_log", initializer=lambda *a, **k: ring.pop("theta"))
        self.gamma_log = self.add_weight(shape=(n,), name="gamma_log", initializer=gamma_init)
        # A seeded Keras initializer gives the same values at every call: one
        # seed per kernel, or the real and imaginary parts would be equal.
        def init(scale, offset):
            seed = None if self.seed is None else self.seed + offset
            return initializers.VarianceScaling(scale, "fan_in", "untruncated_normal", seed=seed)

        self.input_kernel_real = self.add_kernel("input_kernel_real", (input_dim, n), init(0.5, 2))
        self.input_kernel_imag = self.add_kernel("input_kernel_imag", (input_dim, n), init(0.5, 3))
        self.output_kernel_real = self.add_kernel("output_kernel_real", (n, self.units), init(1.0, 4))
        self.output_kernel_imag = self.add_kernel("output_kernel_imag", (n, self.units), init(1.0, 5))
        self.kernel = self.add_kernel("kernel", (input_dim, self.units))
        self.bias = self.add_bias("bias", (self.units,)) if self.use_bias else None

    def eigenvalues(self):
        """`(real, imaginary)` parts of λ."""
        modulus = ops.exp(-ops.exp(self.nu_log))
        phase = ops.exp(self.theta_log)
        return modulus * ops.cos(phase), modulus * ops.sin(phase)

    def coefficients(self, inputs):
        gamma = ops.exp(self.gamma_log)
        b = (ops.matmul(inputs, self.input_kernel_real) * gamma, ops.matmul(inputs, self.input_kernel_imag) * gamma)
        return self.eigenvalues(), b

    def readout(self, states, inputs):
        s_re, s_im = states
        y = ops.matmul(s_re, self.output_kernel_real) - ops.matmul(s_im, self.output_kernel_imag)
        return y + self.dense(inputs, self.kernel, self.bias)

    def get_config(self):
        return {
            **super().get_config(),
            "state_units": self.state_units,
            "r_min": self.r_min,
            "r_max": self.r_max,
            "max_phase": self.max_phase,
        }


@keras.saving.register_keras_serializable(package="kerasrnn")
class LRU(LinearRecurrentLayer):
    """Linear recurrent unit layer (Orvieto et al. 2023), by a parallel scan.

    The equations are those of `LRUCell`. The complex states of all steps
    come from `kerasrnn.ops.linear_scan` on `(real, imaginary)` pairs in
    `O(log T)` dependent rounds; the input and output products are one
    matrix product each over the whole sequence. `return_state=True`
    returns the state as two tensors, its real and imaginary parts.

    Args:
        units: Positive integer, width of the output.
        state_units, r_min, r_max, max_phase, use_bias, *_initializer,
        *_regularizer, *_constraint, dropout, seed: As for `LRUCell`.
        activity_regularizer, return_sequences, return_state, go_backwards,
        stateful, unroll, fast_path: As for `kerasrnn.layers.MinGRU`.

    Call arguments:
        sequences: `(batch, timesteps, features)` tensor.
        initial_state: Optional list `[s_real, s_imag]` of
            `(batch, state_units)` tensors.
        mask: Optional boolean `(batch, timesteps)`; masked steps keep the
            state and repeat the previous output.
        training: Whether dropout is active.

    Example:

    >>> layer = kerasrnn.layers.LRU(16, state_units=32, return_sequences=True)
    >>> layer(np.zeros((2, 10, 8))).shape
    (2, 10, 16)

    Reference:
        Orvieto, Smith, Gu, Fernando, Gulcehre, Pascanu & De, "Resurrecting
        Recurrent Neural Networks for Long Sequences", ICML 2023.
    """

    cell_class = LRUCell
    cell_name = "lru_cell"
