"""LSTMCell / LSTM: NumPy reference, golden values, masks, step == sequence,
equivalence with keras.layers.LSTM (outputs, gradients, stateful,
Bidirectional), peephole connections, the generic layer test."""

import keras
import numpy as np
import pytest

from kerasrnn import layers as L
from tests import helpers
from tests import numpy_reference as ref
from tests.helpers import assert_close
from tests.helpers import run_layer_test

VARIANTS = [pytest.param({}, id="lstm"), pytest.param({"peephole": True}, id="lstm-peephole")]


def _reference_fn(cell):
    w = helpers.cell_weights(cell)
    peepholes = None
    if cell.peephole:
        peepholes = [w[f"{g}_gate_peephole_weights"] for g in ("input", "forget", "output")]
    return lambda x, s: ref.lstm_cell(x, s, w["kernel"], w["recurrent_kernel"], w.get("bias"), peepholes)


@pytest.mark.parametrize("kwargs", VARIANTS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("fast_path", [True, False])
def test_layer_matches_numpy_reference_with_mask(kwargs, go_backwards, fast_path):
    helpers.check_matches_numpy_reference_with_mask(L.LSTM, kwargs, _reference_fn, go_backwards, fast_path)


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


def test_lstm_golden_values_without_peepholes():
    # unit_forget_bias puts 1 in the forget gate's bias; zero states.
    cell = L.LSTMCell(1, kernel_initializer="ones", recurrent_initializer="ones")
    h, (h1, c1) = cell(np.array([[1.0]], "float32"), [np.zeros((1, 1), "float32")] * 2)
    s = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    c = s(1.0) * np.tanh(1.0)  # f * 0 + i * tanh(1)
    assert_close(c1, [[c]])
    assert_close(h1, [[s(1.0) * np.tanh(c)]])
    assert_close(h, h1)


@pytest.mark.parametrize("kwargs", VARIANTS)
def test_step_by_step_equals_whole_sequence(kwargs):
    helpers.check_step_by_step_equals_whole_sequence(L.LSTM, kwargs)


@pytest.mark.parametrize("kwargs", VARIANTS)
def test_padded_steps_leave_outputs_and_state_unchanged(kwargs):
    helpers.check_padded_steps_leave_outputs_and_state_unchanged(L.LSTM, kwargs)


@pytest.mark.parametrize("options, fast_path", helpers.equivalence_cases("lstm"))
def test_same_outputs_as_keras(options, fast_path):
    helpers.check_same_outputs_as_keras(L.LSTM, keras.layers.LSTM, options, fast_path)


@pytest.mark.parametrize("fast_path", [True, False])
@pytest.mark.parametrize("options", helpers.GRADIENT_OPTIONS, ids=range(len(helpers.GRADIENT_OPTIONS)))
def test_same_gradients_as_keras(fast_path, options):
    helpers.check_same_gradients_as_keras(L.LSTM, keras.layers.LSTM, fast_path, options, training=True)


@pytest.mark.parametrize("options", [helpers.GRADIENT_OPTIONS[0], helpers.GRADIENT_OPTIONS[3]], ids=[0, 3])
def test_inference_gradients_match_keras(options):
    helpers.check_same_gradients_as_keras(L.LSTM, keras.layers.LSTM, True, options, training=False)


def test_stateful_matches_keras_across_batches():
    helpers.check_stateful_matches_keras_across_batches(L.LSTM, keras.layers.LSTM)


def test_bidirectional_and_stacked_match_keras():
    helpers.check_bidirectional_and_stacked_match_keras(L.LSTM, keras.layers.LSTM)


def test_cell_in_keras_rnn_matches_keras_cell():
    helpers.check_cell_in_keras_rnn_matches_keras_cell(L.LSTMCell, keras.layers.LSTMCell)


def test_xla_training_gives_the_same_losses():
    helpers.check_xla_training_gives_the_same_losses(L.LSTM)


def test_layer_contract(tmp_path):
    x = np.random.RandomState(0).randn(2, 3, 5).astype("float32")
    run_layer_test(L.LSTM, {"units": 4, "peephole": True, "dropout": 0.1, "seed": 1}, x, (2, 4), tmp_path)


def test_keras_config_loads_into_kerasrnn_layer():
    # A Keras LSTM config is accepted as-is (drop-in replacement).
    config = keras.layers.LSTM(5, return_sequences=True, dropout=0.1).get_config()
    layer = L.LSTM.from_config(config)
    assert layer.units == 5 and layer.return_sequences and layer.dropout == 0.1
