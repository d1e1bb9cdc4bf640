"""RecurrentCell (kerasrnn.layers.cell): argument checks, build, dropout masks."""

import numpy as np
import pytest

from kerasrnn import layers as L
from tests.helpers import assert_close


@pytest.mark.parametrize("make, match", [
    (lambda: L.LSTM(0), r"`units` must be a positive integer. Received: units=0"),
    (lambda: L.GRU(-3), r"units=-3"),
    (lambda: L.SimpleRNN(2.5), r"units=2.5"),
    (lambda: L.LSTM(4, activation="tanhh"), r"`activation`.*Received: activation='tanhh'"),
    (lambda: L.GRU(4, recurrent_activation="nope"), r"recurrent_activation='nope'"),
    (lambda: L.LSTM(4, dropout=1.5), r"dropout=1.5"),
    (lambda: L.LSTM(4, implementation=3), r"implementation=3"),
])
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_build_needs_a_defined_feature_axis():
    with pytest.raises(ValueError, match="feature"):
        L.LSTMCell(3).build((2, None))


def test_recurrent_dropout_draws_one_mask_per_gate():
    # As in Keras: recurrent dropout switches to implementation 1, per-gate masks.
    assert L.LSTMCell(3, recurrent_dropout=0.2).implementation == 1
    assert L.LSTMCell(3, recurrent_dropout=0.2).dropout_mask_count == 4
    assert L.GRUCell(3, recurrent_dropout=0.2).dropout_mask_count == 3
    assert L.LSTMCell(3).implementation == 2


@pytest.mark.parametrize("cell_cls", [L.SimpleRNNCell, L.GRUCell, L.LSTMCell])
def test_dropout_masks_only_in_training(cell_cls):
    x = np.random.RandomState(0).randn(2, 4).astype("float32")
    cell = cell_cls(3, dropout=0.5, recurrent_dropout=0.5, seed=1)
    states = [np.random.RandomState(1).randn(2, 3).astype("float32") for _ in cell.state_size]
    inference, _ = cell(x, states)
    assert_close(cell(x, states, training=False)[0], inference)
    dropout_mask, recurrent_mask = cell.step_dropout_masks(x, states, training=True)
    assert dropout_mask is not None and recurrent_mask is not None
    assert cell.step_dropout_masks(x, states, training=False) == (None, None)
    # Masks hold 0 or 1 / (1 - rate); the training step differs from inference.
    for mask in (dropout_mask if isinstance(dropout_mask, list) else [dropout_mask]):
        assert set(np.unique(np.asarray(mask)).round(5)) <= {0.0, 2.0}
    trained, _ = cell(x, states, training=True)
    assert not np.allclose(np.asarray(trained), np.asarray(inference))
    # No dropout: a training step equals inference.
    plain = cell_cls(3)
    plain(x, states)
    plain.set_weights(cell.get_weights())
    assert plain.step_dropout_masks(x, states, training=True) == (None, None)
    assert_close(plain(x, states, training=True)[0], plain(x, states)[0])
