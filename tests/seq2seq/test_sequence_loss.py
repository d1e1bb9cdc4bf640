"""sequence_loss / SequenceLoss (kerasrnn.seq2seq): tfa.seq2seq's loss test
cases (constant logits, expected ln 5), every reduction against a NumPy
reference with random logits and weights, one-hot targets and a custom loss
function, Keras fit, the Keras mask, config round trip, bad input."""

import itertools

import keras
import numpy as np
import pytest

from kerasrnn.seq2seq import SequenceLoss
from kerasrnn.seq2seq import sequence_loss
from tests.helpers import assert_close

# tfa's get_test_data: batch 2, 3 steps, 5 classes; logits constant i + 0.5 at
# step i, so each step's cross-entropy is ln 5.
BATCH, TIME, CLASSES = 2, 3, 5
LOGITS = np.broadcast_to((np.arange(TIME) + 0.5)[None, :, None], (BATCH, TIME, CLASSES)).astype("float32")
TARGETS = np.broadcast_to(np.arange(TIME)[None], (BATCH, TIME)).astype("int32")
WEIGHTS = np.ones((BATCH, TIME), "float32")
LN5 = float(np.log(5.0))  # tfa writes 1.60944

# The valid reductions (average_across_timesteps, average_across_batch,
# sum_over_timesteps, sum_over_batch): the others are rejected.
VALID = [f for f in itertools.product([False, True], repeat=4)
         if not (f[0] and f[2]) and not (f[1] and f[3]) and not (f[1] and f[2]) and not (f[3] and f[0])]


@pytest.mark.parametrize("zero_weights", [False, True])
@pytest.mark.parametrize("average_across_batch", [True, False])
@pytest.mark.parametrize("average_across_timesteps", [True, False])
def test_tfa_sequence_loss_cases(average_across_timesteps, average_across_batch, zero_weights):
    weights = WEIGHTS * (0.0 if zero_weights else 1.0)
    computed = sequence_loss(LOGITS, TARGETS, weights, average_across_timesteps=average_across_timesteps,
                             average_across_batch=average_across_batch)
    shape = {(True, True): (), (False, True): (TIME,), (True, False): (BATCH,), (False, False): (BATCH, TIME)}
    expected = np.full(shape[average_across_timesteps, average_across_batch], 0.0 if zero_weights else LN5)
    np.testing.assert_allclose(computed, expected, rtol=1e-6, atol=1e-6)


def test_tfa_sum_reductions_with_a_zero_weight_step():
    """tfa's test_sum_reduction and test_weighted_sum_reduction: sums divide by
    the number of non-zero weights, so a zero-weight last step does not count."""
    weights = WEIGHTS.copy()
    weights[:, -1] = 0.0
    def loss(sum_t, sum_b, w):
        return np.asarray(SequenceLoss(False, False, sum_t, sum_b)(TARGETS, LOGITS, w))
    for w, last in ((WEIGHTS, LN5), (weights, 0.0)):
        np.testing.assert_allclose(loss(True, True, w), LN5, rtol=1e-6)
        np.testing.assert_allclose(loss(False, True, w), [LN5, LN5, last], rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(loss(True, False, w), [LN5, LN5], rtol=1e-6)
        expected = np.full((BATCH, TIME), LN5)
        expected[:, -1] = last
        np.testing.assert_allclose(loss(False, False, w), expected, rtol=1e-6, atol=1e-6)


def _np_sequence_loss(logits, targets, weights, avg_t, avg_b, sum_t, sum_b):
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    losses = -np.take_along_axis(log_probs, targets[..., None], -1)[..., 0] * weights
    nonzero = (weights != 0).astype("float64")
    def div(a, b):
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))
    if avg_t and avg_b:
        return div(losses.sum(), weights.sum())
    if sum_t and sum_b:
        return div(losses.sum(), nonzero.sum())
    if avg_t or avg_b:
        axis = 0 if avg_b else 1
        return div(losses.sum(axis), weights.sum(axis))
    if sum_t or sum_b:
        axis = 0 if sum_b else 1
        return div(losses.sum(axis), nonzero.sum(axis))
    return losses


def test_every_reduction_matches_numpy_with_random_weights():
    rng = np.random.RandomState(0)
    logits = rng.randn(3, 4, 6).astype("float32")
    targets = rng.randint(0, 6, size=(3, 4))
    weights = (rng.rand(3, 4) * (rng.rand(3, 4) < 0.7)).astype("float32")
    weights[:, 1] = 0.0  # a step with no weight at all: 0 where it is divided by
    one_hot = np.eye(6, dtype="float32")[targets]
    for flags in VALID:
        expected = _np_sequence_loss(logits, targets, weights, *flags)
        assert_close(sequence_loss(logits, targets, weights, *flags), expected, atol=1e-5, msg=str(flags))
        assert_close(sequence_loss(logits, one_hot, weights, *flags), expected, atol=1e-5, msg=str(flags))
    # A custom loss function gets flat labels and logits.
    def doubled(labels, logits):
        return 2.0 * keras.ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    assert_close(sequence_loss(logits, targets, weights, softmax_loss_function=doubled),
                 2.0 * _np_sequence_loss(logits, targets, weights, True, True, False, False), atol=1e-5)


@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")
def test_keras_fit_with_temporal_sample_weights_and_masks():
    """tfa's test_keras_compatibility: a model that outputs the fixed logits
    trains with loss ln 5; the Keras mask of the logits acts as weights."""
    inputs = keras.Input((TIME,))
    outputs = keras.layers.Lambda(
        lambda x: keras.ops.zeros_like(x)[..., None] + keras.ops.convert_to_tensor(LOGITS[:1]),
        output_shape=(TIME, CLASSES))(inputs)
    model = keras.Model(inputs, outputs)
    model.compile("adam", SequenceLoss())
    x = np.ones((BATCH, TIME), "float32")
    one_hot = np.eye(CLASSES, dtype="float32")[TARGETS]
    history = model.fit(x, one_hot, sample_weight=WEIGHTS, batch_size=BATCH, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], LN5, rtol=1e-6)
    # Keras masks: padded steps count for nothing.
    logits = np.random.RandomState(1).randn(BATCH, TIME, CLASSES).astype("float32")
    masked = keras.layers.Masking(mask_value=0.0)(np.where(np.arange(TIME)[None, :, None] < 2, logits, 0.0))
    expected = _np_sequence_loss(logits, TARGETS, (np.arange(TIME) < 2)[None].repeat(BATCH, 0).astype("float32"),
                                 False, False, True, True)
    assert_close(SequenceLoss()(TARGETS, masked), expected, atol=1e-6)


def test_config_round_trip():
    loss = SequenceLoss(average_across_timesteps=True, sum_over_batch=False, sum_over_timesteps=False,
                        name="seq")
    clone = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(clone) is SequenceLoss and clone.get_config() == loss.get_config()
    assert_close(clone(TARGETS, LOGITS), loss(TARGETS, LOGITS))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="because of ambiguous order"):
        SequenceLoss(average_across_timesteps=False, average_across_batch=True, sum_over_timesteps=True,
                     sum_over_batch=False)
    with pytest.raises(ValueError, match="`average_across_timesteps` and `sum_over_timesteps` cannot both be True"):
        sequence_loss(LOGITS, TARGETS, WEIGHTS, sum_over_timesteps=True)
    with pytest.raises(ValueError, match=r"`logits` must be a 3D tensor.*\(2, 3\)"):
        sequence_loss(LOGITS[..., 0], TARGETS, WEIGHTS)
    with pytest.raises(ValueError, match=r"`weights` must be a 2D tensor.*\(2, 3, 1\)"):
        sequence_loss(LOGITS, TARGETS, WEIGHTS[..., None])
    with pytest.raises(ValueError, match=r"`targets` must have the \(batch, time\) shape \(2, 3\).*\(2, 2\)"):
        sequence_loss(LOGITS, TARGETS[:, :2], WEIGHTS)
    with pytest.raises(ValueError, match="`sum_over_batch` must be a boolean. Received: sum_over_batch='yes'"):
        SequenceLoss(sum_over_batch="yes")
