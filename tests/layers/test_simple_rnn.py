"""SimpleRNNCell / SimpleRNN and IRNN: NumPy reference, golden values, masks,
step == sequence, equivalence with keras.layers.SimpleRNN (outputs,
gradients, stateful, Bidirectional), IRNN defaults, the generic layer test."""

import keras
import numpy as np
import pytest

from kerasrnn import layers as L
from tests import helpers
from tests import numpy_reference as ref
from tests.helpers import assert_close
from tests.helpers import run_layer_test


def _reference_fn(cell):
    w = helpers.cell_weights(cell)
    return lambda x, s: ref.simple_rnn_cell(x, s, w["kernel"], w["recurrent_kernel"], w.get("bias"))


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("fast_path", [True, False])
def test_layer_matches_numpy_reference_with_mask(go_backwards, fast_path):
    helpers.check_matches_numpy_reference_with_mask(L.SimpleRNN, {}, _reference_fn, go_backwards, fast_path)


def test_simple_rnn_golden_values():
    cell = L.SimpleRNNCell(2, kernel_initializer=keras.initializers.Constant(0.5),
                           recurrent_initializer=keras.initializers.Constant(-0.25), bias_initializer="ones")
    h, (h1,) = cell(np.array([[1.0, 2.0]], "float32"), [np.array([[1.0, 3.0]], "float32")])
    expected = np.tanh(0.5 * 3.0 - 0.25 * 4.0 + 1.0)  # x·W + h·U + b for every unit
    assert_close(h, np.full((1, 2), expected, "float32"))
    assert_close(h1, h)


def test_step_by_step_equals_whole_sequence():
    helpers.check_step_by_step_equals_whole_sequence(L.SimpleRNN, {})


def test_padded_steps_leave_outputs_and_state_unchanged():
    helpers.check_padded_steps_leave_outputs_and_state_unchanged(L.SimpleRNN, {})


@pytest.mark.parametrize("options, fast_path", helpers.equivalence_cases("simple_rnn"))
def test_same_outputs_as_keras(options, fast_path):
    helpers.check_same_outputs_as_keras(L.SimpleRNN, keras.layers.SimpleRNN, options, fast_path)


@pytest.mark.parametrize("fast_path", [True, False])
@pytest.mark.parametrize("options", helpers.GRADIENT_OPTIONS, ids=range(len(helpers.GRADIENT_OPTIONS)))
def test_same_gradients_as_keras(fast_path, options):
    helpers.check_same_gradients_as_keras(L.SimpleRNN, keras.layers.SimpleRNN, fast_path, options, training=True)


@pytest.mark.parametrize("options", [helpers.GRADIENT_OPTIONS[0], helpers.GRADIENT_OPTIONS[3]], ids=[0, 3])
def test_inference_gradients_match_keras(options):
    helpers.check_same_gradients_as_keras(L.SimpleRNN, keras.layers.SimpleRNN, True, options, training=False)


def test_stateful_matches_keras_across_batches():
    helpers.check_stateful_matches_keras_across_batches(L.SimpleRNN, keras.layers.SimpleRNN)


def test_bidirectional_and_stacked_match_keras():
    helpers.check_bidirectional_and_stacked_match_keras(L.SimpleRNN, keras.layers.SimpleRNN)


def test_cell_in_keras_rnn_matches_keras_cell():
    helpers.check_cell_in_keras_rnn_matches_keras_cell(L.SimpleRNNCell, keras.layers.SimpleRNNCell)


def test_xla_training_gives_the_same_losses():
    helpers.check_xla_training_gives_the_same_losses(L.SimpleRNN)


@pytest.mark.parametrize("layer_cls, kwargs, out_shape", [
    (L.SimpleRNN, {"units": 4, "return_sequences": True}, (2, 3, 4)),
    (L.IRNN, {"units": 4}, (2, 4)),
], ids=["SimpleRNN", "IRNN"])
def test_layer_contract(layer_cls, kwargs, out_shape, tmp_path):
    x = np.random.RandomState(0).randn(2, 3, 5).astype("float32")
    run_layer_test(layer_cls, kwargs, x, out_shape, tmp_path)


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


def test_irnn_bad_recurrent_gain():
    with pytest.raises(ValueError, match=r"recurrent_gain='one'"):
        L.IRNN(4, recurrent_gain="one")
