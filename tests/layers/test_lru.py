"""LRUCell / LRU: NumPy complex reference, the ring initialisation and γ
normalisation (Orvieto et al. 2023)."""

import numpy as np

from kerasrnn import layers as L
from tests.helpers import assert_close
from tests.helpers import cell_weights


def test_layer_matches_numpy_complex_reference():
    x = np.random.RandomState(0).randn(2, 6, 4).astype("float32")
    layer = L.LRU(3, state_units=5, return_sequences=True, return_state=True, bias_initializer="random_normal")
    outputs, s_re, s_im = layer(x)
    w = cell_weights(layer.cell)
    lam = np.exp(-np.exp(w["nu_log"]) + 1j * np.exp(w["theta_log"]))
    gamma = np.exp(w["gamma_log"])
    b = w["input_kernel_real"] + 1j * w["input_kernel_imag"]
    c = w["output_kernel_real"] + 1j * w["output_kernel_imag"]
    s = np.zeros((2, 5), complex)
    for t in range(6):
        s = lam * s + gamma * (x[:, t] @ b)
        y = (s @ c).real + x[:, t] @ w["kernel"] + w["bias"]
        assert_close(outputs[:, t], y, msg=f"t={t}")
    assert_close(s_re, s.real)
    assert_close(s_im, s.imag)


def test_ring_initialisation_and_normalisation():
    layer = L.LRU(4, state_units=200, r_min=0.5, r_max=0.8, max_phase=0.3, seed=7)
    layer.build((None, None, 6))
    w = cell_weights(layer.cell)
    radius = np.exp(-np.exp(w["nu_log"]))
    phase = np.exp(w["theta_log"])
    assert 0.5 - 1e-6 <= radius.min() < 0.55 and 0.75 < radius.max() <= 0.8 + 1e-6
    assert 0 <= phase.min() and phase.max() <= 0.3 + 1e-6
    np.testing.assert_allclose(np.exp(w["gamma_log"]), np.sqrt(1 - radius**2), rtol=1e-5)
