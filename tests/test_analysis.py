import keras
import numpy as np
import pytest

from kerasrnn import analysis
from kerasrnn import layers as L
from kerasrnn.data.adding import BASELINE_MSE
from kerasrnn.data.adding import adding_problem
from tests import numpy_reference as ref
from tests.helpers import assert_close


def test_state_gradient_norms_match_the_analytic_linear_case():
    # Linear Elman network h_t = a * h_{t-1} + x_t W: dh_T/dh_t = a^(T-1-t) I.
    a = 0.5
    cell = L.SimpleRNNCell(
        3, activation=None, use_bias=False,
        recurrent_initializer=keras.initializers.Identity(gain=a),
    )
    x = np.random.RandomState(0).randn(2, 6, 4).astype("float32")
    norms = analysis.state_gradient_norms(cell, x)
    assert_close(norms, a ** np.arange(5, -1, -1), atol=1e-6)


def test_gradient_norms_vanish_for_simple_rnn_and_not_for_irnn():
    x = np.random.RandomState(1).randn(4, 30, 2).astype("float32") * 0.1
    small = L.SimpleRNN(8, recurrent_initializer=keras.initializers.Orthogonal(gain=0.5))
    irnn = L.IRNN(8)
    small.build(x.shape)
    irnn.build(x.shape)
    vanishing = analysis.state_gradient_norms(small, x)
    held = analysis.state_gradient_norms(irnn, x)
    assert vanishing[0] < 1e-6 * vanishing[-1]
    assert held[0] > 0.1 * held[-1]


@pytest.mark.parametrize("layer, names", [
    (L.LSTM(5, bias_initializer="random_normal", unit_forget_bias=False), ("input", "forget", "candidate", "output", "cell")),
    (L.LSTM(5, peephole=True), ("input", "forget", "candidate", "output", "cell")),
    (L.GRU(5, bias_initializer="random_normal"), ("update", "reset", "candidate")),
    (L.GRU(5, reset_after=False), ("update", "reset", "candidate")),
])
def test_gate_activations_are_consistent_with_the_layer(layer, names):
    x = np.random.RandomState(2).randn(2, 4, 3).astype("float32")
    seq = layer.__class__.from_config({**layer.get_config(), "return_sequences": True})
    seq.build(x.shape)
    seq.set_weights([np.random.RandomState(i).randn(*w.shape).astype("float32") * 0.3 for i, w in enumerate(seq.weights)])
    gates = analysis.gate_activations(seq, x)
    assert tuple(gates) == names
    outputs = np.asarray(seq(x))
    if "output" in gates:
        # h_t = o_t * tanh(c_t): the recorded gates reproduce the layer's output.
        assert_close(gates["output"] * np.tanh(gates["cell"]), outputs)
    else:
        z, hh = gates["update"], gates["candidate"]
        h_prev = np.concatenate([np.zeros_like(outputs[:, :1]), outputs[:, :-1]], axis=1)
        assert_close(z * h_prev + (1 - z) * hh, outputs)
    for name in names:
        if name != "cell":
            assert gates[name].shape == (2, 4, 5)


def test_gate_activations_match_numpy_lstm():
    layer = L.LSTM(3, return_sequences=True, bias_initializer="random_normal")
    x = np.random.RandomState(3).randn(1, 3, 2).astype("float32")
    layer.build(x.shape)
    gates = analysis.gate_activations(layer, x)
    w = [np.asarray(v) for v in layer.weights]
    z = x[:, 0] @ w[0] + w[2]
    assert_close(gates["input"][:, 0], ref.sigmoid(z[:, :3]))
    assert_close(gates["forget"][:, 0], ref.sigmoid(z[:, 3:6]))


def test_spectral_radius_and_parameter_count():
    layer = L.SimpleRNN(4, recurrent_initializer=keras.initializers.Identity(gain=0.7))
    layer.build((None, 3, 2))
    assert analysis.recurrent_spectral_radius(layer) == pytest.approx(0.7)
    assert analysis.count_parameters(layer) == 2 * 4 + 4 * 4 + 4
    lstm = L.LSTM(4)
    lstm.build((None, 3, 2))
    assert analysis.count_parameters(lstm) == 4 * (2 * 4 + 4 * 4 + 4)
    with pytest.raises(ValueError, match="gate=None"):
        analysis.recurrent_spectral_radius(lstm)
    with pytest.raises(ValueError, match="gate=7"):
        analysis.recurrent_spectral_radius(lstm, gate=7)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"inputs.shape=\(2, 3\)"):
        analysis.state_gradient_norms(L.SimpleRNNCell(2), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="LSTM or GRU"):
        analysis.gate_activations(L.SimpleRNN(2), np.zeros((1, 2, 3)))


def test_adding_problem():
    x, y = adding_problem(500, 10, seed=3)
    assert x.shape == (500, 10, 2) and y.shape == (500, 1)
    assert np.all(x[:, :, 1].sum(axis=1) == 2)
    assert np.all(x[:, :5, 1].sum(axis=1) == 1)
    assert_close(y[:, 0], (x[:, :, 0] * x[:, :, 1]).sum(axis=1), atol=1e-6)
    assert abs(np.mean((y - 1.0) ** 2) - BASELINE_MSE) < 0.03
    x2, _ = adding_problem(500, 10, seed=3)
    assert np.array_equal(x, x2)
    with pytest.raises(ValueError, match="length=1"):
        adding_problem(3, 1)
    with pytest.raises(ValueError, match="num_sequences=0"):
        adding_problem(0, 5)


def test_time_alternating_warms_up_then_alternates():
    calls = []
    medians, samples = analysis.time_alternating(
        [lambda: calls.append("a"), lambda: calls.append("b")], steps=3, warmup=1, samples=True
    )
    # Warm-up per function first, then strict alternation.
    assert calls == ["a", "b", "a", "b", "a", "b", "a", "b"]
    assert [len(s) for s in samples] == [3, 3]
    assert medians == [float(np.median(s)) for s in samples]
