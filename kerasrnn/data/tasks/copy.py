"""The copy task: read a sequence of random bit vectors, then write it back."""

import numpy as np

from kerasrnn.data.tasks._base import check_positive
from kerasrnn.data.tasks._base import check_range
from kerasrnn.data.tasks._base import check_rng
from kerasrnn.data.tasks._base import make_dataset
from kerasrnn.data.tasks._base import pad_batch
from kerasrnn.data.tasks._base import random_bits


def copy_example(rng, length, bits=8):
    """One example of length `length`: `2 * length + 1` steps.

    Inputs (`bits + 1` channels): the `length` vectors, then one step with
    only the delimiter channel (the last) set, then `length` blank steps.
    Targets (`bits` channels): the vectors again, in the last `length` steps
    (the output phase).
    """
    check_positive("length", length)
    check_positive("bits", bits)
    seq = random_bits(rng, (length, bits))
    steps = 2 * length + 1
    inputs = np.zeros((steps, bits + 1), np.float32)
    inputs[:length, :bits] = seq
    inputs[length, bits] = 1.0
    targets = np.zeros((steps, bits), np.float32)
    targets[length + 1 :] = seq
    mask = np.zeros((steps,), np.float32)
    mask[length + 1 :] = 1.0
    return inputs, targets, mask


def copy_batch(rng, batch_size, min_length=1, max_length=20, bits=8):
    """A batch of copy examples, lengths drawn from U{min_length..max_length}."""
    check_rng(rng)
    check_positive("batch_size", batch_size)
    check_range("min_length", min_length, "max_length", max_length)
    check_positive("bits", bits)
    lengths = rng.integers(min_length, max_length + 1, size=batch_size)
    return pad_batch([copy_example(rng, int(n), bits) for n in lengths])


def copy_dataset(batch_size=32, min_length=1, max_length=20, bits=8, seed=0):
    """Infinite seeded `tf.data.Dataset` of `copy_batch` dicts."""
    return make_dataset(copy_batch, batch_size, seed, min_length=min_length, max_length=max_length, bits=bits)
