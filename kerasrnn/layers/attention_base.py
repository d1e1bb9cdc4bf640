"""Shared machinery of kerasrnn's attention mechanisms (keras.ops only).

An attention mechanism scores a query against the keys of a memory, turns the
scores into alignment weights with a masked softmax, and averages the memory's
values with those weights:

    a = softmax(score(q, K))          (padded memory positions get weight 0)
    context = a V

The query-independent part of the score (e.g. `K W_k`) is computed once per
source sequence by `process_memory` so that a decoder can cache it across
decoding steps and pass it back as `processed_memory`.
"""

import keras
from keras import ops

#: Score given to padded memory positions before the softmax.
_MASKED_SCORE = -1e9


def masked_softmax(scores, mask=None):
    """Softmax over the last axis where `mask` (broadcastable, bool) is true.

    Positions where the mask is false get exactly zero weight; a row whose
    positions are all masked gets all-zero weights (not a uniform average).
    """
    if mask is None:
        return ops.softmax(scores, axis=-1)
    mask = ops.cast(mask, "bool")
    scores = ops.where(mask, scores, ops.cast(_MASKED_SCORE, scores.dtype))
    weights = ops.softmax(scores, axis=-1)
    return weights * ops.cast(mask, weights.dtype)


def additive_score(processed_query, keys, attention_v, attention_g=None, attention_b=None):
    """Additive (Bahdanau) scores `v · tanh(q_i + k_j [+ b])`.

    With `attention_g` and `attention_b` (weight normalisation, Salimans &
    Kingma 2016) `v` is replaced by `g · v / ‖v‖` and `b` is added inside the
    tanh.

    Args:
        processed_query: `(batch, Tq, units)`, the projected queries.
        keys: `(batch, Tv, units)`, the projected memory.
        attention_v: `(units,)`.
        attention_g: Optional scalar.
        attention_b: Optional `(units,)`; used together with `attention_g`.

    Returns:
        `(batch, Tq, Tv)` scores.
    """
    # (batch, Tq, 1, units) + (batch, 1, Tv, units) -> (batch, Tq, Tv, units)
    hidden = ops.expand_dims(processed_query, 2) + ops.expand_dims(keys, 1)
    v = attention_v
    if attention_g is not None:
        v = attention_g * v / ops.sqrt(ops.sum(ops.square(v)))
        hidden = hidden + attention_b
    return ops.sum(v * ops.tanh(hidden), axis=-1)


def multiplicative_score(query, keys, attention_g=None):
    """Multiplicative (Luong) scores `g · (q_i · k_j)`.

    Args:
        query: `(batch, Tq, depth)`.
        keys: `(batch, Tv, depth)`.
        attention_g: Optional learned scalar scale.

    Returns:
        `(batch, Tq, Tv)` scores.
    """
    scores = ops.matmul(query, ops.transpose(keys, (0, 2, 1)))
    if attention_g is not None:
        scores = attention_g * scores
    return scores


class AttentionMechanism(keras.layers.Layer):
    """Base class: masking, softmax, context; subclasses define the score.

    Subclasses implement `build(query_shape, value_shape)`,
    `process_memory(value)` and `score(query, processed_memory)` where `query`
    is `(batch, Tq, query_dim)` and the result is `(batch, Tq, Tv)`.

    Call arguments:
        query: `(batch, query_dim)` (one decoder step) or
            `(batch, Tq, query_dim)`.
        value: Memory `(batch, Tv, value_dim)`, e.g. encoder outputs.
        value_mask: Optional boolean `(batch, Tv)`; false marks padding, which
            gets zero weight.
        processed_memory: Optional result of `process_memory(value)`, to reuse
            across decoding steps.

    Returns:
        `(context, weights)`: `(batch, [Tq,] value_dim)` and
        `(batch, [Tq,] Tv)`, without the `Tq` axis for a rank-2 query.
    """

    def process_memory(self, value):
        raise NotImplementedError

    def score(self, query, processed_memory):
        raise NotImplementedError

    def call(self, query, value, value_mask=None, processed_memory=None):
        single_step = len(query.shape) == 2
        if single_step:
            query = ops.expand_dims(query, 1)
        if processed_memory is None:
            processed_memory = self.process_memory(value)
        scores = self.score(query, processed_memory)
        mask = None if value_mask is None else ops.expand_dims(value_mask, 1)
        weights = masked_softmax(scores, mask)
        context = ops.matmul(weights, ops.cast(value, weights.dtype))
        if single_step:
            return ops.squeeze(context, 1), ops.squeeze(weights, 1)
        return context, weights

    def compute_output_shape(self, query_shape, value_shape, value_mask_shape=None,
                             processed_memory_shape=None):
        lead = tuple(query_shape[:-1])
        return lead + (value_shape[-1],), lead + (value_shape[1],)
