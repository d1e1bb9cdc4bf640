"""Arithmetic progressions of digits: a small class-conditioned
vector-to-sequence task (`kerasrnn.models.vector_to_sequence_model`)."""

import numpy as np

#: Step sizes 1..STEPS.
STEPS = 4
#: Vector size: one-hot start digit (10) and one-hot step (STEPS).
VECTOR_DIM = 10 + STEPS


def progression_data(length, repeats=1):
    """Vectors `(40 * repeats, 14)` and sequences `(40 * repeats, length)`.

    Each of the 40 classes is a start digit and a step in 1..4; its vector is
    `[one_hot(start, 10); one_hot(step - 1, 4)]` and its sequence the digits
    `start, start + step, start + 2 step, ...` modulo 10. `repeats` copies of
    every class, in the same order.
    """
    starts, steps = np.meshgrid(np.arange(10), np.arange(1, STEPS + 1), indexing="ij")
    starts, steps = np.tile(starts.ravel(), repeats), np.tile(steps.ravel(), repeats)
    vectors = np.concatenate([np.eye(10)[starts], np.eye(STEPS)[steps - 1]], axis=1).astype("float32")
    sequences = (starts[:, None] + steps[:, None] * np.arange(length)[None, :]) % 10
    return vectors, sequences.astype("int32")
