"""Zoneout (Krueger et al. 2016) for any recurrent cell: `ZoneoutCell`."""

import keras
from keras import ops
from keras import tree
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

from kerasrnn.validation import ArgumentError
from kerasrnn.validation import check_int
from kerasrnn.validation import check_rate

__all__ = ["ZoneoutCell", "check_zoneout_rates", "zoneout"]


def _sizes(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def zoneout(new, old, rate, training, seed=None, noise=None):
    """One state's zoneout update.

    Training: each unit keeps its previous value `old` with probability
    `rate` and takes `new` otherwise (an independent draw per unit, sample
    and call). Inference: the expectation `(1 − rate) new + rate old`.
    `seed` is a `keras.random.SeedGenerator` or an integer. `noise`, when
    given, holds uniform draws in [0, 1) shaped like `new`, drawn beforehand
    (a unit is kept where `noise < rate`); then nothing is drawn here, which
    lets a loop that cannot advance a seed generator (JAX's `lax.scan`) take
    its draws as inputs.
    """
    if rate == 0.0:
        return new
    if training:
        if noise is None:
            noise = keras.random.uniform(ops.shape(new), seed=seed)
        keep = noise < rate
        return ops.where(keep, old, new)
    return (1.0 - rate) * new + rate * old


@keras.saving.register_keras_serializable(package="kerasrnn")
class ZoneoutCell(keras.layers.Layer, DropoutRNNCell):
    """Wraps a recurrent cell so that its states are zoned out (Krueger et al. 2016).

    With s̃_t the cell's new value of a state s and p the rate of that state:

    training:  s_t = d_t ⊙ s_{t-1} + (1 − d_t) ⊙ s̃_t,  d_t ~ Bernoulli(p) per unit
    inference: s_t = (1 − p) s̃_t + p s_{t-1}

    A fresh mask d_t is drawn at every step. Like dropout, zoneout is a
    stochastic regularizer, but a zoned-out unit keeps its previous value
    instead of being set to zero, so gradients and information flow through
    time along the identity. When the wrapped cell returns its first state as
    its output (the kerasrnn and Keras LSTM, GRU and SimpleRNN cells,
    `LayerNormLSTMCell`), the output is the zoned-out first state, as in the
    paper; otherwise the cell's output is passed through unchanged.

    Works with any cell (kerasrnn or Keras) wherever a cell goes:
    `keras.layers.RNN` (with masks, `go_backwards`, `stateful`,
    `return_state`, `initial_state`), `keras.layers.Bidirectional` around
    such a layer, `kerasrnn.layers.DeepRNN` (one `ZoneoutCell` per layer),
    decoders. The cell's own `dropout` / `recurrent_dropout` keep working.
    Training draws the masks inside the time loop; on JAX, whose
    `lax.scan` cannot advance a seed generator, use `keras.layers.RNN(...,
    unroll=True)` to train (inference works either way). kerasrnn's `LSTM`
    and `GRU` layers (and their cells) also take zoneout as an option,
    `LSTM(units, zoneout=[0.05, 0.15])`, with the same numbers; their
    layers draw the masks of all steps before the loop and train under
    `lax.scan` on JAX too.

    Args:
        cell: An RNN cell (with `call`, `state_size`, `output_size`) or its
            serialized config.
        rate: Probability p in [0, 1) that a unit keeps its previous value:
            one float for every state, or a list with one float per state
            (e.g. `[0.05, 0.15]` for an LSTM's `[h, c]`, the rates of
            Krueger et al. on Penn Treebank characters).
        seed: Seed of the zoneout masks.

    Call arguments:
        inputs: `(batch, features)` tensor.
        states: The wrapped cell's states.
        training: Zoneout masks when `True`, the expectation when `False`;
            passed to the wrapped cell.

    Example:

    >>> cell = ZoneoutCell(kerasrnn.layers.LSTMCell(8), rate=[0.05, 0.15])
    >>> keras.layers.RNN(cell, return_sequences=True)(np.zeros((2, 5, 3))).shape
    (2, 5, 8)

    Reference:
        Krueger et al., "Zoneout: Regularizing RNNs by Randomly Preserving
        Hidden Activations", ICLR 2017 (arXiv:1606.01305, 2016).
    """

    def __init__(self, cell, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, dict):
            cell = keras.saving.deserialize_keras_object(cell)
        if not (hasattr(cell, "state_size") and hasattr(cell, "output_size") and callable(cell)):
            raise ArgumentError("cell", cell, "an RNN cell (with `call`, `state_size` and `output_size`)")
        self.cell = cell
        self.state_size = cell.state_size
        self.output_size = cell.output_size
        count = len(_sizes(cell.state_size))
        self.rates = _check_rates(rate, count)
        self.rate = list(self.rates) if isinstance(rate, (list, tuple)) else self.rates[0]
        self.seed = None if seed is None else check_int("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(seed=self.seed)

    @property
    def state_names(self):
        return getattr(self.cell, "state_names", None)

    def build(self, input_shape):
        if not self.cell.built:
            self.cell.build(input_shape)

    def call(self, inputs, states, training=False):
        nested = tree.is_nested(states)
        old = list(states) if nested else [states]
        output, new = self.cell(inputs, states, training=training)
        new = list(new) if tree.is_nested(new) else [new]
        zoned = [zoneout(n, o, r, training, self.seed_generator) for n, o, r in zip(new, old, self.rates)]
        if output is new[0]:
            output = zoned[0]
        return output, zoned if nested else zoned[0]

    def get_initial_state(self, batch_size=None):
        if hasattr(self.cell, "get_initial_state"):
            return self.cell.get_initial_state(batch_size=batch_size)
        return [ops.zeros((batch_size, d), dtype=self.compute_dtype) for d in _sizes(self.state_size)]

    # keras.layers.RNN primes the dropout masks of the cell it drives before
    # its loop and resets them after; pass that on to the wrapped cell.
    def get_dropout_mask(self, step_input):
        if isinstance(self.cell, DropoutRNNCell):
            return self.cell.get_dropout_mask(step_input)

    def get_recurrent_dropout_mask(self, step_input):
        if isinstance(self.cell, DropoutRNNCell):
            return self.cell.get_recurrent_dropout_mask(step_input)

    def reset_dropout_mask(self):
        if isinstance(self.cell, DropoutRNNCell):
            self.cell.reset_dropout_mask()

    def reset_recurrent_dropout_mask(self):
        if isinstance(self.cell, DropoutRNNCell):
            self.cell.reset_recurrent_dropout_mask()

    def get_config(self):
        config = {
            "cell": keras.saving.serialize_keras_object(self.cell),
            "rate": self.rate,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


def _check_rates(rate, count, name="rate"):
    return check_zoneout_rates(name, rate, count)


def check_zoneout_rates(name, rate, count):
    """Zoneout rates for `count` states: one float in [0, 1) for every state
    or a list of `count` such floats; returns a tuple of `count` floats, or
    raises an `ArgumentError` naming the argument `name` and `rate`."""
    requirement = f"a float in [0, 1) or a list of {count} such floats (one per state)"
    rates = rate if isinstance(rate, (list, tuple)) else [rate] * count
    if isinstance(rate, (list, tuple)) and len(rate) != count:
        raise ArgumentError(name, rate, requirement)
    try:
        return tuple(check_rate(name, r) for r in rates)
    except ArgumentError:
        raise ArgumentError(name, rate, requirement) from None
