"""Epoch-ordered batching: each epoch's order is a function of (seed, epoch)."""

import numpy as np

from kerasrnn import training


def test_epoch_order_depends_on_seed_and_epoch_only():
    a = training.epoch_order(10, 3, 2)
    np.testing.assert_array_equal(a, training.epoch_order(10, 3, 2))
    np.testing.assert_array_equal(np.sort(a), np.arange(10))
    assert not np.array_equal(a, training.epoch_order(10, 3, 1))
    assert not np.array_equal(a, training.epoch_order(10, 4, 2))


def test_array_epoch_batches_visit_every_example_once_per_epoch_in_order():
    x = np.arange(10, dtype="float32")[:, None]
    y = np.arange(10, dtype="int64")
    epoch_batches, steps = training.array_epoch_batches((x, y), 4, seed=5)
    assert steps == 3
    batches = list(epoch_batches(1, 3))
    assert [len(b[1]) for b in batches] == [4, 4, 2] * 2
    for epoch, part in ((1, batches[:3]), (2, batches[3:])):
        order = np.concatenate([np.asarray(b[1]) for b in part])
        np.testing.assert_array_equal(order, training.epoch_order(10, 5, epoch))
        np.testing.assert_array_equal(np.concatenate([np.asarray(b[0])[:, 0] for b in part]), order)
    # A resumed run (from epoch 2) sees epoch 2's batches.
    resumed = list(epoch_batches(2, 3))
    for a, b in zip(resumed, batches[3:]):
        np.testing.assert_array_equal(a[1], b[1])


def test_array_epoch_batches_structures_and_transform():
    data = {"a": np.ones((5, 2), "float32"), "b": np.zeros((5,), "int32")}
    epoch_batches, steps = training.array_epoch_batches(data, 5, seed=0, transform=lambda d: (d["a"], d["b"]))
    (a, b), = list(epoch_batches(0, 1))
    assert steps == 1 and a.shape == (5, 2) and b.shape == (5,)
