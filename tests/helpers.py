"""Shared test helpers: the generic layer test and small utilities."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np

ATOL = 1e-5


def assert_close(actual, expected, atol=ATOL, msg=""):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{msg} shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, atol=atol, rtol=0, err_msg=msg)


def _first(outputs):
    return outputs[0] if isinstance(outputs, (list, tuple)) else outputs


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _model(make_layer, inputs):
    """A functional model around one fresh layer, taking `inputs` (arrays)."""
    arrays = _as_list(inputs)
    symbolic = [keras.Input(shape=a.shape[1:], dtype=str(a.dtype)) for a in arrays]
    outputs = make_layer()(*symbolic) if len(symbolic) > 1 else make_layer()(symbolic[0])
    return keras.Model(symbolic if len(symbolic) > 1 else symbolic[0], outputs)


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    expected_output_shape,
    tmp_path,
    custom_objects=None,
    check_xla=True,
    check_export=True,
):
    """Build, symbolic call, eager call, config round trip, one fit step,
    `.keras` round trip, XLA fit step and SavedModel export of one layer.

    `input_data` is an array or a list of arrays (a layer with several inputs);
    `expected_output_shape` is the shape of the (first) output.
    """
    inputs = _as_list(input_data)

    def make_layer():
        return layer_cls(**init_kwargs)

    # Eager call and shapes.
    layer = make_layer()
    eager = layer(*inputs) if len(inputs) > 1 else layer(inputs[0])
    assert tuple(_first(eager).shape) == tuple(expected_output_shape)

    # Config round trip: identical config, identical outputs with shared weights.
    config = layer.get_config()
    clone = layer_cls.from_config(config)
    assert clone.get_config() == config
    clone_out = clone(*inputs) if len(inputs) > 1 else clone(inputs[0])
    clone.set_weights(layer.get_weights())
    clone_out = clone(*inputs) if len(inputs) > 1 else clone(inputs[0])
    for a, b in zip(_as_list(clone_out), _as_list(eager)):
        assert_close(a, b, msg="config round trip")

    # Symbolic call inside a model, one fit step that changes the weights.
    model = _model(make_layer, inputs)
    symbolic_shape = tuple(_first(model.outputs).shape)
    assert symbolic_shape[1:] == tuple(expected_output_shape)[1:]
    target = np.zeros(expected_output_shape, dtype="float32")
    model_inputs = inputs if len(inputs) > 1 else inputs[0]
    n_out = len(model.outputs)
    targets = [np.zeros(tuple(o.shape), "float32") for o in _as_list(eager)]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=["mse"] * n_out if n_out > 1 else "mse")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(model_inputs, targets if n_out > 1 else target, epochs=1, batch_size=len(target), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    changed = any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()) if a.size)
    assert changed or not before, "one fit step changed no weight"

    expected = [np.asarray(o) for o in _as_list(model.predict(model_inputs, verbose=0))]

    # .keras round trip.
    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path, custom_objects=custom_objects)
    for a, b in zip(_as_list(reloaded.predict(model_inputs, verbose=0)), expected):
        assert_close(a, b, msg=".keras round trip")

    # XLA: same loss with and without jit_compile from the same weights.
    if check_xla:
        losses = []
        for jit in (False, True):
            m = _model(make_layer, inputs)
            m.set_weights(model.get_weights())
            m.compile(optimizer=keras.optimizers.SGD(0.1), loss=["mse"] * n_out if n_out > 1 else "mse", jit_compile=jit)
            losses.append(m.evaluate(model_inputs, targets if n_out > 1 else target, verbose=0, batch_size=len(target)))
        np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4, atol=1e-6)

    # SavedModel export (TF): the served function equals predict.
    if check_export:
        import tensorflow as tf

        export_dir = os.path.join(str(tmp_path), "export")
        model.export(export_dir, verbose=False)
        loaded = tf.saved_model.load(export_dir)  # keep a reference while serving
        tensors = [tf.constant(a) for a in inputs]
        # A model with several inputs exports one argument holding the list.
        served = loaded.serve(tensors) if len(tensors) > 1 else loaded.serve(tensors[0])
        for a, b in zip(_as_list(served), expected):
            assert_close(a, b, msg="SavedModel export")
    return model


def run_python(code, timeout=300, env=None):
    """Runs `code` in a fresh Python process; returns CompletedProcess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def load_saved_model_without_kerasrnn(export_dir, call, timeout=300):
    """Loads a SavedModel in a subprocess where `import kerasrnn` fails.

    `call` is Python code using `m` (the loaded object) that prints a result.
    Returns the subprocess's stdout.
    """
    code = f"""
        import sys
        sys.modules["kerasrnn"] = None  # importing kerasrnn now fails
        import tensorflow as tf
        try:
            import kerasrnn  # noqa: F401
            raise SystemExit("kerasrnn was importable")
        except ImportError:
            pass
        m = tf.saved_model.load({export_dir!r})
        {call}
    """
    result = run_python(code, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout
