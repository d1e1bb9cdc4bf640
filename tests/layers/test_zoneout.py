"""ZoneoutCell: rate 0 is the wrapped cell, inference is the expectation
(NumPy reference, with masks), training keeps a fraction `rate` of the units
at exactly their previous value, masks under training, cells whose output is
not a state, DeepRNN and Bidirectional, config, `.keras`, XLA, SavedModel,
bad arguments."""

import os

import keras
import numpy as np
import pytest

from kerasrnn import layers as L
from kerasrnn.validation import ArgumentError
from tests import helpers
from tests import numpy_reference as ref
from tests.helpers import assert_close

X = np.random.RandomState(0).randn(2, 4, 3).astype("float32")


def _twins(make_cell, rate, **kwargs):
    """A `keras.layers.RNN` around `ZoneoutCell(make_cell())` and one around
    a bare `make_cell()`, with the same weights."""
    zoned = keras.layers.RNN(L.ZoneoutCell(make_cell(), rate=rate, seed=3), **kwargs)
    bare = keras.layers.RNN(make_cell(), **kwargs)
    zoned.build(X.shape)
    bare.build(X.shape)
    bare.set_weights(zoned.get_weights())
    return zoned, bare


def test_rate_zero_equals_the_wrapped_cell_exactly():
    for make_cell in (lambda: L.LSTMCell(3), lambda: L.GRUCell(3)):
        zoned, bare = _twins(make_cell, 0.0, return_sequences=True, return_state=True)
        for a, b in zip(zoned(X, training=True), bare(X, training=True)):
            np.testing.assert_array_equal(a, b)


def test_inference_step_is_the_expectation_exactly():
    cell = L.ZoneoutCell(L.LSTMCell(3), rate=[0.2, 0.6])
    rng = np.random.RandomState(1)
    x, states = rng.randn(2, 3).astype("float32"), [rng.randn(2, 3).astype("float32") for _ in range(2)]
    output, zoned = cell(x, states, training=False)
    _, new = cell.cell(x, states)
    for z, n, s, p in zip(zoned, new, states, (0.2, 0.6)):
        np.testing.assert_array_equal(z, (1.0 - p) * np.asarray(n) + p * s)
    np.testing.assert_array_equal(output, zoned[0])


def test_inference_matches_numpy_reference_with_mask():
    for kind in ("lstm", "gru"):
        _check_inference_matches_numpy_reference_with_mask(kind)


def _check_inference_matches_numpy_reference_with_mask(kind):
    rng = np.random.RandomState(2)
    x = rng.randn(3, 6, 4).astype("float32")
    mask = np.array([[1, 1, 1, 1, 0, 0], [1] * 6, [0, 1, 1, 0, 1, 1]], bool)
    inner = L.LSTMCell(5, bias_initializer="random_normal") if kind == "lstm" else L.GRUCell(5)
    rates = [0.3, 0.7] if kind == "lstm" else 0.4
    layer = keras.layers.RNN(L.ZoneoutCell(inner, rate=rates), return_sequences=True, return_state=True,
                             go_backwards=True)
    outputs = layer(x, mask=mask, training=False)
    w = helpers.cell_weights(inner)
    if kind == "lstm":
        step = lambda x, s: ref.lstm_cell(x, s, w["kernel"], w["recurrent_kernel"], w["bias"])  # noqa: E731
    else:
        step = lambda x, s: ref.gru_cell(x, s, w["kernel"], w["recurrent_kernel"], w["bias"])  # noqa: E731
    rates = rates if kind == "lstm" else [rates]
    states0 = [np.zeros((3, 5), "float32") for _ in rates]
    expected, expected_states = ref.run_sequence(ref.zoneout_inference(step, rates), x, states0, mask,
                                                 go_backwards=True)
    assert_close(outputs[0], expected)
    for actual, want in zip(outputs[1:], expected_states):
        assert_close(actual, want)


def test_training_keeps_a_fraction_rate_of_units_at_their_previous_value():
    # One step over 64 x 32 units per state: every unit is exactly its old or
    # its new value, and the share of old ones is the state's rate.
    rng = np.random.RandomState(3)
    x = rng.randn(64, 5).astype("float32")
    states = [rng.randn(64, 32).astype("float32") for _ in range(2)]
    rates = (0.25, 0.6)
    cell = L.ZoneoutCell(L.LSTMCell(32), rate=list(rates), seed=7)
    output, zoned = cell(x, states, training=True)
    _, new = cell.cell(x, states)
    for z, n, s, p in zip(zoned, new, states, rates):
        z, n = np.asarray(z), np.asarray(n)
        kept, updated = z == s, z == n
        assert np.all(kept | updated) and not np.any(kept & updated)
        assert abs(kept.mean() - p) < 0.04, (kept.mean(), p)  # 4.5 standard deviations
    np.testing.assert_array_equal(output, zoned[0])
    # A fixed seed gives the same masks; the next call draws new ones.
    again = L.ZoneoutCell(cell.cell, rate=list(rates), seed=7)
    np.testing.assert_array_equal(again(x, states, training=True)[1][0], zoned[0])
    assert not np.array_equal(again(x, states, training=True)[1][0], zoned[0])


def test_training_sequence_steps_keep_or_update_and_masked_steps_keep_the_state():
    # GRU: the output is the state, so every step's output is, unit by unit,
    # either the previous one or the cell's update of it; the steps after
    # the last valid one keep it.
    mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
    zoned, _ = _twins(lambda: L.GRUCell(3), 0.5, return_sequences=True, return_state=True)
    outputs, final = zoned(X, mask=mask, training=True)
    outputs, final, inner = np.asarray(outputs), np.asarray(final), zoned.cell.cell
    previous, kept_total = np.zeros((2, 3), "float32"), 0
    for t in range(4):
        update = np.asarray(inner(X[:, t], [previous])[0])
        valid = mask[:, t][:, None]
        out = outputs[:, t]
        assert np.all(np.where(valid, (out == previous) | np.isclose(out, update, atol=1e-6, rtol=0),
                               out == previous))
        kept_total += int(np.sum((out == previous) & valid))
        previous = out
    assert 0 < kept_total < mask.sum() * 3
    np.testing.assert_array_equal(final, outputs[:, -1])
    np.testing.assert_array_equal(final[0], outputs[0, 2])


def test_output_that_is_not_a_state_passes_through_and_other_containers():
    inner = L.OutputFeedbackCell(L.GRUCell(3), output_units=2)
    cell = L.ZoneoutCell(inner, rate=0.5)
    rng = np.random.RandomState(4)
    x, states = rng.randn(2, 3).astype("float32"), [rng.randn(2, 3).astype("float32"), np.zeros((2, 2), "float32")]
    output, zoned = cell(x, states, training=False)
    y, new = inner(x, states)
    np.testing.assert_array_equal(output, y)
    np.testing.assert_array_equal(zoned[0], 0.5 * np.asarray(new[0]) + 0.5 * states[0])
    # DeepRNN (one ZoneoutCell per layer, the cells' own dropout on) and
    # Bidirectional, in training.
    cells = [L.ZoneoutCell(L.LSTMCell(3, dropout=0.2, recurrent_dropout=0.2, seed=1), rate=[0.1, 0.2]),
             L.ZoneoutCell(L.LayerNormLSTMCell(3), rate=0.2)]
    deep = L.DeepRNN(cells, return_sequences=True)
    assert tuple(deep(X, training=True).shape) == (2, 4, 3)
    bidirectional = keras.layers.Bidirectional(keras.layers.RNN(L.ZoneoutCell(L.GRUCell(3), rate=0.3)))
    out = bidirectional(X, training=True)
    assert tuple(out.shape) == (2, 6) and np.all(np.isfinite(out))


def test_config_keras_file_saved_model_and_xla(tmp_path):
    import tensorflow as tf

    cell = L.ZoneoutCell(L.LSTMCell(3, dropout=0.1, seed=2), rate=[0.1, 0.3], seed=1)
    config = cell.get_config()
    clone = L.ZoneoutCell.from_config(config)
    assert clone.get_config() == config and isinstance(clone.cell, L.LSTMCell) and clone.rates == (0.1, 0.3)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(cell))
    assert restored.get_config() == config

    inputs = keras.Input((4, 3))
    outputs = keras.layers.Dense(1)(keras.layers.RNN(cell, return_sequences=True)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile=False)
    before = model.get_weights()
    loss = model.fit(X, np.zeros((2, 4, 1), "float32"), epochs=1, verbose=0).history["loss"][0]
    assert np.isfinite(loss)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    expected = model.predict(X, verbose=0)
    assert_close(model(X), expected)

    # XLA: the masks are drawn inside the compiled loop (training), and
    # inference gives the numbers of the eager call.
    rnn = keras.layers.RNN(L.ZoneoutCell(L.GRUCell(3), rate=0.5, seed=1), return_sequences=True)
    eager = rnn(X)
    compiled = tf.function(lambda x, training: rnn(x, training=training), jit_compile=True)
    assert_close(compiled(X, False), eager)
    zoned = np.asarray(compiled(X, True))
    assert np.all(np.isfinite(zoned)) and np.any(np.isclose(zoned[:, 1:], zoned[:, :-1], atol=0, rtol=0))

    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    assert_close(keras.models.load_model(path).predict(X, verbose=0), expected)

    export_dir = os.path.join(str(tmp_path), "export")
    model.export(export_dir, verbose=False)
    loaded = tf.saved_model.load(export_dir)
    assert_close(loaded.serve(tf.constant(X)), expected)


def test_bad_arguments_name_the_argument_and_value():
    for rate in (-0.1, 1.0, "0.1", None, [0.1], [0.1, 1.5]):
        with pytest.raises(ArgumentError, match=r"`rate` must be a float in \[0, 1\) or a list of 2 such floats"):
            L.ZoneoutCell(L.LSTMCell(3), rate=rate)
    with pytest.raises(ArgumentError, match=r"Received: rate=\[0.1, 0.2\]"):
        L.ZoneoutCell(L.GRUCell(3), rate=[0.1, 0.2])
    with pytest.raises(ArgumentError, match=r"`seed` must be an integer\. Received: seed=1\.5"):
        L.ZoneoutCell(L.GRUCell(3), rate=0.1, seed=1.5)
    with pytest.raises(ArgumentError, match=r"`cell` must be an RNN cell .*Received: cell=<Dense"):
        L.ZoneoutCell(keras.layers.Dense(3), rate=0.1)


def test_numpy_integer_seed_is_accepted_as_an_int():
    cell = L.ZoneoutCell(L.LSTMCell(2), 0.1, seed=np.int64(7))
    assert cell.seed == 7 and type(cell.seed) is int
