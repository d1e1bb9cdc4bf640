"""Elman recurrent network: `SimpleRNNCell`, `SimpleRNN` and `IRNN`."""

import keras
from keras import activations
from keras import ops

from kerasrnn.layers.cell import RecurrentCell
from kerasrnn.layers.sequence import RecurrentLayer
from kerasrnn.ops.fused import SimpleRNNKernel
from kerasrnn.validation import check_number


def simple_rnn_step(projected_inputs, h, recurrent_kernel, activation):
    """`h_t = activation(x_t W + b + h_{t-1} U)` given `x_t W + b`."""
    return activation(projected_inputs + ops.matmul(h, recurrent_kernel))


@keras.saving.register_keras_serializable(package="kerasrnn")
class SimpleRNNCell(RecurrentCell):
    """Elman cell, one step of a fully-connected recurrent network.

    h_t = activation(x_t W + h_{t-1} U + b)

    Same arguments, defaults, weights (`kernel` `(input_dim, units)`,
    `recurrent_kernel` `(units, units)`, `bias` `(units,)`) and numbers as
    `keras.layers.SimpleRNNCell`.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation function. Default: `"tanh"`.
        use_bias: Whether the layer uses a bias vector. Default: `True`.
        kernel_initializer, recurrent_initializer, bias_initializer:
            Initializers (`"glorot_uniform"`, `"orthogonal"`, `"zeros"`).
        kernel_regularizer, recurrent_regularizer, bias_regularizer:
            Regularizers. Default: `None`.
        kernel_constraint, recurrent_constraint, bias_constraint:
            Constraints. Default: `None`.
        dropout: Fraction of the input units to drop (same mask every step).
        recurrent_dropout: Fraction of the recurrent units to drop.
        seed: Random seed for dropout.

    Call arguments:
        inputs: `(batch, features)` tensor.
        states: `[h]`, a list holding one `(batch, units)` tensor.
        training: Whether dropout is active.

    Example:

    >>> layer = keras.layers.RNN(kerasrnn.layers.SimpleRNNCell(4))
    >>> layer(np.zeros((2, 3, 5))).shape
    (2, 4)

    Reference:
        Elman, "Finding structure in time", Cognitive Science, 1990.
    """

    _seed_generator_first = True

    def fused_kernel(self, recurrent_mask=None):
        if recurrent_mask is None and self.activation is activations.tanh:
            return SimpleRNNKernel()
        return None

    def recurrent_step(self, projected_inputs, states, recurrent_mask=None):
        h = states[0]
        if recurrent_mask is not None:
            h = h * recurrent_mask
        output = simple_rnn_step(projected_inputs, h, self.recurrent_kernel, self.activation)
        return output, [output]


@keras.saving.register_keras_serializable(package="kerasrnn")
class SimpleRNN(RecurrentLayer):
    """Fully-connected recurrent layer (Elman network), fused over time.

    A drop-in replacement for `keras.layers.SimpleRNN`: same constructor
    arguments and defaults, same weights, same outputs. The input projection of
    all time steps is one matrix product outside the time loop.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation, use_bias, *_initializer, *_regularizer, *_constraint,
        dropout, recurrent_dropout, seed: As for `SimpleRNNCell`.
        activity_regularizer: Regularizer applied to the layer's output.
        return_sequences: Return the full sequence (else the last output).
        return_state: Also return the final state.
        go_backwards: Process the sequence backwards and return the reversed
            sequence.
        stateful: Carry the last state of each sample into the next batch.
        unroll: Unroll the time loop in Python (short, static lengths only).
        fast_path: Use the fused path (default). `False` drives `cell.call`
            through Keras's generic loop; the numbers are the same.

    Call arguments:
        sequences: `(batch, timesteps, features)` tensor.
        initial_state: Optional list with one `(batch, units)` tensor.
        mask: Optional boolean `(batch, timesteps)`; masked steps keep the
            previous state and repeat the previous output.
        training: Whether dropout is active.

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input((None, 8)),
    ...     kerasrnn.layers.SimpleRNN(16),
    ...     keras.layers.Dense(1),
    ... ])
    """

    cell_class = SimpleRNNCell
    cell_name = "simple_rnn_cell"


@keras.saving.register_keras_serializable(package="kerasrnn")
class IRNN(SimpleRNN):
    """Elman RNN of rectified linear units with identity recurrent weights.

    `SimpleRNN` with `activation="relu"`, `recurrent_initializer` the identity
    matrix scaled by `recurrent_gain`, zero biases and input weights drawn from
    N(0, 0.001²), as in Le, Jaitly & Hinton (2015). Every `SimpleRNN`
    argument may still be overridden.

    Args:
        units: Positive integer, dimensionality of the output space.
        recurrent_gain: Scale of the identity recurrent initializer
            (the paper also uses 0.01 for some tasks). Default: 1.0.
        **kwargs: Any `SimpleRNN` argument.

    Reference:
        Le, Jaitly & Hinton, "A Simple Way to Initialize Recurrent Networks of
        Rectified Linear Units", arXiv:1504.00941, 2015.
    """

    def __init__(self, units, recurrent_gain=1.0, **kwargs):
        recurrent_gain = check_number("recurrent_gain", recurrent_gain)
        kwargs.setdefault("activation", "relu")
        kwargs.setdefault("recurrent_initializer", keras.initializers.Identity(gain=recurrent_gain))
        kwargs.setdefault("kernel_initializer", keras.initializers.RandomNormal(stddev=0.001))
        super().__init__(units, **kwargs)
        self.recurrent_gain = float(recurrent_gain)

    def get_config(self):
        return {**super().get_config(), "recurrent_gain": self.recurrent_gain}
