"""Fixtures shared by the layer tests."""

import pytest


@pytest.fixture(scope="session")
def backend_reference(tmp_path_factory):
    """TensorFlow's numbers for `tests/layers/backend_layers.py`'s model,
    which the JAX and PyTorch subprocesses compare their own with."""
    from tests.layers.backend_layers import write_reference

    path = str(tmp_path_factory.mktemp("backend_reference") / "reference.npz")
    write_reference(path)
    return path
