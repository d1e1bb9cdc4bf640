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
    loss = ["mse"] * n_out if n_out > 1 else "mse"
    # Without XLA here (explicitly: "auto" turns it on where a GPU is visible),
    # so the XLA check below can compare against this model.
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss, jit_compile=False)
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

    # XLA: same loss with and without jit_compile from the same weights (the
    # model above, compiled without XLA, and a fresh one compiled with it).
    if check_xla:
        fit_targets = targets if n_out > 1 else target
        losses = [model.evaluate(model_inputs, fit_targets, verbose=0, batch_size=len(target))]
        m = _model(make_layer, inputs)
        m.set_weights(model.get_weights())
        m.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss, jit_compile=True)
        losses.append(m.evaluate(model_inputs, fit_targets, verbose=0, batch_size=len(target)))
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


def read_metrics(output):
    """The `metrics.json` of a pipeline's run directory."""
    import json

    with open(os.path.join(output, "metrics.json"), encoding="utf-8") as f:
        return json.load(f)


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


# ---------------------------------------------------------------------------
# Checks shared by the recurrent layers (LSTM, GRU, SimpleRNN). Each layer's
# test file calls them with its own classes and options.
# ---------------------------------------------------------------------------

#: Inputs of the equivalence checks: (batch 3, 5 steps, 4 features) and a mask.
def equivalence_data():
    rng = np.random.RandomState(0)
    x = rng.randn(3, 5, 4).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)
    return x, mask


def cell_weights(cell):
    """The cell's weights by their short names, as NumPy arrays."""
    names = [w.path.rsplit("/", 1)[-1] for w in cell.weights]
    return dict(zip(names, [np.asarray(w) for w in cell.weights]))


def check_matches_numpy_reference_with_mask(layer_cls, kwargs, reference_fn, go_backwards, fast_path):
    """`reference_fn(cell)` gives a NumPy step `(x, states) -> (out, states)`."""
    from tests import numpy_reference as ref

    rng = np.random.RandomState(1)
    x = rng.randn(3, 6, 4).astype("float32")
    mask = np.array([[1, 1, 1, 1, 0, 0], [1] * 6, [0, 1, 1, 0, 1, 1]], bool)
    layer = layer_cls(5, return_sequences=True, return_state=True, go_backwards=go_backwards,
                      bias_initializer="random_normal", fast_path=fast_path, **kwargs)
    outputs = layer(x, mask=mask)
    states0 = [np.zeros((3, 5), "float32") for _ in layer.state_size]
    expected, expected_states = ref.run_sequence(reference_fn(layer.cell), x, states0, mask, go_backwards)
    assert_close(outputs[0], expected)
    for actual, want in zip(outputs[1:], expected_states):
        assert_close(actual, want)


def check_step_by_step_equals_whole_sequence(layer_cls, kwargs):
    x = np.random.RandomState(2).randn(2, 4, 3).astype("float32")
    layer = layer_cls(5, return_sequences=True, return_state=True, **kwargs)
    outputs = layer(x)
    cell = layer.cell
    states = [np.zeros((2, 5), "float32") for _ in layer.state_size]
    for t in range(4):
        out, states = cell(x[:, t], states)
        assert_close(out, outputs[0][:, t])
    for a, b in zip(states, outputs[1:]):
        assert_close(a, b)


def check_padded_steps_leave_outputs_and_state_unchanged(layer_cls, kwargs):
    rng = np.random.RandomState(3)
    x = rng.randn(2, 3, 4).astype("float32")
    padded = np.concatenate([x, rng.randn(2, 2, 4).astype("float32")], axis=1)
    mask = np.array([[1, 1, 1, 0, 0]] * 2, bool)
    layer = layer_cls(5, return_state=True, **kwargs)
    short = layer(x)
    long = layer(padded, mask=mask)
    for a, b in zip(long, short):
        assert_close(a, b)


#: Options of the forward equivalence with Keras's layers; `training`, `mask`
#: and `initial_state` are call arguments, the rest constructor arguments.
EQUIVALENCE_OPTIONS = [
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
_LSTM_ONLY = {"unit_forget_bias"}
_GRU_ONLY = {"reset_after"}
_GATED_ONLY = {"recurrent_activation", "implementation"}


def equivalence_cases(kind):
    """`pytest.param(options, fast_path)` of `EQUIVALENCE_OPTIONS` that apply
    to `kind` ("lstm", "gru" or "simple_rnn"), ids `{index}-fast|generic`."""
    import pytest

    cases = []
    for i, options in enumerate(EQUIVALENCE_OPTIONS):
        keys = set(options)
        if keys & _LSTM_ONLY and kind != "lstm":
            continue
        if keys & _GRU_ONLY and kind != "gru":
            continue
        if keys & _GATED_ONLY and kind == "simple_rnn":
            continue
        for fast_path in (True, False):
            cases.append(pytest.param(options, fast_path, id=f"{i}-{'fast' if fast_path else 'generic'}"))
    return cases


def check_same_outputs_as_keras(ours_cls, keras_cls, options, fast_path):
    options = dict(options)
    training = options.pop("training", False)
    use_mask = options.pop("mask", False)
    use_initial_state = options.pop("initial_state", False)
    x, mask = equivalence_data()
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
    expected = _as_list(theirs(x, **kwargs))
    actual = _as_list(ours(x, **kwargs))
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


def check_same_gradients_as_keras(ours_cls, keras_cls, fast_path, options, training):
    """Gradients w.r.t. inputs, initial states and every weight equal Keras's.

    With `training=True` this covers the hand-written backward pass
    (fused_bptt) and Keras's generic loop; with `training=False` the
    automatic differentiation of the forward-only loop (saliency maps).
    """
    import tensorflow as tf

    options = dict(options)
    use_mask = options.pop("mask", False)
    use_initial_state = options.pop("initial_state", False)
    # Dropout options ask for training calls; without dropout a training call
    # gives the numbers of inference.
    training = options.pop("training", training)
    zero_output = options.pop("zero_output_for_mask", False)
    x, mask = equivalence_data()
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
            outputs = _as_list(layer(x_var, **kwargs))
            loss = sum(tf.reduce_sum(o * o) + tf.reduce_sum(tf.sin(3.0 * o)) for o in outputs)
        sources = [x_var] + (state_vars if use_initial_state else []) + layer.trainable_variables
        grads.append(tape.gradient(loss, sources))
    for i, (g_theirs, g_ours) in enumerate(zip(*grads)):
        assert g_theirs is not None and g_ours is not None, i
        assert_close(tf.convert_to_tensor(g_ours), tf.convert_to_tensor(g_theirs), atol=2e-5, msg=f"gradient {i}")


def check_stateful_matches_keras_across_batches(ours_cls, keras_cls):
    x, _ = equivalence_data()
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


def check_bidirectional_and_stacked_match_keras(ours_cls, keras_cls):
    _, mask = equivalence_data()
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


def check_cell_in_keras_rnn_matches_keras_cell(cell_cls, keras_cell_cls):
    x, mask = equivalence_data()
    theirs = keras.layers.RNN(keras_cell_cls(6), return_sequences=True)
    ours = keras.layers.RNN(cell_cls(6), return_sequences=True)
    theirs.build(x.shape)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    assert_close(ours(x, mask=mask), theirs(x, mask=mask))
    # And the stacked-cells form.
    stacked = keras.layers.RNN([cell_cls(6), cell_cls(3)])
    assert tuple(stacked(x).shape) == (3, 3)


def check_xla_training_gives_the_same_losses(layer_cls):
    """Three epochs of a masked two-layer model with and without XLA."""
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


# ---------------------------------------------------------------------------
# Checks shared by the attention mechanisms (Bahdanau, Luong).
# ---------------------------------------------------------------------------

_ATTENTION_RNG = np.random.default_rng(0)
QUERY = _ATTENTION_RNG.normal(size=(3, 4)).astype("float32")
QUERIES = _ATTENTION_RNG.normal(size=(3, 2, 4)).astype("float32")
VALUE = _ATTENTION_RNG.normal(size=(3, 5, 6)).astype("float32")
VALUE_MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=bool)


def check_attention_matches_numpy_reference(layer, scores_fn, query, value):
    """`scores_fn(weights, q, value)` gives `(B, Tq, Tv)` scores in NumPy from
    the layer's weights by name, for queries `q` of shape `(B, Tq, dq)`."""
    from tests import numpy_reference as ref

    layer(query, value)  # build
    for v in layer.weights:  # non-trivial scalars
        if v.shape == ():
            v.assign(1.7)
    context, weights = layer(query, value, value_mask=VALUE_MASK)
    w = {v.path.split("/")[-1]: np.asarray(v) for v in layer.weights}
    q = query[:, None, :] if query.ndim == 2 else query
    expected_context, expected_weights = ref.attention(scores_fn(w, q, value), value, VALUE_MASK, query.ndim == 2)
    assert_close(weights, expected_weights, atol=1e-5)
    assert_close(context, expected_context, atol=1e-5)
    # Padded positions get exactly zero weight; rows sum to one.
    weights = np.asarray(weights)
    padded = np.broadcast_to(~VALUE_MASK if query.ndim == 2 else ~VALUE_MASK[:, None], weights.shape)
    assert np.all(weights[padded] == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)


def check_padding_values_do_not_change_context(layer):
    context, _ = layer(QUERY, VALUE, value_mask=VALUE_MASK)
    noisy = np.where(VALUE_MASK[..., None], VALUE, 100.0).astype("float32")
    context_noisy, _ = layer(QUERY, noisy, value_mask=VALUE_MASK)
    assert_close(context, context_noisy)


def check_attention_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer) and restored.get_config() == config
