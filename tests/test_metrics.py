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
