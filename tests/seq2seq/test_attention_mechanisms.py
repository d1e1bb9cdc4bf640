"""The tfa.seq2seq-style attention mechanisms (kerasrnn.seq2seq.attention):
each against a NumPy reference with memory masks, `monotonic_attention`'s
three modes against the recurrence that defines them, memory set-up (lengths,
masks, Keras masks, re-setup with another batch), config round trips, and
bad input named in the error."""

import keras
import numpy as np
import pytest

from kerasrnn.seq2seq import BahdanauAttention
from kerasrnn.seq2seq import BahdanauMonotonicAttention
from kerasrnn.seq2seq import LuongAttention
from kerasrnn.seq2seq import LuongMonotonicAttention
from kerasrnn.seq2seq import hardmax
from kerasrnn.seq2seq import monotonic_attention
from kerasrnn.seq2seq import safe_cumprod
from tests import numpy_reference as ref
from tests.helpers import assert_close

RNG = np.random.RandomState(0)
MEMORY = RNG.randn(3, 5, 6).astype("float32")
LENGTHS = np.array([3, 5, 1])
MASK = np.arange(5)[None] < LENGTHS[:, None]
QUERY = RNG.randn(3, 4).astype("float32")
PREVIOUS = RNG.dirichlet(np.ones(5), size=3).astype("float32")


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# -- monotonic_attention: NumPy references -----------------------------------------


def np_monotonic_recursive(p, previous):
    """The definition: q_i = (1 - p_{i-1}) q_{i-1} + a'_i, a_i = p_i q_i."""
    attention = np.zeros_like(p)
    for b in range(p.shape[0]):
        q = 0.0
        for i in range(p.shape[1]):
            q = (1.0 - p[b, i - 1]) * q + previous[b, i] if i else previous[b, 0]
            attention[b, i] = p[b, i] * q
    return attention


def np_monotonic_hard(p, previous):
    """0/1 probabilities: the first 1 at or after the previously attended position."""
    attention = np.zeros_like(p)
    for b in range(p.shape[0]):
        start = int(np.argmax(previous[b] > 0))
        chosen = [i for i in range(start, p.shape[1]) if p[b, i] == 1.0]
        if chosen:
            attention[b, chosen[0]] = 1.0
    return attention


@pytest.mark.parametrize("mode", ["recursive", "parallel"])
def test_monotonic_attention_soft_modes_match_the_recurrence(mode):
    p = RNG.uniform(0.05, 0.95, size=(3, 5)).astype("float32")
    assert_close(monotonic_attention(p, PREVIOUS, mode), np_monotonic_recursive(p, PREVIOUS), atol=1e-5)


def test_monotonic_attention_hard_mode():
    p = np.array([[0, 1, 0, 1, 1], [1, 0, 0, 0, 1], [0, 0, 0, 0, 0]], "float32")
    previous = np.array([[0, 0, 1, 0, 0], [1, 0, 0, 0, 0], [0, 1, 0, 0, 0]], "float32")
    expected = np.array([[0, 0, 0, 1, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]], "float32")
    assert_close(np_monotonic_hard(p, previous), expected)
    assert_close(monotonic_attention(p, previous, "hard"), expected)
    # The soft modes agree with hard attention on 0/1 probabilities.
    assert_close(monotonic_attention(p, previous, "recursive"), expected)


def test_safe_cumprod_matches_cumprod():
    x = RNG.uniform(0.1, 1.0, size=(2, 6)).astype("float32")
    assert_close(safe_cumprod(x, axis=1), np.cumprod(x, axis=1), atol=1e-6)
    exclusive = np.concatenate([np.ones((2, 1)), np.cumprod(x, axis=1)[:, :-1]], axis=1)
    assert_close(safe_cumprod(x, axis=1, exclusive=True), exclusive, atol=1e-6)
    reverse = np.cumprod(x[:, ::-1], axis=1)[:, ::-1]
    assert_close(safe_cumprod(x, axis=1, reverse=True), reverse, atol=1e-6)
    assert np.all(np.isfinite(np.asarray(safe_cumprod(np.zeros((1, 3), "float32"), axis=1))))


# -- each mechanism against NumPy ----------------------------------------------------


def weights_of(mechanism):
    return {v.path.split("/")[-2 if v.path.endswith("kernel") else -1]: np.asarray(v) for v in mechanism.weights}


def np_scores(mechanism, query):
    w = weights_of(mechanism)
    keys = (MEMORY * MASK[..., None]) @ w["memory_layer"]
    if isinstance(mechanism, (LuongAttention, LuongMonotonicAttention)):
        scores = np.einsum("bd,btd->bt", query, keys)
        if mechanism.scale:
            scores = w["attention_g"] * scores
    else:
        norm = (w["attention_g"], w["attention_b"]) if mechanism.normalize else (None, None)
        scores = ref.additive_scores(query[:, None], keys, w["query_layer"], np.eye(keys.shape[-1]),
                                     w["attention_v"], *norm)[:, 0]
    return scores + w.get("attention_score_bias", 0.0)


SOFTMAX_CASES = {
    "luong": (LuongAttention, {"units": 4}),
    "luong_scaled": (LuongAttention, {"units": 4, "scale": True}),
    "luong_hardmax": (LuongAttention, {"units": 4, "probability_fn": "hardmax"}),
    "bahdanau": (BahdanauAttention, {"units": 7}),
    "bahdanau_normalized": (BahdanauAttention, {"units": 7, "normalize": True}),
}


def _with_nontrivial_scalars(mechanism):
    for v in mechanism.weights:
        if v.shape == ():
            v.assign(-0.7 if "bias" in v.path else 1.7)
    return mechanism


@pytest.mark.parametrize("name", sorted(SOFTMAX_CASES))
def test_mechanism_matches_numpy_with_mask(name):
    cls, kwargs = SOFTMAX_CASES[name]
    mechanism = cls(memory=MEMORY, memory_sequence_length=LENGTHS, **kwargs)
    mechanism.build([QUERY.shape, PREVIOUS.shape])
    _with_nontrivial_scalars(mechanism)
    alignments, state = mechanism([QUERY, PREVIOUS])
    scores = np_scores(mechanism, QUERY)
    if kwargs.get("probability_fn") == "hardmax":
        expected = np.eye(5)[np.argmax(np.where(MASK, scores, -np.inf), -1)]
    else:
        expected = ref.masked_softmax(scores, MASK)
    assert_close(alignments, expected, atol=1e-5)
    assert_close(state, expected, atol=1e-5)
    assert np.all(np.asarray(alignments)[~MASK] == 0.0)


@pytest.mark.parametrize("mode", ["parallel", "recursive", "hard"])
@pytest.mark.parametrize("cls,kwargs", [(BahdanauMonotonicAttention, {"units": 7, "normalize": True}),
                                        (LuongMonotonicAttention, {"units": 4, "scale": True})],
                         ids=["bahdanau", "luong"])
def test_monotonic_mechanism_matches_numpy_with_mask(cls, kwargs, mode):
    mechanism = cls(memory=MEMORY, memory_sequence_length=LENGTHS, mode=mode, score_bias_init=-0.5, **kwargs)
    mechanism.build([QUERY.shape, PREVIOUS.shape])
    assert_close(mechanism.initial_alignments(3), np.eye(5)[[0, 0, 0]])
    # Hard attention moves from a single attended position.
    previous = np.eye(5, dtype="float32")[[1, 0, 0]] if mode == "hard" else PREVIOUS
    alignments, _ = mechanism([QUERY, previous])
    scores = np_scores(mechanism, QUERY)
    if mode == "hard":
        expected = np_monotonic_hard(np.where(MASK, scores > 0, 0).astype("float32"), previous)
        assert np.asarray(expected).sum() > 0  # not a vacuous case
    else:
        expected = np_monotonic_recursive(np.where(MASK, np_sigmoid(scores), 0.0), previous)
    assert_close(alignments, expected, atol=1e-5)
    assert np.all(np.asarray(alignments)[~MASK] == 0.0)


def test_sigmoid_noise_only_in_training():
    mechanism = BahdanauMonotonicAttention(4, memory=MEMORY, sigmoid_noise=1.0, sigmoid_noise_seed=3)
    plain = mechanism([QUERY, PREVIOUS])[0]
    assert_close(mechanism([QUERY, PREVIOUS])[0], plain)
    noisy = mechanism([QUERY, PREVIOUS], training=True)[0]
    assert np.abs(np.asarray(noisy) - np.asarray(plain)).max() > 1e-3


def test_hardmax():
    assert_close(hardmax(np.array([[1.0, 3.0, 2.0], [0.0, -1.0, -2.0]], "float32")), [[0, 1, 0], [1, 0, 0]])


# -- memory ------------------------------------------------------------------------


def test_tfa_masking_case():
    """tfa's test_masking: ones everywhere, lengths 1..4 -> lower-triangular alignments."""
    mechanism = LuongAttention(5, np.ones((4, 4, 5), "float32"), np.array([1, 2, 3, 4]))
    alignment, _ = mechanism([np.ones((4, 5), "float32"), None])
    assert np.sum(np.triu(np.asarray(alignment), k=1)) == 0
    assert_close(np.asarray(alignment).sum(-1), np.ones(4), atol=1e-6)


def test_memory_mask_keras_mask_and_lengths_agree():
    by_lengths = LuongAttention(4, memory=MEMORY, memory_sequence_length=LENGTHS)
    expected = by_lengths([QUERY, None])[0]
    by_mask = LuongAttention(4)
    by_mask.setup_memory(MEMORY, memory_mask=MASK)
    by_mask.set_weights(by_lengths.get_weights())
    by_mask.setup_memory(MEMORY, memory_mask=MASK)  # keys are computed by setup_memory
    assert_close(by_mask([QUERY, None])[0], expected)
    # The Keras mask of an encoder output, through `__call__(..., setup_memory=True)`.
    tokens = np.where(MASK, 1 + np.arange(5)[None], 0)
    embedded = keras.layers.Embedding(8, 6, mask_zero=True)
    memory = embedded(tokens)
    by_keras = LuongAttention(4)
    by_keras(memory, mask=embedded.compute_mask(tokens), setup_memory=True)
    assert np.all(np.asarray(by_keras.memory_mask) == MASK)
    by_keras.setup_memory(memory)  # the mask Keras attached to the Embedding's output
    assert np.all(np.asarray(by_keras.memory_mask) == MASK)
    # Padded memory rows are zeroed in `values`, as in tfa.
    assert np.all(np.asarray(by_lengths.values)[~MASK] == 0.0)


def test_setup_memory_again_with_another_batch_reuses_the_weights():
    """tfa's test_manual_memory_reset."""
    mechanism = BahdanauAttention(4)
    mechanism.setup_memory(MEMORY, memory_sequence_length=LENGTHS)
    first = mechanism([QUERY, None])[0]
    variables = list(mechanism.variables)
    mechanism.setup_memory(MEMORY[:2, :4], memory_sequence_length=LENGTHS[:2].clip(max=4))
    assert tuple(mechanism.keys.shape) == (2, 4, 4) and tuple(mechanism.values.shape) == (2, 4, 6)
    second = mechanism([QUERY[:2], None])[0]
    assert [id(v) for v in mechanism.variables] == [id(v) for v in variables]
    assert_close(second[0, :3], first[0, :3], atol=1e-6)  # lengths 3: same memory rows, same weights


ALL = [(LuongAttention, {"units": 4, "scale": True}), (BahdanauAttention, {"units": 4, "normalize": True}),
       (BahdanauMonotonicAttention, {"units": 4, "mode": "hard", "sigmoid_noise": 0.5}),
       (LuongMonotonicAttention, {"units": 4, "mode": "recursive", "score_bias_init": -1.0})]


@pytest.mark.parametrize("cls,kwargs", ALL, ids=lambda c: getattr(c, "__name__", ""))
def test_config_round_trip_and_serialization(cls, kwargs):
    mechanism = cls(memory=MEMORY, **kwargs)
    expected = mechanism([QUERY, mechanism.initial_state(3)])[0]
    config = mechanism.get_config()
    assert cls.from_config(config).get_config() == config
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(mechanism))
    assert type(clone) is cls
    clone.setup_memory(MEMORY)
    clone.set_weights(mechanism.get_weights())
    clone.setup_memory(MEMORY)  # keys are computed by setup_memory
    assert_close(clone([QUERY, clone.initial_state(3)])[0], expected)


# -- bad input ---------------------------------------------------------------------


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"`memory` must be a 3D tensor.*shape \(3, 5\)"):
        LuongAttention(4, memory=np.zeros((3, 5), "float32"))
    with pytest.raises(ValueError, match=r"`memory_mask` must have shape \(batch, max_time\) = \(3, 5\).*\(3, 4\)"):
        LuongAttention(4).setup_memory(MEMORY, memory_mask=np.ones((3, 4), bool))
    with pytest.raises(ValueError, match=r"`memory_sequence_length` must have shape \(batch,\) = \(3,\).*\(2,\)"):
        LuongAttention(4, memory=MEMORY, memory_sequence_length=[1, 2])
    with pytest.raises(ValueError, match="at most one of `memory_sequence_length` and `memory_mask`"):
        LuongAttention(4).setup_memory(MEMORY, LENGTHS, MASK)
    with pytest.raises(ValueError, match="has no memory"):
        LuongAttention(4)([QUERY, None])
    with pytest.raises(ValueError, match=r"`units` must be the depth of the query \(4\).*Received: units=5"):
        LuongAttention(5, memory=MEMORY)([QUERY, None])
    with pytest.raises(ValueError, match="batch size"):
        BahdanauAttention(4, memory=MEMORY)([QUERY[:2], None])
    with pytest.raises(ValueError, match="`units` must be a positive integer. Received: units=0"):
        BahdanauAttention(0)
    with pytest.raises(ValueError, match="`probability_fn` must be one of 'softmax', 'hardmax'.*sparsemax"):
        BahdanauAttention(4, probability_fn="sparsemax")
    with pytest.raises(ValueError, match="`mode` must be one of 'parallel', 'recursive', 'hard'.*soft"):
        LuongMonotonicAttention(4, mode="soft")
    with pytest.raises(ValueError, match="`sigmoid_noise` must be a non-negative number.*-1"):
        BahdanauMonotonicAttention(4, sigmoid_noise=-1.0)
