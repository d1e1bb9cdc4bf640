"""`kerasrnn.metrics` against NumPy references."""

import keras
import numpy as np

from kerasrnn import losses
from kerasrnn import metrics
from tests.test_losses import _batch
from tests.test_losses import reference_bits


def reference_errors(targets, mask, logits):
    return (np.abs((logits > 0).astype("float64") - targets).sum(-1) * mask).sum(-1)


def test_bit_errors_per_sequence_matches_numpy():
    targets, mask, logits = _batch(seed=1)
    y = losses.pack_targets(targets, mask)
    np.testing.assert_array_equal(metrics.bit_errors_per_sequence(y, logits), reference_errors(targets, mask, logits))
    # Perfect logits: no errors.
    perfect = np.where(targets > 0, 5.0, -5.0).astype("float32")
    np.testing.assert_array_equal(metrics.bit_errors_per_sequence(y, perfect), np.zeros(3))


def test_metric_classes_average_over_batches():
    a, b = _batch(seed=2), _batch(seed=3)
    bits, errors = metrics.BitsPerSequence(), metrics.BitErrorsPerSequence()
    for targets, mask, logits in (a, b):
        y = losses.pack_targets(targets, mask)
        bits.update_state(y, logits)
        errors.update_state(y, logits)
    expected_bits = np.concatenate([reference_bits(*a), reference_bits(*b)]).mean()
    expected_errors = np.concatenate([reference_errors(*a), reference_errors(*b)]).mean()
    np.testing.assert_allclose(float(bits.result()), expected_bits, rtol=1e-5)
    np.testing.assert_allclose(float(errors.result()), expected_errors, rtol=1e-6)


def test_names_configs_and_serialization():
    for cls, name in ((metrics.BitsPerSequence, "bits_per_sequence"),
                      (metrics.BitErrorsPerSequence, "bit_errors_per_sequence")):
        metric = cls()
        assert metric.name == name and metric.get_config() == {"name": name, "dtype": "float32"}
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
        assert type(restored) is cls and restored.get_config() == metric.get_config()
        assert cls(name="other").name == "other"


def test_history_keys_in_fit():
    targets, mask, logits = _batch(seed=4)
    model = keras.Sequential([keras.Input((None, 4)), keras.layers.Dense(4)])
    model.compile("sgd", loss=losses.BitsPerSequence(),
                  metrics=[metrics.BitsPerSequence(), metrics.BitErrorsPerSequence()])
    history = model.fit(logits, losses.pack_targets(targets, mask), epochs=1, verbose=0).history
    assert {"loss", "bits_per_sequence", "bit_errors_per_sequence"} <= set(history)


def test_sequence_scores_and_generalisation_report():
    from kerasrnn import models
    from kerasrnn.data.tasks.copy import copy_batch

    model = models.stacked_lstm_model(9, 8, units=4, layers=1)
    batch = copy_batch(np.random.default_rng(0), 5, max_length=3)
    bits, errors, probabilities = metrics.sequence_scores(model, batch, chunk=2)
    y = losses.pack_targets(batch["targets"], batch["output_mask"])
    logits = model.predict_on_batch(batch["inputs"])
    np.testing.assert_allclose(bits, reference_bits(batch["targets"], batch["output_mask"], logits), rtol=1e-4)
    np.testing.assert_array_equal(errors, metrics.bit_errors_per_sequence(y, logits))
    assert probabilities.shape == batch["targets"].shape and ((probabilities > 0) & (probabilities < 1)).all()
    summary = metrics.score_summary(bits, errors)
    assert summary["bit_errors_per_sequence_median"] == float(np.median(errors))

    sets = {"length 2": dict(min_length=2, max_length=2), "length 6": dict(min_length=6, max_length=6)}
    report = metrics.generalisation_report(model, copy_batch, sets, 3, seed=7)
    assert list(report) == ["length 2", "length 6"] and report["length 6"]["sequences"] == 3
    longer, _, _ = metrics.sequence_scores(model, copy_batch(np.random.default_rng(7), 3, **sets["length 6"]))
    assert report["length 6"]["bits_per_sequence"] == float(longer.mean())
