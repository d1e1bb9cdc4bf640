"""Half precision (kerasrnn.layers.precision): the dtype rules of the fused path
on a CPU, with and without XLA, and the layers under mixed-precision policies."""

import keras
import numpy as np
import pytest

from kerasrnn import layers as L


def _gpu_visible():
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return bool(tf.config.list_logical_devices("GPU"))


# The half-precision dtype choices tested below are those of a machine without a GPU.
cpu_only = pytest.mark.skipif(_gpu_visible(), reason="half-precision dtype choices differ when a GPU is visible")


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
