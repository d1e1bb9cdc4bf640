"""`progress_verbose` and `enable_determinism`."""

import numpy as np
import pytest

from kerasrnn import training


def test_progress_verbose(monkeypatch):
    assert training.progress_verbose("bar") == 1
    assert training.progress_verbose("none") == 0
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    assert training.progress_verbose("auto") == 0
    with pytest.raises(ValueError, match="progress"):
        training.progress_verbose("sometimes")


def test_enable_determinism_seeds_numpy():
    training.enable_determinism(3)
    a = np.random.rand(3)
    training.enable_determinism(3)
    np.testing.assert_array_equal(a, np.random.rand(3))
