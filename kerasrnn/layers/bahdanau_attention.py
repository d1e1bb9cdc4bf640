"""Additive (Bahdanau) attention: `BahdanauAttention`."""

import keras
from keras import initializers
from keras import ops

from kerasrnn.layers.attention_base import AttentionMechanism
from kerasrnn.layers.attention_base import additive_score
from kerasrnn.validation import check_positive_int


@keras.saving.register_keras_serializable(package="kerasrnn")
class BahdanauAttention(AttentionMechanism):
    """Additive attention of Bahdanau et al. (2015).

    score(q, k_j) = v · tanh(q W_q + k_j W_k [+ b])
    a = masked_softmax(score(q, K)),   context = a V

    With `normalize=True` (weight normalisation, Salimans & Kingma 2016, as in
    TensorFlow Addons' `BahdanauAttention(normalize=True)`) `v` is replaced by
    `g · v / ‖v‖` with a learned scalar `g` (initialised to `sqrt(1 / units)`)
    and a bias `b` is added inside the tanh.

    Args:
        units: Positive integer, width of the additive projection.
        normalize: Whether to weight-normalise `v` (and add the bias `b`).
        kernel_initializer: Initializer of `query_kernel`, `memory_kernel` and
            `attention_v`. Default `"glorot_uniform"`.

    Call arguments:
        query: `(batch, query_dim)` or `(batch, Tq, query_dim)`.
        value: `(batch, Tv, value_dim)`.
        value_mask: Optional boolean `(batch, Tv)`; padded positions get zero
            weight.
        processed_memory: Optional `process_memory(value)` (`value @ W_k`),
            cached across decoding steps.

    Returns:
        `(context, weights)`, shapes `(batch, [Tq,] value_dim)` and
        `(batch, [Tq,] Tv)`.

    Example:

    >>> attention = BahdanauAttention(8)
    >>> context, weights = attention(np.zeros((2, 4)), np.zeros((2, 5, 6)))
    >>> context.shape, weights.shape
    ((2, 6), (2, 5))

    Reference:
        Bahdanau, Cho & Bengio, "Neural Machine Translation by Jointly Learning
        to Align and Translate", ICLR 2015.
    """

    def __init__(self, units, normalize=False, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.normalize = bool(normalize)
        self.kernel_initializer = initializers.get(kernel_initializer)

    def build(self, query_shape, value_shape, value_mask_shape=None, processed_memory_shape=None):
        self.query_kernel = self.add_weight(
            shape=(query_shape[-1], self.units), name="query_kernel",
            initializer=self.kernel_initializer,
        )
        self.memory_kernel = self.add_weight(
            shape=(value_shape[-1], self.units), name="memory_kernel",
            initializer=self.kernel_initializer,
        )
        self.attention_v = self.add_weight(
            shape=(self.units,), name="attention_v", initializer=self.kernel_initializer
        )
        if self.normalize:
            self.attention_g = self.add_weight(
                shape=(), name="attention_g",
                initializer=initializers.Constant((1.0 / self.units) ** 0.5),
            )
            self.attention_b = self.add_weight(
                shape=(self.units,), name="attention_b", initializer="zeros"
            )

    def process_memory(self, value):
        return ops.matmul(value, self.memory_kernel)

    def score(self, query, processed_memory):
        norm = (self.attention_g, self.attention_b) if self.normalize else (None, None)
        return additive_score(ops.matmul(query, self.query_kernel), processed_memory, self.attention_v, *norm)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "normalize": self.normalize,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
        }
