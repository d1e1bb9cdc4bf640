"""OutputFeedbackCell / OutputFeedbackRNN: teacher-forced vs self-fed
consistency, causality, keras.layers.RNN equivalence, the generic layer test,
bad inputs, and a vector-to-sequence model that converges."""

import keras
import numpy as np
import pytest

from kerasrnn.layers.feedback import OutputFeedbackCell
from kerasrnn.layers.feedback import OutputFeedbackRNN
from kerasrnn.layers.gru import GRUCell
from kerasrnn.layers.lstm import LSTMCell
from kerasrnn.layers.simple_rnn import SimpleRNNCell
from tests.helpers import assert_close
from tests.helpers import run_layer_test

X = np.random.default_rng(0).normal(size=(3, 5, 4)).astype("float32")


@pytest.mark.parametrize(
    "cell, kwargs",
    [
        (lambda: LSTMCell(6), dict(output_units=3)),  # continuous readout fed back
        (lambda: GRUCell(3), dict()),  # the cell's own output fed back
        (lambda: LSTMCell(6), dict(output_units=4, output_activation="softmax", feedback="greedy")),
        (lambda: keras.layers.SimpleRNNCell(5), dict(output_units=4, feedback="greedy")),  # a Keras cell
    ],
)
def test_self_fed_equals_teacher_forced_on_own_outputs(cell, kwargs):
    layer = OutputFeedbackRNN(cell(), **kwargs)
    y = np.asarray(layer(X))
    if layer.cell.feedback == "greedy":
        fed = np.eye(y.shape[-1], dtype="float32")[y.argmax(-1)]
    else:
        fed = y
    teacher = np.asarray(layer(X, targets=fed, training=True))
    assert_close(teacher, y, atol=1e-5)
    # Fed other targets, teacher forcing gives other outputs from step 1 on.
    other = np.asarray(layer(X, targets=fed + 1.0, training=True))
    assert_close(other[:, 0], y[:, 0])
    assert not np.allclose(other[:, 1:], y[:, 1:])
    # Without training=True the targets are ignored (self-fed).
    assert_close(layer(X, targets=fed + 1.0), y)


def test_teacher_forcing_is_causal_and_matches_manual_steps():
    layer = OutputFeedbackRNN(SimpleRNNCell(3), output_units=2)
    z = np.random.default_rng(1).normal(size=(3, 5, 2)).astype("float32")
    y = np.asarray(layer(X, targets=z, training=True))
    W, U, b = layer.cell.cell.get_weights()
    V, c = layer.cell.readout.get_weights()
    h, fed = np.zeros((3, 3), "float32"), np.zeros((3, 2), "float32")
    for t in range(5):
        h = np.tanh(np.concatenate([X[:, t], fed], -1) @ W + h @ U + b)
        assert_close(y[:, t], h @ V + c, msg=f"step {t}")
        fed = z[:, t]
    z2 = z.copy()
    z2[:, 3] += 5.0
    y2 = np.asarray(layer(X, targets=z2, training=True))
    assert_close(y2[:, :4], y[:, :4])  # z_3 only reaches y_4
    assert not np.allclose(y2[:, 4], y[:, 4])


def test_cell_in_keras_rnn_equals_self_fed_layer_with_mask():
    layer = OutputFeedbackRNN(LSTMCell(4), output_units=3, feedback="greedy")
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0]], bool)
    y = np.asarray(layer(X, mask=mask))
    rnn = keras.layers.RNN(layer.cell, return_sequences=True)
    assert_close(rnn(X, mask=mask), y)
    # Padded steps repeat the last output and do not change what came before.
    assert_close(y[1, 3:], np.repeat(y[1, 2:3], 2, axis=0))
    assert_close(layer(X[1:2, :3]), y[1:2, :3])
    # Teacher forcing on the greedy one-hots with the same mask agrees too.
    fed = np.eye(3, dtype="float32")[y.argmax(-1)]
    assert_close(layer(X, targets=fed, mask=mask, training=True), y)


def test_sampling_at_low_temperature_is_greedy_and_integer_targets():
    kwargs = dict(output_units=4, output_activation="softmax", seed=3)
    greedy = OutputFeedbackRNN(GRUCell(5), feedback="greedy", **kwargs)
    y = np.asarray(greedy(X))
    sampler = OutputFeedbackRNN(GRUCell(5), feedback="sample", temperature=1e-4, **kwargs)
    sampler(X)
    sampler.set_weights(greedy.get_weights())
    assert_close(sampler(X), y)
    hot = OutputFeedbackRNN(GRUCell(5), feedback="sample", temperature=50.0, **kwargs)
    hot(X)
    hot.set_weights(greedy.get_weights())
    assert np.isfinite(np.asarray(hot(X))).all()
    ids = y.argmax(-1).astype("int32")
    assert_close(greedy(X, targets=ids, training=True), y)  # integer targets are one-hot encoded


def test_generic_layer_test(tmp_path):
    z = np.random.default_rng(2).normal(size=(3, 5, 3)).astype("float32")
    run_layer_test(OutputFeedbackRNN, {"cell": LSTMCell(4), "output_units": 3}, [X, z], (3, 5, 3), tmp_path)


def test_bad_arguments_and_mismatched_output_size():
    with pytest.raises(ValueError, match=r"targets.*\(batch, timesteps, 3\).*targets.shape=\(3, 5, 5\)"):
        OutputFeedbackRNN(GRUCell(3))(X, targets=np.zeros((3, 5, 5), "float32"), training=True)
    with pytest.raises(ValueError, match="output_units"):
        OutputFeedbackRNN(GRUCell(3), output_units=2)(X, targets=np.zeros((3, 5, 3), "float32"))
    with pytest.raises(ValueError, match="feedback"):
        OutputFeedbackRNN(GRUCell(3), feedback="beam")
    with pytest.raises(ValueError, match="temperature"):
        OutputFeedbackRNN(GRUCell(3), temperature=0)
    with pytest.raises(ValueError, match="cell"):
        OutputFeedbackCell("gru")
    with pytest.raises(ValueError, match="categorical"):
        OutputFeedbackRNN(GRUCell(3))(X, targets=np.zeros((3, 5), "int32"))
    with pytest.raises(ValueError, match="steps"):
        OutputFeedbackRNN(GRUCell(3))(X, targets=np.zeros((3, 4, 3), "float32"))


@pytest.mark.slow
def test_vector_to_sequence_learns_progressions_free_running():
    # The vector enters as the initial state only (no per-step input), so the
    # sequence comes from the state and the fed-back digits alone.
    import keras

    from kerasrnn.data.progressions import VECTOR_DIM
    from kerasrnn.data.progressions import progression_data
    from kerasrnn.models import free_running_scores
    from kerasrnn.models import vector_to_sequence_model

    vectors, sequences = progression_data(6, repeats=8)
    model = vector_to_sequence_model("state", units=24, length=6, vector_dim=VECTOR_DIM, classes=10)
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    test_vectors, test_sequences = progression_data(6)
    before = free_running_scores(model, test_vectors, test_sequences)[1]
    model.fit({"vector": vectors, "targets": sequences}, sequences, epochs=20, batch_size=32, verbose=0)
    token, exact = free_running_scores(model, test_vectors, test_sequences)
    assert before < 0.1 and token > 0.95 and exact > 0.9, (before, token, exact)


def test_bad_call_arguments_are_named_and_zero_steps_give_an_empty_sequence():
    layer = OutputFeedbackRNN(LSTMCell(4), output_units=2)
    x = np.zeros((2, 5, 3), "float32")
    with pytest.raises(ValueError, match=r"expects a float tensor .* as `inputs`. Received: dtype=string"):
        layer(np.full((2, 5, 3), "a"))
    with pytest.raises(ValueError, match=r"`initial_state` must hold 2 tensors for OutputFeedbackRNN \(h, c\).*Received: 2 tensors of shapes \(3, 4\), \(3, 4\)"):
        layer(x, initial_state=[np.zeros((3, 4), "float32")] * 2)
    with pytest.raises(ValueError, match=r"`mask` must have shape \(batch, timesteps\) = \(2, 5\)"):
        layer(x, mask=np.ones((2, 6), bool))
    empty = layer(np.zeros((2, 0, 3), "float32"))
    assert tuple(empty.shape) == (2, 0, 2)
