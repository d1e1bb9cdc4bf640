"""kerasrnn.layers registry: one name -> class map for cells and layers."""

import keras
import pytest

import kerasrnn.layers as L


def test_names_map_to_layers_and_cells():
    assert L.CELL_NAMES == ("lstm", "gru", "simple_rnn", "lnlstm", "mingru", "minlstm", "lru", "rglru", "hawk")
    assert dict(L.RECURRENT_LAYERS) == {
        "lstm": L.LSTM, "gru": L.GRU, "simple_rnn": L.SimpleRNN, "lnlstm": L.LayerNormLSTM,
        "mingru": L.MinGRU, "minlstm": L.MinLSTM, "lru": L.LRU, "rglru": L.RGLRU, "hawk": L.HawkBlock}
    assert dict(L.CELLS) == {
        "lstm": L.LSTMCell, "gru": L.GRUCell, "simple_rnn": L.SimpleRNNCell, "lnlstm": L.LayerNormLSTMCell,
        "mingru": L.MinGRUCell, "minlstm": L.MinLSTMCell, "lru": L.LRUCell, "rglru": L.RGLRUCell,
        "hawk": L.HawkBlockCell}
    for name in L.CELL_NAMES:
        layer_class, cell_class = L.get_recurrent_layer(name), L.get_cell(name)
        assert layer_class.cell_class is cell_class
        assert issubclass(layer_class, keras.layers.RNN)
        layer = layer_class(3)
        assert isinstance(layer.cell, cell_class)


@pytest.mark.parametrize("get", [L.get_recurrent_layer, L.get_cell])
@pytest.mark.parametrize("bad", ["rnn", "LSTM", "", None, 3])
def test_unknown_name_lists_the_choices(get, bad):
    with pytest.raises(ValueError) as info:
        get(bad)
    assert str(info.value) == (
        "`name` must be one of 'lstm', 'gru', 'simple_rnn', 'lnlstm', 'mingru', 'minlstm', 'lru', 'rglru', "
        f"'hawk'. Received: name={bad!r}"
    )


def test_error_names_the_callers_argument():
    with pytest.raises(ValueError, match=r"`--cell` must be one of .*Received: --cell='tree'"):
        L.get_recurrent_layer("tree", argument="--cell")


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        L.RECURRENT_LAYERS["lstm"] = L.GRU
