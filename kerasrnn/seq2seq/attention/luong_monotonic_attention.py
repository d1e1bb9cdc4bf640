"""Monotonic multiplicative attention: `LuongMonotonicAttention`."""

import keras
from keras import ops

from kerasrnn.layers.attention_base import multiplicative_score
from kerasrnn.seq2seq.attention.attention_mechanism import check_query_depth
from kerasrnn.seq2seq.attention.monotonic import MonotonicAttentionMechanism
from kerasrnn.validation import check_bool
from kerasrnn.validation import check_positive_int


@keras.saving.register_keras_serializable(package="kerasrnn.seq2seq")
class LuongMonotonicAttention(MonotonicAttentionMechanism):
    """Monotonic attention with a multiplicative score, as
    `tfa.seq2seq.LuongMonotonicAttention`.

    score_j = [g ·] query · (memory_j W_m) + r      (r: a learned scalar bias)
    p_j = sigmoid(score_j + noise)   ("hard": 1[score_j > 0])
    alignments = monotonic_attention(p, previous alignments, mode)

    The query must be `units` wide. The initial alignments are `[1, 0, ..., 0]`.

    Args:
        units: Depth of the keys, which must equal the query's depth.
        memory: Optional `(batch, max_time, depth)` memory (or `setup_memory`).
        memory_sequence_length: Optional int `(batch,)` lengths of `memory`.
        scale: Whether to multiply the dot products by a learned scalar `g`.
        sigmoid_noise: Standard deviation of the pre-sigmoid Gaussian noise
            added during training.
        sigmoid_noise_seed: Optional integer seed of that noise.
        score_bias_init: Initial value of `r`.
        mode: `"parallel"` (default), `"recursive"` or `"hard"`.
        memory_layer: Optional layer replacing `Dense(units, use_bias=False)`.
        **kwargs: Keras layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: `[query, state]`, state being the previous alignments.
        training: Whether to add the sigmoid noise.

    Returns:
        `(alignments, next_state)`, both `(batch, max_time)`.

    Example:

    >>> mechanism = LuongMonotonicAttention(4, memory=np.ones((2, 5, 3)), mode="hard")
    >>> alignments, _ = mechanism([np.ones((2, 4)), mechanism.initial_alignments(2)])
    >>> tuple(alignments.shape)
    (2, 5)

    Reference:
        Raffel, Luong, Liu, Weiss & Eck, "Online and Linear-Time Attention by
        Enforcing Monotonic Alignments", ICML 2017.
    """

    def __init__(self, units, memory=None, memory_sequence_length=None, scale=False,
                 sigmoid_noise=0.0, sigmoid_noise_seed=None, score_bias_init=0.0, mode="parallel",
                 **kwargs):
        self.units = check_positive_int("units", units)
        self.scale = check_bool("scale", scale)
        memory_layer = kwargs.pop("memory_layer", None) or keras.layers.Dense(
            self.units, use_bias=False, name="memory_layer", dtype=kwargs.get("dtype")
        )
        kwargs.pop("query_layer", None)
        super().__init__(sigmoid_noise=sigmoid_noise, sigmoid_noise_seed=sigmoid_noise_seed,
                         score_bias_init=score_bias_init, mode=mode, memory=memory,
                         memory_sequence_length=memory_sequence_length, memory_layer=memory_layer,
                         **kwargs)

    def build_weights(self):
        if self.scale:
            self.attention_g = self.add_weight(shape=(), name="attention_g", initializer="ones")
        self.build_score_bias()

    def score(self, query):
        check_query_depth(self, query, self.units)
        g = self.attention_g if self.scale else None
        return ops.squeeze(multiplicative_score(ops.expand_dims(query, 1), self.keys, g), 1)

    def get_config(self):
        config = super().get_config()
        config.pop("query_layer")
        return {**config, "units": self.units, "scale": self.scale}
