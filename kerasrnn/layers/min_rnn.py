"""minGRU and minLSTM (Feng et al. 2024): `MinGRUCell`, `MinGRU`, `MinLSTMCell`, `MinLSTM`."""

import keras
from keras import ops

from kerasrnn.layers.linear_recurrence import LinearRecurrentCell
from kerasrnn.layers.linear_recurrence import LinearRecurrentLayer
from kerasrnn.validation import check_bool


def g(x):
    """The positive activation of the log-space models: `x + 0.5` for
    `x >= 0`, `sigmoid(x)` below (continuous, increasing, > 0)."""
    return ops.where(x >= 0, ops.relu(x) + 0.5, ops.sigmoid(x))


def log_g(x):
    """`log g(x)`, computed without forming `g(x)`."""
    return ops.where(x >= 0, ops.log(ops.relu(x) + 0.5), -ops.softplus(-x))


class _MinCell(LinearRecurrentCell):
    """Shared weights and arguments of the min cells: one `kernel`
    `(input_dim, gates * units)` and `bias` `(gates * units,)`."""

    gates = 2

    def __init__(self, units, log_space=True, **kwargs):
        super().__init__(units, **kwargs)
        self.log_space = check_bool("log_space", log_space)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.kernel = self.add_kernel("kernel", (input_dim, self.gates * self.units))
        self.bias = self.add_bias("bias", (self.gates * self.units,)) if self.use_bias else None

    def candidate(self, k_h):
        return g(k_h) if self.log_space else k_h

    def get_config(self):
        return {**super().get_config(), "log_space": self.log_space}


@keras.saving.register_keras_serializable(package="kerasrnn")
class MinGRUCell(_MinCell):
    """Cell of the minimal GRU of Feng et al. (2024).

    The gate and the candidate depend on the input only, so the recurrence
    is linear in `h` and the sequence layer `MinGRU` computes it by a
    parallel scan:

    z_t = σ(x_t W_z + b_z)
    h̃_t = g(x_t W_h + b_h)          (log_space=True; else x_t W_h + b_h)
    h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t

    with `g(x) = x + 0.5` for `x >= 0` and `σ(x)` below, which keeps `h̃_t`
    and (from a positive initial state) `h_t` positive, so that the scan can
    run in log space: `log(1 − z_t) = −softplus(k_t)`,
    `log(z_t h̃_t) = −softplus(−k_t) + log g(·)` (Feng et al., section 3.3).

    Weights: `kernel` `(input_dim, 2 units)` and `bias` `(2 units,)`, blocks
    z, h.

    Args:
        units: Positive integer, width of the state and the output.
        log_space: The log-space model of the paper (default): candidates
            through `g` and the scan in log space. `False`: the plain minGRU,
            linear candidates and a linear-space scan.
        use_bias: Whether the layer uses a bias vector. Default: `True`.
        kernel_initializer, bias_initializer: Default `"glorot_uniform"`,
            `"zeros"`.
        kernel_regularizer, bias_regularizer, kernel_constraint,
        bias_constraint: Default `None`.
        dropout: Fraction of the input units to drop (same mask every step).
        seed: Random seed for dropout.

    Call arguments:
        inputs: `(batch, features)` tensor.
        states: `[h]`, one `(batch, units)` tensor.
        training: Whether dropout is active.

    Example:

    >>> layer = keras.layers.RNN(kerasrnn.layers.MinGRUCell(4))
    >>> layer(np.zeros((2, 3, 5))).shape
    (2, 4)

    Reference:
        Feng, Tung, Ahmed, Bengio & Hajimirsadeghi, "Were RNNs All We
        Needed?", 2024.
    """

    gates = 2

    def coefficients(self, inputs):
        k_z, k_h = ops.split(self.dense(inputs, self.kernel, self.bias), 2, axis=-1)
        if self.log_space:
            # log(1 - z) = -softplus(k), log z = -softplus(-k).
            return -ops.softplus(k_z), -ops.softplus(-k_z) + log_g(k_h)
        z = ops.sigmoid(k_z)
        return 1.0 - z, z * k_h


@keras.saving.register_keras_serializable(package="kerasrnn")
class MinGRU(LinearRecurrentLayer):
    """Minimal GRU layer (Feng et al. 2024), computed by a parallel scan.

    The equations are those of `MinGRUCell`. All gates and candidates come
    from one matrix product over the whole sequence, and the states from
    `kerasrnn.ops.log_linear_scan` (or `linear_scan` with
    `log_space=False`) in `O(log T)` dependent rounds; there is no recurrent
    matrix product. `fast_path=False` runs the same cell step by step.

    Args:
        units: Positive integer, width of the state and the output.
        log_space, use_bias, *_initializer, *_regularizer, *_constraint,
        dropout, seed: As for `MinGRUCell`.
        activity_regularizer: Regularizer applied to the layer's output.
        return_sequences: Return the full sequence (else the last output).
        return_state: Also return the final state `h`.
        go_backwards: Process the sequence backwards and return the reversed
            sequence.
        stateful: Carry the last state of each sample into the next batch.
        unroll: Accepted for compatibility; the scan has no loop to unroll.
        fast_path: The parallel scan (default); `False` runs the cell step by
            step through Keras's loop (same numbers).

    Call arguments:
        sequences: `(batch, timesteps, features)` tensor.
        initial_state: Optional list with one `(batch, units)` tensor.
        mask: Optional boolean `(batch, timesteps)`; masked steps keep the
            state and repeat the previous output.
        training: Whether dropout is active.

    Output shape: `(batch, units)`, or `(batch, timesteps, units)` with
    `return_sequences=True`; followed by `h` with `return_state=True`.

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input((None, 8)),
    ...     kerasrnn.layers.MinGRU(32, return_sequences=True),
    ...     keras.layers.Dense(1),
    ... ])

    Reference:
        Feng, Tung, Ahmed, Bengio & Hajimirsadeghi, "Were RNNs All We
        Needed?", 2024.
    """

    cell_class = MinGRUCell
    cell_name = "min_gru_cell"


@keras.saving.register_keras_serializable(package="kerasrnn")
class MinLSTMCell(_MinCell):
    """Cell of the minimal LSTM of Feng et al. (2024).

    f_t = σ(x_t W_f + b_f),  i_t = σ(x_t W_i + b_i)
    f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
    h̃_t = g(x_t W_h + b_h)          (log_space=True; else x_t W_h + b_h)
    h_t = f'_t ⊙ h_{t-1} + i'_t ⊙ h̃_t

    The normalised gates make the state's scale independent of time. In log
    space `log f'_t = −softplus(d_t)`, `log i'_t = −softplus(−d_t)` with
    `d_t = softplus(−k_f) − softplus(−k_i)` (Feng et al., section 3.3).

    Weights: `kernel` `(input_dim, 3 units)` and `bias` `(3 units,)`, blocks
    f, i, h.

    Args:
        units, log_space, use_bias, *_initializer, *_regularizer,
        *_constraint, dropout, seed: As for `MinGRUCell`.

    Call arguments:
        inputs: `(batch, features)` tensor.
        states: `[h]`, one `(batch, units)` tensor.
        training: Whether dropout is active.

    Example:

    >>> layer = keras.layers.RNN(kerasrnn.layers.MinLSTMCell(4))
    >>> layer(np.zeros((2, 3, 5))).shape
    (2, 4)

    Reference:
        Feng, Tung, Ahmed, Bengio & Hajimirsadeghi, "Were RNNs All We
        Needed?", 2024.
    """

    gates = 3

    def coefficients(self, inputs):
        k_f, k_i, k_h = ops.split(self.dense(inputs, self.kernel, self.bias), 3, axis=-1)
        diff = ops.softplus(-k_f) - ops.softplus(-k_i)
        if self.log_space:
            return -ops.softplus(diff), -ops.softplus(-diff) + log_g(k_h)
        # f' = σ(-diff), i' = σ(diff): the normalised gates.
        return ops.sigmoid(-diff), ops.sigmoid(diff) * k_h


@keras.saving.register_keras_serializable(package="kerasrnn")
class MinLSTM(LinearRecurrentLayer):
    """Minimal LSTM layer (Feng et al. 2024), computed by a parallel scan.

    The equations are those of `MinLSTMCell`; arguments, call arguments and
    shapes as for `MinGRU`.

    Example:

    >>> layer = kerasrnn.layers.MinLSTM(16, return_sequences=True)
    >>> layer(np.zeros((2, 10, 8))).shape
    (2, 10, 16)

    Reference:
        Feng, Tung, Ahmed, Bengio & Hajimirsadeghi, "Were RNNs All We
        Needed?", 2024.
    """

    cell_class = MinLSTMCell
    cell_name = "min_lstm_cell"
