"""Decoding a `Seq2Seq` model: greedy, temperature/top-k sampling, beam search.

Each search runs the encoder once, then one `keras.ops.while_loop` whose body
calls the decoder for a single step against the cached encoder outputs (memory,
mask and the attention's memory projection). The loop runs at most
`max_length` steps and stops early once every sequence has produced
`end_id`. Fixed-size buffers are written with one-hot masks, so the whole
search traces to one graph that XLA compiles (`jit_compile=True`).

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
  attend to: an empty source is the end token alone); a batch of 0 gives
  outputs with a batch of 0.

Beam search keeps `beam_width` hypotheses per example. A hypothesis that has
produced `end_id` stays in the beam with its score frozen (it competes with
the live ones and can be pushed out). Hypotheses are ranked by
`log_prob / lp(length)` with the GNMT length penalty
`lp(n) = ((5 + n) / 6) ** length_penalty` (Wu et al. 2016);
`length_penalty=0` ranks by log-probability. With `beam_width=1` beam search
returns exactly what greedy search returns.
"""

import numpy as np
from keras import ops
from keras import random

from kerasrnn.data.ids import END_ID
from kerasrnn.data.ids import PAD_ID
from kerasrnn.data.ids import START_ID
from kerasrnn.validation import InputError
from kerasrnn.validation import check_non_negative_number
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number

#: Log-probability given to forbidden continuations and to the empty beams
#: of the first step (finite, so sums never produce NaN).
NEG_INF = -1e9


def _suppressed(vocab_size, pad_id, start_id):
    mask = np.zeros((vocab_size,), dtype=bool)
    mask[[pad_id, start_id]] = True
    return mask


def _write(buffer, t, value, axis):
    """`buffer` with `value` written at position `t` of `axis`."""
    length = buffer.shape[axis] if buffer.shape[axis] is not None else ops.shape(buffer)[axis]
    shape = [1] * len(buffer.shape)
    shape[axis] = -1
    at_t = ops.reshape(ops.equal(ops.arange(length), t), shape)
    return ops.where(at_t, ops.expand_dims(value, axis), buffer)


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
    encoded, states = model.encode(source_ids)
    return source_ids, max_length, encoded, list(states)


def _log_softmax(logits, suppressed):
    logits = ops.where(suppressed, ops.cast(NEG_INF, logits.dtype), logits)
    return ops.log_softmax(logits, axis=-1)


def _step_loop(model, source_ids, max_length, choose, start_id, end_id, pad_id):
    """Shared loop of greedy search and sampling (`choose(logp, t) -> ids`)."""
    source_ids, max_length, encoded, states = _prepare(model, source_ids, max_length)
    batch = ops.shape(source_ids)[0]
    source_length = ops.shape(source_ids)[1]
    suppressed = _suppressed(model.decoder.vocab_size, pad_id, start_id)
    has_attention = model.decoder.attention is not None
    dtype = model.decoder.compute_dtype

    def cond(t, tokens, states, ids, log_probs, lengths, finished, attention):
        return ops.logical_and(t < max_length, ops.logical_not(ops.all(finished)))

    def body(t, tokens, states, ids, log_probs, lengths, finished, attention):
        logits, new_states, alignment = model.decode_step(tokens, states, encoded)
        logp = _log_softmax(logits, suppressed)
        token = ops.cast(choose(logp, t), "int32")
        token_logp = ops.squeeze(ops.take_along_axis(logp, token[:, None], axis=1), 1)
        alive = ops.logical_not(finished)
        token = ops.where(alive, token, pad_id)
        log_probs = log_probs + ops.where(alive, token_logp, 0.0)
        lengths = lengths + ops.cast(alive, "int32")
        ids = _write(ids, t, token, axis=1)
        if has_attention:
            alignment = ops.where(alive[:, None], alignment, 0.0)
            attention = _write(attention, t, alignment, axis=1)
        finished = ops.logical_or(finished, ops.equal(token, end_id))
        return t + 1, token, list(new_states), ids, log_probs, lengths, finished, attention

    loop_vars = (
        ops.convert_to_tensor(0, "int32"),
        ops.full((batch,), start_id, dtype="int32"),
        states,
        ops.zeros((batch, max_length), dtype="int32"),
        ops.zeros((batch,), dtype=dtype),
        ops.zeros((batch,), dtype="int32"),
        ops.zeros((batch,), dtype="bool"),
        ops.zeros((batch, max_length, source_length if has_attention else 1), dtype=dtype),
    )
    _, _, _, ids, log_probs, lengths, _, attention = ops.while_loop(cond, body, loop_vars)
    return {
        "ids": ids,
        "log_probs": log_probs,
        "scores": log_probs,
        "lengths": lengths,
        "attention": attention if has_attention else None,
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
    return _step_loop(
        model, source_ids, max_length, lambda logp, t: ops.argmax(logp, axis=-1),
        start_id, end_id, pad_id,
    )


def sample(model, source_ids, max_length, temperature=1.0, top_k=None, seed=None,
           start_id=START_ID, end_id=END_ID, pad_id=PAD_ID):
    """Samples each token from the softmax of `logits / temperature`.

    With `top_k`, only the `top_k` most probable tokens can be drawn. Sampling
    uses the Gumbel-max trick with noise drawn once before the loop
    (`seed`: an int, a `keras.random.SeedGenerator` or `None`).

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
    max_length = check_positive_int("max_length", max_length)
    batch = ops.shape(ops.convert_to_tensor(source_ids))[0]
    uniform = random.uniform((max_length, batch, vocab_size), minval=1e-7, maxval=1.0, seed=seed)
    gumbel = -ops.log(-ops.log(uniform))

    def choose(logp, t):
        scaled = logp / temperature
        if top_k is not None:
            kth = ops.top_k(scaled, top_k)[0][:, -1:]
            scaled = ops.where(scaled < kth, NEG_INF, scaled)
        return ops.argmax(scaled + ops.take(gumbel, t, axis=0), axis=-1)

    return _step_loop(model, source_ids, max_length, choose, start_id, end_id, pad_id)


def length_normalizer(lengths, length_penalty):
    """GNMT length penalty `((5 + n) / 6) ** length_penalty`."""
    return ops.power((5.0 + ops.cast(lengths, "float32")) / 6.0, length_penalty)


def beam_search(model, source_ids, beam_width, max_length, length_penalty=0.0,
                start_id=START_ID, end_id=END_ID, pad_id=PAD_ID):
    """Keeps the `beam_width` best hypotheses per example at every step.

    Args:
        model: A built `Seq2Seq`.
        source_ids: int `(batch, source_length)`, 0-padded.
        beam_width: Positive integer, hypotheses kept per example.
        max_length: Positive integer, most tokens generated per hypothesis.
        length_penalty: `alpha >= 0` of the GNMT length penalty.
        start_id, end_id, pad_id: Reserved target ids.

    Returns:
        Dict, hypotheses sorted best first along axis 1: `ids` int
        `(batch, beam_width, max_length)`, `scores` `(batch, beam_width)`
        (`log_probs / lp(lengths)`), `log_probs`, `lengths` int, `attention`
        `(batch, beam_width, max_length, source_length)` or `None`.
    """
    beam = check_positive_int("beam_width", beam_width)
    alpha = check_non_negative_number("length_penalty", length_penalty)
    source_ids, max_length, encoded, states = _prepare(model, source_ids, max_length)
    batch = ops.shape(source_ids)[0]
    source_length = ops.shape(source_ids)[1]
    vocab = model.decoder.vocab_size
    suppressed = _suppressed(vocab, pad_id, start_id)
    has_attention = model.decoder.attention is not None
    dtype = model.decoder.compute_dtype

    def tile(x):
        return None if x is None else ops.repeat(x, beam, axis=0)

    encoded = {key: tile(value) for key, value in encoded.items()}
    states = [tile(s) for s in states]
    end_row = ops.where(ops.arange(vocab) == end_id, 0.0, NEG_INF)
    offsets = ops.arange(batch, dtype="int32")[:, None] * beam

    def cond(t, tokens, states, ids, log_probs, lengths, finished, attention):
        return ops.logical_and(t < max_length, ops.logical_not(ops.all(finished)))

    def body(t, tokens, states, ids, log_probs, lengths, finished, attention):
        logits, new_states, alignment = model.decode_step(tokens, states, encoded)
        logp = ops.reshape(_log_softmax(logits, suppressed), (batch, beam, vocab))
        # A finished hypothesis continues with a single, free candidate.
        logp = ops.where(finished[:, :, None], ops.cast(end_row, logp.dtype), logp)
        total = log_probs[:, :, None] + logp
        new_lengths = lengths + ops.cast(ops.logical_not(finished), "int32")
        ranked = total / ops.cast(length_normalizer(new_lengths, alpha), dtype)[:, :, None]
        _, best = ops.top_k(ops.reshape(ranked, (batch, beam * vocab)), beam)
        best = ops.cast(best, "int32")
        parent = best // vocab
        token = best % vocab
        flat_parent = ops.reshape(parent + offsets, (-1,))
        log_probs = ops.take_along_axis(ops.reshape(total, (batch, beam * vocab)), best, axis=1)
        parent_finished = ops.reshape(ops.take(ops.reshape(finished, (-1,)), flat_parent), (batch, beam))
        lengths = ops.reshape(ops.take(ops.reshape(new_lengths, (-1,)), flat_parent), (batch, beam))
        token = ops.where(parent_finished, pad_id, token)
        ids = ops.reshape(
            ops.take(ops.reshape(ids, (batch * beam, max_length)), flat_parent, axis=0),
            (batch, beam, max_length),
        )
        ids = _write(ids, t, token, axis=2)
        if has_attention:
            alignment = ops.take(alignment, flat_parent, axis=0)
            alignment = ops.where(ops.reshape(parent_finished, (-1, 1)), 0.0, alignment)
            attention = ops.take(attention, flat_parent, axis=0)
            attention = _write(attention, t, alignment, axis=1)
        new_states = [ops.take(s, flat_parent, axis=0) for s in new_states]
        finished = ops.logical_or(parent_finished, ops.equal(token, end_id))
        return (t + 1, ops.reshape(token, (-1,)), new_states, ids, log_probs, lengths,
                finished, attention)

    first = ops.concatenate(
        [ops.zeros((batch, 1), dtype=dtype), ops.full((batch, beam - 1), NEG_INF, dtype=dtype)],
        axis=1,
    )
    loop_vars = (
        ops.convert_to_tensor(0, "int32"),
        ops.full((batch * beam,), start_id, dtype="int32"),
        states,
        ops.zeros((batch, beam, max_length), dtype="int32"),
        first,
        ops.zeros((batch, beam), dtype="int32"),
        ops.zeros((batch, beam), dtype="bool"),
        ops.zeros((batch * beam, max_length, source_length if has_attention else 1), dtype=dtype),
    )
    _, _, _, ids, log_probs, lengths, _, attention = ops.while_loop(cond, body, loop_vars)
    scores = log_probs / ops.cast(length_normalizer(lengths, alpha), dtype)
    if has_attention:
        attention = ops.reshape(attention, (batch, beam, max_length, source_length))
    return {
        "ids": ids,
        "log_probs": log_probs,
        "scores": scores,
        "lengths": lengths,
        "attention": attention if has_attention else None,
    }
