"""Additive attention with `tfa.seq2seq`'s interface: `BahdanauAttention`."""

import math

import keras
from keras import initializers
from keras import ops

from kerasrnn.layers.attention_base import additive_score
from kerasrnn.seq2seq.attention.attention_mechanism import AttentionMechanism
from kerasrnn.seq2seq.attention.attention_mechanism import check_probability_fn
from kerasrnn.validation import check_bool
from kerasrnn.validation import check_positive_int


def build_additive_weights(layer):
    """`attention_v` (and `attention_g`, `attention_b` with `normalize`)."""
    layer.attention_v = layer.add_weight(shape=(layer.units,), name="attention_v",
                                         initializer=layer.kernel_initializer)
    if layer.normalize:
        layer.attention_g = layer.add_weight(
            shape=(), name="attention_g", initializer=initializers.Constant(math.sqrt(1.0 / layer.units))
        )
        layer.attention_b = layer.add_weight(shape=(layer.units,), name="attention_b", initializer="zeros")


def additive_scores_of(layer, processed_query):
    """`(batch, max_time)` additive scores of a mechanism with `attention_v`."""
    norm = (layer.attention_g, layer.attention_b) if layer.normalize else (None, None)
    return ops.squeeze(additive_score(ops.expand_dims(processed_query, 1), layer.keys, layer.attention_v, *norm), 1)


def dense_layers(units, kwargs):
    """The `query_layer` and `memory_layer` of an additive mechanism (popped
    from `kwargs` where given)."""
    return tuple(
        kwargs.pop(name, None) or keras.layers.Dense(units, use_bias=False, name=name, dtype=kwargs.get("dtype"))
        for name in ("query_layer", "memory_layer")
    )


@keras.saving.register_keras_serializable(package="kerasrnn.seq2seq")
class BahdanauAttention(AttentionMechanism):
    """Bahdanau-style (additive) attention, as `tfa.seq2seq.BahdanauAttention`.

    keys = memory W_m,  q = query W_q        (`memory_layer`, `query_layer`: no bias)
    score_j = v · tanh(q + keys_j)
    [normalize]: v ← g · v / ‖v‖ and a bias b inside the tanh (g initialised
                 to sqrt(1 / units), b to 0; Salimans & Kingma 2016)
    alignments = softmax(score) (or hardmax), padded positions at zero

    Args:
        units: Depth of the query and memory projections.
        memory: Optional `(batch, max_time, depth)` memory; can be set later
            with `setup_memory`.
        memory_sequence_length: Optional int `(batch,)` lengths of `memory`.
        normalize: Whether to weight-normalise `v` (and add the bias `b`).
        probability_fn: `"softmax"` (default) or `"hardmax"`.
        kernel_initializer: Initializer of `attention_v`. Default
            `"glorot_uniform"`.
        query_layer, memory_layer: Optional layers replacing
            `Dense(units, use_bias=False)`.
        **kwargs: Keras layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: `[query, state]`: `(batch, query_depth)` and the previous
            alignments `(batch, max_time)`.

    Returns:
        `(alignments, next_state)`, both `(batch, max_time)`.

    Example:

    >>> mechanism = BahdanauAttention(4, memory=np.ones((2, 5, 3)), memory_sequence_length=[5, 2])
    >>> alignments, _ = mechanism([np.ones((2, 6)), None])
    >>> tuple(alignments.shape)
    (2, 5)

    Reference:
        Bahdanau, Cho & Bengio, "Neural Machine Translation by Jointly Learning
        to Align and Translate", ICLR 2015.
    """

    def __init__(self, units, memory=None, memory_sequence_length=None, normalize=False,
                 probability_fn="softmax", kernel_initializer="glorot_uniform", **kwargs):
        self.units = check_positive_int("units", units)
        self.normalize = check_bool("normalize", normalize)
        self.kernel_initializer = initializers.get(kernel_initializer)
        check_probability_fn(probability_fn)
        query_layer, memory_layer = dense_layers(self.units, kwargs)
        super().__init__(memory=memory, memory_sequence_length=memory_sequence_length,
                         query_layer=query_layer, memory_layer=memory_layer,
                         probability_fn=probability_fn, **kwargs)

    def build_weights(self):
        build_additive_weights(self)

    def score(self, processed_query):
        return additive_scores_of(self, processed_query)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "normalize": self.normalize,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
        }
