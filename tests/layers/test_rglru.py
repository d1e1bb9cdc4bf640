"""RGLRUCell / RGLRU and HawkBlockCell / HawkBlock: NumPy references (De et
al. 2024), the initialisation of Λ."""

import numpy as np

from kerasrnn import layers as L
from tests.helpers import assert_close
from tests.helpers import cell_weights


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _rglru_step(h, v, gates, a_param, c=8.0):
    gate_a, gate_x = gates
    a = _sigmoid(a_param) ** (c * _sigmoid(gate_a))
    return a * h + np.sqrt(1 - a**2) * _sigmoid(gate_x) * v


def test_rglru_matches_numpy_reference_and_initialisation():
    x = np.random.RandomState(0).randn(2, 6, 4).astype("float32")
    layer = L.RGLRU(3, return_sequences=True, bias_initializer="random_normal")
    outputs = layer(x)
    w = cell_weights(layer.cell)
    h = np.zeros((2, 3))
    for t in range(6):
        gate_a, gate_x, v = np.split(x[:, t] @ w["kernel"] + w["bias"], 3, axis=-1)
        h = _rglru_step(h, v, (gate_a, gate_x), w["a_param"])
        assert_close(outputs[:, t], h, msg=f"t={t}")
    big = L.RGLRUCell(500)
    big.build((None, 2))
    a_c = _sigmoid(np.asarray(big.a_param)) ** 8
    assert 0.9 - 1e-5 <= a_c.min() and a_c.max() <= 0.999 + 1e-5


def test_hawk_block_matches_numpy_reference():
    from scipy.special import erf

    x = np.random.RandomState(1).randn(2, 6, 4).astype("float32")
    layer = L.HawkBlock(3, rnn_units=5, conv_width=3, return_sequences=True, bias_initializer="random_normal")
    outputs = layer(x)
    w = cell_weights(layer.cell)
    u = x @ w["input_kernel"] + w["input_bias"]
    h = np.zeros((2, 5))
    for t in range(6):
        v = sum(w["conv_kernel"][k] * u[:, t - k] for k in range(3) if t - k >= 0) + w["conv_bias"]
        gates = np.split(v @ w["rglru_kernel"] + w["rglru_bias"], 2, axis=-1)
        h = _rglru_step(h, v, gates, w["a_param"])
        pre = x[:, t] @ w["gate_kernel"] + w["gate_bias"]
        gelu = 0.5 * pre * (1 + erf(pre / np.sqrt(2)))
        assert_close(outputs[:, t], (gelu * h) @ w["output_kernel"] + w["output_bias"], msg=f"t={t}")
