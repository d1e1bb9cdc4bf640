"""`BeamSearchDecoder`: beam search over any cell, with GNMT and OpenNMT-py options."""

import collections

import keras
import numpy as np
from keras import ops

from kerasrnn.seq2seq.decoding.base import BaseDecoder
from kerasrnn.seq2seq.decoding.basic_decoder import build_sublayers
from kerasrnn.seq2seq.decoding.basic_decoder import check_cell
from kerasrnn.seq2seq.decoding.basic_decoder import check_end_token
from kerasrnn.seq2seq.decoding.basic_decoder import check_input_width
from kerasrnn.seq2seq.decoding.basic_decoder import check_output_layer
from kerasrnn.seq2seq.decoding.basic_decoder import like_state
from kerasrnn.seq2seq.decoding.basic_decoder import rnn_output_size
from kerasrnn.seq2seq.decoding.basic_decoder import serialize_layer
from kerasrnn.seq2seq.decoding.beam_ops import check_coverage_penalty_scope
from kerasrnn.seq2seq.decoding.beam_ops import check_length_penalty
from kerasrnn.seq2seq.decoding.beam_ops import coverage_penalty
from kerasrnn.seq2seq.decoding.beam_ops import gather_tree
from kerasrnn.seq2seq.decoding.beam_ops import length_penalty
from kerasrnn.seq2seq.decoding.beam_ops import ngram_blocked_tokens
from kerasrnn.seq2seq.decoding.samplers import EMBEDDING_INSTEAD
from kerasrnn.seq2seq.decoding.samplers import deserialize_fn
from kerasrnn.seq2seq.decoding.samplers import embedding_lookup_fn
from kerasrnn.seq2seq.decoding.samplers import serialize_fn
from kerasrnn.validation import ArgumentError
from kerasrnn.validation import check_bool
from kerasrnn.validation import check_non_negative_int
from kerasrnn.validation import check_non_negative_number
from kerasrnn.validation import check_positive_int

BeamSearchDecoderState = collections.namedtuple(
    "BeamSearchDecoderState",
    ("cell_state", "log_probs", "finished", "lengths", "accumulated_attention_probs", "scores",
     "history"),
)
BeamSearchDecoderState.__doc__ = """State of a beam search, batch-major `(batch, beam_width, ...)`.

Fields as in tfa.seq2seq (`cell_state` with `batch * beam_width` rows,
`log_probs`, `finished`, `lengths` with the end token counted,
`accumulated_attention_probs` or `()`), plus `scores` (each hypothesis's
current score: log-probability over the length penalty, plus the coverage
penalty of finished ones) and `history` (the tokens so far, `(batch,
beam_width, maximum_iterations)`, kept for n-gram blocking, else `()`)."""

BeamSearchDecoderOutput = collections.namedtuple(
    "BeamSearchDecoderOutput", ("scores", "predicted_ids", "parent_ids"))
FinalBeamSearchDecoderOutput = collections.namedtuple(
    "FinalBeamSearchDecoderOutput", ("predicted_ids", "beam_search_decoder_output"))

#: Log-probability of every continuation of a finished hypothesis but the end token.
_FINISHED = float(np.finfo("float32").min)
#: Log-probability of a blocked token (n-gram repeat, end before `min_length`).
_BLOCKED = -1e20


def _attention_probs_from_state(state):
    """The alignments an attention cell keeps in its state (tfa's `AttentionWrapperState.alignments`)."""
    found = []

    def visit(s):
        alignments = s.get("alignments") if isinstance(s, dict) else getattr(s, "alignments", None)
        if alignments is not None:
            found.append(alignments)
        elif isinstance(s, (list, tuple)):
            for part in s:
                visit(part)

    visit(state)
    flat = [a for f in found for a in (f if isinstance(f, (list, tuple)) else [f])]
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else ops.mean(ops.stack(flat, axis=-1), axis=-1)


def beam_search_step(time, logits, next_cell_state, beam_state, end_token, length_penalty_weight=0.0,
                     coverage_penalty_weight=0.0, attention_probs=None, output_all_scores=False,
                     length_penalty_kind="gnmt", block_ngram_repeat=0, min_length=0,
                     coverage_penalty_scope="finished"):
    """One step of beam search, as a pure function.

    Every live hypothesis is extended by every token; a finished one only by
    `end_token`, at no cost (tfa's `_mask_probs`). Candidates are ranked by
    `score = log_prob / length_penalty(n)` (`n` counts the tokens, end token
    included), plus the coverage penalty of the hypothesis's accumulated
    attention: for hypotheses that had already finished only
    (`coverage_penalty_scope="finished"`, tfa.seq2seq's rule), or for every
    hypothesis, the live ones with this step's attention added (`"all"`,
    OpenNMT-py's stepwise penalty); the
    `beam_width` best per batch entry are kept. Tokens that would repeat an
    n-gram (`block_ngram_repeat`) or end a hypothesis shorter than
    `min_length` tokens get log-probability -1e20.

    Args:
        time: int scalar, the step (tokens already produced).
        logits: `(batch, beam_width, vocab_size)`.
        next_cell_state: The cell state after this step, `batch * beam_width`
            rows; reordered by parent here.
        beam_state: The `BeamSearchDecoderState` before this step.
        end_token: int.
        length_penalty_weight, coverage_penalty_weight: GNMT's alpha, beta.
        attention_probs: `(batch, beam_width, source_length)` this step's
            attention (needed for the coverage penalty).
        output_all_scores: Whether the output `scores` are those of every
            candidate `(batch, beam_width, vocab_size)`.
        length_penalty_kind: `"gnmt"` or `"average"`.
        block_ngram_repeat: `n` > 0 blocks repeated n-grams (needs
            `beam_state.history`).
        min_length: Hypotheses have at least this many tokens before the end.
        coverage_penalty_scope: `"finished"` or `"all"`, the hypotheses
            whose score carries the coverage penalty.

    Returns:
        `(BeamSearchDecoderOutput, BeamSearchDecoderState)`.
    """
    coverage_penalty_scope = check_coverage_penalty_scope(coverage_penalty_scope)
    logits = ops.cast(logits, "float32")
    batch, beam_width, vocab = ops.shape(logits)[0], logits.shape[1], logits.shape[2]
    finished = beam_state.finished
    not_finished = ops.logical_not(finished)
    end_token = ops.cast(end_token, "int32")
    end_column = ops.equal(ops.arange(vocab, dtype="int32"), end_token)

    step_log_probs = ops.log_softmax(logits, axis=-1)
    if block_ngram_repeat:
        history = ops.reshape(beam_state.history, (-1, beam_state.history.shape[-1]))  # static length
        blocked = ngram_blocked_tokens(history, time, block_ngram_repeat, vocab)
        step_log_probs = ops.where(ops.reshape(blocked, (batch, beam_width, vocab)), _BLOCKED,
                                   step_log_probs)
    if min_length:
        step_log_probs = ops.where(ops.logical_and(end_column, time < min_length), _BLOCKED, step_log_probs)
    finished_row = ops.where(end_column, 0.0, _FINISHED)
    step_log_probs = ops.where(finished[:, :, None], finished_row, step_log_probs)
    total = beam_state.log_probs[:, :, None] + step_log_probs

    new_lengths = beam_state.lengths + ops.cast(not_finished, "int32")
    if length_penalty_kind == "gnmt" and not length_penalty_weight:
        scores = total  # lp = 1
    else:
        scores = total / length_penalty(new_lengths, length_penalty_weight, length_penalty_kind)[:, :, None]
    accumulated = beam_state.accumulated_attention_probs
    if coverage_penalty_weight:
        attention_probs = ops.cast(attention_probs, "float32") * ops.cast(not_finished, "float32")[:, :, None]
        accumulated = accumulated + attention_probs
        penalty = coverage_penalty(accumulated, coverage_penalty_weight)
        if coverage_penalty_scope == "finished":
            penalty = penalty * ops.cast(finished, "float32")
        scores = scores + penalty[:, :, None]

    flat_scores = ops.reshape(scores, (batch, beam_width * vocab))
    next_scores, indices = ops.top_k(flat_scores, beam_width)
    indices = ops.cast(indices, "int32")
    word_ids = indices % vocab
    parent_ids = indices // vocab
    next_log_probs = ops.take_along_axis(ops.reshape(total, (batch, beam_width * vocab)), indices, axis=1)

    flat_parent = ops.reshape(parent_ids + ops.arange(batch, dtype="int32")[:, None] * beam_width, (-1,))

    def by_parent(x):  # (batch, beam, ...) rows reordered by parent
        rest = tuple(ops.shape(x)[2:])
        flat = ops.take(ops.reshape(x, (-1,) + rest), flat_parent, axis=0)
        return ops.reshape(flat, (batch, beam_width) + rest)

    def gather_cell_state(x):
        if len(x.shape) == 0:
            return x
        return ops.take(x, flat_parent, axis=0)

    parent_finished = by_parent(finished)
    next_finished = ops.logical_or(parent_finished, ops.equal(word_ids, end_token))
    next_lengths = by_parent(beam_state.lengths) + ops.cast(ops.logical_not(parent_finished), "int32")
    word_ids = ops.where(parent_finished, end_token, word_ids)
    history = beam_state.history
    if block_ngram_repeat:
        history = by_parent(history)
        history = ops.slice_update(history, [0, 0, time], word_ids[:, :, None])
    next_state = BeamSearchDecoderState(
        cell_state=keras.tree.map_structure(gather_cell_state, next_cell_state),
        log_probs=next_log_probs,
        finished=next_finished,
        lengths=next_lengths,
        accumulated_attention_probs=by_parent(accumulated) if coverage_penalty_weight else accumulated,
        scores=next_scores,
        history=history,
    )
    output = BeamSearchDecoderOutput(scores=scores if output_all_scores else next_scores,
                                     predicted_ids=word_ids, parent_ids=parent_ids)
    return output, next_state


@keras.saving.register_keras_serializable(package="kerasrnn.seq2seq")
class BeamSearchDecoder(BaseDecoder):
    """Beam search over any cell: keeps the `beam_width` best hypotheses per example.

    At each step every hypothesis is extended by every token of the
    vocabulary and the `beam_width` best candidates are kept, ranked by

        score = log P(y) / lp(|y|)  [+ cp(y) once y has ended, or always]

    with the GNMT length penalty `lp(n) = ((5 + n) / 6) ** alpha`
    (`length_penalty_weight`; or `lp(n) = n`, OpenNMT-py's average, with
    `length_penalty="average"`) and the GNMT coverage penalty
    `cp = beta * sum_i log(min(sum_t a_ti, 1))` of the attention the
    hypothesis paid to each source position (`coverage_penalty_weight`;
    needs an attention cell). By default (tfa.seq2seq, GNMT) only hypotheses
    that have ended carry `cp`, so at `maximum_iterations` a truncated
    hypothesis that never paid its penalty can outrank the finished ones;
    `coverage_penalty_scope="all"` adds `cp` of the attention so far to
    every hypothesis at every step (OpenNMT-py's stepwise coverage
    penalty). `n` counts the tokens, end token included. A
    hypothesis that produced `end_token` stays in the beam with its
    log-probability frozen and competes with the live ones. OpenNMT-py's
    `block_ngram_repeat` forbids any token that would repeat an n-gram the
    hypothesis already contains, and `min_length` forbids the end token
    before `min_length` tokens. The decode stops when every hypothesis has
    ended or after `maximum_iterations` steps.

    The initial cell state and any attention memory must be tiled to
    `batch * beam_width` rows with `tile_batch`.

    Args:
        cell: A Keras or kerasrnn RNN cell (e.g. an `AttentionWrapper`).
        beam_width: Positive integer.
        embedding_fn: Callable `ids -> embeddings` (a `keras.layers.Embedding`
            saves with the decoder; a plain Python callable cannot be
            serialized), or `None` to pass an embedding matrix when calling.
        output_layer: Optional layer mapping cell outputs to logits.
        length_penalty_weight: GNMT `alpha` >= 0 (0: no length penalty).
        coverage_penalty_weight: GNMT `beta` >= 0 (0: none).
        coverage_penalty_scope: `"finished"` (default, tfa.seq2seq's rule:
            only hypotheses that have ended carry the coverage penalty) or
            `"all"` (every hypothesis at every step, OpenNMT-py's stepwise
            penalty).
        reorder_tensor_arrays: Accepted for tfa.seq2seq compatibility; the
            cell state is reordered by parent at every step, so the final
            state is already in beam order and there is nothing left to
            reorder.
        output_all_scores: Whether the step outputs' `scores` hold every
            candidate's score `(beam_width, vocab_size)`.
        length_penalty: `"gnmt"` or `"average"` (`length_penalty_weight`
            must then be 0).
        block_ngram_repeat: Non-negative integer `n`; 0 blocks nothing.
            Needs `maximum_iterations` on the decoder.
        min_length: Non-negative integer, the fewest tokens before the end.
        attention_probs_fn: Callable `cell_state -> (batch * beam_width,
            source_length)` attention for the coverage penalty; by default
            the `alignments` found in the cell state (averaged over several
            mechanisms).
        **kwargs: `output_time_major`, `maximum_iterations` and Keras
            `Layer` arguments.

    Call arguments:
        embedding: Embedding matrix `(vocab_size, dim)` or `None` (with
            `embedding_fn`).
        start_tokens: int `(batch,)`.
        end_token: int.
        initial_state: The cell state, `batch * beam_width` rows.
        training: Passed to the cell.

    Returns:
        `(FinalBeamSearchDecoderOutput, BeamSearchDecoderState, lengths)`:
        `predicted_ids` int `(batch, maximum_iterations, beam_width)`
        (hypotheses best first along the last axis, `end_token` after their
        end), the per-step outputs, the final state (`scores`, `log_probs`,
        `lengths` `(batch, beam_width)` for n-best lists) and the lengths.

    Example:

    >>> cell = keras.layers.LSTMCell(8)
    >>> decoder = BeamSearchDecoder(cell, 3, output_layer=keras.layers.Dense(10),
    ...                             length_penalty_weight=0.6, maximum_iterations=7)
    >>> state = tile_batch([np.zeros((2, 8))] * 2, 3)
    >>> outputs, state, lengths = decoder(np.random.rand(10, 4), start_tokens=[1, 1],
    ...                                   end_token=2, initial_state=state)
    >>> outputs.predicted_ids.shape, state.scores.shape
    ((2, 7, 3), (2, 3))

    Reference:
        Wu et al., "Google's Neural Machine Translation System", 2016;
        Klein et al., "OpenNMT: Open-Source Toolkit for Neural Machine
        Translation", ACL 2017.
    """

    def __init__(self, cell, beam_width, embedding_fn=None, output_layer=None, length_penalty_weight=0.0,
                 coverage_penalty_weight=0.0, reorder_tensor_arrays=True, output_all_scores=False,
                 length_penalty="gnmt", block_ngram_repeat=0, min_length=0, attention_probs_fn=None,
                 coverage_penalty_scope="finished", **kwargs):
        if kwargs.get("impute_finished"):
            raise ArgumentError("impute_finished", True,
                                "False for BeamSearchDecoder, which tracks its own finished hypotheses")
        super().__init__(**kwargs)
        self.cell = check_cell(cell)
        self.beam_width = check_positive_int("beam_width", beam_width)
        if embedding_fn is not None and not callable(embedding_fn):
            raise ArgumentError("embedding_fn", embedding_fn, "a callable or None")
        self.embedding_fn = embedding_fn
        self.output_layer = check_output_layer(output_layer)
        self.length_penalty, self.length_penalty_weight = check_length_penalty(
            length_penalty, length_penalty_weight)
        self.coverage_penalty_weight = check_non_negative_number("coverage_penalty_weight",
                                                                 coverage_penalty_weight)
        self.coverage_penalty_scope = check_coverage_penalty_scope(coverage_penalty_scope)
        self.reorder_tensor_arrays = check_bool("reorder_tensor_arrays", reorder_tensor_arrays)
        self.output_all_scores = check_bool("output_all_scores", output_all_scores)
        self.block_ngram_repeat = check_non_negative_int("block_ngram_repeat", block_ngram_repeat)
        if self.block_ngram_repeat and self.maximum_iterations is None:
            raise ArgumentError("maximum_iterations", None,
                                "a positive integer when block_ngram_repeat > 0 (the hypotheses' tokens "
                                "are kept in a buffer of that many steps)")
        self.min_length = check_non_negative_int("min_length", min_length)
        if attention_probs_fn is not None and not callable(attention_probs_fn):
            raise ArgumentError("attention_probs_fn", attention_probs_fn, "a callable or None")
        self.attention_probs_fn = attention_probs_fn or _attention_probs_from_state

    @property
    def tracks_own_finished(self):
        return True

    @property
    def batch_size(self):
        return self._batch_size

    @property
    def vocab_size(self):
        return rnn_output_size(self.cell, self.output_layer)[-1]

    @property
    def output_size(self):
        scores = (self.beam_width, self.vocab_size) if self.output_all_scores else (self.beam_width,)
        return BeamSearchDecoderOutput(scores, (self.beam_width,), (self.beam_width,))

    @property
    def output_dtype(self):
        return BeamSearchDecoderOutput("float32", "int32", "int32")

    def _merge(self, x):
        return ops.reshape(x, (-1,) + tuple(ops.shape(x)[2:]))

    def _split(self, x):
        return ops.reshape(x, (-1, self.beam_width) + tuple(ops.shape(x)[1:]))

    def _check_tiled(self, initial_state, batch):
        rows = self.beam_width * batch if isinstance(batch, int) else None
        for x in keras.tree.flatten(initial_state):
            first = x.shape[0] if len(x.shape) else None
            if rows is not None and first is not None and first != rows:
                raise ArgumentError(
                    "initial_state", f"tensors of {first} rows",
                    f"tensors of batch * beam_width = {batch} * {self.beam_width} = {rows} rows "
                    "(tile the state and any attention memory with tile_batch(x, beam_width))",
                )

    def _check_memory_tiled(self, batch):
        """An attention cell's memories (`cell.attention_mechanisms[i].values`)
        must be tiled too; their batch is static or known eagerly."""
        rows = self.beam_width * batch if isinstance(batch, int) else None
        for mechanism in getattr(self.cell, "attention_mechanisms", None) or ():
            values = getattr(mechanism, "values", None)
            first = None if values is None else values.shape[0]
            if rows is not None and first is not None and first != rows:
                raise ArgumentError(
                    "memory", f"a memory of {first} rows in {type(mechanism).__name__}",
                    f"a memory of batch * beam_width = {batch} * {self.beam_width} = {rows} rows "
                    "(set it up with tile_batch(memory, beam_width) and tiled memory_sequence_length)",
                )

    def _attention_probs(self, cell_state):
        probs = self.attention_probs_fn(cell_state)
        if probs is None:
            raise ArgumentError(
                "coverage_penalty_weight", self.coverage_penalty_weight,
                f"0 for a cell whose state holds no attention alignments ({type(self.cell).__name__}; "
                "use an AttentionWrapper cell or pass attention_probs_fn)",
            )
        return self._split(probs)

    def initialize(self, embedding, start_tokens=None, end_token=None, initial_state=None):
        self._embed = embedding_lookup_fn(embedding, self.embedding_fn)
        if start_tokens is None or end_token is None or initial_state is None:
            missing = [n for n, v in (("start_tokens", start_tokens), ("end_token", end_token),
                                      ("initial_state", initial_state)) if v is None]
            raise ArgumentError(missing[0], None, "given: BeamSearchDecoder needs start_tokens, end_token "
                                "and the tiled initial_state")
        start_tokens = ops.cast(ops.convert_to_tensor(start_tokens), "int32")
        if len(start_tokens.shape) != 1:
            raise ArgumentError("start_tokens", f"a tensor of shape {tuple(start_tokens.shape)}",
                                "a vector (batch,)")
        if len(ops.convert_to_tensor(end_token).shape) != 0:
            raise ArgumentError("end_token", end_token, "a scalar")
        check_end_token(end_token, self.vocab_size)
        self.end_token = ops.cast(end_token, "int32")
        self._batch_size = ops.shape(start_tokens)[0]
        batch, beam = self._batch_size, self.beam_width
        self._check_tiled(initial_state, batch)
        self._check_memory_tiled(batch)
        tiled_start = ops.repeat(start_tokens[:, None], beam, axis=1)
        self.start_inputs = self._embed(tiled_start)
        check_input_width(self.cell, self.start_inputs, "embedding")
        build_sublayers(self.cell, self.output_layer, self._merge(self.start_inputs), initial_state, None)
        first = ops.arange(beam) == 0
        finished = ops.broadcast_to(ops.logical_not(first)[None, :], (batch, beam))
        log_probs = ops.broadcast_to(ops.where(first, 0.0, -np.inf)[None, :], (batch, beam))
        accumulated = ()
        if self.coverage_penalty_weight:
            probs = self._attention_probs(initial_state)
            accumulated = ops.zeros(ops.shape(probs), dtype="float32")
        history = ()
        if self.block_ngram_repeat:
            history = ops.zeros((batch, beam, self.maximum_iterations), dtype="int32")
        state = BeamSearchDecoderState(
            cell_state=initial_state,
            log_probs=ops.cast(log_probs, "float32"),
            finished=finished,
            lengths=ops.zeros((batch, beam), dtype="int32"),
            accumulated_attention_probs=accumulated,
            scores=ops.cast(log_probs, "float32"),
            history=history,
        )
        return finished, self.start_inputs, state

    def step(self, time, inputs, state, training=None):
        cell_outputs, cell_state = self.cell(self._merge(inputs), state.cell_state, training=training)
        if self.output_layer is not None:
            cell_outputs = self.output_layer(cell_outputs)
        cell_state = like_state(cell_state, state.cell_state)
        attention_probs = self._attention_probs(cell_state) if self.coverage_penalty_weight else None
        output, next_state = beam_search_step(
            time, self._split(cell_outputs), cell_state, state, self.end_token,
            length_penalty_weight=self.length_penalty_weight,
            coverage_penalty_weight=self.coverage_penalty_weight,
            attention_probs=attention_probs,
            output_all_scores=self.output_all_scores,
            length_penalty_kind=self.length_penalty,
            block_ngram_repeat=self.block_ngram_repeat,
            min_length=self.min_length,
            coverage_penalty_scope=self.coverage_penalty_scope,
        )
        finished = next_state.finished
        embedded = self._embed(output.predicted_ids)
        next_inputs = ops.where(ops.all(finished), ops.cast(self.start_inputs, embedded.dtype), embedded)
        return output, next_state, next_inputs, finished

    def finalize(self, outputs, final_state, sequence_lengths):
        max_lengths = ops.max(final_state.lengths, axis=1, initial=0)  # initial: a batch of 0
        predicted_ids = gather_tree(outputs.predicted_ids, outputs.parent_ids, max_lengths, self.end_token)
        return FinalBeamSearchDecoderOutput(predicted_ids, outputs), final_state

    def call(self, embedding, start_tokens=None, end_token=None, initial_state=None, training=None):
        return super().call(embedding, initial_state=initial_state, training=training,
                            start_tokens=start_tokens, end_token=end_token)

    def get_config(self):
        attention_probs_fn = self.attention_probs_fn
        if attention_probs_fn is _attention_probs_from_state:
            attention_probs_fn = None
        return {
            **super().get_config(),
            "cell": serialize_layer(self.cell),
            "beam_width": self.beam_width,
            "embedding_fn": serialize_fn("embedding_fn", self.embedding_fn, EMBEDDING_INSTEAD),
            "output_layer": serialize_layer(self.output_layer),
            "length_penalty_weight": self.length_penalty_weight,
            "coverage_penalty_weight": self.coverage_penalty_weight,
            "coverage_penalty_scope": self.coverage_penalty_scope,
            "reorder_tensor_arrays": self.reorder_tensor_arrays,
            "output_all_scores": self.output_all_scores,
            "length_penalty": self.length_penalty,
            "block_ngram_repeat": self.block_ngram_repeat,
            "min_length": self.min_length,
            "attention_probs_fn": serialize_fn(
                "attention_probs_fn", attention_probs_fn,
                "None to read the alignments of an AttentionWrapper cell's state"),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("cell", "embedding_fn", "output_layer", "attention_probs_fn"):
            config[key] = deserialize_fn(config.get(key))
        return cls(**config)
