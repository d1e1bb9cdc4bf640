"""Decoding a `Seq2Seq` model: greedy, temperature/top-k/top-p sampling, beam search.

The three searches run the encoder once, then one of kerasrnn's decoders
(`kerasrnn.seq2seq.decoding`: `BasicDecoder` with a greedy or sampling
sampler, `BeamSearchDecoder`) around the model's decoder step, seen as a
cell over token ids that attends to the cached encoder outputs (memory,
mask and the attention's memory projection). So there is one decoding
loop: `dynamic_decode`'s `keras.ops.while_loop`, which runs at most
`max_length` steps, stops early once every sequence has produced `end_id`,
and traces to one graph that XLA compiles (`jit_compile=True`).

Conventions shared by the three searches:

* decoding starts from `start_id`; the padding id `pad_id` and `start_id` are
  never generated;
* `ids` hold the generated tokens, `end_id` included, then `pad_id`;
* `lengths` count the generated tokens, `end_id` included (`max_length` for a
  sequence that never ended);
* `log_probs` are the sums of the model's token log-probabilities;
* `attention` holds the decoder's alignment over the source at each step
  (zeros after the end), or is `None` for a model without attention;
* `source_ids` of shape `(batch, 0)` raise `InputError` (there is nothing to
  attend to: an empty source is the end token alone), and so do ids outside
  `[0, vocab_size)` of the encoder when their values are known (eager
  calls); a batch of 0 gives outputs with a batch of 0.

Beam search keeps `beam_width` hypotheses per example (`BeamSearchDecoder`:
a hypothesis that has produced `end_id` stays in the beam with its score
frozen and competes with the live ones). Hypotheses are ranked by
`log_prob / lp(length)` with the GNMT length penalty
`lp(n) = ((5 + n) / 6) ** length_penalty` (Wu et al. 2016), or by the mean
token log-probability (`length_penalty="average"`, OpenNMT-py's `avg`), plus
optional GNMT coverage penalty, n-gram repeat blocking and minimum length.
With `beam_width=1` beam search returns exactly what greedy search returns.
"""

import keras
import numpy as np
from keras import ops

from kerasrnn.data.ids import END_ID
from kerasrnn.data.ids import PAD_ID
from kerasrnn.data.ids import START_ID
from kerasrnn.seq2seq.decoding import BasicDecoder
from kerasrnn.seq2seq.decoding import BasicDecoderOutput
from kerasrnn.seq2seq.decoding import BeamSearchDecoder
from kerasrnn.seq2seq.decoding import GreedyEmbeddingSampler
from kerasrnn.seq2seq.decoding import SampleEmbeddingSampler
from kerasrnn.seq2seq.decoding import tile_batch
from kerasrnn.seq2seq.decoding.beam_ops import length_penalty as _length_penalty
from kerasrnn.validation import ArgumentError
from kerasrnn.validation import InputError
from kerasrnn.validation import check_non_negative_number
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number

#: Logit given to the ids that are never generated (padding and start).
NEG_INF = -1e9


def _ids(token_ids):
    """The decoders' `embedding_fn` for a cell that reads token ids."""
    return token_ids


class _ModelStepCell(keras.layers.Layer):
    """A `Seq2Seq` decoder step as a Keras cell over token ids.

    Inputs are the previous tokens `(rows,)`; the output the step's logits
    (padding and start suppressed); the state `[model states...,
    alignments, time]` where `alignments` `(rows, max_length, source_length)`
    records the attention of each step (zeros for a row whose input is the
    end token, i.e. a finished hypothesis) and `time` counts the steps.
    """

    def __init__(self, model, encoded, max_length, start_id, end_id, pad_id):
        super().__init__(name="search_step")
        self.model = model
        self.encoded = encoded
        self.max_length = max_length
        self.end_id = end_id
        self.has_attention = model.decoder.attention is not None
        vocab = model.decoder.vocab_size
        suppressed = np.zeros((vocab,), dtype=bool)
        suppressed[[pad_id, start_id]] = True
        self.suppressed = suppressed
        self.output_size = vocab
        self.state_size = list(model.decoder.state_sizes)
        self.built = True

    def initial_state(self, states, rows, source_length, dtype):
        alignments = ops.zeros((rows, self.max_length, source_length if self.has_attention else 0), dtype=dtype)
        return list(states) + [alignments, ops.convert_to_tensor(0, "int32")]

    def call(self, token_ids, states, training=None):
        *states, alignments, time = states
        logits, new_states, alignment = self.model.decode_step(token_ids, states, self.encoded)
        logits = ops.where(self.suppressed, ops.cast(NEG_INF, logits.dtype), logits)
        if self.has_attention:
            alive = ops.not_equal(token_ids, self.end_id)[:, None]
            alignment = ops.where(alive, ops.cast(alignment, alignments.dtype), 0.0)
            alignments = ops.slice_update(alignments, [0, time, 0], alignment[:, None, :])
        return logits, list(new_states) + [alignments, time + 1]


class _TokenLogProbDecoder(BasicDecoder):
    """A `BasicDecoder` whose step output is the chosen token's
    log-probability instead of the logits: the decode keeps a `(batch,
    max_length)` buffer, not a `(batch, max_length, vocab_size)` one."""

    @property
    def output_size(self):
        return BasicDecoderOutput((), tuple(self.sampler.sample_ids_shape))

    @property
    def output_dtype(self):
        return BasicDecoderOutput("float32", self.sampler.sample_ids_dtype)

    def step(self, time, inputs, state, training=None):
        outputs, state, next_inputs, finished = super().step(time, inputs, state, training)
        log_probs = ops.log_softmax(ops.cast(outputs.rnn_output, "float32"), axis=-1)
        token_log_probs = ops.take_along_axis(log_probs, outputs.sample_id[:, None], axis=1)[:, 0]
        return BasicDecoderOutput(token_log_probs, outputs.sample_id), state, next_inputs, finished


def _check_source_ids(model, source_ids):
    """Source ids outside the encoder's vocabulary raise, where their values are known."""
    try:
        values = np.asarray(ops.convert_to_numpy(source_ids))
    except (NotImplementedError, TypeError, ValueError):  # symbolic (tf.function, jax.jit)
        return
    vocab = model.encoder.vocab_size
    bad = (values < 0) | (values >= vocab)
    if bad.any():
        raise InputError(
            f"`source_ids` must be ids in [0, {vocab}), the encoder's vocabulary. Received: source_ids "
            f"with {int(bad.sum())} out of range, e.g. {int(values[bad][0])} at index "
            f"{tuple(int(i) for i in np.argwhere(bad)[0])}"
        )


def _prepare(model, source_ids, max_length):
    max_length = check_positive_int("max_length", max_length)
    source_ids = ops.convert_to_tensor(source_ids, dtype="int32")
    if len(source_ids.shape) != 2:
        raise ValueError(
            "`source_ids` must be an int tensor of shape (batch, source_length). "
            f"Received: shape={tuple(source_ids.shape)}"
        )
    if source_ids.shape[1] == 0:
        # Nothing to encode or attend to; a source with no tokens is encoded
        # as the end token alone (`kerasrnn.data.translation.encode(...,
        # add_end=True)`), which is what the exported translator does.
        raise InputError(
            "`source_ids` must hold at least one step per example (an empty source is the end token "
            f"alone, [[{END_ID}]]). Received: source_ids of shape {tuple(source_ids.shape)}"
        )
    _check_source_ids(model, source_ids)
    encoded, states = model.encode(source_ids)
    return source_ids, max_length, encoded, list(states)


def _step_search(model, source_ids, max_length, sampler, start_id, end_id, pad_id):
    """Greedy search and sampling: a `BasicDecoder` around the model's step."""
    source_ids, max_length, encoded, states = _prepare(model, source_ids, max_length)
    batch, source_length = ops.shape(source_ids)[0], ops.shape(source_ids)[1]
    cell = _ModelStepCell(model, encoded, max_length, start_id, end_id, pad_id)
    dtype = model.decoder.compute_dtype
    decoder = _TokenLogProbDecoder(cell, sampler, impute_finished=True, maximum_iterations=max_length)
    outputs, final_state, lengths = decoder(
        None, initial_state=cell.initial_state(states, batch, source_length, dtype),
        start_tokens=ops.full((batch,), start_id, dtype="int32"), end_token=end_id,
    )
    ids = ops.cast(outputs.sample_id, "int32")
    steps = ops.arange(max_length, dtype="int32")[None, :] < lengths[:, None]
    log_probs = ops.cast(ops.sum(ops.where(steps, outputs.rnn_output, 0.0), axis=1), dtype)
    return {
        "ids": ops.where(steps, ids, pad_id),
        "log_probs": log_probs,
        "scores": log_probs,
        "lengths": lengths,
        "attention": final_state[-2] if cell.has_attention else None,
    }


def greedy_search(model, source_ids, max_length, start_id=START_ID, end_id=END_ID, pad_id=PAD_ID):
    """Decodes the most probable token at each step.

    Args:
        model: A built `Seq2Seq`.
        source_ids: int `(batch, source_length)`, 0-padded.
        max_length: Positive integer, most tokens generated per example.
        start_id, end_id, pad_id: Reserved target ids.

    Returns:
        Dict with `ids` int `(batch, max_length)`, `log_probs` and `scores`
        `(batch,)` (equal), `lengths` int `(batch,)`, `attention`
        `(batch, max_length, source_length)` or `None`.
    """
    return _step_search(model, source_ids, max_length, GreedyEmbeddingSampler(_ids), start_id, end_id,
                        pad_id)


def sample(model, source_ids, max_length, temperature=1.0, top_k=None, seed=None, top_p=None,
           start_id=START_ID, end_id=END_ID, pad_id=PAD_ID):
    """Samples each token from the softmax of `logits / temperature`.

    With `top_k`, only the `top_k` most probable tokens can be drawn; with
    `top_p`, only the smallest set of most probable tokens holding `top_p`
    of the probability (`SampleEmbeddingSampler`). `seed`: an int, a
    `keras.random.SeedGenerator` or `None`.

    Returns:
        The dict of `greedy_search`; `log_probs` are under the model's
        (untempered, unfiltered) distribution.
    """
    check_positive_number("temperature", temperature)
    vocab_size = model.decoder.vocab_size
    if top_k is not None:
        top_k = check_positive_int("top_k", top_k)
        if top_k > vocab_size:
            raise ValueError(
                f"`top_k` must be at most the vocabulary size {vocab_size}. Received: top_k={top_k}"
            )
    sampler = SampleEmbeddingSampler(_ids, softmax_temperature=temperature, seed=seed, top_k=top_k,
                                     top_p=top_p)
    return _step_search(model, source_ids, max_length, sampler, start_id, end_id, pad_id)


def length_normalizer(lengths, length_penalty):
    """GNMT length penalty `((5 + n) / 6) ** length_penalty`."""
    return _length_penalty(lengths, length_penalty)


def beam_search(model, source_ids, beam_width, max_length, length_penalty=0.0, start_id=START_ID,
                end_id=END_ID, pad_id=PAD_ID, coverage_penalty=0.0, block_ngram_repeat=0, min_length=0,
                length_penalty_type="gnmt", coverage_penalty_scope="finished"):
    """Keeps the `beam_width` best hypotheses per example at every step.

    Args:
        model: A built `Seq2Seq`.
        source_ids: int `(batch, source_length)`, 0-padded.
        beam_width: Positive integer, hypotheses kept per example.
        max_length: Positive integer, most tokens generated per hypothesis.
        length_penalty: `alpha >= 0` of the GNMT length penalty.
        start_id, end_id, pad_id: Reserved target ids.
        coverage_penalty: `beta >= 0` of the GNMT coverage penalty
            (attention models).
        block_ngram_repeat: `n > 0` forbids repeating an n-gram within a
            hypothesis; 0 blocks nothing.
        min_length: The fewest tokens before `end_id`.
        length_penalty_type: `"gnmt"`, or `"average"` to rank by the mean
            token log-probability (`length_penalty` must then be 0).
        coverage_penalty_scope: `"finished"` (hypotheses that ended carry
            the coverage penalty, tfa.seq2seq's rule) or `"all"` (every
            hypothesis at every step, OpenNMT-py's stepwise penalty, so a
            hypothesis cut at `max_length` pays it too).

    Returns:
        Dict, hypotheses sorted best first along axis 1: `ids` int
        `(batch, beam_width, max_length)`, `scores` `(batch, beam_width)`
        (`log_probs / lp(lengths)`, plus the coverage penalty), `log_probs`,
        `lengths` int, `attention` `(batch, beam_width, max_length,
        source_length)` or `None`.
    """
    beam = check_positive_int("beam_width", beam_width)
    alpha = check_non_negative_number("length_penalty", length_penalty)
    source_ids, max_length, encoded, states = _prepare(model, source_ids, max_length)
    batch, source_length = ops.shape(source_ids)[0], ops.shape(source_ids)[1]
    encoded = tile_batch(encoded, beam)
    cell = _ModelStepCell(model, encoded, max_length, start_id, end_id, pad_id)
    dtype = model.decoder.compute_dtype
    decoder = BeamSearchDecoder(
        cell, beam, embedding_fn=_ids, length_penalty_weight=alpha, length_penalty=length_penalty_type,
        coverage_penalty_weight=coverage_penalty, coverage_penalty_scope=coverage_penalty_scope,
        block_ngram_repeat=block_ngram_repeat, min_length=min_length, maximum_iterations=max_length,
        attention_probs_fn=lambda state: _latest_alignment(state, cell),
    )
    outputs, final_state, lengths = decoder(
        None, start_tokens=ops.full((batch,), start_id, dtype="int32"), end_token=end_id,
        initial_state=cell.initial_state(tile_batch(states, beam), batch * beam, source_length, dtype),
    )
    ids = ops.moveaxis(outputs.predicted_ids, 1, 2)  # (batch, beam, time)
    steps = ops.arange(max_length, dtype="int32")[None, None, :] < lengths[:, :, None]
    attention = None
    if cell.has_attention:
        attention = ops.reshape(final_state.cell_state[-2], (batch, beam, max_length, source_length))
    return {
        "ids": ops.where(steps, ids, pad_id),
        "log_probs": ops.cast(final_state.log_probs, dtype),
        "scores": ops.cast(final_state.scores, dtype),
        "lengths": lengths,
        "attention": attention,
    }


#: The options of `beam_search` beyond the beam width and the GNMT length
#: penalty, which callers that store a search (an export, a batched
#: evaluation) pass through as one `beam_options` dict.
BEAM_OPTIONS = ("coverage_penalty", "block_ngram_repeat", "min_length", "length_penalty_type",
                "coverage_penalty_scope")


def check_beam_options(beam_options):
    """`beam_options` as a dict of `beam_search` keyword arguments (`{}` for `None`)."""
    if beam_options is None:
        return {}
    if not isinstance(beam_options, dict) or set(beam_options) - set(BEAM_OPTIONS):
        raise ArgumentError("beam_options", beam_options,
                            f"None or a dict with keys among {', '.join(BEAM_OPTIONS)}")
    return dict(beam_options)


def _latest_alignment(state, cell):
    """The alignment the step just wrote (for the coverage penalty)."""
    if not cell.has_attention:
        return None
    alignments, time = state[-2], state[-1]
    return ops.take(alignments, ops.maximum(time - 1, 0), axis=1)
