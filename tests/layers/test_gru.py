"""kerasrnn layers against Keras's built-ins: same weights → same numbers."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrnn import layers as L
from tests.helpers import assert_close

PAIRS = {
    "simple_rnn": (L.SimpleRNN, keras.layers.SimpleRNN),
    "lstm": (L.LSTM, keras.layers.LSTM),
    "gru": (L.GRU, keras.layers.GRU),
}

OPTIONS = [
    {},
    {"return_sequences": True},
    {"return_state": True},
    {"return_sequences": True, "return_state": True, "go_backwards": True},
    {"use_bias": False, "return_sequences": True},
    {"activation": "relu", "return_sequences": True},
    {"unroll": True, "return_sequences": True},
    {"dropout": 0.3, "seed": 3, "return_sequences": True, "training": True},
    {"recurrent_dropout": 0.4, "dropout": 0.2, "seed": 5, "return_state": True, "training": True},
    {"recurrent_activation": "hard_sigmoid", "go_backwards": True},
    {"implementation": 1, "return_sequences": True},
    {"mask": True, "return_sequences": True, "return_state": True},
    {"mask": True, "go_backwards": True},
    {"initial_state": True, "return_state": True},
    {"bias_initializer": "random_normal", "unit_forget_bias": False, "return_sequences": True},
    {"reset_after": False, "return_sequences": True},
    {"reset_after": False, "recurrent_dropout": 0.3, "seed": 2, "training": True},
]
LSTM_ONLY = {"unit_forget_bias"}
GRU_ONLY = {"reset_after"}
GATED_ONLY = {"recurrent_activation", "implementation"}


def _cases():
    for kind in PAIRS:
        for i, options in enumerate(OPTIONS):
            keys = set(options)
            if keys & LSTM_ONLY and kind != "lstm":
                continue
            if keys & GRU_ONLY and kind != "gru":
                continue
            if keys & GATED_ONLY and kind == "simple_rnn":
                continue
            for fast_path in (True, False):
                yield pytest.param(kind, options, fast_path, id=f"{kind}-{i}-{'fast' if fast_path else 'generic'}")


def _data():
    rng = np.random.RandomState(0)
    x = rng.randn(3, 5, 4).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)
    return x, mask


@pytest.mark.parametrize("kind, options, fast_path", list(_cases()))
def test_same_outputs_as_keras(kind, options, fast_path):
    ours_cls, keras_cls = PAIRS[kind]
    options = dict(options)
    training = options.pop("training", False)
    use_mask = options.pop("mask", False)
    use_initial_state = options.pop("initial_state", False)
    x, mask = _data()
    theirs = keras_cls(6, **options)
    ours = ours_cls(6, fast_path=fast_path, **options)
    theirs.build(x.shape)
    ours.build(x.shape)
    assert [w.shape for w in ours.weights] == [w.shape for w in theirs.weights]
    assert [w.path.split("/", 1)[1] for w in ours.weights] == [w.path.split("/", 1)[1] for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    kwargs = {"training": training}
    if use_mask:
        kwargs["mask"] = mask
    if use_initial_state:
        n_states = len(ours.state_size)
        kwargs["initial_state"] = [
            np.random.RandomState(9 + i).randn(3, 6).astype("float32") for i in range(n_states)
        ]
    expected = theirs(x, **kwargs)
    actual = ours(x, **kwargs)
    expected = expected if isinstance(expected, (list, tuple)) else [expected]
    actual = actual if isinstance(actual, (list, tuple)) else [actual]
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert_close(a, e)


GRADIENT_OPTIONS = [
    {},  # the last output only: the fused backward loop reads no per-step output gradient
    {"return_sequences": True, "mask": True},
    {"return_state": True, "initial_state": True},
    {"return_sequences": True, "return_state": True, "go_backwards": True, "mask": True, "initial_state": True},
    {"return_sequences": True, "mask": True, "zero_output_for_mask": True},
    {"dropout": 0.3, "seed": 4, "training": True, "return_sequences": True},
]


@pytest.mark.parametrize("kind", list(PAIRS))
@pytest.mark.parametrize("fast_path", [True, False])
@pytest.mark.parametrize("options", GRADIENT_OPTIONS, ids=range(len(GRADIENT_OPTIONS)))
def test_same_gradients_as_keras(kind, fast_path, options):
    # Covers the hand-written backward pass (fused_bptt) and Keras's generic
    # loop: gradients w.r.t. inputs, initial states and every weight.
    _check_gradients(kind, fast_path, options, training=True)


@pytest.mark.parametrize("kind", list(PAIRS))
@pytest.mark.parametrize("options", [GRADIENT_OPTIONS[0], GRADIENT_OPTIONS[3]], ids=[0, 3])
def test_inference_gradients_match_keras(kind, options):
    # Gradients of a `training=False` call (saliency maps, adversarial inputs)
    # come from automatic differentiation of the forward-only loop.
    _check_gradients(kind, True, options, training=False)


def _check_gradients(kind, fast_path, options, training):
    ours_cls, keras_cls = PAIRS[kind]
    options = dict(options)
    use_mask = options.pop("mask", False)
    use_initial_state = options.pop("initial_state", False)
    # Dropout options ask for training calls; without dropout a training call
    # gives the numbers of inference.
    training = options.pop("training", training)
    zero_output = options.pop("zero_output_for_mask", False)
    x, mask = _data()
    theirs = keras_cls(6, **options)
    ours = ours_cls(6, fast_path=fast_path, **options)
    theirs.zero_output_for_mask = ours.zero_output_for_mask = zero_output
    theirs.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    if fast_path:
        assert ours.loop_implementation(training) == ("fused_bptt" if training else "fused_forward")
    x_var = tf.Variable(x)
    n_states = len(ours.state_size)
    state_vars = [tf.Variable(np.random.RandomState(7 + i).randn(3, 6).astype("float32")) for i in range(n_states)]
    grads = []
    for layer in (theirs, ours):
        with tf.GradientTape() as tape:
            kwargs = {"training": training}
            if use_mask:
                kwargs["mask"] = mask
            if use_initial_state:
                kwargs["initial_state"] = [tf.convert_to_tensor(v) for v in state_vars]
            outputs = layer(x_var, **kwargs)
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            loss = sum(tf.reduce_sum(o * o) + tf.reduce_sum(tf.sin(3.0 * o)) for o in outputs)
        sources = [x_var] + (state_vars if use_initial_state else []) + layer.trainable_variables
        grads.append(tape.gradient(loss, sources))
    for i, (g_theirs, g_ours) in enumerate(zip(*grads)):
        assert g_theirs is not None and g_ours is not None, i
        assert_close(tf.convert_to_tensor(g_ours), tf.convert_to_tensor(g_theirs), atol=2e-5, msg=f"gradient {i}")


@pytest.mark.parametrize("kind", list(PAIRS))
def test_stateful_matches_keras_across_batches(kind):
    ours_cls, keras_cls = PAIRS[kind]
    x, _ = _data()
    theirs = keras_cls(6, stateful=True, return_sequences=True)
    ours = ours_cls(6, stateful=True, return_sequences=True)
    theirs.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    for chunk in (x[:, :2], x[:, 2:]):
        assert_close(ours(chunk), theirs(chunk))
    ours.reset_state()
    theirs.reset_state()
    assert_close(ours(x), theirs(x))


@pytest.mark.parametrize("kind", list(PAIRS))
def test_bidirectional_and_stacked_match_keras(kind):
    ours_cls, keras_cls = PAIRS[kind]
    x, mask = _data()
    tokens = np.where(mask, np.arange(1, 6)[None, :], 0)

    def build(cls):
        inputs = keras.Input((5,), dtype="int32")
        h = keras.layers.Embedding(8, 4, mask_zero=True)(inputs)
        h = keras.layers.Bidirectional(cls(6, return_sequences=True))(h)
        h = cls(5, return_sequences=True)(h)
        h = cls(3)(h)
        return keras.Model(inputs, h)

    theirs, ours = build(keras_cls), build(ours_cls)
    ours.set_weights(theirs.get_weights())
    assert_close(ours(tokens), theirs(tokens))


@pytest.mark.parametrize("cell_cls, keras_cell_cls", [
    (L.SimpleRNNCell, keras.layers.SimpleRNNCell),
    (L.LSTMCell, keras.layers.LSTMCell),
    (L.GRUCell, keras.layers.GRUCell),
])
def test_cell_in_keras_rnn_matches_keras_cell(cell_cls, keras_cell_cls):
    x, mask = _data()
    theirs = keras.layers.RNN(keras_cell_cls(6), return_sequences=True)
    ours = keras.layers.RNN(cell_cls(6), return_sequences=True)
    theirs.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    assert_close(ours(x, mask=mask), theirs(x, mask=mask))
    # And the stacked-cells form.
    stacked = keras.layers.RNN([cell_cls(6), cell_cls(3)])
    assert tuple(stacked(x).shape) == (3, 3)
