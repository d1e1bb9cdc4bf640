"""Priority sort: read vectors with priorities, output the top ones in order."""

import numpy as np

from kerasrnn.data.tasks._base import check_positive
from kerasrnn.data.tasks._base import check_rng
from kerasrnn.data.tasks._base import make_dataset
from kerasrnn.data.tasks._base import pad_batch
from kerasrnn.data.tasks._base import random_bits


def priority_sort_example(rng, num_inputs=20, num_outputs=16, bits=8):
    """One example: `num_inputs + 1 + num_outputs` steps.

    Inputs (`bits + 2` channels): `num_inputs` random vectors, each with its
    priority ~ U[−1, 1] in channel `bits`; a delimiter step (channel
    `bits + 1`); `num_outputs` blank steps. Targets (`bits` channels): the
    `num_outputs` vectors of highest priority, highest first, in those last
    steps (the output phase).
    """
    check_positive("num_inputs", num_inputs)
    check_positive("num_outputs", num_outputs)
    check_positive("bits", bits)
    if num_outputs > num_inputs:
        raise ValueError(
            f"`num_outputs` must be <= `num_inputs`. Received: num_outputs={num_outputs}, num_inputs={num_inputs}"
        )
    seq = random_bits(rng, (num_inputs, bits))
    priority = rng.uniform(-1.0, 1.0, size=num_inputs).astype(np.float32)
    steps = num_inputs + 1 + num_outputs
    inputs = np.zeros((steps, bits + 2), np.float32)
    inputs[:num_inputs, :bits] = seq
    inputs[:num_inputs, bits] = priority
    inputs[num_inputs, bits + 1] = 1.0
    order = np.argsort(-priority, kind="stable")[:num_outputs]
    targets = np.zeros((steps, bits), np.float32)
    targets[num_inputs + 1 :] = seq[order]
    mask = np.zeros((steps,), np.float32)
    mask[num_inputs + 1 :] = 1.0
    return inputs, targets, mask


def priority_sort_batch(rng, batch_size, num_inputs=20, num_outputs=16, bits=8):
    """`batch_size` examples of `priority_sort_example`, padded to one
    length: `(inputs, targets, mask)` of shape `(batch, steps, bits + 2)`,
    `(batch, steps, bits)`, `(batch, steps)`."""
    check_rng(rng)
    check_positive("batch_size", batch_size)
    return pad_batch([priority_sort_example(rng, num_inputs, num_outputs, bits) for _ in range(batch_size)])


def priority_sort_dataset(batch_size=32, num_inputs=20, num_outputs=16, bits=8, seed=0):
    """Infinite seeded `tf.data.Dataset` of `priority_sort_batch` dicts."""
    return make_dataset(priority_sort_batch, batch_size, seed, num_inputs=num_inputs, num_outputs=num_outputs, bits=bits)
