"""MinGRUCell / MinLSTMCell: NumPy references of both models (log space and
plain), a golden value, and the log-space scan of a long sequence. The forms
(scan, Keras loop, cell steps), masks and serialization are checked for all
scan layers in test_linear_recurrence.py."""

import numpy as np
import pytest

from kerasrnn import layers as L
from tests.helpers import assert_close
from tests.helpers import cell_weights


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _g(x):
    return np.where(x >= 0, x + 0.5, _sigmoid(x))


def _min_gru(x, h, w, log_space):
    k_z, k_h = np.split(x @ w["kernel"] + w["bias"], 2, axis=-1)
    z = _sigmoid(k_z)
    return (1 - z) * h + z * (_g(k_h) if log_space else k_h)


def _min_lstm(x, h, w, log_space):
    k_f, k_i, k_h = np.split(x @ w["kernel"] + w["bias"], 3, axis=-1)
    f, i = _sigmoid(k_f), _sigmoid(k_i)
    return f / (f + i) * h + i / (f + i) * (_g(k_h) if log_space else k_h)


@pytest.mark.parametrize("cls, reference", [(L.MinGRU, _min_gru), (L.MinLSTM, _min_lstm)], ids=["gru", "lstm"])
def test_layer_matches_numpy_reference(cls, reference):
    x = np.random.RandomState(0).randn(2, 6, 4).astype("float32")
    for log_space in (True, False):
        layer = cls(3, return_sequences=True, log_space=log_space, bias_initializer="random_normal")
        outputs = layer(x)
        w = cell_weights(layer.cell)
        h = np.zeros((2, 3))
        for t in range(6):
            h = reference(x[:, t], h, w, log_space)
            assert_close(outputs[:, t], h, msg=f"log_space={log_space} t={t}")


def test_min_gru_golden_value():
    cell = L.MinGRUCell(1, kernel_initializer="ones", bias_initializer="zeros")
    h, _ = cell(np.array([[1.0]], "float32"), [np.array([[0.5]], "float32")])
    z = _sigmoid(1.0)
    assert_close(h, [[(1 - z) * 0.5 + z * 1.5]])  # g(1) = 1.5


def test_log_space_state_stays_positive_over_long_sequences():
    """2000 steps of strongly closed gates: the log-space scan keeps a state
    the plain products would underflow, equal to a float64 loop."""
    x = np.random.RandomState(1).randn(1, 2000, 2).astype("float32")
    layer = L.MinGRU(2, return_sequences=True, bias_initializer="ones")
    outputs = np.asarray(layer(x))
    w = cell_weights(layer.cell)
    h, want = np.zeros((1, 2)), []
    for t in range(2000):
        h = _min_gru(x[:, t].astype("float64"), h, w, True)
        want.append(h)
    np.testing.assert_allclose(outputs, np.stack(want, 1), rtol=1e-4, atol=1e-5)
    assert (outputs > 0).all()
