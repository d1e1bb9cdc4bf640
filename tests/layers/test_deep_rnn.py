"""DeepRNNCell / DeepRNN: skip and residual connections against a manual
composition of kerasrnn layers, deep transition against NumPy, masks,
Bidirectional, dropout, the generic layer test, bad arguments."""

import keras
import numpy as np
import pytest

from kerasrnn.layers.deep_rnn import DeepRNN
from kerasrnn.layers.deep_rnn import DeepRNNCell
from kerasrnn.layers.gru import GRU
from kerasrnn.layers.gru import GRUCell
from kerasrnn.layers.lstm import LSTM
from kerasrnn.layers.lstm import LSTMCell
from kerasrnn.layers.simple_rnn import SimpleRNN
from kerasrnn.layers.simple_rnn import SimpleRNNCell
from tests.helpers import assert_close
from tests.helpers import run_layer_test

X = np.random.default_rng(0).normal(size=(3, 5, 4)).astype("float32")
MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], bool)


def _skip_stack(fast_path=True, **kwargs):
    return DeepRNN(
        [LSTMCell(3), GRUCell(3), SimpleRNNCell(3)],
        input_skip=True, output_skip=True, residual=True, return_sequences=True,
        fast_path=fast_path, **kwargs,
    )


@pytest.mark.parametrize("fast_path", [True, False])
def test_skip_and_residual_connections_equal_manual_composition(fast_path):
    layer = _skip_stack(fast_path)
    y = np.asarray(layer(X))
    assert y.shape == (3, 5, 9)
    lstm, gru, rnn = (cls(3, return_sequences=True) for cls in (LSTM, GRU, SimpleRNN))
    lstm(X)
    lstm.set_weights(layer.cell.cells[0].get_weights())
    h1 = np.asarray(lstm(X))
    u2 = np.concatenate([h1, X], -1)
    gru(u2)
    gru.set_weights(layer.cell.cells[1].get_weights())
    r2 = np.asarray(gru(u2)) + h1
    u3 = np.concatenate([r2, X], -1)
    rnn(u3)
    rnn.set_weights(layer.cell.cells[2].get_weights())
    r3 = np.asarray(rnn(u3)) + r2
    assert_close(y, np.concatenate([h1, r2, r3], -1))


def test_deep_transition_input_and_output_mlps_match_numpy():
    layer = DeepRNN([SimpleRNNCell(3)], input_units=(4,), transition_units=(5,), output_units=(2,),
                    mlp_activation="relu", return_sequences=True)
    y = np.asarray(layer(X))
    cell = layer.cell
    (Wi, bi), = [d.get_weights() for d in cell.input_mlp]
    W, U, b = cell.cells[0].get_weights()
    (T1, c1), (T2, c2) = [d.get_weights() for d in cell.transition_mlp(0)]
    (Wo, bo), = [d.get_weights() for d in cell.output_mlp]
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    h = np.zeros((3, 3), "float32")
    expected = []
    for t in range(5):
        x = relu(X[:, t] @ Wi + bi)
        h = relu(relu(np.tanh(x @ W + h @ U + b) @ T1 + c1) @ T2 + c2)  # h_t = f2(f1(cell(x_t, h_{t-1})))
        expected.append(relu(h @ Wo + bo))
    assert_close(y, np.stack(expected, 1))
    slow = DeepRNN.from_config(layer.get_config() | {"fast_path": False})
    slow(X)
    slow.set_weights(layer.get_weights())
    assert_close(slow(X), y)


def test_cell_in_keras_rnn_equals_layer_and_states():
    layer = _skip_stack(return_state=True)
    y, *states = layer(X)
    assert len(states) == 4 and all(s.shape == (3, 3) for s in states)  # LSTM h, c; GRU h; RNN h
    rnn = keras.layers.RNN(DeepRNNCell.from_config(layer.cell.get_config()), return_sequences=True, return_state=True)
    rnn(X)
    rnn.set_weights(layer.get_weights())
    y2, *states2 = rnn(X)
    assert_close(y2, y)
    for a, b in zip(states2, states):
        assert_close(a, b)


@pytest.mark.parametrize("zero_output", [False, True])
def test_mask_fast_equals_generic_and_padding_leaves_state(zero_output):
    fast = _skip_stack(True, return_state=True, zero_output_for_mask=zero_output)
    y, *states = fast(X, mask=MASK)
    slow = _skip_stack(False, return_state=True, zero_output_for_mask=zero_output)
    slow(X)
    slow.set_weights(fast.get_weights())
    y2, *states2 = slow(X, mask=MASK)
    assert_close(y, y2)
    for a, b in zip(states, states2):
        assert_close(a, b)
    # Row 2 has 2 valid steps: its states equal running the first 2 steps only.
    _, *short = fast(X[2:, :2])
    for a, b in zip(states, short):
        assert_close(np.asarray(a)[2:], b)


def test_bidirectional_with_mask_and_keras_round_trip(tmp_path):
    inputs = keras.Input((None, 4))
    masked = keras.layers.Masking(0.0)(inputs)
    out = keras.layers.Bidirectional(_skip_stack())(masked)
    model = keras.Model(inputs, out)
    x = X * MASK[..., None]
    y = model.predict(x, verbose=0)
    assert y.shape == (3, 5, 18)
    assert_close(y[1, 3:], np.zeros((2, 18)))  # padded steps give zeros (Bidirectional)
    path = str(tmp_path / "bi.keras")
    model.save(path)
    assert_close(keras.models.load_model(path).predict(x, verbose=0), y)
    # The backward direction of row 1 only sees its 3 valid steps.
    assert_close(model.predict(x[1:2, :3], verbose=0), y[1:2, :3])


def test_dropout_in_fast_and_generic_paths_has_gradients():
    for fast_path in (True, False):
        layer = DeepRNN([LSTMCell(3, dropout=0.5, recurrent_dropout=0.5, seed=1), GRUCell(3, dropout=0.5, seed=2)],
                        input_skip=True, fast_path=fast_path)
        with __import__("tensorflow").GradientTape() as tape:
            out = layer(X, training=True)
            loss = keras.ops.sum(out**2)
        grads = tape.gradient(loss, layer.trainable_variables)
        assert all(g is not None and np.isfinite(np.asarray(g)).all() for g in grads)
        out = np.asarray(out)
        assert not np.allclose(out, np.asarray(layer(X)))  # dropout active only in training


def test_generic_layer_test(tmp_path):
    kwargs = dict(
        cells=[LSTMCell(3), GRUCell(3)], input_skip=True, output_skip=True, residual=True,
        input_units=[4], transition_units=[2], output_units=[3], return_sequences=True,
    )
    run_layer_test(DeepRNN, kwargs, X, (3, 5, 3), tmp_path)


def test_bad_arguments():
    with pytest.raises(ValueError, match="cells"):
        DeepRNN([])
    with pytest.raises(ValueError, match="cells"):
        DeepRNN([LSTMCell(3), "lstm"])
    cell = LSTMCell(3)
    with pytest.raises(ValueError, match="same cell"):
        DeepRNN([cell, cell])
    with pytest.raises(ValueError, match=r"residual.*cells\[1\].output_size=4"):
        DeepRNN([LSTMCell(3), LSTMCell(4)], residual=True)
    inner = DeepRNNCell([LSTMCell(3), LSTMCell(2)], output_skip=True)  # first state 3 != output 5
    with pytest.raises(ValueError, match="transition_units"):
        DeepRNN([inner], transition_units=(4,))
    with pytest.raises(ValueError, match="transition_units"):
        DeepRNN([LSTMCell(3)], transition_units=(0,))
    with pytest.raises(ValueError, match="input_skip"):
        DeepRNN([LSTMCell(3)], input_skip="yes")
    with pytest.raises(ValueError, match="mlp_activation"):
        DeepRNN([LSTMCell(3)], mlp_activation="nope")


def test_bad_call_arguments_are_named_before_the_loop():
    layer = DeepRNN([LSTMCell(4), GRUCell(3)], return_state=True)
    x = np.zeros((2, 5, 3), "float32")
    with pytest.raises(ValueError, match=r"expects a float tensor .* as `inputs`. Received: dtype=string"):
        layer(np.full((2, 5, 3), "a"))
    with pytest.raises(ValueError, match=r"`initial_state` must hold 3 tensors for DeepRNN .*Received: 3 tensors of shapes \(3, 4\)"):
        layer(x, initial_state=[np.zeros((3, 4), "float32"), np.zeros((3, 4), "float32"), np.zeros((3, 3), "float32")])
    with pytest.raises(ValueError, match=r"`mask` must have shape \(batch, timesteps\) = \(2, 5\). Received: mask.shape=\(2, 4\)"):
        layer(x, mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"of rank 3, .* Received: inputs.shape=\(2, 3\)"):
        layer(np.zeros((2, 3), "float32"))


def test_zero_steps_return_the_initial_states():
    initial = [np.full((2, 4), 0.5, "float32"), np.full((2, 4), -0.5, "float32"), np.full((2, 3), 0.25, "float32")]
    layer = DeepRNN([LSTMCell(4), GRUCell(3)], return_sequences=True, return_state=True)
    outputs, *states = layer(np.zeros((2, 0, 3), "float32"), initial_state=initial)
    assert tuple(outputs.shape) == (2, 0, 3)
    for state, expected in zip(states, initial):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(state), expected)
