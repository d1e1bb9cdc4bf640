"""The repeat copy task: copy a sequence a given number of times, then stop."""

import numpy as np

from kerasrnn.data.tasks._base import check_positive
from kerasrnn.data.tasks._base import check_range
from kerasrnn.data.tasks._base import check_rng
from kerasrnn.data.tasks._base import make_dataset
from kerasrnn.data.tasks._base import pad_batch
from kerasrnn.data.tasks._base import random_bits


def normalised_repeats(repeats, low=1, high=10):
    """(R − mean) / std of the uniform distribution on {low..high}."""
    mean = (low + high) / 2.0
    std = np.sqrt(((high - low + 1) ** 2 - 1) / 12.0) or 1.0
    return (repeats - mean) / std


def repeat_copy_example(rng, length, repeats, bits=8, count_range=(1, 10)):
    """One example: `length + 2 + length * repeats + 1` steps.

    Inputs (`bits + 2` channels): the `length` vectors; a delimiter step
    (channel `bits`); a step carrying the normalised repeat count
    (`normalised_repeats(repeats, *count_range)`, channel `bits + 1`); then
    blank steps. Targets (`bits + 1` channels): the sequence `repeats` times,
    then one step with only the end marker (channel `bits`) set; the output
    phase is those `length * repeats + 1` steps.
    """
    check_positive("length", length)
    check_positive("repeats", repeats)
    check_positive("bits", bits)
    seq = random_bits(rng, (length, bits))
    start = length + 2
    steps = start + length * repeats + 1
    inputs = np.zeros((steps, bits + 2), np.float32)
    inputs[:length, :bits] = seq
    inputs[length, bits] = 1.0
    inputs[length + 1, bits + 1] = normalised_repeats(repeats, *count_range)
    targets = np.zeros((steps, bits + 1), np.float32)
    targets[start : steps - 1, :bits] = np.tile(seq, (repeats, 1))
    targets[steps - 1, bits] = 1.0
    mask = np.zeros((steps,), np.float32)
    mask[start:] = 1.0
    return inputs, targets, mask


def repeat_copy_batch(rng, batch_size, min_length=1, max_length=10, min_repeats=1, max_repeats=10, bits=8, count_range=(1, 10)):
    """A batch with lengths and repeat counts drawn uniformly from their ranges."""
    check_rng(rng)
    check_positive("batch_size", batch_size)
    check_range("min_length", min_length, "max_length", max_length)
    check_range("min_repeats", min_repeats, "max_repeats", max_repeats)
    check_positive("bits", bits)
    lengths = rng.integers(min_length, max_length + 1, size=batch_size)
    repeats = rng.integers(min_repeats, max_repeats + 1, size=batch_size)
    return pad_batch([repeat_copy_example(rng, int(n), int(r), bits, count_range) for n, r in zip(lengths, repeats)])


def repeat_copy_dataset(batch_size=32, min_length=1, max_length=10, min_repeats=1, max_repeats=10, bits=8, seed=0):
    """Infinite seeded `tf.data.Dataset` of `repeat_copy_batch` dicts."""
    return make_dataset(
        repeat_copy_batch,
        batch_size,
        seed,
        min_length=min_length,
        max_length=max_length,
        min_repeats=min_repeats,
        max_repeats=max_repeats,
        bits=bits,
    )
