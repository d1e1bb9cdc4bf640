"""Output-feedback recurrence: `OutputFeedbackCell` and `OutputFeedbackRNN`.

The output at step t feeds the hidden units at step t+1 (Jordan-style output
recurrence, and the conditional RNN of a generator fed y_{t-1}). Training
feeds the targets (teacher forcing, one parallel pass over the sequence);
inference feeds the model's own outputs (a loop carrying y_{t-1}).
"""

import keras
from keras import ops
from keras import tree
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

from kerasrnn.layers.cell import RecurrentCell
from kerasrnn.layers.cell import get_activation
from kerasrnn.layers.sequence import check_initial_state
from kerasrnn.layers.sequence import check_sequence_inputs
from kerasrnn.ops import rnn
from kerasrnn.validation import check_choice
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number

FEEDBACK_MODES = ("output", "greedy", "sample")


def _sizes(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


@keras.saving.register_keras_serializable(package="kerasrnn")
class OutputFeedbackCell(keras.layers.Layer):
    """Wraps a cell so that its output at t is an input at t+1 (self-fed).

        o_t, S_t = cell([x_t; φ(y_{t-1})], S_{t-1})
        y_t      = g(o_t V + c)      (readout, with `output_units`)
        y_t      = o_t               (without: the cell's output is fed back)

    φ is the identity (`feedback="output"`), `one_hot(argmax y)`
    (`"greedy"`) or a one-hot sample of `softmax(logits / temperature)`
    (`"sample"`; logits are `log y` when `output_activation="softmax"`, else
    `y`). φ(y_{-1}) is zeros. The cell's states are followed by one more
    state, φ(y_{t-1}), so this cell works in `keras.layers.RNN`, which runs it
    free (self-fed); `OutputFeedbackRNN` adds teacher forcing.

    Args:
        cell: An RNN cell (kerasrnn or Keras) or its serialized config.
        output_units: Width K of the readout y_t; `None` feeds back the cell's
            output (then K is `cell.output_size`).
        output_activation: Activation g of the readout. Default: linear.
        feedback: `"output"`, `"greedy"` or `"sample"`.
        temperature: Positive float, for `"sample"`.
        seed: Seed of the sampler.

    Call arguments:
        inputs: `(batch, features)`; `(batch, 0)` for none.
        states: `[*cell_states, feedback]`.
        training: Passed to the cell.

    Example:

    >>> cell = OutputFeedbackCell(GRUCell(16), output_units=10, feedback="greedy")
    >>> keras.layers.RNN(cell, return_sequences=True)(np.zeros((2, 7, 3))).shape
    (2, 7, 10)

    Reference:
        Jordan, "Serial order: a parallel distributed processing approach",
        1986; Goodfellow, Bengio & Courville, "Deep Learning", 2016, §10.2.1
        and §10.2.4 (teacher forcing, conditional RNNs).
    """

    def __init__(self, cell, output_units=None, output_activation=None, feedback="output",
                 temperature=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, dict):
            cell = keras.saving.deserialize_keras_object(cell)
        if not (hasattr(cell, "state_size") and hasattr(cell, "output_size") and callable(cell)):
            raise ValueError(
                f"`cell` must be an RNN cell (with `call`, `state_size` and `output_size`). Received: cell={cell!r}"
            )
        self.cell = cell
        self.output_units = None if output_units is None else check_positive_int("output_units", output_units)
        self.output_activation = get_activation(output_activation, "output_activation")
        self.feedback = check_choice("feedback", feedback, FEEDBACK_MODES)
        self.temperature = check_positive_number("temperature", temperature)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.readout = None
        if self.output_units is not None:
            self.readout = keras.layers.Dense(self.output_units, activation=self.output_activation, name="readout")
        self.output_size = self.output_units or cell.output_size
        self.cell_state_size = _sizes(cell.state_size)
        self.state_size = self.cell_state_size + [self.output_size]

    def build(self, input_shape):
        width = input_shape[-1] + self.output_size
        if not self.cell.built:
            self.cell.build((None, width))
        if self.readout is not None:
            self.readout.build((None, self.cell.output_size))

    def read(self, cell_outputs):
        """y from the cell's output (any leading axes)."""
        return cell_outputs if self.readout is None else self.readout(cell_outputs)

    def feed(self, y):
        """φ(y): what the next step receives."""
        if self.feedback == "output":
            return y
        if self.feedback == "greedy":
            return ops.one_hot(ops.argmax(y, axis=-1), self.output_size, dtype=y.dtype)
        logits = ops.log(ops.maximum(y, 1e-12)) if self.output_activation is keras.activations.softmax else y
        ids = keras.random.categorical(logits / self.temperature, 1, seed=self.seed_generator)[:, 0]
        return ops.one_hot(ids, self.output_size, dtype=y.dtype)

    def cell_step(self, inputs, cell_states, training=False):
        single = not isinstance(self.cell.state_size, (list, tuple))
        output, states = self.cell(inputs, cell_states[0] if single else list(cell_states), training=training)
        return output, list(states) if tree.is_nested(states) else [states]

    def call(self, inputs, states, training=False):
        states = list(states)
        fed = states[-1]
        output, cell_states = self.cell_step(ops.concatenate([inputs, fed], axis=-1), states[:-1], training)
        y = self.read(output)
        return y, cell_states + [self.feed(y)]

    def get_initial_state(self, batch_size=None):
        if hasattr(self.cell, "get_initial_state"):
            states = self.cell.get_initial_state(batch_size=batch_size)
            states = list(states) if tree.is_nested(states) else [states]
        else:
            states = [ops.zeros((batch_size, d), dtype=self.compute_dtype) for d in self.cell_state_size]
        return states + [ops.zeros((batch_size, self.output_size), dtype=self.compute_dtype)]

    def get_config(self):
        config = {
            "cell": keras.saving.serialize_keras_object(self.cell),
            "output_units": self.output_units,
            "output_activation": keras.activations.serialize(self.output_activation),
            "feedback": self.feedback,
            "temperature": self.temperature,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="kerasrnn")
class OutputFeedbackRNN(keras.layers.Layer):
    """A sequence layer with output feedback: teacher-forced or self-fed.

    Runs `OutputFeedbackCell`'s recurrence over time:

        o_t, S_t = cell([x_t; f_{t-1}], S_{t-1}),   y_t = g(o_t V + c)

    where the fed-back f_{t-1} is

    * the target z_{t-1} (teacher forcing) when called with `targets` and
      `training=True`: every f is known, so the cell's input projection for
      all steps is one matrix product and the readout runs once after the
      loop — this is what `model.fit` trains;
    * φ(y_{t-1}) otherwise (self-fed: inference, `evaluate`, `predict`), one
      loop carrying y_{t-1} (see `OutputFeedbackCell` for φ).

    f_{-1} = 0. Fed the model's own φ(y) as `targets`, both modes give the
    same outputs.

    Args:
        cell, output_units, output_activation, feedback, temperature, seed:
            As for `OutputFeedbackCell`.

    Call arguments:
        inputs: `(batch, timesteps, features)` (features may be 0, e.g. for a
            generator conditioned only through `initial_state`).
        targets: Optional `(batch, timesteps, K)` floats, or `(batch,
            timesteps)` integer class ids (one-hot encoded) with a categorical
            feedback. K must equal the fed-back width.
        initial_state: Optional list of the cell's states (not the feedback).
        mask: Optional `(batch, timesteps)`; masked steps keep the states and
            the fed-back value and repeat the previous output.
        training: Teacher forcing when `targets` are given.

    Output shape: `(batch, timesteps, K)`; `(batch, 0, K)` over a time axis
    of length 0. Bad `inputs`, `mask` or `initial_state` shapes or dtypes are
    errors that name the argument, as for the other sequence layers.

    Example:

    >>> layer = OutputFeedbackRNN(LSTMCell(32), output_units=10,
    ...                           output_activation="softmax", feedback="greedy")
    >>> x = keras.Input((8, 5)); z = keras.Input((8, 10))
    >>> model = keras.Model([x, z], layer(x, targets=z))

    Reference:
        Williams & Zipser, "A learning algorithm for continually running fully
        recurrent neural networks", 1989 (teacher forcing); Goodfellow et al.,
        "Deep Learning", 2016, §10.2.1.
    """

    def __init__(self, cell, output_units=None, output_activation=None, feedback="output",
                 temperature=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.cell = OutputFeedbackCell(
            cell, output_units=output_units, output_activation=output_activation, feedback=feedback,
            temperature=temperature, seed=seed, name="output_feedback_cell",
        )
        self.supports_masking = True

    def build(self, inputs_shape, targets_shape=None, initial_state_shape=None):
        if len(inputs_shape) != 3 or inputs_shape[-1] is None:
            raise ValueError(
                "`inputs` must have shape (batch, timesteps, features) with known features. "
                f"Received: inputs.shape={tuple(inputs_shape)}"
            )
        self.cell.build((None, inputs_shape[-1]))

    def _check_targets(self, targets, inputs):
        k = self.cell.output_size
        if len(targets.shape) == 2 and "int" in str(targets.dtype):
            if self.cell.feedback == "output":
                raise ValueError(
                    "Integer `targets` need a categorical feedback ('greedy' or 'sample'). "
                    f"Received: feedback='output', targets.dtype={targets.dtype}"
                )
            targets = ops.one_hot(targets, k, dtype=self.compute_dtype)
        if len(targets.shape) != 3 or targets.shape[-1] != k:
            what = "readout's output_units" if self.cell.output_units else "cell's output_size"
            raise ValueError(
                f"The fed-back output has {k} features (the {what}), so `targets` must have shape "
                f"(batch, timesteps, {k}). Received: targets.shape={tuple(targets.shape)}. "
                "Set `output_units` to the target width or use a cell whose output size matches."
            )
        if targets.shape[1] is not None and inputs.shape[1] is not None and targets.shape[1] != inputs.shape[1]:
            raise ValueError(
                f"`targets` must have as many steps as `inputs`. Received: targets.shape={tuple(targets.shape)}, "
                f"inputs.shape={tuple(inputs.shape)}"
            )
        return ops.cast(targets, self.compute_dtype)

    def call(self, inputs, targets=None, initial_state=None, mask=None, training=False):
        if tree.is_nested(mask):
            mask = mask[0]
        check_sequence_inputs(self, inputs, mask)
        cell, inner = self.cell, self.cell.cell
        batch = ops.shape(inputs)[0]
        if initial_state is None:
            states = cell.get_initial_state(batch)[:-1]
        else:
            names = getattr(inner, "state_names", None) or ["states"]
            states = check_initial_state(self, initial_state, cell.cell_state_size, names, inputs.shape)
        if targets is not None:
            targets = self._check_targets(targets, inputs)
        if inputs.shape[1] == 0:  # no step to take (Keras's loop would fail taking step 0)
            return ops.zeros((batch, 0, cell.output_size), dtype=self.compute_dtype)
        x = ops.moveaxis(inputs, 1, 0)
        m = None if mask is None else ops.moveaxis(ops.cast(mask, "bool"), 1, 0)
        if isinstance(inner, DropoutRNNCell):  # masks drawn once, outside the loop
            width = inputs.shape[-1] + cell.output_size
            inner.get_dropout_mask(ops.ones((batch, width), dtype=inputs.dtype))
            inner.get_recurrent_dropout_mask(ops.ones((batch, cell.cell_state_size[0]), dtype=inputs.dtype))
        if targets is not None and training:
            z = ops.moveaxis(targets, 1, 0)
            fed = ops.concatenate([ops.zeros_like(z[:1]), z[:-1]], axis=0)
            u = ops.concatenate([x, fed], axis=-1)
            if isinstance(inner, RecurrentCell) and not inner.has_zoneout:
                dropout_mask, recurrent_mask = inner.step_dropout_masks(u[0], states, training)
                if dropout_mask is not None:
                    dropout_mask = tree.map_structure(lambda d: ops.expand_dims(d, 0), dropout_mask)
                projected = inner.input_projection(u, dropout_mask)

                def step(p_t, s):
                    return inner.recurrent_step(p_t, list(s), recurrent_mask)

            else:
                projected = u

                def step(u_t, s):
                    return cell.cell_step(u_t, s, training)

            _, outputs, _ = rnn(step, projected, states, mask=m, time_major=True,
                                initial_output=ops.zeros((batch, inner.output_size), dtype=projected.dtype))
            y = cell.read(outputs)
            if m is not None:  # before the first valid step: zeros, as self-fed
                started = ops.cumsum(ops.cast(ops.expand_dims(m, -1), "int32"), axis=0) > 0
                y = ops.where(started, y, ops.zeros_like(y))
        else:
            fed0 = ops.zeros((batch, cell.output_size), dtype=x.dtype)

            def step(x_t, s):
                return cell.call(x_t, list(s), training=training)

            _, y, _ = rnn(step, x, states + [fed0], mask=m, time_major=True,
                          initial_output=ops.zeros((batch, cell.output_size), dtype=x.dtype))
        if isinstance(inner, DropoutRNNCell):
            inner.reset_dropout_mask()
            inner.reset_recurrent_dropout_mask()
        return ops.moveaxis(y, 0, 1)

    def compute_output_shape(self, inputs_shape, targets_shape=None, initial_state_shape=None):
        return tuple(inputs_shape[:2]) + (self.cell.output_size,)

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        config = self.cell.get_config()
        config = {k: config[k] for k in ("cell", "output_units", "output_activation", "feedback", "temperature", "seed")}
        return {**super().get_config(), **config}
