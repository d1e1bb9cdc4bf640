import keras
import numpy as np
import pytest

from kerasrnn.callbacks import ResetStatesCallback
from kerasrnn.callbacks import stateful_layers
from kerasrnn.data.tbptt import tbptt_arrays
from kerasrnn.data.tbptt import tbptt_dataset
from kerasrnn.layers import GRU
from kerasrnn.layers import LSTM


def test_rows_continue_across_batches():
    tokens = np.arange(103)
    batches = list(tbptt_dataset(tokens, batch_size=4, seq_length=5).as_numpy_iterator())
    # per_stream = 102 // 4 = 25 -> 5 windows of 5 per row.
    assert len(batches) == 5
    for x, y in batches:
        assert x.shape == (4, 5) and y.shape == (4, 5)
        np.testing.assert_array_equal(y, x + 1)  # next-token targets
    rows = np.concatenate([x for x, _ in batches], axis=1)
    np.testing.assert_array_equal(rows, np.arange(4)[:, None] * 25 + np.arange(25)[None, :])


def test_cardinality_and_dtype():
    dataset = tbptt_dataset(np.arange(50, dtype="int32"), batch_size=3, seq_length=4)
    assert int(dataset.cardinality()) == 4  # 49 // 3 = 16 -> 4 windows
    x, _ = next(iter(dataset))
    assert x.dtype.name == "int32"


@pytest.mark.parametrize(
    "tokens, batch_size, seq_length, match",
    [
        (np.arange(10), 4, 3, "too short"),
        (np.arange(100), 0, 3, "batch_size"),
        (np.arange(100), 2, -1, "seq_length"),
        (np.zeros((4, 30)), 2, 3, "1-D"),
    ],
)
def test_bad_arguments(tokens, batch_size, seq_length, match):
    with pytest.raises(ValueError, match=match):
        tbptt_dataset(tokens, batch_size, seq_length)


def _lm(layer_cls, batch_size, stateful, vocabulary=11):
    inputs = keras.Input((None,), batch_size=batch_size, dtype="int32")
    x = keras.layers.Embedding(vocabulary, 4)(inputs)
    x = layer_cls(6, return_sequences=True, stateful=stateful)(x)
    return keras.Model(inputs, keras.layers.Dense(vocabulary)(x))


@pytest.mark.parametrize("layer_cls", [LSTM, GRU])
def test_carried_state_equals_whole_stream(layer_cls):
    tokens = np.random.RandomState(0).randint(0, 11, size=3 * 24 + 1)
    stateful = _lm(layer_cls, batch_size=3, stateful=True)
    whole = _lm(layer_cls, batch_size=3, stateful=False)
    whole.set_weights(stateful.get_weights())

    pieces = [np.asarray(stateful(x)) for x, _ in tbptt_dataset(tokens, 3, 6)]
    carried = np.concatenate(pieces, axis=1)
    inputs, _ = tbptt_arrays(tokens, 3, 6)
    streams = np.concatenate(list(inputs), axis=1)  # (3, 24): each row's whole stream
    at_once = np.asarray(whole(streams))
    np.testing.assert_array_equal(carried, at_once)  # bit-exact in float32

    # Without carried state (a reset before every window) the outputs differ.
    ResetStatesCallback().set_model(stateful)
    fresh = []
    for x, _ in tbptt_dataset(tokens, 3, 6):
        for layer in stateful_layers(stateful):
            layer.reset_state()
        fresh.append(np.asarray(stateful(x)))
    assert np.abs(np.concatenate(fresh, axis=1) - at_once)[:, 6:].max() > 1e-3


def test_reset_callback_in_fit():
    tokens = np.random.RandomState(1).randint(0, 11, size=2 * 20 + 1)
    model = _lm(LSTM, batch_size=2, stateful=True)
    model.compile(keras.optimizers.SGD(0.0), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    reset = ResetStatesCallback()
    dataset = tbptt_dataset(tokens, 2, 5)
    model.fit(dataset, epochs=2, verbose=0, callbacks=[reset])
    state_after_fit = [np.asarray(v.value) for v in stateful_layers(model)[0].states]
    assert any(np.abs(s).max() > 0 for s in state_after_fit)  # state was carried
    assert reset.resets == 2
    # With a zero learning rate, both epochs see identical losses only when
    # each epoch starts from a zero state.
    first = model.evaluate(dataset, verbose=0, callbacks=[reset])
    second = model.evaluate(dataset, verbose=0, callbacks=[reset])
    assert first == pytest.approx(second, rel=1e-6)
    model(next(iter(dataset))[0])  # leaves a non-zero state behind
    no_reset = model.evaluate(dataset, verbose=0)  # starts from that state
    assert no_reset != pytest.approx(first, rel=1e-7)


def test_gradient_norm_history_matches_tape():
    import tensorflow as tf

    from kerasrnn.callbacks import GradientNormHistory

    tokens = np.random.RandomState(2).randint(0, 11, size=2 * 10 + 1)
    model = _lm(GRU, batch_size=2, stateful=False)
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = tbptt_arrays(tokens, 2, 5)
    probe = (x[0], y[0])
    norms = GradientNormHistory(probe)
    history = model.fit(x[0], y[0], epochs=2, batch_size=2, verbose=0, callbacks=[norms])
    assert history.history["grad_norm"] == norms.norms and len(norms.norms) == 2
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=probe[0], y=probe[1], y_pred=model(probe[0]))
    # The embedding's gradient densified (global_norm would square its per-lookup rows).
    expected = float(tf.linalg.global_norm([tf.convert_to_tensor(g)
                                            for g in tape.gradient(loss, model.trainable_variables)]))
    assert norms.norms[-1] == pytest.approx(expected, rel=1e-5) and expected > 0
    assert norms.norms[0] != pytest.approx(norms.norms[1], rel=1e-4)  # weights moved between epochs
