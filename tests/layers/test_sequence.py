"""RecurrentLayer (kerasrnn.layers.sequence): which loop a call takes, the
fused path taken by default, return_state, the config of the cell's arguments,
saving and export of every layer, shapes of inputs, masks and initial states.

Per-layer checks of masks, states, return_sequences/return_state, stateful,
go_backwards and unroll against Keras are in test_lstm.py, test_gru.py and
test_simple_rnn.py (shared helpers in tests/helpers.py)."""

import os

import keras
import numpy as np
import pytest

from kerasrnn import layers as L
from tests.helpers import assert_close
from tests.helpers import load_saved_model_without_kerasrnn
from tests.helpers import run_layer_test


def test_return_state_contract(tmp_path):
    x = np.random.RandomState(0).randn(2, 3, 5).astype("float32")
    run_layer_test(L.LSTM, {"units": 4, "return_state": True}, x, (2, 4), tmp_path, check_export=False)


def test_config_holds_every_constructor_argument():
    layer = L.LSTM(
        7, activation="relu", recurrent_activation="hard_sigmoid", use_bias=False,
        kernel_regularizer="l2", recurrent_constraint="non_neg", dropout=0.25,
        recurrent_dropout=0.5, seed=11, return_sequences=True, go_backwards=True,
        stateful=False, unroll=True, peephole=True, fast_path=False, implementation=1,
    )
    config = layer.get_config()
    for key, value in {
        "units": 7, "use_bias": False, "dropout": 0.25, "recurrent_dropout": 0.5, "seed": 11,
        "return_sequences": True, "go_backwards": True, "unroll": True, "peephole": True,
        "fast_path": False, "implementation": 1, "activation": "relu",
        "recurrent_activation": "hard_sigmoid",
    }.items():
        assert config[key] == value, key
    clone = L.LSTM.from_config(config)
    assert clone.get_config() == config
    assert clone.units == 7 and clone.dropout == 0.25 and clone.peephole
    assert isinstance(clone.kernel_regularizer, keras.regularizers.L2)


def test_model_with_all_layers_saves_and_exports_without_kerasrnn(tmp_path):
    inputs = keras.Input((6,), dtype="int32")
    h = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    h = keras.layers.Bidirectional(L.LSTM(5, return_sequences=True, peephole=True))(h)
    h = L.GRU(4, return_sequences=True)(h)
    h = L.SimpleRNN(3, return_sequences=True)(h)
    h = L.IRNN(3)(h)
    model = keras.Model(inputs, keras.layers.Dense(2)(h))
    tokens = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 9]], "int32")
    expected = model.predict(tokens, verbose=0)

    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    assert_close(keras.models.load_model(path).predict(tokens, verbose=0), expected)

    export_dir = os.path.join(tmp_path, "saved")
    model.export(export_dir, verbose=False)
    out = load_saved_model_without_kerasrnn(
        export_dir,
        "import numpy as np\n"
        f"        y = m.serve(np.array({tokens.tolist()}, dtype='int32'))\n"
        "        print(repr(np.asarray(y).tolist()))",
    )
    assert_close(np.array(eval(out.strip().splitlines()[-1]), "float32"), expected)


def test_fast_path_is_the_default_and_hoists_the_input_projection():
    layer = L.LSTM(4)
    assert layer.fast_path is True
    assert layer.loop_implementation(training=True) == "fused_bptt"
    assert layer.loop_implementation(training=False) == "fused_forward"
    calls = []
    original = layer.cell.input_projection_blocks

    def spy(inputs, mask=None, dtype=None):
        calls.append(tuple(inputs.shape))
        return original(inputs, mask, dtype=dtype)

    layer.cell.input_projection_blocks = spy
    layer(np.zeros((2, 6, 3), "float32"), training=True)
    # One projection of the whole (time, batch, features) sequence, none per step.
    assert calls == [(6, 2, 3)]
    layer(np.zeros((2, 6, 3), "float32"), training=False)  # inference: the same projection
    assert calls == [(6, 2, 3), (6, 2, 3)]
    layer.fast_path = False
    layer(np.zeros((2, 6, 3), "float32"), training=True)  # Keras's step loop: per-step products
    assert calls == [(6, 2, 3), (6, 2, 3)]


@pytest.mark.parametrize("layer, training, expected", [
    (lambda: L.GRU(4), True, "fused_bptt"),
    (lambda: L.GRU(4), False, "fused_forward"),
    (lambda: L.SimpleRNN(4), True, "fused_bptt"),
    (lambda: L.LSTM(4, dropout=0.5), True, "fused_bptt"),
    (lambda: L.LSTM(4, recurrent_dropout=0.5), False, "fused_forward"),
    (lambda: L.LSTM(4, peephole=True), False, "fused_autodiff"),
    (lambda: L.LSTM(4, fast_path=False), True, "generic"),
    (lambda: L.LSTM(4, recurrent_dropout=0.5), True, "fused_autodiff"),
    (lambda: L.LSTM(4, peephole=True), True, "fused_autodiff"),
    (lambda: L.GRU(4, reset_after=False), True, "fused_autodiff"),
    (lambda: L.SimpleRNN(4, activation="relu"), True, "fused_autodiff"),
    (lambda: L.LSTM(4, unroll=True), True, "fused_autodiff"),
    (lambda: L.GRU(4, fast_path=False), False, "generic"),
])
def test_loop_implementation_choice(layer, training, expected):
    assert layer().loop_implementation(training) == expected


@pytest.mark.parametrize("make, match", [
    (lambda: L.LSTM(4, fast_path="yes"), r"fast_path='yes'"),
    (lambda: L.GRU(4, use_cudnn="maybe"), r"use_cudnn='maybe'"),
])
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_call_inputs():
    layer = L.LSTM(3)
    with pytest.raises(ValueError, match=r"rank 3.*Received: inputs.shape=\(2, 5\)"):
        layer(np.zeros((2, 5), "float32"))
    layer = L.GRU(3)
    x = np.zeros((2, 5, 4), "float32")
    with pytest.raises(ValueError, match=r"`mask` must have shape \(batch, timesteps\) = \(2, 5\). Received: mask.shape=\(2, 4\)"):
        layer(x, mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"`initial_state` must hold 2 tensor\(s\)"):
        L.LSTM(3)(x, initial_state=[np.zeros((2, 3), "float32")])
    with pytest.raises(ValueError, match=r"shape \(batch, 3\)"):
        L.SimpleRNN(3)(x, initial_state=[np.zeros((2, 4), "float32")])
