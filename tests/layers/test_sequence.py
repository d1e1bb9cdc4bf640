"""RecurrentLayer (kerasrnn.layers.sequence): which loop a call takes, the
fused path taken by default, return_state, the config of the cell's arguments,
saving and export of every layer, shapes of inputs, masks and initial states.

Per-layer checks of masks, states, return_sequences/return_state, stateful,
go_backwards and unroll against Keras are in test_lstm.py, test_gru.py and
test_simple_rnn.py (shared helpers in tests/helpers.py)."""

import json
import os
import random

import keras
import numpy as np
import pytest

from kerasrnn import layers as L
from kerasrnn.validation import ArgumentError
from tests.helpers import assert_close
from tests.helpers import load_saved_model_without_kerasrnn
from tests.helpers import run_layer_test
from tests.helpers import run_python


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


@pytest.mark.parametrize("argument", ["return_sequences", "return_state", "go_backwards", "stateful", "unroll"])
def test_boolean_arguments_refuse_strings_and_numbers(argument):
    # Keras reads any truthy value as True: return_sequences="no" returned sequences.
    for value in ("yes", "no", 1, 0, None):
        with pytest.raises(ArgumentError, match=rf"`{argument}` must be a boolean. Received: {argument}={value!r}"):
            L.LSTM(3, **{argument: value})
    layer = L.GRU(3, **{argument: np.bool_(True)})
    assert getattr(layer, argument) is True and layer.get_config()[argument] is True
    assert getattr(L.MinGRU(3, **{argument: False}), argument) is False


def test_non_real_inputs_are_refused_naming_the_layer_and_dtype():
    # A string input failed deep in a cast; a complex one lost its imaginary part.
    with pytest.raises(ValueError, match=r"LSTM expects a float tensor .*Received: dtype=string"):
        L.LSTM(3)(np.full((2, 3, 4), "a"))
    with pytest.raises(ValueError, match=r"MinGRU expects a float tensor .*Received: dtype=complex64"):
        L.MinGRU(3)(np.ones((2, 3, 4), "complex64"))
    with pytest.raises(ValueError, match=r"GRU expects a float tensor .*Received: dtype=string"):
        L.GRU(3)(keras.Input((3, 4), dtype="string"))
    # Integers and booleans are cast, as Keras's layers cast them.
    assert L.SimpleRNN(3)(np.ones((2, 3, 4), "int32")).shape == (2, 3)
    assert L.SimpleRNN(3)(np.ones((2, 3, 4), bool)).shape == (2, 3)


def test_bad_call_inputs():
    layer = L.LSTM(3)
    with pytest.raises(ValueError, match=r"rank 3.*Received: inputs.shape=\(2, 5\)"):
        layer(np.zeros((2, 5), "float32"))
    layer = L.GRU(3)
    x = np.zeros((2, 5, 4), "float32")
    with pytest.raises(ValueError, match=r"`mask` must have shape \(batch, timesteps\) = \(2, 5\). Received: mask.shape=\(2, 4\)"):
        layer(x, mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"`initial_state` must hold 2 tensors for LSTM \(h, c\), "
                                         r"of shapes \(2, 3\), \(2, 3\).*Received: 1 tensor of shape \(2, 3\)"):
        L.LSTM(3)(x, initial_state=[np.zeros((2, 3), "float32")])
    with pytest.raises(ValueError, match=r"of shape \(2, 3\).*Received: 1 tensor of shape \(2, 4\)"):
        L.SimpleRNN(3)(x, initial_state=[np.zeros((2, 4), "float32")])


@pytest.mark.parametrize("make", [
    lambda: L.LSTM(4), lambda: L.GRU(4, fast_path=False), lambda: L.LRU(4, state_units=3),
], ids=["lstm", "gru_generic", "lru"])
def test_initial_state_of_another_batch_is_refused_naming_both_shapes(make):
    # It failed deep inside: "Incompatible shapes [3,4] vs. [2,4] [Op:AddV2]".
    layer = make()
    x = np.zeros((3, 2, 5), "float32")
    states = [np.zeros((2, size), "float32") for size in layer.state_size]
    expected = ", ".join(f"\\(3, {size}\\)" for size in layer.state_size)
    received = ", ".join(f"\\(2, {size}\\)" for size in layer.state_size)
    with pytest.raises(ValueError, match=rf"`initial_state` must hold .* of shapes? {expected}: .*"
                                         rf"Received: .* of shapes? {received}"):
        layer(x, initial_state=states)
    # The same in a functional model, when it is built.
    inputs = keras.Input((2, 5), batch_size=3)
    with pytest.raises(ValueError, match=rf"Received: .* of shapes? {received}"):
        make()(inputs, initial_state=[keras.Input((size,), batch_size=2) for size in layer.state_size])


@pytest.mark.parametrize("make, output_is_state", [
    (lambda **kw: L.LSTM(3, **kw), True),
    (lambda **kw: L.GRU(3, fast_path=False, **kw), True),
    (lambda **kw: L.MinGRU(3, **kw), True),
    (lambda **kw: L.LRU(3, state_units=2, **kw), False),
], ids=["lstm_fused", "gru_generic", "mingru_scan", "lru_scan"])
def test_zero_time_steps_leave_the_states_unchanged(make, output_is_state):
    # Keras's loop failed taking step 0 ("slice index 0 of dimension 1 out of
    # bounds"). Over no steps the states stay the initial ones; the sequence
    # is empty; the last output is the initial h where the output is h.
    x = np.zeros((2, 0, 4), "float32")
    layer = make(return_sequences=True, return_state=True, go_backwards=True)
    states = [np.random.RandomState(i).randn(2, size).astype("float32") for i, size in enumerate(layer.state_size)]
    sequence, *final = layer(x, initial_state=states, mask=np.ones((2, 0), bool))
    assert sequence.shape == (2, 0, 3)
    for got, want in zip(final, states):
        np.testing.assert_array_equal(got, want)
    last, *final = make(return_state=True)(x, initial_state=states)
    np.testing.assert_array_equal(last, states[0] if output_is_state else np.zeros((2, 3)))
    last, *final = make(return_state=True)(x)
    np.testing.assert_array_equal(np.concatenate([last, *final], axis=-1), 0.0)
    # A stateful layer keeps its states.
    layer = make(stateful=True)
    before = layer(np.ones((2, 2, 4), "float32"))
    np.testing.assert_array_equal(layer(x), before if output_is_state else np.zeros((2, 3)))
    assert layer(np.ones((2, 1, 4), "float32")).shape == (2, 3)


def test_zero_time_steps_under_xla():
    inputs = keras.Input((None, 4))
    outputs = keras.layers.Bidirectional(L.LSTM(3, return_sequences=True))(inputs)
    model = keras.Model(inputs, [outputs, L.GRU(3)(inputs)])
    model.compile(jit_compile=True)
    sequence, last = model.predict(np.zeros((2, 0, 4), "float32"), verbose=0)
    assert sequence.shape == (2, 0, 6)
    np.testing.assert_array_equal(last, np.zeros((2, 3)))


@pytest.mark.parametrize("ours_cls, keras_cls", [
    (L.LSTM, keras.layers.LSTM), (L.GRU, keras.layers.GRU), (L.SimpleRNN, keras.layers.SimpleRNN),
], ids=["lstm", "gru", "simple_rnn"])
def test_same_seed_gives_the_keras_models_initial_weights(ours_cls, keras_cls):
    # Every weight of the model, those of layers created after the recurrent
    # ones included, and the next draw of Python's `random` (what the seeds
    # of later unseeded initializers come from).
    def build(cls):
        keras.utils.set_random_seed(7)
        model = keras.Sequential([
            keras.Input((3, 5)),
            keras.layers.Bidirectional(cls(4, return_sequences=True)),
            cls(3, dropout=0.1),
            keras.layers.Dense(2),
        ])
        return [w.numpy() for w in model.weights], random.random()

    (theirs, their_draw), (ours, our_draw) = build(keras_cls), build(ours_cls)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    assert our_draw == their_draw


def test_numpy_and_legacy_arguments_are_accepted_as_keras_accepts_them():
    x = np.random.RandomState(0).randn(2, 3, 5).astype("float32")
    for cls in (L.LSTM, L.GRU, L.SimpleRNN):
        layer = cls(np.int64(4), dropout=np.float32(0.25), seed=np.int64(3), implementation=0)
        reference = cls(4, dropout=0.25, seed=3)
        layer.build(x.shape)
        reference.build(x.shape)
        reference.set_weights(layer.get_weights())
        # Implementation 0 (legacy) computes as implementation 2 does.
        assert_close(layer(x), reference(x))
        config = layer.get_config()
        json.dumps(config)  # plain Python numbers
        assert (config["units"], config["dropout"], config["seed"]) == (4, 0.25, 3)
        assert type(config["units"]) is int and type(config["seed"]) is int
        assert layer.implementation == 0
    with pytest.raises(ArgumentError, match=r"`implementation` must be one of 0, 1, 2. Received: implementation=3"):
        L.LSTM(4, implementation=3)
    with pytest.raises(ArgumentError, match=r"`seed` must be an integer. Received: seed=1.5"):
        L.GRU(4, seed=1.5)


def test_dir_lists_the_attributes_forwarded_to_the_cell():
    for ours, theirs in ((L.LSTM(4), keras.layers.LSTM(4)), (L.GRU(4), keras.layers.GRU(4))):
        names = set(dir(ours))
        assert {"units", "dropout", "recurrent_activation", "kernel_initializer", "implementation"} <= names
        assert set(dir(theirs)) <= names
        for name in ("units", "dropout", "use_bias"):
            assert getattr(ours, name) == getattr(theirs, name)
    assert "peephole_initializer" in dir(L.LSTM(4))


# A training call of which no gradient is taken, eager with and without a
# tape, traced, then fit and predict: TensorFlow logs "Object was never used"
# for per-step buffers of the backward pass that stay unread, and would print
# it on stderr of the user's process.
_QUIET_CODE = """
import numpy as np
import keras
import tensorflow as tf
import gc
from kerasrnn import layers as L

# Longer than the fused loop's partial unrolling (4 steps), so that the
# loop is a TensorFlow while loop over per-step buffers.
x = np.random.RandomState(0).randn(2, 6, 3).astype("float32")
mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
for cls in (L.LSTM, L.GRU, L.SimpleRNN):
    layer = cls(2, return_sequences=True)
    layer(x, training=True)
    layer(x, mask=mask, training=True)
    with tf.GradientTape():
        layer(x, training=True)
    tf.function(lambda x: layer(x, training=True))(x)
    gc.collect()
model = keras.Sequential([
    keras.Input((6, 3)),
    L.LSTM(2, dropout=0.5, return_sequences=True),
    L.GRU(2, return_sequences=True, go_backwards=True),
    L.SimpleRNN(2),
    keras.layers.Dense(1),
])
model.compile("sgd", "mse")
model.fit(x, np.zeros((2, 1)), epochs=1, verbose=0)
model.predict(x, verbose=0)
gc.collect()
print("OK")
"""


def test_no_tensorflow_errors_or_warnings_from_kerasrnn_code():
    result = run_python(_QUIET_CODE, env={"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")
    assert "Object was never used" not in result.stderr, result.stderr[-3000:]
    # Any ERROR/WARNING block TensorFlow logs that points into kerasrnn.
    blocks = result.stderr.split("\n\n")
    for block in blocks:
        if ("ERROR" in block or "WARNING" in block) and "kerasrnn/" in block:
            raise AssertionError(block)


@pytest.mark.parametrize("ours_cls, keras_cls", [
    (L.LSTM, keras.layers.LSTM), (L.GRU, keras.layers.GRU), (L.SimpleRNN, keras.layers.SimpleRNN),
], ids=["lstm", "gru", "simple_rnn"])
def test_masks_that_break_cudnn_give_keras_generic_results_on_the_fused_path(ours_cls, keras_cls):
    # Keras's cuDNN kernels need right-padded masks; for left padding, holes
    # and rows masked entirely it falls back to its generic loop. The fused
    # path (and its hand-written backward pass) gives those numbers.
    import tensorflow as tf

    rng = np.random.RandomState(0)
    x = rng.randn(4, 6, 3).astype("float32")
    mask = np.array([[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0], [1, 0, 1, 1, 0, 1], [1, 1, 1, 1, 1, 1]], bool)
    for go_backwards in (False, True):
        options = {"return_sequences": True, "return_state": True, "go_backwards": go_backwards}
        theirs = keras_cls(5, **options, **({} if keras_cls is keras.layers.SimpleRNN else {"use_cudnn": False}))
        ours = ours_cls(5, **options)
        assert ours.loop_implementation(training=True) == "fused_bptt"
        theirs.build(x.shape)
        ours.build(x.shape)
        ours.set_weights(theirs.get_weights())
        initial_state = [rng.randn(4, 5).astype("float32") for _ in ours.state_size]
        results = []
        for layer in (ours, theirs):
            with tf.GradientTape() as tape:
                outputs = layer(x, mask=mask, initial_state=initial_state, training=True)
                loss = sum(tf.reduce_sum(o * o) for o in outputs)
            results.append(list(outputs) + tape.gradient(loss, layer.trainable_weights))
        for actual, expected in zip(*results):
            assert_close(actual, expected)
