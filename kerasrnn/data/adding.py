"""The adding problem (Hochreiter & Schmidhuber 1997; Le et al. 2015).

Each sequence has two channels: values drawn from U[0, 1] and a marker that
is 1 at exactly two steps (one in the first half, one in the second) and 0
elsewhere. The target is the sum of the two marked values, so the network
must remember a value over up to `length` steps. Predicting the constant 1
gives a mean squared error of 1/6 ≈ 0.167: a model must beat that to have
learned anything.
"""

import numpy as np

from kerasrnn.validation import check_int
from kerasrnn.validation import check_positive_int

#: Mean squared error of the best constant prediction (var of U+U).
BASELINE_MSE = 1.0 / 6.0


def adding_problem(num_sequences, length, seed=0):
    """Returns `(inputs, targets)`: `(N, length, 2)` and `(N, 1)` float32.

    Args:
        num_sequences: Number of sequences, ≥ 1.
        length: Sequence length, ≥ 2.
        seed: Seed of the generator (same seed → same data).
    """
    num_sequences = check_positive_int("num_sequences", num_sequences)
    length = check_int("length", length, minimum=2)
    rng = np.random.RandomState(seed)
    values = rng.uniform(0.0, 1.0, size=(num_sequences, length)).astype("float32")
    half = length // 2
    first = rng.randint(0, half, size=num_sequences)
    second = rng.randint(half, length, size=num_sequences)
    markers = np.zeros((num_sequences, length), "float32")
    rows = np.arange(num_sequences)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = (values[rows, first] + values[rows, second])[:, None]
    return np.stack([values, markers], axis=-1), targets.astype("float32")
