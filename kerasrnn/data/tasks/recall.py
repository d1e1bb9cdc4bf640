"""Associative recall: given one item of a list, return the item after it."""

import numpy as np

from kerasrnn.data.tasks._base import check_positive
from kerasrnn.data.tasks._base import check_range
from kerasrnn.data.tasks._base import check_rng
from kerasrnn.data.tasks._base import make_dataset
from kerasrnn.data.tasks._base import pad_batch
from kerasrnn.data.tasks._base import random_bits


def recall_example(rng, num_items, item_length=3, bits=6):
    """One example with `num_items` items.

    Inputs (`bits + 2` channels): each item is a delimiter step (channel
    `bits`) followed by its `item_length` vectors; then the query: a step with
    channel `bits + 1`, a copy of item q (q uniform in 0..num_items−2), and
    another `bits + 1` step; then `item_length` blank steps. Targets (`bits`
    channels): item q + 1, in those last `item_length` steps (the output
    phase). Total `(item_length + 1) * num_items + item_length + 2 + item_length` steps.
    """
    check_positive("num_items", num_items)
    if num_items < 2:
        raise ValueError(f"`num_items` must be >= 2. Received: num_items={num_items!r}")
    check_positive("item_length", item_length)
    check_positive("bits", bits)
    items = random_bits(rng, (num_items, item_length, bits))
    query = int(rng.integers(0, num_items - 1))
    block = item_length + 1
    query_start = block * num_items
    out_start = query_start + item_length + 2
    steps = out_start + item_length
    inputs = np.zeros((steps, bits + 2), np.float32)
    for i in range(num_items):
        inputs[i * block, bits] = 1.0
        inputs[i * block + 1 : (i + 1) * block, :bits] = items[i]
    inputs[query_start, bits + 1] = 1.0
    inputs[query_start + 1 : query_start + 1 + item_length, :bits] = items[query]
    inputs[out_start - 1, bits + 1] = 1.0
    targets = np.zeros((steps, bits), np.float32)
    targets[out_start:] = items[query + 1]
    mask = np.zeros((steps,), np.float32)
    mask[out_start:] = 1.0
    return inputs, targets, mask


def recall_batch(rng, batch_size, min_items=2, max_items=6, item_length=3, bits=6):
    """A batch with item counts drawn from U{min_items..max_items}."""
    check_rng(rng)
    check_positive("batch_size", batch_size)
    check_range("min_items", min_items, "max_items", max_items)
    if min_items < 2:
        raise ValueError(f"`min_items` must be >= 2. Received: min_items={min_items!r}")
    counts = rng.integers(min_items, max_items + 1, size=batch_size)
    return pad_batch([recall_example(rng, int(n), item_length, bits) for n in counts])


def recall_dataset(batch_size=32, min_items=2, max_items=6, item_length=3, bits=6, seed=0):
    """Infinite seeded `tf.data.Dataset` of `recall_batch` dicts."""
    return make_dataset(
        recall_batch, batch_size, seed, min_items=min_items, max_items=max_items, item_length=item_length, bits=bits
    )
