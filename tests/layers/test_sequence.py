"""Layer contract: config, fit, .keras, XLA, SavedModel, errors, policies."""

import os

import keras
import numpy as np
import pytest

from kerasrnn import layers as L
from tests.helpers import assert_close
from tests.helpers import load_saved_model_without_kerasrnn
from tests.helpers import run_layer_test


def _gpu_visible():
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


# The half-precision dtype choices tested below are those of a machine without a GPU.
cpu_only = pytest.mark.skipif(_gpu_visible(), reason="half-precision dtype choices differ when a GPU is visible")


@pytest.mark.parametrize("layer_cls, kwargs, out_shape", [
    (L.SimpleRNN, {"units": 4, "return_sequences": True}, (2, 3, 4)),
    (L.IRNN, {"units": 4}, (2, 4)),
    (L.LSTM, {"units": 4, "peephole": True, "dropout": 0.1, "seed": 1}, (2, 4)),
    (L.GRU, {"units": 4, "reset_after": False, "go_backwards": True, "return_sequences": True}, (2, 3, 4)),
])
def test_layer_contract(layer_cls, kwargs, out_shape, tmp_path):
    x = np.random.RandomState(0).randn(2, 3, 5).astype("float32")
    run_layer_test(layer_cls, kwargs, x, out_shape, tmp_path)


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


def test_keras_config_loads_into_kerasrnn_layer():
    # A Keras LSTM config is accepted as-is (drop-in replacement).
    config = keras.layers.LSTM(5, return_sequences=True, dropout=0.1).get_config()
    layer = L.LSTM.from_config(config)
    assert layer.units == 5 and layer.return_sequences and layer.dropout == 0.1


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


@pytest.mark.parametrize("layer_cls", [L.LSTM, L.GRU, L.SimpleRNN])
def test_xla_training_gives_the_same_losses(layer_cls):
    rng = np.random.RandomState(0)
    x = rng.randn(8, 5, 3).astype("float32")
    y = rng.randn(8, 1).astype("float32")
    mask_x = x.copy()
    mask_x[:3, 3:] = 0.0

    def build():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((5, 3))
        h = keras.layers.Masking()(inputs)
        h = layer_cls(4, return_sequences=True)(h)
        h = layer_cls(4)(h)
        return keras.Model(inputs, keras.layers.Dense(1)(h))

    histories = []
    for jit in (False, True):
        model = build()
        model.compile(keras.optimizers.Adam(0.01), "mse", jit_compile=jit)
        histories.append(model.fit(mask_x, y, epochs=3, batch_size=4, verbose=0, shuffle=False).history["loss"])
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-4)


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
    layer(np.zeros((2, 7, 3), "float32"), training=True)
    # One projection of the whole (time, batch, features) sequence, none per step.
    assert calls == [(7, 2, 3)]
    layer(np.zeros((2, 7, 3), "float32"), training=False)  # inference: the same projection
    assert calls == [(7, 2, 3), (7, 2, 3)]
    layer.fast_path = False
    layer(np.zeros((2, 7, 3), "float32"), training=True)  # Keras's step loop: per-step products
    assert calls == [(7, 2, 3), (7, 2, 3)]


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


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_policies(policy):
    keras.config.set_dtype_policy(policy)
    try:
        layer = L.LSTM(4, return_sequences=True)
        reference = keras.layers.LSTM(4, return_sequences=True)
        x = np.random.RandomState(0).randn(2, 3, 5).astype("float32")
        out = layer(x)
        reference(x)
        reference.set_weights(layer.get_weights())
        assert layer.cell.kernel.dtype == "float32"
        assert keras.backend.standardize_dtype(out.dtype) == policy.split("_")[1]
        tol = 2e-2 if policy == "mixed_bfloat16" else 2e-3
        np.testing.assert_allclose(np.asarray(out, "float32"), np.asarray(reference(x), "float32"), atol=tol)
        # Training under the policy (the fused backward pass in half precision).
        model = keras.Sequential([keras.Input((3, 5)), L.GRU(4), keras.layers.Dense(1, dtype="float32")])
        model.compile(keras.optimizers.Adam(0.05), "mse")
        y = np.ones((2, 1), "float32")
        losses = model.fit(x, y, epochs=5, verbose=0).history["loss"]
        assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    finally:
        keras.config.set_dtype_policy("float32")


@cpu_only
def test_half_precision_recurrence_runs_in_float32_under_xla_on_cpu():
    import tensorflow as tf

    from kerasrnn.layers.precision import recurrence_dtype

    assert recurrence_dtype("bfloat16") == "bfloat16"  # not traced for XLA
    assert recurrence_dtype("bfloat16", units=256) == "bfloat16"
    seen = []

    @tf.function(jit_compile=True)
    def probe():
        seen.extend([recurrence_dtype("bfloat16"), recurrence_dtype("float16"), recurrence_dtype("float32")])
        return tf.constant(0)

    probe()
    assert seen == ["float32", "float32", "float32"]

    x = tf.constant(np.random.RandomState(1).randn(3, 6, 5).astype("float32"))
    results = {}
    for policy in ("float32", "mixed_bfloat16"):
        keras.config.set_dtype_policy(policy)
        try:
            layer = L.LSTM(4, return_sequences=True, seed=3)
            layer.build(x.shape)
            if policy != "float32":
                layer.set_weights(results["float32"][2])

            @tf.function(jit_compile=True)
            def train_step(layer=layer):
                with tf.GradientTape() as tape:
                    out = layer(x, training=True)
                    loss = tf.reduce_sum(tf.cast(out, "float32") ** 2)
                return out, tape.gradient(loss, layer.trainable_variables)

            out, grads = train_step()
            results[policy] = (out, grads, layer.get_weights())
        finally:
            keras.config.set_dtype_policy("float32")
    out, grads, _ = results["mixed_bfloat16"]
    assert out.dtype == tf.bfloat16  # cast back to the layer's compute dtype
    ref_out, ref_grads, _ = results["float32"]
    np.testing.assert_allclose(np.asarray(tf.cast(out, "float32")), ref_out, atol=2e-2)
    for g, ref in zip(grads, ref_grads):
        np.testing.assert_allclose(g, ref, atol=5e-2 * np.abs(ref).max())


@cpu_only
def test_half_precision_dtypes_on_cpu_without_xla():
    from kerasrnn.layers.precision import projection_dtype, recurrence_dtype

    # This suite runs on CPUs: float16 math there is emulated (oneDNN's fused
    # float16 product is far slower than the float32 one), so the
    # fused path projects and loops in float32; narrow bfloat16 layers loop
    # in float32 (faster at <= 128 units); float32 is left alone.
    assert recurrence_dtype("float16") == "float32"
    assert projection_dtype("float16") == "float32"
    assert recurrence_dtype("bfloat16", units=128) == "float32"
    assert recurrence_dtype("bfloat16", units=129) == "bfloat16"
    assert projection_dtype("bfloat16") == "bfloat16"
    assert recurrence_dtype("float32", units=8) == "float32"
    assert projection_dtype("float32") == "float32"


@cpu_only
@pytest.mark.parametrize("policy, units, proj, loop", [
    ("mixed_float16", 4, "float32", "float32"),
    ("mixed_bfloat16", 4, "bfloat16", "float32"),
    ("mixed_bfloat16", 130, "bfloat16", "bfloat16"),
])
def test_fused_path_dtypes_under_half_precision(policy, units, proj, loop):
    import kerasrnn.layers.sequence as base

    keras.config.set_dtype_policy(policy)
    seen = {}
    original_fused = base.fused_rnn

    def spy_fused(kernel, xp, *args, **kwargs):
        seen["loop"] = keras.backend.standardize_dtype(xp[0].dtype)
        return original_fused(kernel, xp, *args, **kwargs)

    try:
        layer = L.LSTM(units, return_sequences=True, seed=2)
        x = np.random.RandomState(2).randn(2, 3, 5).astype("float32")
        layer.build(x.shape)
        original = layer.cell.input_projection_blocks

        def spy(inputs, mask=None, dtype=None):
            out = original(inputs, mask, dtype=dtype)
            seen["proj"] = keras.backend.standardize_dtype(out[0].dtype)
            return out

        layer.cell.input_projection_blocks = spy
        base.fused_rnn = spy_fused
        out = layer(x, training=True)
        assert seen == {"proj": proj, "loop": loop}
        # Outputs come back in the layer's compute dtype, with the numbers of
        # the generic (Keras-loop) path computed in that dtype.
        assert keras.backend.standardize_dtype(out.dtype) == policy.split("_")[1]
        layer.fast_path = False
        reference = np.asarray(layer(x, training=True), "float32")
        tol = 2e-2 if policy == "mixed_bfloat16" else 2e-3
        np.testing.assert_allclose(np.asarray(out, "float32"), reference, atol=tol)
    finally:
        base.fused_rnn = original_fused
        keras.config.set_dtype_policy("float32")


@pytest.mark.parametrize("make, match", [
    (lambda: L.LSTM(0), r"`units` must be a positive integer. Received: units=0"),
    (lambda: L.GRU(-3), r"units=-3"),
    (lambda: L.SimpleRNN(2.5), r"units=2.5"),
    (lambda: L.LSTM(4, activation="tanhh"), r"`activation`.*Received: activation='tanhh'"),
    (lambda: L.GRU(4, recurrent_activation="nope"), r"recurrent_activation='nope'"),
    (lambda: L.LSTM(4, dropout=1.5), r"dropout=1.5"),
    (lambda: L.LSTM(4, implementation=3), r"implementation=3"),
    (lambda: L.LSTM(4, fast_path="yes"), r"fast_path='yes'"),
    (lambda: L.GRU(4, use_cudnn="maybe"), r"use_cudnn='maybe'"),
    (lambda: L.IRNN(4, recurrent_gain="one"), r"recurrent_gain='one'"),
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
    with pytest.raises(ValueError, match="feature"):
        L.LSTMCell(3).build((2, None))
