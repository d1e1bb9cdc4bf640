"""GRUCell / GRU: NumPy reference (reset after and before), golden values,
masks, step == sequence, equivalence with keras.layers.GRU (outputs,
gradients, stateful, Bidirectional), the generic layer test."""

import keras
import numpy as np
import pytest

from kerasrnn import layers as L
from tests import helpers
from tests import numpy_reference as ref
from tests.helpers import assert_close
from tests.helpers import run_layer_test

VARIANTS = [pytest.param({}, id="gru"), pytest.param({"reset_after": False}, id="gru-reset-before")]


def _reference_fn(cell):
    w = helpers.cell_weights(cell)
    return lambda x, s: ref.gru_cell(x, s, w["kernel"], w["recurrent_kernel"], w.get("bias"), cell.reset_after)


@pytest.mark.parametrize("kwargs", VARIANTS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("fast_path", [True, False])
def test_layer_matches_numpy_reference_with_mask(kwargs, go_backwards, fast_path):
    helpers.check_matches_numpy_reference_with_mask(L.GRU, kwargs, _reference_fn, go_backwards, fast_path)


def test_gru_golden_values():
    cell = L.GRUCell(1, kernel_initializer="ones", recurrent_initializer="ones", bias_initializer="zeros")
    h, _ = cell(np.array([[1.0]], "float32"), [np.array([[0.5]], "float32")])
    s = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    z = r = s(1.5)
    hh = np.tanh(1.0 + r * 0.5)
    assert_close(h, [[z * 0.5 + (1 - z) * hh]])


@pytest.mark.parametrize("kwargs", VARIANTS)
def test_step_by_step_equals_whole_sequence(kwargs):
    helpers.check_step_by_step_equals_whole_sequence(L.GRU, kwargs)


@pytest.mark.parametrize("kwargs", VARIANTS)
def test_padded_steps_leave_outputs_and_state_unchanged(kwargs):
    helpers.check_padded_steps_leave_outputs_and_state_unchanged(L.GRU, kwargs)


@pytest.mark.parametrize("options, fast_path", helpers.equivalence_cases("gru"))
def test_same_outputs_as_keras(options, fast_path):
    helpers.check_same_outputs_as_keras(L.GRU, keras.layers.GRU, options, fast_path)


@pytest.mark.parametrize("fast_path", [True, False])
@pytest.mark.parametrize("options", helpers.GRADIENT_OPTIONS, ids=range(len(helpers.GRADIENT_OPTIONS)))
def test_same_gradients_as_keras(fast_path, options):
    helpers.check_same_gradients_as_keras(L.GRU, keras.layers.GRU, fast_path, options, training=True)


@pytest.mark.parametrize("options", [helpers.GRADIENT_OPTIONS[0], helpers.GRADIENT_OPTIONS[3]], ids=[0, 3])
def test_inference_gradients_match_keras(options):
    helpers.check_same_gradients_as_keras(L.GRU, keras.layers.GRU, True, options, training=False)


def test_stateful_matches_keras_across_batches():
    helpers.check_stateful_matches_keras_across_batches(L.GRU, keras.layers.GRU)


def test_bidirectional_and_stacked_match_keras():
    helpers.check_bidirectional_and_stacked_match_keras(L.GRU, keras.layers.GRU)


def test_cell_in_keras_rnn_matches_keras_cell():
    helpers.check_cell_in_keras_rnn_matches_keras_cell(L.GRUCell, keras.layers.GRUCell)


def test_xla_training_gives_the_same_losses():
    helpers.check_xla_training_gives_the_same_losses(L.GRU)


def test_layer_contract(tmp_path):
    x = np.random.RandomState(0).randn(2, 3, 5).astype("float32")
    kwargs = {"units": 4, "reset_after": False, "go_backwards": True, "return_sequences": True}
    run_layer_test(L.GRU, kwargs, x, (2, 3, 4), tmp_path)
