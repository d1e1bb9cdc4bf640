"""The selective-copy generator: exact layout and targets, seeds, bad sizes."""

import numpy as np
import pytest

from kerasrnn.data.selective_copy import BLANK_ID
from kerasrnn.data.selective_copy import marker_id
from kerasrnn.data.selective_copy import selective_copy


def test_layout_and_targets_in_order():
    inputs, targets = selective_copy(50, 20, 4, vocabulary_size=6, seed=3)
    assert inputs.shape == (50, 24) and targets.shape == (50, 4)
    assert inputs.dtype == np.int32 and targets.dtype == np.int32
    assert marker_id(6) == 7
    # The last num_tokens positions are markers, and no marker elsewhere.
    assert (inputs[:, 20:] == 7).all() and (inputs[:, :20] != 7).all()
    for row, target in zip(inputs, targets):
        data = row[:20]
        # Exactly num_tokens data tokens among blanks; read left to right they are the targets.
        assert (data != BLANK_ID).sum() == 4
        np.testing.assert_array_equal(data[data != BLANK_ID], target)
    assert targets.min() >= 1 and targets.max() <= 6
    # Positions vary between sequences (not a fixed spacing) and every value occurs.
    assert len({tuple(np.flatnonzero(r[:20])) for r in inputs}) > 40
    assert set(np.unique(targets)) == set(range(1, 7))


def test_same_seed_same_data_and_full_length():
    a, b = selective_copy(3, 5, 2, 4, seed=1), selective_copy(3, 5, 2, 4, seed=1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], selective_copy(3, 5, 2, 4, seed=2)[0])
    # length == num_tokens: no blank at all, the tokens are the first positions.
    inputs, targets = selective_copy(2, 3, 3, 1, seed=0)
    np.testing.assert_array_equal(inputs, [[1, 1, 1, 2, 2, 2]] * 2)
    np.testing.assert_array_equal(targets, [[1, 1, 1]] * 2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_sequences=0, length=4, num_tokens=2, vocabulary_size=3), "num_sequences"),
    (dict(num_sequences=1, length=1, num_tokens=2, vocabulary_size=3), "length"),
    (dict(num_sequences=1, length=4, num_tokens=0, vocabulary_size=3), "num_tokens"),
    (dict(num_sequences=1, length=4, num_tokens=2, vocabulary_size=0), "vocabulary_size"),
    (dict(num_sequences=1, length=4.5, num_tokens=2, vocabulary_size=3), "length"),
])
def test_bad_sizes_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        selective_copy(**kwargs)
