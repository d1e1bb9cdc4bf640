"""`BasicDecoder`: a cell, an optional output layer and a sampler, one step at a time."""

import collections

import keras
from keras import ops

from kerasrnn.seq2seq.decoding.base import BaseDecoder
from kerasrnn.seq2seq.decoding.samplers import Sampler
from kerasrnn.seq2seq.decoding.samplers import deserialize_fn
from kerasrnn.seq2seq.decoding.samplers import serialize_sampler
from kerasrnn.validation import ArgumentError
from kerasrnn.validation import is_int

BasicDecoderOutput = collections.namedtuple("BasicDecoderOutput", ("rnn_output", "sample_id"))


def check_cell(cell):
    """`cell` if it follows the Keras cell protocol, else an `ArgumentError`."""
    missing = [name for name in ("state_size", "output_size") if not hasattr(cell, name)]
    if missing or not callable(cell):
        raise ArgumentError(
            "cell", cell,
            "a Keras RNN cell: callable as cell(inputs, states, training=None) -> (output, new_states), "
            f"with state_size and output_size (missing: {', '.join(missing) or 'a __call__'})",
        )
    size = cell.output_size
    if not (is_int(size) or (isinstance(size, (tuple, list)) and all(is_int(s) for s in size))):
        raise ArgumentError("cell.output_size", size, "an integer or a tuple of integers")
    return cell


def check_output_layer(output_layer):
    """`output_layer` when it is a Keras layer or `None`; otherwise an
    `ArgumentError` naming it."""
    if output_layer is not None and not isinstance(output_layer, keras.layers.Layer):
        raise ArgumentError("output_layer", output_layer, "a keras.layers.Layer or None")
    return output_layer


def rnn_output_size(cell, output_layer):
    """The step output's shape without the batch axis (after `output_layer`)."""
    size = cell.output_size
    size = tuple(size) if isinstance(size, (tuple, list)) else (int(size),)
    if output_layer is None:
        return size
    return tuple(output_layer.compute_output_shape((None,) + size)[1:])


def check_end_token(end_token, vocab_size):
    """`end_token` in `[0, vocab_size)` where both are known in Python."""
    value = end_token
    if not is_int(value):
        try:
            value = int(ops.convert_to_numpy(end_token))
        except Exception:  # a symbolic tensor: checked when it has a value
            return
    if vocab_size is not None and not 0 <= value < vocab_size:
        raise ArgumentError("end_token", value, f"an id in [0, {vocab_size}), the decoder's output "
                                                "vocabulary")


def expected_input_dim(cell):
    """The input width a built cell's kernel takes, or `None` if unknown."""
    kernel = getattr(cell, "kernel", None) if getattr(cell, "built", False) else None
    shape = getattr(kernel, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) == 2 else None


def check_input_width(cell, inputs, argument):
    """Refuses `inputs` (the call argument `argument`) whose last axis is not
    the width `cell`'s kernel takes, where both are known."""
    width = expected_input_dim(cell)
    got = inputs.shape[-1] if len(inputs.shape) else None
    if width is not None and got is not None and int(got) != width:
        raise ArgumentError(argument, f"vectors of width {got}",
                            f"vectors of the width the cell takes ({width}, its kernel's input size)")


def build_sublayers(cell, output_layer, inputs, state, training):
    """Builds the cell and output layer before the loop (weights cannot be
    created inside a compiled while loop)."""
    if not cell.built:
        cell(inputs, state, training=training)
    if output_layer is not None and not output_layer.built:
        output_layer.build((None,) + rnn_output_size(cell, None))


def serialize_layer(layer):
    """`layer`'s Keras serialization (its class and `get_config`), or `None`
    for no layer; a decoder's `get_config` holds its cell and output layer so."""
    return None if layer is None else keras.saving.serialize_keras_object(layer)


@keras.saving.register_keras_serializable(package="kerasrnn.seq2seq")
class BasicDecoder(BaseDecoder):
    """Runs `cell`, then `output_layer`, then `sampler` at every step.

    Step `t`: `outputs, state = cell(inputs_t, state)`; `outputs =
    output_layer(outputs)`; `sample_id = sampler.sample(t, outputs, state)`;
    the sampler gives the next inputs and which sequences are finished.

    Args:
        cell: A Keras or kerasrnn RNN cell (`call(inputs, states,
            training)`, `state_size`, `output_size`), e.g. an
            `AttentionWrapper`.
        sampler: A `Sampler` (`TrainingSampler`, `GreedyEmbeddingSampler`,
            ...).
        output_layer: Optional layer applied to the cell output (e.g. a
            `Dense` projection to logits).
        **kwargs: `BaseDecoder` arguments (`output_time_major`,
            `impute_finished`, `maximum_iterations`) and Keras `Layer`
            arguments.

    Call arguments:
        inputs: The sampler's first `initialize` argument (teacher inputs
            for training samplers, an embedding matrix or `None` for
            inference samplers).
        initial_state: The cell's initial state (`cell.get_initial_state`
            of the batch if `None`).
        training: Passed to the cell.
        **kwargs: The sampler's other `initialize` arguments
            (`sequence_length`, `start_tokens`, `end_token`, ...).

    Returns:
        `(BasicDecoderOutput(rnn_output, sample_id), final_state,
        final_sequence_lengths)`, see `dynamic_decode`.

    The decoder owns the weights of its cell, its output layer and the
    Keras layers its sampler calls (e.g. an `embedding_fn` that is a
    `keras.layers.Embedding`), so they train and save with it; `get_config`
    holds all three (a sampler whose callables are plain Python functions
    cannot be serialized, see `kerasrnn.seq2seq.decoding.samplers`).

    Example:

    >>> decoder = BasicDecoder(keras.layers.LSTMCell(8), GreedyEmbeddingSampler(),
    ...                        output_layer=keras.layers.Dense(10), maximum_iterations=6)
    >>> outputs, state, lengths = decoder(np.random.rand(10, 4), start_tokens=[1, 1], end_token=2)
    >>> outputs.rnn_output.shape, outputs.sample_id.shape
    ((2, 6, 10), (2, 6))
    """

    def __init__(self, cell, sampler, output_layer=None, **kwargs):
        super().__init__(**kwargs)
        self.cell = check_cell(cell)
        if not isinstance(sampler, Sampler):
            raise ArgumentError("sampler", sampler, "a kerasrnn.seq2seq Sampler")
        self.sampler = sampler
        self.output_layer = check_output_layer(output_layer)
        # The sampler is a plain object: its layers are tracked here, so
        # their weights are the decoder's (trained, saved and loaded).
        self.sampler_layers = list(sampler.layers)

    @property
    def batch_size(self):
        return self.sampler.batch_size

    @property
    def output_size(self):
        return BasicDecoderOutput(rnn_output_size(self.cell, self.output_layer),
                                  tuple(self.sampler.sample_ids_shape))

    @property
    def output_dtype(self):
        last = self.output_layer if self.output_layer is not None else self.cell
        return BasicDecoderOutput(getattr(last, "compute_dtype", "float32"), self.sampler.sample_ids_dtype)

    def initialize(self, inputs, initial_state=None, **kwargs):
        finished, first_inputs = self.sampler.initialize(inputs, **kwargs)
        if initial_state is None:
            initial_state = self.cell.get_initial_state(batch_size=self.sampler.batch_size)
        if hasattr(self.sampler, "end_token"):
            check_end_token(self.sampler.end_token, rnn_output_size(self.cell, self.output_layer)[-1])
        if hasattr(self.sampler, "start_inputs"):
            check_input_width(self.cell, keras.tree.flatten(first_inputs)[0], "embedding")
        build_sublayers(self.cell, self.output_layer, first_inputs, initial_state, None)
        return finished, first_inputs, initial_state

    def step(self, time, inputs, state, training=None):
        cell_outputs, cell_state = self.cell(inputs, state, training=training)
        cell_state = like_state(cell_state, state)
        if self.output_layer is not None:
            cell_outputs = self.output_layer(cell_outputs)
        sample_ids = self.sampler.sample(time, cell_outputs, cell_state)
        finished, next_inputs, next_state = self.sampler.next_inputs(time, cell_outputs, cell_state,
                                                                     sample_ids)
        return BasicDecoderOutput(cell_outputs, sample_ids), next_state, next_inputs, finished

    def get_config(self):
        return {
            **super().get_config(),
            "cell": serialize_layer(self.cell),
            "sampler": serialize_sampler(self.sampler),
            "output_layer": serialize_layer(self.output_layer),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("cell", "sampler", "output_layer"):
            config[key] = deserialize_fn(config.get(key))
        return cls(**config)


def like_state(new_state, state):
    """`new_state` in the nesting of `state` (Keras cells return a list for a
    list and may return a bare tensor for a one-element list)."""
    if isinstance(state, (list, tuple)) and not hasattr(state, "_fields") \
            and not isinstance(new_state, (list, tuple)):
        return type(state)([new_state])
    if isinstance(state, (list, tuple)) and not hasattr(state, "_fields") \
            and isinstance(new_state, (list, tuple)) and type(new_state) is not type(state):
        return type(state)(new_state)
    return new_state
