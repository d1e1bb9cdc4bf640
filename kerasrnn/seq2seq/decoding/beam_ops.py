"""Beam-search building blocks as pure functions of tensors (keras.ops).

* `tile_batch`: repeats every batch entry `multiplier` times (encoder
  outputs and states for a beam decoder);
* `gather_tree`: follows the parent pointers of a finished beam search back
  from the last step to get each hypothesis's tokens;
* `gather_tree_from_array`: the same reordering for any per-step array;
* `length_penalty`, `coverage_penalty`: the GNMT penalties (Wu et al. 2016)
  and OpenNMT-py's average-length penalty;
* `ngram_blocked_tokens`: the tokens that would repeat an n-gram a
  hypothesis already contains (OpenNMT-py's `block_ngram_repeat`).
"""

import keras
from keras import ops

from kerasrnn.validation import ArgumentError
from kerasrnn.validation import check_choice
from kerasrnn.validation import check_non_negative_number
from kerasrnn.validation import check_positive_int

LENGTH_PENALTIES = ("gnmt", "average")
#: Which hypotheses the coverage penalty scores: `"finished"` ones only
#: (GNMT, tfa.seq2seq) or `"all"`, the live ones too at every step
#: (OpenNMT-py's stepwise penalty).
COVERAGE_PENALTY_SCOPES = ("finished", "all")


def check_coverage_penalty_scope(scope):
    """`scope` if it is one of `COVERAGE_PENALTY_SCOPES`, else an `ArgumentError`."""
    return check_choice("coverage_penalty_scope", scope, COVERAGE_PENALTY_SCOPES)


def tile_batch(t, multiplier):
    """Repeats each batch entry of `t` (a tensor or a nest of them) `multiplier` times.

    `(batch, ...)` becomes `(batch * multiplier, ...)` with the copies of one
    entry next to each other: `[a, b]` with `multiplier=2` gives
    `[a, a, b, b]`, the layout a beam decoder expects for its initial state
    and for attention memories. `None` entries stay `None`.

    Args:
        t: A tensor of rank >= 1, or a nest (list, tuple, dict) of them.
        multiplier: Positive integer (the beam width).

    Returns:
        The tiled tensor or nest.

    Example:

    >>> tile_batch(np.array([[1, 2], [3, 4]]), 2)
    array([[1, 2], [1, 2], [3, 4], [3, 4]])
    """
    multiplier = check_positive_int("multiplier", multiplier)

    def tile(x):
        if x is None:
            return None
        x = ops.convert_to_tensor(x)
        if len(x.shape) == 0:
            raise ArgumentError("t", x, "tensors of rank >= 1 (a batch axis first)")
        return ops.repeat(x, multiplier, axis=0)

    return keras.tree.map_structure(tile, t, none_is_leaf=True)


def gather_tree(step_ids, parent_ids, max_sequence_lengths, end_token):
    """The token ids of each final beam, read back through the parent pointers.

    For batch entry `b` and beam `k`, with `L = min(max_sequence_lengths[b],
    max_time)`: `beams[L-1, b, k] = step_ids[L-1, b, k]`, and going back in
    time each step reads the token of the beam that the later step descended
    from (`parent_ids`). Steps from `L` on, and every step after the first
    `end_token` of a beam, hold `end_token` (the `tf.raw_ops.GatherTree`
    contract that `tfa.seq2seq.gather_tree` exposes).

    Args:
        step_ids: int `(max_time, batch, beam_width)`, the token chosen by
            each beam at each step.
        parent_ids: int `(max_time, batch, beam_width)`, the beam each
            step's beam extended.
        max_sequence_lengths: int `(batch,)`, the steps to read per entry.
        end_token: int, the end-of-sequence id.

    Returns:
        int32 `(max_time, batch, beam_width)`.
    """
    step_ids = ops.cast(ops.convert_to_tensor(step_ids), "int32")
    parent_ids = ops.cast(ops.convert_to_tensor(parent_ids), "int32")
    if len(step_ids.shape) != 3 or len(parent_ids.shape) != 3:
        raise ArgumentError(
            "step_ids", tuple(step_ids.shape),
            "a (max_time, batch, beam_width) tensor, as parent_ids "
            f"(shape {tuple(parent_ids.shape)})",
        )
    max_time = ops.shape(step_ids)[0]
    lengths = ops.minimum(ops.cast(ops.convert_to_tensor(max_sequence_lengths), "int32"), max_time)
    end_token = ops.cast(end_token, "int32")
    beam_width = ops.shape(step_ids)[2]
    parent = ops.zeros_like(step_ids[0]) + ops.arange(beam_width, dtype="int32")[None, :]
    beams = ops.zeros_like(step_ids) + end_token

    def body(i, parent, beams):
        t = max_time - 1 - i
        valid = (t < lengths)[:, None]
        ids = ops.take_along_axis(ops.take(step_ids, t, axis=0), parent, axis=1)
        beams = ops.slice_update(beams, [t, 0, 0], ops.where(valid, ids, end_token)[None])
        parent = ops.where(valid, ops.take_along_axis(ops.take(parent_ids, t, axis=0), parent, axis=1),
                           parent)
        return parent, beams

    _, beams = ops.fori_loop(0, max_time, lambda i, s: body(i, *s), (parent, beams))
    is_end = ops.cast(ops.equal(beams, end_token), "int32")
    after_end = (ops.cumsum(is_end, axis=0) - is_end) > 0
    return ops.where(after_end, end_token, beams)


def gather_tree_from_array(t, parent_ids, sequence_length):
    """Reorders a per-step array `t` along the beams' ancestry (`gather_tree` for any values).

    Args:
        t: `(max_time, batch, beam_width, ...)` or `(max_time, batch *
            beam_width, ...)`, values recorded at each step by each beam.
        parent_ids: int `(max_time, batch, beam_width)`.
        sequence_length: int `(batch, beam_width)`, each beam's length; steps
            at or past it keep their own values.

    Returns:
        `t` with, at every step, the values of the beam each final beam
        descends from.
    """
    t = ops.convert_to_tensor(t)
    parent_ids = ops.cast(ops.convert_to_tensor(parent_ids), "int32")
    sequence_length = ops.cast(ops.convert_to_tensor(sequence_length), "int32")
    max_time, batch, beam_width = (ops.shape(parent_ids)[i] for i in range(3))
    beam_ids = ops.zeros_like(parent_ids) + ops.arange(beam_width, dtype="int32")[None, None, :]
    max_lengths = ops.max(sequence_length, axis=1, initial=0)
    sorted_ids = gather_tree(beam_ids, parent_ids, max_lengths, beam_width + 1)
    in_sequence = ops.arange(max_time, dtype="int32")[:, None, None] < sequence_length[None]
    sorted_ids = ops.where(in_sequence, sorted_ids, beam_ids)
    shape = ops.shape(t)
    split = ops.reshape(t, (max_time, batch, beam_width) + tuple(shape[2:])) if _is_merged(t, parent_ids) else t
    index = ops.reshape(sorted_ids, tuple(ops.shape(sorted_ids)) + (1,) * (len(split.shape) - 3))
    gathered = ops.take_along_axis(split, ops.broadcast_to(index, ops.shape(split)), axis=2)
    return ops.reshape(gathered, shape)


def _is_merged(t, parent_ids):
    """Whether `t` holds batch and beam in one axis (`(T, batch * beam, ...)`)."""
    if len(t.shape) < 3:
        return True
    batch, beam = parent_ids.shape[1], parent_ids.shape[2]
    return not (t.shape[1] == batch and t.shape[2] == beam)


def length_penalty(lengths, weight, kind="gnmt"):
    """The divisor of a hypothesis's log-probability for its length.

    * `"gnmt"`: `((5 + n) / 6) ** weight` (Wu et al. 2016; 1 for
      `weight=0`);
    * `"average"`: `n` (OpenNMT-py's `avg`, the mean token log-probability;
      `max(n, 1)` so an empty hypothesis is not divided by 0).

    Args:
        lengths: int tensor, hypothesis lengths `n` (end token included).
        weight: Non-negative number, GNMT's `alpha` (unused by `"average"`).
        kind: `"gnmt"` or `"average"`.

    Returns:
        float32 tensor shaped like `lengths`.
    """
    lengths = ops.cast(lengths, "float32")
    if kind == "average":
        return ops.maximum(lengths, 1.0)
    return ops.power((5.0 + lengths) / 6.0, weight)


def coverage_penalty(accumulated_attention, weight):
    """GNMT coverage penalty `weight * sum_i log(min(sum_t a_ti, 1))`.

    Source positions never attended (accumulated 0, e.g. padding) count as
    covered (log 1 = 0), as in tfa.seq2seq.

    Args:
        accumulated_attention: `(..., source_length)`, each source position's
            attention summed over the decoded steps.
        weight: GNMT's `beta` (>= 0).

    Returns:
        `(...)`, a non-positive number to add to the score.
    """
    a = ops.cast(accumulated_attention, "float32")
    a = ops.where(ops.equal(a, 0.0), 1.0, a)
    return weight * ops.sum(ops.log(ops.minimum(a, 1.0)), axis=-1)


def ngram_blocked_tokens(history, time, n, vocab_size):
    """Which next tokens would repeat an `n`-gram already in each hypothesis.

    A token `w` is blocked for a hypothesis `y_0 .. y_{t-1}` when
    `(y_{t-n+1}, ..., y_{t-1}, w)` already occurs in it (OpenNMT-py's
    `block_ngram_repeat`; `n=1` blocks every token already produced).

    Args:
        history: int `(rows, max_time)`, the tokens of each hypothesis, valid
            before `time`.
        time: int scalar `t`, the tokens produced so far.
        n: Positive Python integer.
        vocab_size: Python integer.

    Returns:
        Boolean `(rows, vocab_size)`.
    """
    history = ops.cast(history, "int32")
    rows = ops.shape(history)[0]
    max_time = history.shape[1] if history.shape[1] is not None else ops.shape(history)[1]
    positions = ops.arange(max_time, dtype="int32")

    def shifted(i):  # shifted(i)[:, j] = history[:, j + i]
        return ops.concatenate([history[:, i:], ops.zeros_like(history[:, :i])], axis=1) if i else history

    # An earlier n-gram starting at j matches the last n - 1 tokens and ends
    # before the current step (j + n - 1 < t).
    match = ops.logical_and(positions[None, :] + n - 1 < time, ops.ones_like(history, dtype="bool"))
    for i in range(n - 1):
        last = ops.take(history, ops.maximum(time - n + 1 + i, 0), axis=1)
        match = ops.logical_and(match, ops.equal(shifted(i), last[:, None]))
    following = shifted(n - 1)
    row_ids = ops.broadcast_to(ops.arange(rows, dtype="int32")[:, None], ops.shape(history))
    indices = ops.stack([ops.reshape(row_ids, (-1,)), ops.reshape(following, (-1,))], axis=1)
    counts = ops.scatter(indices, ops.reshape(ops.cast(match, "float32"), (-1,)), (rows, vocab_size))
    return counts > 0


def check_length_penalty(length_penalty, length_penalty_weight):
    """Validated `(kind, weight)` of a length penalty."""
    kind = check_choice("length_penalty", length_penalty, LENGTH_PENALTIES)
    weight = check_non_negative_number("length_penalty_weight", length_penalty_weight)
    if kind == "average" and weight != 0:
        raise ArgumentError(
            "length_penalty_weight", length_penalty_weight,
            "0 with length_penalty='average' (which divides by the length; the weight is GNMT's)",
        )
    return kind, weight
