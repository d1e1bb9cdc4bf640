"""Multiplicative (Luong) attention: `LuongAttention`."""

import keras
from keras import initializers
from keras import ops

from kerasrnn.layers.attention_base import AttentionMechanism
from kerasrnn.layers.attention_base import additive_score
from kerasrnn.layers.attention_base import multiplicative_score
from kerasrnn.validation import check_choice
from kerasrnn.validation import check_positive_int

_SCORES = ("dot", "general", "concat")


@keras.saving.register_keras_serializable(package="kerasrnn")
class LuongAttention(AttentionMechanism):
    """Attention of Luong, Pham & Manning (2015) with three score functions.

    dot:      score(q, k_j) = q · k_j                       (needs equal widths)
    general:  score(q, k_j) = q W k_jᵀ
    concat:   score(q, k_j) = v · tanh(q W_q + k_j W_k)
    [scale]:  score ← g · score, with a learned scalar g (initialised to 1)
    a = masked_softmax(score(q, K)),   context = a V

    Args:
        score: `"dot"`, `"general"` (default) or `"concat"`.
        units: Width of the concat projection; required (a positive integer)
            for `score="concat"`, must be `None` otherwise.
        scale: Whether to multiply the scores by a learned scalar `g`
            (TensorFlow Addons' `LuongAttention(scale=True)`).
        kernel_initializer: Initializer of the score kernels. Default
            `"glorot_uniform"`.

    Call arguments:
        query: `(batch, query_dim)` or `(batch, Tq, query_dim)`.
        value: `(batch, Tv, value_dim)`.
        value_mask: Optional boolean `(batch, Tv)`; padded positions get zero
            weight.
        processed_memory: Optional `process_memory(value)`, cached across
            decoding steps.

    Returns:
        `(context, weights)`, shapes `(batch, [Tq,] value_dim)` and
        `(batch, [Tq,] Tv)`.

    Example:

    >>> attention = LuongAttention("general")
    >>> context, weights = attention(np.zeros((2, 4)), np.zeros((2, 5, 6)))
    >>> context.shape, weights.shape
    ((2, 6), (2, 5))

    Reference:
        Luong, Pham & Manning, "Effective Approaches to Attention-based Neural
        Machine Translation", EMNLP 2015.
    """

    def __init__(self, score="general", units=None, scale=False,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        check_choice("score", score, _SCORES)
        if score == "concat":
            units = check_positive_int("units", units)
        elif units is not None:
            raise ValueError(
                f"`units` is only used by score='concat'. Received: units={units!r}, score={score!r}"
            )
        self.score_type = score
        self.units = units
        self.scale = bool(scale)
        self.kernel_initializer = initializers.get(kernel_initializer)

    def build(self, query_shape, value_shape, value_mask_shape=None, processed_memory_shape=None):
        query_dim, value_dim = query_shape[-1], value_shape[-1]
        if self.score_type == "dot" and query_dim != value_dim:
            raise ValueError(
                "score='dot' needs queries and values of the same width. "
                f"Received: query_shape={tuple(query_shape)}, value_shape={tuple(value_shape)}"
            )
        if self.score_type == "general":
            self.kernel = self.add_weight(
                shape=(query_dim, value_dim), name="kernel", initializer=self.kernel_initializer
            )
        elif self.score_type == "concat":
            self.query_kernel = self.add_weight(
                shape=(query_dim, self.units), name="query_kernel",
                initializer=self.kernel_initializer,
            )
            self.memory_kernel = self.add_weight(
                shape=(value_dim, self.units), name="memory_kernel",
                initializer=self.kernel_initializer,
            )
            self.attention_v = self.add_weight(
                shape=(self.units,), name="attention_v", initializer=self.kernel_initializer
            )
        if self.scale:
            self.attention_g = self.add_weight(shape=(), name="attention_g", initializer="ones")

    def process_memory(self, value):
        if self.score_type == "general":
            return ops.matmul(value, ops.transpose(self.kernel))  # (batch, Tv, query_dim)
        if self.score_type == "concat":
            return ops.matmul(value, self.memory_kernel)
        return value

    def score(self, query, processed_memory):
        if self.score_type == "concat":
            scores = additive_score(ops.matmul(query, self.query_kernel), processed_memory, self.attention_v)
            return self.attention_g * scores if self.scale else scores
        return multiplicative_score(query, processed_memory, self.attention_g if self.scale else None)

    def get_config(self):
        return {
            **super().get_config(),
            "score": self.score_type,
            "units": self.units,
            "scale": self.scale,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
        }
