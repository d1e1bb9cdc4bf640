"""CRF: `kerasrnn.text` (tfa.text's functions) and `kerasrnn.layers.CRF`,
exact against enumeration of every tag sequence on tiny cases."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasrnn
from kerasrnn import text
from kerasrnn.layers import CRF
from kerasrnn.layers import CRFLoss
from kerasrnn.validation import InputError

# tfa.text's test case (tensorflow_addons/text/tests/crf_test.py).
TFA_INPUTS = np.array([[4, 5, -3], [3, -1, 3], [-1, 2, 1], [0, 0, 0]], dtype="float32")
TFA_TRANSITIONS = np.array([[-3, 5, -2], [3, 4, 1], [1, 2, 1]], dtype="float32")
TFA_TAGS = np.array([1, 2, 1, 0], dtype="int32")


def score(unary, transitions, tags, start=None, end=None):
    """s(y) of one sequence, written out."""
    if len(tags) == 0:
        return 0.0
    s = sum(unary[t, y] for t, y in enumerate(tags))
    s += sum(transitions[tags[t - 1], tags[t]] for t in range(1, len(tags)))
    if start is not None:
        s += start[tags[0]] + end[tags[-1]]
    return float(s)


def enumerate_sequences(unary, transitions, length, start=None, end=None):
    """(all sequences, their scores) of `length` steps."""
    sequences = list(itertools.product(range(unary.shape[1]), repeat=length))
    return sequences, np.array([score(unary, transitions, s, start, end) for s in sequences])


def brute_force(unary, transitions, tags, length, start=None, end=None):
    """(log p(tags), best sequence, best score) by enumeration."""
    sequences, scores = enumerate_sequences(unary, transitions, length, start, end)
    log_z = np.logaddexp.reduce(scores) if length else 0.0
    best = int(np.argmax(scores))
    return (score(unary, transitions, list(tags[:length]), start, end) - log_z,
            list(sequences[best]) if length else [], float(scores[best]) if length else 0.0)


def batch1(*arrays):
    return [np.asarray(a)[None] for a in arrays]


def test_tfa_golden_scores():
    inputs, tags, lengths = batch1(TFA_INPUTS, TFA_TAGS, 3)
    # 5 + 3 + 2 unary, A[1, 2] + A[2, 1] = 1 + 2 binary.
    np.testing.assert_allclose(text.crf_unary_score(tags, lengths, inputs), [10.0])
    np.testing.assert_allclose(text.crf_binary_score(tags, lengths, TFA_TRANSITIONS), [3.0])
    np.testing.assert_allclose(text.crf_sequence_score(inputs, tags, lengths, TFA_TRANSITIONS), [13.0])
    # The length-1 case: one unary score, no transition.
    one = text.crf_sequence_score(TFA_INPUTS[None, :1], TFA_TAGS[None, :1], np.array([1]), TFA_TRANSITIONS)
    np.testing.assert_allclose(one, [5.0])
    # A length of 0 gives log Z = 0.
    zero = text.crf_log_norm(np.ones((2, 10, 5), "float32"), np.zeros(2, "int32"), np.ones((5, 5), "float32"))
    np.testing.assert_array_equal(zero, [0.0, 0.0])


def test_tfa_golden_likelihood_sums_to_one_and_decodes():
    sequences, _ = enumerate_sequences(TFA_INPUTS, TFA_TRANSITIONS, 3)
    tags = np.array([list(s) + [0] for s in sequences], "int32")
    inputs = np.repeat(TFA_INPUTS[None], len(tags), axis=0)
    log_likelihood, _ = text.crf_log_likelihood(inputs, tags, np.full(len(tags), 3), TFA_TRANSITIONS)
    np.testing.assert_allclose(np.logaddexp.reduce(np.asarray(log_likelihood)), 0.0, atol=1e-5)
    _, best, best_score = brute_force(TFA_INPUTS, TFA_TRANSITIONS, TFA_TAGS, 3)
    # 5 + 3 + 2 unary + A[1, 0] + A[0, 1] = 3 + 5 beats every other path.
    assert best == [1, 0, 1] and best_score == 18.0
    viterbi, viterbi_score = text.viterbi_decode(TFA_INPUTS[:3], TFA_TRANSITIONS)
    assert viterbi == best and viterbi_score == pytest.approx(best_score)
    decoded, decoded_score = text.crf_decode(TFA_INPUTS[None], TFA_TRANSITIONS, np.array([3]))
    assert np.asarray(decoded).tolist() == [best + [0]]
    np.testing.assert_allclose(decoded_score, [best_score], rtol=1e-6)
    # Length 1: the best single unary score.
    decoded, decoded_score = text.crf_decode(np.array([[[-1, 2, 1]]], "float32"), TFA_TRANSITIONS, np.array([1]))
    assert np.asarray(decoded).tolist() == [[1]] and float(decoded_score[0]) == 2.0


def random_case(seed, batch=4, steps=4, num_tags=3):
    rng = np.random.default_rng(seed)
    unary = rng.normal(size=(batch, steps, num_tags)).astype("float32")
    transitions = rng.normal(size=(num_tags, num_tags)).astype("float32")
    tags = rng.integers(0, num_tags, size=(batch, steps)).astype("int32")
    lengths = np.array([steps, 2, 1, 0][:batch], "int32")
    return unary, transitions, tags, lengths


def test_functions_match_enumeration_with_lengths():
    unary, transitions, tags, lengths = random_case(1)
    log_likelihood, _ = text.crf_log_likelihood(unary, tags, lengths, transitions)
    decoded, best_score = text.crf_decode(unary, transitions, lengths)
    for b, length in enumerate(lengths):
        expected_ll, expected_best, expected_score = brute_force(unary[b], transitions, tags[b], length)
        np.testing.assert_allclose(log_likelihood[b], expected_ll, atol=1e-5)
        assert np.asarray(decoded[b]).tolist() == expected_best + [0] * (4 - length)
        np.testing.assert_allclose(best_score[b], expected_score, atol=1e-5)


def crf_layer(transitions, start=None, end=None):
    layer = CRF(use_boundary_transitions=start is not None)
    layer.build((None, None, transitions.shape[0]))
    layer.transitions.assign(transitions)
    if start is not None:
        layer.start_transitions.assign(start)
        layer.end_transitions.assign(end)
    return layer


def test_layer_matches_enumeration_with_mask_and_boundaries():
    unary, transitions, tags, lengths = random_case(2)
    rng = np.random.default_rng(3)
    start, end = rng.normal(size=(2, 3)).astype("float32")
    layer = crf_layer(transitions, start, end)
    mask = np.arange(4)[None, :] < lengths[:, None]
    # Values at padded steps must not matter: make them large.
    unary = np.where(mask[..., None], unary, 50.0).astype("float32")
    log_likelihood = layer.log_likelihood(unary, tags, mask)
    decoded, best_score = layer.decode(unary, mask)
    assert np.asarray(layer(unary, mask=mask, decode=True)).tolist() == np.asarray(decoded).tolist()
    for b, length in enumerate(lengths):
        expected_ll, expected_best, expected_score = brute_force(
            unary[b], transitions, tags[b], length, start, end)
        np.testing.assert_allclose(log_likelihood[b], expected_ll, atol=1e-5)
        assert np.asarray(decoded[b]).tolist() == expected_best + [0] * (4 - length)
        np.testing.assert_allclose(best_score[b], expected_score, atol=1e-5)
    # CRFLoss: tags padded with -1 give the same mask.
    padded = np.where(mask, tags, -1)
    loss = CRFLoss(layer, reduction=None)(padded, unary)
    np.testing.assert_allclose(loss, -np.asarray(log_likelihood), atol=1e-5)


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(4)
    unary = tf.constant(rng.normal(size=(2, 3, 3)))
    transitions = tf.Variable(rng.normal(size=(3, 3)))
    tags, lengths = np.array([[0, 2, 1], [1, 1, 0]]), np.array([3, 2])

    def nll(u, a):
        return -tf.reduce_sum(text.crf_log_likelihood(u, tags, lengths, a)[0])

    with tf.GradientTape() as tape:
        tape.watch(unary)
        value = nll(unary, transitions)
    grad_u, grad_a = tape.gradient(value, [unary, transitions])
    eps = 1e-6
    for param, grad in ((unary, grad_u), (transitions, grad_a)):
        base = np.asarray(param).copy()
        numeric = np.zeros_like(base)
        for index in np.ndindex(base.shape):
            plus, minus = base.copy(), base.copy()
            plus[index] += eps
            minus[index] -= eps
            if param is unary:
                f = lambda v: float(nll(tf.constant(v), transitions))  # noqa: E731
            else:
                f = lambda v: float(nll(unary, tf.constant(v)))  # noqa: E731
            numeric[index] = (f(plus) - f(minus)) / (2 * eps)
        np.testing.assert_allclose(np.asarray(grad), numeric, atol=1e-6)
    # Padded steps get no gradient.
    assert np.all(np.asarray(grad_u)[1, 2] == 0)


def test_decode_and_likelihood_under_xla():
    unary, transitions, tags, lengths = random_case(5)

    @tf.function(jit_compile=True)
    def both(u, a, n):
        decoded, best = text.crf_decode(u, a, n)
        return decoded, best, text.crf_log_likelihood(u, tags, n, a)[0]

    decoded, best, log_likelihood = both(unary, transitions, lengths)
    expected = text.crf_decode(unary, transitions, lengths)
    np.testing.assert_array_equal(decoded, expected[0])
    np.testing.assert_allclose(best, expected[1], atol=1e-5)
    np.testing.assert_allclose(log_likelihood, text.crf_log_likelihood(unary, tags, lengths, transitions)[0],
                               atol=1e-5)


def tagging_model(num_tags=3, vocabulary=8):
    tokens = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(vocabulary, 8, mask_zero=True)(tokens)
    x = kerasrnn.layers.LSTM(8, return_sequences=True)(x)
    potentials = keras.layers.Dense(num_tags)(x)
    crf = CRF(name="crf")
    return keras.Model(tokens, crf(potentials)), keras.Model(tokens, crf(potentials, decode=True)), crf


def test_fit_decode_and_keras_round_trip(tmp_path):
    # Tag = the previous token's parity: needs the transitions or the past.
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 8, size=(64, 5)).astype("int32")
    tokens[::3, 3:] = 0
    tags = np.concatenate([np.full((64, 1), 2), tokens[:, :-1] % 2], axis=1).astype("int32")
    tags = np.where(tokens > 0, tags, -1)
    train, tagger, crf = tagging_model()
    train.compile(keras.optimizers.Adam(0.05), loss=CRFLoss(crf), jit_compile=False)
    history = train.fit(tokens, tags, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    predicted = np.asarray(tagger.predict(tokens, verbose=0))
    assert np.mean(predicted[tags >= 0] == tags[tags >= 0]) > 0.95
    assert np.all(predicted[tags < 0] == 0)
    path = str(tmp_path / "tagger.keras")
    tagger.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(restored.predict(tokens, verbose=0), predicted)
    config = crf.get_config()
    clone = CRF.from_config(config)
    assert clone.get_config() == config and config["use_boundary_transitions"] is True


def test_bad_input_is_named():
    unary, transitions, tags, lengths = random_case(6)
    with pytest.raises(InputError, match=r"transition_params.*\(3, 3\).*Received: transition_params.shape=\(2, 3\)"):
        text.crf_log_likelihood(unary, tags, lengths, transitions[:2])
    with pytest.raises(InputError, match="transition_params"):
        text.crf_decode(unary, np.zeros((4, 4), "float32"), lengths)
    with pytest.raises(InputError, match="transition_params"):
        text.viterbi_decode(unary[0], np.zeros((3,)))
    with pytest.raises(InputError, match=r"tag_indices.*Received: tag_indices.shape=\(4, 3\)"):
        text.crf_sequence_score(unary, tags[:, :3], lengths, transitions)
    with pytest.raises(InputError, match=r"sequence_lengths.*Received: sequence_lengths.shape=\(3,\)"):
        text.crf_log_norm(unary, lengths[:3], transitions)
    layer = crf_layer(transitions)
    with pytest.raises(InputError, match=r"`mask` must have shape \(batch, steps\) = \(4, 4\).*mask.shape=\(4, 3\)"):
        layer(unary, mask=np.ones((4, 3), bool))
    with pytest.raises(InputError, match=r"potentials.*\(batch, steps, 3\).*Received: potentials.shape=\(4, 4, 2\)"):
        layer(unary[..., :2])
    with pytest.raises(InputError, match="num_tags"):
        CRF()(np.zeros((2, 3), "float32"))
    with pytest.raises(InputError, match="`crf` must be a kerasrnn.layers.CRF"):
        CRFLoss("crf")
    with pytest.raises(InputError, match="bound to no CRF layer"):
        CRFLoss.from_config(CRFLoss(layer).get_config())(tags, unary)
    with pytest.raises(ValueError, match="use_boundary_transitions"):
        CRF(use_boundary_transitions="yes")
