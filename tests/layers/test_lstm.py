"""Cells against NumPy references, golden values, masks, step == sequence."""

import keras
import numpy as np
import pytest

from kerasrnn import layers as L
from tests import numpy_reference as ref
from tests.helpers import assert_close


def _weights(cell):
    names = [w.path.rsplit("/", 1)[-1] for w in cell.weights]
    return dict(zip(names, [np.asarray(w) for w in cell.weights]))


def _reference_fn(cell):
    w = _weights(cell)
    bias = w.get("bias")
    if isinstance(cell, L.LSTMCell):
        peepholes = None
        if cell.peephole:
            peepholes = [w[f"{g}_gate_peephole_weights"] for g in ("input", "forget", "output")]
        return lambda x, s: ref.lstm_cell(x, s, w["kernel"], w["recurrent_kernel"], bias, peepholes)
    if isinstance(cell, L.GRUCell):
        return lambda x, s: ref.gru_cell(x, s, w["kernel"], w["recurrent_kernel"], bias, cell.reset_after)
    return lambda x, s: ref.simple_rnn_cell(x, s, w["kernel"], w["recurrent_kernel"], bias)


LAYERS = [
    pytest.param(L.SimpleRNN, {}, id="simple_rnn"),
    pytest.param(L.LSTM, {}, id="lstm"),
    pytest.param(L.LSTM, {"peephole": True}, id="lstm-peephole"),
    pytest.param(L.GRU, {}, id="gru"),
    pytest.param(L.GRU, {"reset_after": False}, id="gru-reset-before"),
]


@pytest.mark.parametrize("layer_cls, kwargs", LAYERS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("fast_path", [True, False])
def test_layer_matches_numpy_reference_with_mask(layer_cls, kwargs, go_backwards, fast_path):
    rng = np.random.RandomState(1)
    x = rng.randn(3, 6, 4).astype("float32")
    mask = np.array([[1, 1, 1, 1, 0, 0], [1] * 6, [0, 1, 1, 0, 1, 1]], bool)
    layer = layer_cls(5, return_sequences=True, return_state=True, go_backwards=go_backwards,
                      bias_initializer="random_normal", fast_path=fast_path, **kwargs)
    outputs = layer(x, mask=mask)
    states0 = [np.zeros((3, 5), "float32") for _ in layer.state_size]
    expected, expected_states = ref.run_sequence(_reference_fn(layer.cell), x, states0, mask, go_backwards)
    assert_close(outputs[0], expected)
    for actual, want in zip(outputs[1:], expected_states):
        assert_close(actual, want)


def test_peephole_lstm_golden_values():
    # Constant weights make the arithmetic checkable by hand: every unit of a
    # gate sees the same pre-activation.
    cell = L.LSTMCell(
        2, kernel_initializer=keras.initializers.Constant(0.1),
        recurrent_initializer=keras.initializers.Constant(0.2),
        bias_initializer="zeros", unit_forget_bias=False, peephole=True,
        peephole_initializer=keras.initializers.Constant(0.5),
    )
    x = np.ones((1, 3), "float32")
    h0 = np.full((1, 2), 0.5, "float32")
    c0 = np.full((1, 2), 1.0, "float32")
    h, (h1, c1) = cell(x, [h0, c0])
    z = 3 * 0.1 + 2 * 0.5 * 0.2  # x·W + h·U for every gate = 0.5
    s = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    i = f = s(z + 0.5 * 1.0)
    c = f * 1.0 + i * np.tanh(z)
    o = s(z + 0.5 * c)
    assert_close(c1, np.full((1, 2), c, "float32"))
    assert_close(h1, np.full((1, 2), o * np.tanh(c), "float32"))
    assert [w.path.rsplit("/", 1)[-1] for w in cell.weights][-3:] == [
        "input_gate_peephole_weights", "forget_gate_peephole_weights", "output_gate_peephole_weights"]


def test_gru_golden_values():
    cell = L.GRUCell(1, kernel_initializer="ones", recurrent_initializer="ones", bias_initializer="zeros")
    h, _ = cell(np.array([[1.0]], "float32"), [np.array([[0.5]], "float32")])
    s = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    z = r = s(1.5)
    hh = np.tanh(1.0 + r * 0.5)
    assert_close(h, [[z * 0.5 + (1 - z) * hh]])


@pytest.mark.parametrize("layer_cls, kwargs", LAYERS)
def test_step_by_step_equals_whole_sequence(layer_cls, kwargs):
    x = np.random.RandomState(2).randn(2, 4, 3).astype("float32")
    layer = layer_cls(5, return_sequences=True, return_state=True, **kwargs)
    outputs = layer(x)
    cell = layer.cell
    states = [np.zeros((2, 5), "float32") for _ in layer.state_size]
    for t in range(4):
        out, states = cell(x[:, t], states)
        assert_close(out, outputs[0][:, t])
    for a, b in zip(states, outputs[1:]):
        assert_close(a, b)


@pytest.mark.parametrize("layer_cls, kwargs", LAYERS)
def test_padded_steps_leave_outputs_and_state_unchanged(layer_cls, kwargs):
    rng = np.random.RandomState(3)
    x = rng.randn(2, 3, 4).astype("float32")
    padded = np.concatenate([x, rng.randn(2, 2, 4).astype("float32")], axis=1)
    mask = np.array([[1, 1, 1, 0, 0]] * 2, bool)
    layer = layer_cls(5, return_state=True, **kwargs)
    short = layer(x)
    long = layer(padded, mask=mask)
    for a, b in zip(long, short):
        assert_close(a, b)


def test_irnn_defaults_follow_le_et_al():
    layer = L.IRNN(4)
    layer.build((None, 3, 2))
    assert layer.cell.activation is keras.activations.relu
    assert_close(layer.cell.recurrent_kernel, np.eye(4))
    assert_close(layer.cell.bias, np.zeros(4))
    assert float(np.std(np.asarray(layer.cell.kernel))) < 0.01
    scaled = L.IRNN(3, recurrent_gain=0.01)
    scaled.build((None, 3, 2))
    assert_close(scaled.cell.recurrent_kernel, 0.01 * np.eye(3))
    # With identity recurrence and zero inputs weights, a positive state is held.
    held = L.IRNN(2, kernel_initializer="zeros", return_sequences=True)
    out = held(np.zeros((1, 5, 1), "float32"), initial_state=[np.array([[1.0, 2.0]], "float32")])
    assert_close(out[0, -1], [1.0, 2.0])
