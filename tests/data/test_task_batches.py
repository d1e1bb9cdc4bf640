"""`kerasrnn.data.tasks.batches`: packed, time-padded, epoch-seeded task batches."""

import numpy as np
import tensorflow as tf

from kerasrnn import models
from kerasrnn.data.tasks.batches import TIME_BUCKET
from kerasrnn.data.tasks.batches import longest_sequence
from kerasrnn.data.tasks.batches import pack
from kerasrnn.data.tasks.batches import pad_time
from kerasrnn.data.tasks.batches import task_epoch_batches
from kerasrnn.data.tasks.copy import copy_batch
from kerasrnn.data.tasks.repeat_copy import repeat_copy_batch
from kerasrnn.losses import bits_per_sequence
from kerasrnn.metrics import bit_errors_per_sequence


def test_time_padding_leaves_loss_and_gradients_unchanged():
    # Training batches are padded to a multiple of TIME_BUCKET steps (one XLA
    # program per bucket): the padded steps must not change the loss, the
    # metrics or any gradient.
    x, y = pack(repeat_copy_batch(np.random.default_rng(3), 3, max_length=3, max_repeats=2, bits=4))
    px, py = pad_time(x, y)
    assert px.shape[1] % TIME_BUCKET == 0 and px.shape[1] > x.shape[1]
    np.testing.assert_array_equal(px[:, : x.shape[1]], x)
    assert not px[:, x.shape[1] :].any() and not py[:, x.shape[1] :].any()
    assert pad_time(px, py)[0].shape == px.shape

    model = models.ntm_model(x.shape[-1], y.shape[-1] - 1, units=8, memory_size=8, memory_width=4)

    def loss_and_grads(inputs, targets):
        with tf.GradientTape() as tape:
            logits = model(inputs)
            loss = tf.reduce_mean(bits_per_sequence(targets, logits))
        return loss, bit_errors_per_sequence(targets, logits), tape.gradient(loss, model.trainable_weights)

    loss, errors, grads = loss_and_grads(x, y)
    p_loss, p_errors, p_grads = loss_and_grads(px, py)
    assert float(loss) > 0
    np.testing.assert_allclose(p_loss, loss, rtol=1e-6)
    np.testing.assert_array_equal(p_errors, errors)
    for a, b in zip(grads, p_grads):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)


def test_pack_puts_the_output_mask_last():
    batch = copy_batch(np.random.default_rng(0), 2, max_length=3, bits=4)
    x, y = pack(batch)
    np.testing.assert_array_equal(x, batch["inputs"])
    np.testing.assert_array_equal(y[..., :-1], batch["targets"])
    np.testing.assert_array_equal(y[..., -1], batch["output_mask"])


def test_longest_sequence_is_cut_to_its_steps():
    batch = copy_batch(np.random.default_rng(1), 6, min_length=1, max_length=5, bits=4)
    one = longest_sequence(batch)
    lengths = batch["sequence_mask"].sum(axis=1)
    assert one["inputs"].shape == (1, lengths.max(), 5) and one["sequence_mask"].all()


def test_epochs_are_a_function_of_seed_and_epoch():
    epoch_batches = task_epoch_batches(copy_batch, dict(max_length=4, bits=4), 3, 2, seed=5)
    whole = [tuple(a.numpy() for a in batch) for batch in epoch_batches(0, 3)]
    resumed = [tuple(a.numpy() for a in batch) for batch in epoch_batches(2, 3)]
    assert len(whole) == 6 and len(resumed) == 2
    for (wx, wy), (rx, ry) in zip(whole[4:], resumed):
        np.testing.assert_array_equal(wx, rx)
        np.testing.assert_array_equal(wy, ry)
    assert all(x.shape[1] % TIME_BUCKET == 0 and x.shape[0] == 3 for x, _ in whole)
    assert not np.array_equal(whole[0][0], whole[2][0])
