"""A check the backend tests (JAX, PyTorch) run in their subprocess: the CRF
functions and layer under whatever `KERAS_BACKEND` that process has, against
tfa's golden case and enumeration of every tag sequence, and a few `fit`
steps through `CRFLoss`. Imports Keras, NumPy and kerasrnn only."""

import itertools

import keras
import numpy as np

from kerasrnn import text
from kerasrnn.layers import CRF
from kerasrnn.layers import CRFLoss


def _enumerated(unary, transitions, length, start, end):
    """(log Z, best sequence, best score) of one sequence by enumeration."""
    scores = {}
    for tags in itertools.product(range(unary.shape[1]), repeat=length):
        s = sum(unary[t, y] for t, y in enumerate(tags)) + start[tags[0]] + end[tags[-1]]
        scores[tags] = s + sum(transitions[tags[t - 1], tags[t]] for t in range(1, length))
    best = max(scores, key=scores.get)
    return np.logaddexp.reduce(list(scores.values())), list(best), scores[best]


def check_crf():
    numpy = keras.ops.convert_to_numpy
    inputs = np.array([[[4, 5, -3], [3, -1, 3], [-1, 2, 1], [0, 0, 0]]], "float32")
    transitions = np.array([[-3, 5, -2], [3, 4, 1], [1, 2, 1]], "float32")
    lengths = np.array([3])
    score = text.crf_sequence_score(inputs, np.array([[1, 2, 1, 0]]), lengths, transitions)
    np.testing.assert_allclose(numpy(score), [13.0])
    tags, best = text.crf_decode(inputs, transitions, lengths)
    assert numpy(tags).tolist() == [[1, 0, 1, 0]] and float(numpy(best)[0]) == 18.0

    rng = np.random.default_rng(0)
    unary = rng.normal(size=(3, 4, 3)).astype("float32")
    gold = rng.integers(0, 3, size=(3, 4))
    lengths = np.array([4, 2, 1])
    mask = np.arange(4)[None, :] < lengths[:, None]
    layer = CRF()
    layer.build(unary.shape)
    start, end = rng.normal(size=(2, 3)).astype("float32")
    pairs = rng.normal(size=(3, 3)).astype("float32")
    layer.set_weights([pairs, start, end])
    log_likelihood = numpy(layer.log_likelihood(unary, gold, mask))
    decoded, best = (numpy(t) for t in layer.decode(unary, mask))
    for b, n in enumerate(lengths):
        log_z, best_tags, best_score = _enumerated(unary[b], pairs, n, start, end)
        s = sum(unary[b, t, y] for t, y in enumerate(gold[b, :n])) + start[gold[b, 0]] + end[gold[b, n - 1]]
        s += sum(pairs[gold[b, t - 1], gold[b, t]] for t in range(1, n))
        np.testing.assert_allclose(log_likelihood[b], s - log_z, atol=1e-4)
        assert decoded[b, :n].tolist() == best_tags and np.all(decoded[b, n:] == 0)
        np.testing.assert_allclose(best[b], best_score, atol=1e-4)

    # fit through CRFLoss, then the decoding model sharing the weights.
    features = keras.Input((None, 3))
    crf = CRF()
    potentials = keras.layers.Dense(3)(features)
    model = keras.Model(features, crf(potentials))
    model.compile(keras.optimizers.Adam(0.05), loss=CRFLoss(crf))
    padded = np.where(mask, gold, -1)
    history = model.fit(unary, padded, epochs=5, batch_size=3, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < history[0], history
    tagger = keras.Model(features, crf(potentials, decode=True))
    full = numpy(tagger.predict(unary, verbose=0))
    expected, _ = crf.decode(model.predict(unary, verbose=0))
    assert full.tolist() == numpy(expected).tolist()
