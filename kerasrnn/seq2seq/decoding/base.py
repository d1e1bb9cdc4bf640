"""`BaseDecoder` and `dynamic_decode`: one `keras.ops.while_loop` for any decoder.

A decoder (`BasicDecoder`, `BeamSearchDecoder`, or a subclass of
`BaseDecoder`) says how to start (`initialize`), how to take one step
(`step`) and how to finish (`finalize`); `dynamic_decode` runs the steps in a
single `keras.ops.while_loop` that stops when every sequence has finished or
after `maximum_iterations` steps. The loop writes each step's outputs into
fixed-size buffers (`keras.ops.slice_update`), so the whole decode traces to
one graph that XLA compiles (`tf.function(..., jit_compile=True)`) and runs
under `jax.jit`.
"""

import keras
from keras import ops

from kerasrnn.validation import ArgumentError
from kerasrnn.validation import check_bool
from kerasrnn.validation import is_int


def _check_maximum_iterations(value):
    if not is_int(value) or value < 1:
        raise ArgumentError(
            "maximum_iterations", value,
            "a positive integer (the decode loop writes its outputs into buffers of this many steps)",
        )
    return int(value)


class BaseDecoder(keras.layers.Layer):
    """Base class of the decoders that `dynamic_decode` runs.

    A subclass implements

    * `initialize(inputs, initial_state=None, **kwargs)` →
      `(finished, first_inputs, initial_state)`;
    * `step(time, inputs, state, training=None)` →
      `(outputs, next_state, next_inputs, finished)`;
    * `output_size`: the shape of one step's outputs without the batch axis
      (a nest of tuples, like the outputs), and `output_dtype` (a nest of
      dtype names);
    * optionally `finalize(outputs, final_state, sequence_lengths)` →
      `(outputs, final_state)` and `tracks_own_finished`.

    Calling the layer runs `dynamic_decode(self, ...)`.

    Args:
        output_time_major: Whether outputs are `(time, batch, ...)` instead
            of `(batch, time, ...)`.
        impute_finished: Whether steps after a sequence finished give zero
            outputs and leave its state unchanged.
        maximum_iterations: Positive integer, the most steps decoded.
        **kwargs: Keras `Layer` arguments.

    Call arguments:
        inputs: What `initialize` takes first (an embedding matrix, the
            teacher-forcing inputs, ...).
        initial_state: The cell's initial state.
        training: Passed to the cell.
        **kwargs: Further `initialize` arguments (`start_tokens`,
            `end_token`, `sequence_length`, ...).

    Returns:
        `(final_outputs, final_state, final_sequence_lengths)`.
    """

    def __init__(self, output_time_major=False, impute_finished=False, maximum_iterations=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.output_time_major = check_bool("output_time_major", output_time_major)
        self.impute_finished = check_bool("impute_finished", impute_finished)
        self.maximum_iterations = (None if maximum_iterations is None
                                   else _check_maximum_iterations(maximum_iterations))

    def __call__(self, inputs, initial_state=None, training=None, **kwargs):
        # A decode is a loop around sublayers (the cell, the output layer)
        # that build and autocast in their own `__call__`; the decoder owns
        # no weights. Keras's `Layer.__call__` would reject the sampler's
        # keyword arguments, which mix tensors with Python values
        # (`start_tokens=tensor, end_token=2`), and cannot trace the loop
        # symbolically anyway, so calling a decoder is calling `call`.
        return self.call(inputs, initial_state=initial_state, training=training, **kwargs)

    def call(self, inputs, initial_state=None, training=None, **kwargs):
        init_kwargs = dict(kwargs)
        init_kwargs["initial_state"] = initial_state
        return dynamic_decode(
            self,
            output_time_major=self.output_time_major,
            impute_finished=self.impute_finished,
            maximum_iterations=self.maximum_iterations,
            training=training,
            decoder_init_input=inputs,
            decoder_init_kwargs=init_kwargs,
        )

    @property
    def tracks_own_finished(self):
        """Whether `step` returns the complete `finished` (beam search), so
        `dynamic_decode` neither ORs it with the previous one nor imputes."""
        return False

    def initialize(self, inputs, initial_state=None, **kwargs):
        raise NotImplementedError

    def step(self, time, inputs, state, training=None):
        raise NotImplementedError

    def finalize(self, outputs, final_state, sequence_lengths):
        return outputs, final_state

    def get_config(self):
        return {
            **super().get_config(),
            "output_time_major": self.output_time_major,
            "impute_finished": self.impute_finished,
            "maximum_iterations": self.maximum_iterations,
        }


def _rank(x):
    return len(x.shape)


def _where_batch(condition, x, y):
    """`where(condition[b], x[b], y[b])` over the batch axis of any rank
    (`y` for a scalar, which has no batch axis: a step counter moves on)."""
    if _rank(x) == 0:
        return y
    shape = [-1] + [1] * (_rank(x) - 1)
    return ops.where(ops.reshape(condition, shape), x, y)


def _transpose_batch_time(x):
    return ops.moveaxis(x, 0, 1) if _rank(x) >= 2 else x


def dynamic_decode(decoder, output_time_major=False, impute_finished=False, maximum_iterations=None,
                   training=None, **kwargs):
    """Runs `decoder` step by step until every sequence has finished.

    Args:
        decoder: A `BaseDecoder` (`BasicDecoder`, `BeamSearchDecoder`, ...).
        output_time_major: Whether outputs are `(time, batch, ...)` instead
            of `(batch, time, ...)`.
        impute_finished: Whether steps of a finished sequence give zero
            outputs and copy its state through (so the final state is the
            state at its last step). Not for decoders that track their own
            finished state (`BeamSearchDecoder`).
        maximum_iterations: Positive integer, the most steps; defaults to
            `decoder.maximum_iterations`. Needed: the outputs are buffers of
            this many steps (what tfa.seq2seq does under XLA).
        training: Passed to the decoder's cell.
        **kwargs: `decoder_init_input` and `decoder_init_kwargs`, the
            arguments of `decoder.initialize`.

    Returns:
        `(final_outputs, final_state, final_sequence_lengths)`: the outputs
        of every step, `(batch, maximum_iterations, ...)` (zeros after the
        step where the loop stopped); the state after the last step;
        int32 `(batch,)` lengths, the step at which each sequence finished
        plus one (the end token included; `maximum_iterations` for one that
        never finished), or the decoder's own lengths (`(batch,
        beam_width)` for beam search).

    Example:

    >>> decoder = BasicDecoder(keras.layers.LSTMCell(8), GreedyEmbeddingSampler(),
    ...                        keras.layers.Dense(10))
    >>> outputs, state, lengths = dynamic_decode(
    ...     decoder, maximum_iterations=5, decoder_init_input=np.ones((10, 4)),
    ...     decoder_init_kwargs={"start_tokens": [1, 1], "end_token": 2,
    ...                          "initial_state": [np.zeros((2, 8))] * 2})
    >>> outputs.sample_id.shape
    (2, 5)
    """
    unknown = set(kwargs) - {"decoder_init_input", "decoder_init_kwargs"}
    if unknown:
        raise ArgumentError("kwargs", sorted(unknown), "only decoder_init_input and decoder_init_kwargs")
    if not isinstance(decoder, BaseDecoder):
        raise ArgumentError("decoder", decoder, "a kerasrnn.seq2seq BaseDecoder (BasicDecoder, "
                            "BeamSearchDecoder or a subclass)")
    output_time_major = check_bool("output_time_major", output_time_major)
    impute_finished = check_bool("impute_finished", impute_finished)
    if maximum_iterations is None:
        maximum_iterations = decoder.maximum_iterations
    maximum_iterations = _check_maximum_iterations(maximum_iterations)
    if impute_finished and decoder.tracks_own_finished:
        raise ArgumentError("impute_finished", impute_finished,
                            f"False for {type(decoder).__name__}, which tracks its own finished "
                            "sequences")

    init_kwargs = kwargs.get("decoder_init_kwargs") or {}
    finished, inputs, state = decoder.initialize(kwargs.get("decoder_init_input"), **init_kwargs)
    finished = ops.cast(finished, "bool")
    batch = ops.shape(finished)[0]
    own_lengths = decoder.tracks_own_finished

    def buffer(size, dtype):
        return ops.zeros((maximum_iterations, batch) + tuple(size), dtype=dtype)

    buffers = _map_sizes(buffer, decoder.output_size, decoder.output_dtype)
    lengths = ops.zeros(ops.shape(finished), dtype="int32")

    def cond(time, buffers, state, inputs, finished, lengths):
        return ops.logical_and(time < maximum_iterations, ops.logical_not(ops.all(finished)))

    def body(time, buffers, state, inputs, finished, lengths):
        outputs, next_state, next_inputs, step_finished = decoder.step(time, inputs, state, training)
        step_finished = ops.cast(step_finished, "bool")
        if own_lengths:
            next_finished = step_finished
            next_lengths = ops.cast(next_state.lengths, "int32") if hasattr(next_state, "lengths") \
                else ops.where(finished, lengths, time + 1)
        else:
            next_finished = ops.logical_or(finished, step_finished)
            next_lengths = ops.where(finished, lengths, time + 1)
        if impute_finished:
            outputs = keras.tree.map_structure(
                lambda out: _where_batch(finished, ops.zeros_like(out), out), outputs)
            # Rank-0 state entries (no batch axis) take their new value.
            next_state = keras.tree.map_structure(
                lambda new, cur: _where_batch(finished, cur, new), next_state, state)
        buffers = keras.tree.map_structure(
            lambda buf, out: ops.slice_update(
                buf, [time] + [0] * (_rank(buf) - 1), ops.expand_dims(ops.cast(out, buf.dtype), 0)),
            buffers, outputs,
        )
        return time + 1, buffers, next_state, next_inputs, next_finished, next_lengths

    loop_vars = (ops.convert_to_tensor(0, "int32"), buffers, state, inputs, finished, lengths)
    _, outputs, state, _, _, lengths = ops.while_loop(cond, body, loop_vars)
    outputs, state = decoder.finalize(outputs, state, lengths)
    if not output_time_major:
        outputs = keras.tree.map_structure(_transpose_batch_time, outputs)
    return outputs, state, lengths


def _map_sizes(fn, sizes, dtypes):
    """`fn(size, dtype)` over a nest whose leaves are shape tuples."""
    if isinstance(sizes, tuple) and hasattr(sizes, "_fields"):
        return type(sizes)(*(_map_sizes(fn, s, d) for s, d in zip(sizes, dtypes)))
    if isinstance(sizes, dict):
        return {k: _map_sizes(fn, sizes[k], dtypes[k]) for k in sizes}
    if isinstance(sizes, list) or (isinstance(sizes, tuple) and sizes and isinstance(sizes[0], (tuple, list))):
        return type(sizes)(_map_sizes(fn, s, d) for s, d in zip(sizes, dtypes))
    return fn(tuple(sizes), dtypes)
