"""The selective-copy task (Gu & Dao 2023, the Mamba paper, section 3.1).

A sequence of `length` positions holds `num_tokens` data tokens at random
positions; every other position is the blank (noise) token. Then come
`num_tokens` copy markers, and at each marker the model must output the
next data token in the order they appeared. Unlike plain copying, the
spacing varies from sequence to sequence, so a model with time-invariant
dynamics (a fixed convolution) cannot solve it: it must decide from each
input whether to keep it.

Ids: `BLANK_ID` (0) is the blank, `1..vocabulary_size` the data tokens and
`vocabulary_size + 1` the copy marker, so an embedding needs
`vocabulary_size + 2` ids. Guessing gives a token accuracy of
`1 / vocabulary_size`.
"""

import numpy as np

from kerasrnn.validation import ArgumentError
from kerasrnn.validation import check_int
from kerasrnn.validation import check_positive_int

#: Id of the blank (noise) token.
BLANK_ID = 0


def marker_id(vocabulary_size):
    """Id of the copy marker: `vocabulary_size + 1`."""
    return check_positive_int("vocabulary_size", vocabulary_size) + 1


def selective_copy(num_sequences, length, num_tokens, vocabulary_size, seed=0):
    """Returns `(inputs, targets)`: `(N, length + num_tokens)` and
    `(N, num_tokens)` int32.

    For each sequence, `num_tokens` distinct positions among the first
    `length` are drawn uniformly without replacement and hold data tokens
    drawn uniformly (with replacement) from `1..vocabulary_size`; the other
    positions of the first `length` are `BLANK_ID`, and the last
    `num_tokens` positions are the copy marker `vocabulary_size + 1`.
    `targets[n, k]` is the data token at the `k`-th smallest of those
    positions: a model reading `inputs` should output it at position
    `length + k`.

    Args:
        num_sequences: Number of sequences, >= 1.
        length: Positions that hold the data tokens and blanks, >= `num_tokens`.
        num_tokens: Data tokens per sequence, >= 1.
        vocabulary_size: Number of distinct data tokens, >= 1.
        seed: Seed of the generator (same seed, same data).
    """
    num_sequences = check_positive_int("num_sequences", num_sequences)
    num_tokens = check_positive_int("num_tokens", num_tokens)
    length = check_positive_int("length", length)
    if length < num_tokens:
        raise ArgumentError("length", length, f"an integer >= num_tokens ({num_tokens})")
    vocabulary_size = check_int("vocabulary_size", vocabulary_size, minimum=1)
    rng = np.random.RandomState(seed)
    tokens = rng.randint(1, vocabulary_size + 1, size=(num_sequences, num_tokens)).astype("int32")
    # Distinct positions: the first num_tokens of a random permutation, sorted.
    positions = np.sort(np.argsort(rng.random_sample((num_sequences, length)), axis=1)[:, :num_tokens], axis=1)
    inputs = np.full((num_sequences, length + num_tokens), BLANK_ID, "int32")
    inputs[:, length:] = vocabulary_size + 1
    np.put_along_axis(inputs, positions, tokens, axis=1)
    return inputs, tokens
