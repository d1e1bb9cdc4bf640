"""`kerasrnn.losses` against NumPy references."""

import keras
import numpy as np
import pytest

from kerasrnn import losses


def _batch(seed=0, batch=3, steps=5, bits=4):
    rng = np.random.default_rng(seed)
    targets = (rng.random((batch, steps, bits)) > 0.5).astype("float32")
    mask = (rng.random((batch, steps)) > 0.4).astype("float32")
    logits = (3 * rng.standard_normal((batch, steps, bits))).astype("float32")
    return targets, mask, logits


def reference_bits(targets, mask, logits):
    p = 1 / (1 + np.exp(-logits.astype("float64")))
    nats = -(targets * np.log(p) + (1 - targets) * np.log(1 - p))
    return (nats.sum(-1) * mask).sum(-1) / np.log(2)


def test_pack_and_split_targets():
    targets, mask, _ = _batch()
    packed = np.asarray(losses.pack_targets(targets, mask))
    assert packed.shape == (3, 5, 5)
    t, m = losses.split_targets(packed)
    np.testing.assert_array_equal(t, targets)
    np.testing.assert_array_equal(m, mask)


def test_bits_per_sequence_matches_numpy():
    targets, mask, logits = _batch()
    y = losses.pack_targets(targets, mask)
    np.testing.assert_allclose(losses.bits_per_sequence(y, logits), reference_bits(targets, mask, logits), rtol=1e-5)
    # Large logits stay finite (stable form).
    big = np.full_like(logits, 80.0)
    assert np.isfinite(np.asarray(losses.bits_per_sequence(y, big))).all()


def test_unscored_steps_do_not_count():
    targets, mask, logits = _batch()
    y = losses.pack_targets(targets, np.zeros_like(mask))
    np.testing.assert_array_equal(losses.bits_per_sequence(y, logits), np.zeros(3))


def test_loss_class_averages_over_the_batch_and_serializes():
    targets, mask, logits = _batch()
    y = losses.pack_targets(targets, mask)
    loss = losses.BitsPerSequence()
    np.testing.assert_allclose(float(loss(y, logits)), reference_bits(targets, mask, logits).mean(), rtol=1e-5)
    config = loss.get_config()
    assert config == {"name": "bits_per_sequence", "reduction": "sum_over_batch_size", "dtype": "float32"}
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(restored, losses.BitsPerSequence) and restored.get_config() == config


def test_model_with_the_loss_saves_and_loads(tmp_path):
    targets, mask, logits = _batch()
    model = keras.Sequential([keras.Input((None, 4)), keras.layers.Dense(4)])
    model.compile("sgd", loss=losses.BitsPerSequence())
    model.fit(logits, losses.pack_targets(targets, mask), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.loss, losses.BitsPerSequence)


@pytest.mark.parametrize("steps", [1, 7])
def test_shapes(steps):
    targets, mask, logits = _batch(steps=steps)
    assert np.asarray(losses.bits_per_sequence(losses.pack_targets(targets, mask), logits)).shape == (3,)
