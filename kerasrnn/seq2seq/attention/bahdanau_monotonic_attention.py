"""Monotonic additive attention: `BahdanauMonotonicAttention`."""

import keras
from keras import initializers

from kerasrnn.seq2seq.attention.bahdanau_attention import additive_scores_of
from kerasrnn.seq2seq.attention.bahdanau_attention import build_additive_weights
from kerasrnn.seq2seq.attention.bahdanau_attention import dense_layers
from kerasrnn.seq2seq.attention.monotonic import MonotonicAttentionMechanism
from kerasrnn.validation import check_bool
from kerasrnn.validation import check_positive_int


@keras.saving.register_keras_serializable(package="kerasrnn.seq2seq")
class BahdanauMonotonicAttention(MonotonicAttentionMechanism):
    """Monotonic attention with an additive score, as
    `tfa.seq2seq.BahdanauMonotonicAttention`.

    score_j = v · tanh(query W_q + memory_j W_m) + r      (r: a learned scalar bias)
    [normalize]: v ← g · v / ‖v‖ and a bias inside the tanh
    p_j = sigmoid(score_j + noise)   ("hard": 1[score_j > 0])
    alignments = monotonic_attention(p, previous alignments, mode)

    Once a position is attended, later output steps cannot attend before it.
    The initial alignments are `[1, 0, ..., 0]`.

    Args:
        units: Depth of the query and memory projections.
        memory: Optional `(batch, max_time, depth)` memory (or `setup_memory`).
        memory_sequence_length: Optional int `(batch,)` lengths of `memory`.
        normalize: Whether to weight-normalise `v`.
        sigmoid_noise: Standard deviation of the pre-sigmoid Gaussian noise
            added during training (pushes the probabilities towards 0/1).
        sigmoid_noise_seed: Optional integer seed of that noise.
        score_bias_init: Initial value of `r`; negative values suit long
            memories.
        mode: `"parallel"` (default), `"recursive"` or `"hard"` (see
            `monotonic_attention`).
        kernel_initializer: Initializer of `attention_v`.
        query_layer, memory_layer: Optional layers replacing
            `Dense(units, use_bias=False)`.
        **kwargs: Keras layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: `[query, state]`, state being the previous alignments.
        training: Whether to add the sigmoid noise.

    Returns:
        `(alignments, next_state)`, both `(batch, max_time)`.

    Example:

    >>> mechanism = BahdanauMonotonicAttention(4, memory=np.ones((2, 5, 3)))
    >>> alignments, _ = mechanism([np.ones((2, 6)), mechanism.initial_alignments(2)])
    >>> tuple(alignments.shape)
    (2, 5)

    Reference:
        Raffel, Luong, Liu, Weiss & Eck, "Online and Linear-Time Attention by
        Enforcing Monotonic Alignments", ICML 2017.
    """

    def __init__(self, units, memory=None, memory_sequence_length=None, normalize=False,
                 sigmoid_noise=0.0, sigmoid_noise_seed=None, score_bias_init=0.0, mode="parallel",
                 kernel_initializer="glorot_uniform", **kwargs):
        self.units = check_positive_int("units", units)
        self.normalize = check_bool("normalize", normalize)
        self.kernel_initializer = initializers.get(kernel_initializer)
        query_layer, memory_layer = dense_layers(self.units, kwargs)
        super().__init__(sigmoid_noise=sigmoid_noise, sigmoid_noise_seed=sigmoid_noise_seed,
                         score_bias_init=score_bias_init, mode=mode, memory=memory,
                         memory_sequence_length=memory_sequence_length, query_layer=query_layer,
                         memory_layer=memory_layer, **kwargs)

    def build_weights(self):
        build_additive_weights(self)
        self.build_score_bias()

    def score(self, processed_query):
        return additive_scores_of(self, processed_query)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "normalize": self.normalize,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
        }
