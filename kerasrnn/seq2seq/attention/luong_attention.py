"""Multiplicative attention with `tfa.seq2seq`'s interface: `LuongAttention`."""

import keras
from keras import ops

from kerasrnn.layers.attention_base import multiplicative_score
from kerasrnn.seq2seq.attention.attention_mechanism import AttentionMechanism
from kerasrnn.seq2seq.attention.attention_mechanism import check_probability_fn
from kerasrnn.seq2seq.attention.attention_mechanism import check_query_depth
from kerasrnn.validation import check_bool
from kerasrnn.validation import check_positive_int


@keras.saving.register_keras_serializable(package="kerasrnn.seq2seq")
class LuongAttention(AttentionMechanism):
    """Luong-style (multiplicative) attention, as `tfa.seq2seq.LuongAttention`.

    keys = memory W_m                       (`memory_layer`, no bias)
    score_j = [g ·] query · keys_j          (`g` a learned scalar with `scale=True`)
    alignments = softmax(score) (or hardmax), padded positions at zero

    The query (the wrapped cell's output) must be `units` wide.

    Args:
        units: Depth of the keys, which must equal the query's depth.
        memory: Optional `(batch, max_time, depth)` memory; can be set later
            with `setup_memory`.
        memory_sequence_length: Optional int `(batch,)` lengths of `memory`.
        scale: Whether to multiply the scores by a learned scalar `g`
            (initialised to 1).
        probability_fn: `"softmax"` (default) or `"hardmax"`.
        memory_layer: Optional layer replacing `Dense(units, use_bias=False)`.
        **kwargs: Keras layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: `[query, state]`: `(batch, units)` and the previous alignments
            `(batch, max_time)`.

    Returns:
        `(alignments, next_state)`, both `(batch, max_time)`.

    Example:

    >>> mechanism = LuongAttention(4, memory=np.ones((2, 5, 3)), memory_sequence_length=[5, 2])
    >>> alignments, _ = mechanism([np.ones((2, 4)), None])
    >>> tuple(alignments.shape)
    (2, 5)

    Reference:
        Luong, Pham & Manning, "Effective Approaches to Attention-based Neural
        Machine Translation", EMNLP 2015.
    """

    def __init__(self, units, memory=None, memory_sequence_length=None, scale=False,
                 probability_fn="softmax", **kwargs):
        self.units = check_positive_int("units", units)
        self.scale = check_bool("scale", scale)
        check_probability_fn(probability_fn)
        memory_layer = kwargs.pop("memory_layer", None) or keras.layers.Dense(
            self.units, use_bias=False, name="memory_layer", dtype=kwargs.get("dtype")
        )
        kwargs.pop("query_layer", None)
        super().__init__(memory=memory, memory_sequence_length=memory_sequence_length,
                         memory_layer=memory_layer, probability_fn=probability_fn, **kwargs)

    def build_weights(self):
        if self.scale:
            self.attention_g = self.add_weight(shape=(), name="attention_g", initializer="ones")

    def score(self, query):
        check_query_depth(self, query, self.units)
        g = self.attention_g if self.scale else None
        return ops.squeeze(multiplicative_score(ops.expand_dims(query, 1), self.keys, g), 1)

    def get_config(self):
        config = super().get_config()
        config.pop("query_layer")
        return {**config, "units": self.units, "scale": self.scale}
