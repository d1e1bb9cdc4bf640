"""`zoneout=` of kerasrnn's LSTM and GRU layers and cells: inference against
a NumPy reference (masks, go_backwards, both loops), equal to
`keras.layers.RNN(ZoneoutCell(...))` with the same weights, training keeps
a fraction `rate` of the units at exactly their previous value (masked steps
keep the whole state), XLA, Bidirectional, DeepRNN, config and `.keras`,
bad rates."""

import os

import keras
import numpy as np
import pytest

from kerasrnn import layers as L
from kerasrnn.validation import ArgumentError
from tests import helpers
from tests import numpy_reference as ref
from tests.helpers import assert_close

RNG = np.random.RandomState(0)
X = RNG.randn(3, 6, 4).astype("float32")
MASK = np.array([[1, 1, 1, 1, 0, 0], [1] * 6, [0, 1, 1, 0, 1, 1]], bool)


def _reference_step(kind, cell):
    w = helpers.cell_weights(cell)
    cell_fn = ref.lstm_cell if kind == "lstm" else ref.gru_cell
    return lambda x, s: cell_fn(x, s, w["kernel"], w["recurrent_kernel"], w["bias"])


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_inference_matches_numpy_reference_and_zoneout_cell(kind):
    rates = [0.3, 0.7] if kind == "lstm" else 0.4
    layer_cls, cell_cls = (L.LSTM, L.LSTMCell) if kind == "lstm" else (L.GRU, L.GRUCell)
    options = dict(return_sequences=True, return_state=True, go_backwards=True)
    layer = layer_cls(5, zoneout=rates, bias_initializer="random_normal", **options)
    outputs = layer(X, mask=MASK, training=False)
    assert layer.loop_implementation(training=True) == "fused_autodiff"

    rate_list = rates if kind == "lstm" else [rates]
    states0 = [np.zeros((3, 5), "float32") for _ in rate_list]
    step = ref.zoneout_inference(_reference_step(kind, layer.cell), rate_list)
    expected, expected_states = ref.run_sequence(step, X, states0, MASK, go_backwards=True)
    assert_close(outputs[0], expected)
    for actual, want in zip(outputs[1:], expected_states):
        assert_close(actual, want)

    # The generic loop (the cell's own `call`) and `ZoneoutCell` around a
    # bare cell with the same weights give the same numbers.
    generic = layer_cls(5, zoneout=rates, fast_path=False, **options)
    wrapped = keras.layers.RNN(L.ZoneoutCell(cell_cls(5), rate=rates), **options)
    for other in (generic, wrapped):
        other.build(X.shape)
        other.set_weights(layer.get_weights())
        for a, b in zip(other(X, mask=MASK, training=False), outputs):
            assert_close(a, b, atol=1e-6)


def test_training_keeps_a_fraction_rate_of_units_at_exactly_their_previous_value():
    # One step from random states over 128 x 32 units per state: each unit
    # of h and c is exactly its previous value or the cell's update, and the
    # share of previous ones is the state's rate.
    rng = np.random.RandomState(3)
    x = rng.randn(128, 1, 5).astype("float32")
    states = [rng.randn(128, 32).astype("float32") for _ in range(2)]
    rates = (0.25, 0.6)
    layer = L.LSTM(32, zoneout=list(rates), seed=7, return_state=True)
    _, h, c = layer(x, initial_state=states, training=True)
    new = _reference_step("lstm", layer.cell)(x[:, 0], states)[1]
    for zoned, n, s, p in zip((h, c), new, states, rates):
        zoned = np.asarray(zoned)
        kept = zoned == s
        updated = np.isclose(zoned, n, atol=1e-5, rtol=0)
        assert np.all(kept | updated)
        assert abs(kept.mean() - p) < 0.04, (kept.mean(), p)  # 4.4 standard deviations
    # The same seed draws the same masks; the next call draws new ones.
    again = L.LSTM(32, zoneout=list(rates), seed=7, return_state=True)
    again.build(x.shape)
    again.set_weights(layer.get_weights())
    np.testing.assert_array_equal(again(x, initial_state=states, training=True)[1], h)
    assert not np.array_equal(again(x, initial_state=states, training=True)[1], h)


def test_training_sequence_with_mask_under_xla_and_bidirectional():
    import tensorflow as tf

    # GRU (the output is h): each valid step's output is, unit by unit, the
    # previous output or the cell's update of it; masked steps keep it.
    layer = L.GRU(8, zoneout=0.5, seed=1, return_sequences=True, go_backwards=False)
    layer.build(X.shape)
    compiled = tf.function(lambda x, m: layer(x, mask=m, training=True), jit_compile=True)
    step = _reference_step("gru", layer.cell)
    for outputs in (layer(X, mask=MASK, training=True), compiled(X, MASK)):
        outputs, previous, kept = np.asarray(outputs), np.zeros((3, 8), "float32"), 0
        for t in range(X.shape[1]):
            update = step(X[:, t], [previous])[1][0]
            out, valid = outputs[:, t], MASK[:, t][:, None]
            same = out == previous
            assert np.all(np.where(valid, same | np.isclose(out, update, atol=1e-5, rtol=0), same))
            kept += int(np.sum(same & valid & ~np.isclose(update, previous, atol=1e-5, rtol=0)))
            previous = out
        assert 0 < kept < MASK.sum() * 8

    bidirectional = keras.layers.Bidirectional(L.LSTM(4, zoneout=[0.1, 0.3], return_sequences=True))
    out = bidirectional(X, mask=MASK, training=True)
    assert tuple(out.shape) == (3, 6, 8) and np.all(np.isfinite(out))
    assert bidirectional.backward_layer.zoneout == [0.1, 0.3]
    assert bidirectional.backward_layer.go_backwards

    # DeepRNN runs a cell with zoneout through its own step (the fast
    # layer-by-layer loop would skip the zoneout update).
    deep = L.DeepRNN([L.LSTMCell(3, zoneout=0.3), L.GRUCell(3)], return_sequences=True)
    wrapped = L.DeepRNN([L.ZoneoutCell(L.LSTMCell(3), rate=0.3), L.GRUCell(3)], return_sequences=True)
    deep.build(X.shape)
    wrapped.build(X.shape)
    wrapped.set_weights(deep.get_weights())
    assert not deep.uses_fast_path()
    assert_close(deep(X, mask=MASK), wrapped(X, mask=MASK), atol=1e-6)


def test_default_is_unchanged_config_and_keras_file(tmp_path):
    for layer_cls in (L.LSTM, L.GRU):
        plain = layer_cls(3)
        assert plain.zoneout == 0.0 and plain.get_config()["zoneout"] == 0.0
        assert plain.loop_implementation(training=True) == "fused_bptt"

    layer = L.LSTM(3, zoneout=[0.1, 0.2], seed=5, return_sequences=True)
    config = layer.get_config()
    assert config["zoneout"] == [0.1, 0.2]
    clone = L.LSTM.from_config(config)
    assert clone.get_config() == config and clone.cell.zoneout_rates == (0.1, 0.2)
    cell = L.GRUCell(3, zoneout=0.25)
    assert L.GRUCell.from_config(cell.get_config()).zoneout_rates == (0.25,)

    inputs = keras.Input((6, 4))
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.layers[1].get_config() == config
    assert_close(loaded(X), model(X))


def test_bad_rates_name_the_argument_and_value():
    for rate in (-0.1, 1.0, "0.1", None, [0.1], [0.1, 1.5]):
        with pytest.raises(ArgumentError, match=r"`zoneout` must be a float in \[0, 1\) or a list of 2"):
            L.LSTM(3, zoneout=rate)
    with pytest.raises(ArgumentError, match=r"Received: zoneout=\[0.1, 0.2\]"):
        L.GRU(3, zoneout=[0.1, 0.2])
    with pytest.raises(ArgumentError, match=r"Received: zoneout=1\.5"):
        L.GRUCell(3, zoneout=1.5)
