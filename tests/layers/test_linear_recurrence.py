"""The layers run by a parallel scan (MinGRU, MinLSTM, LRU, RGLRU, HawkBlock):
scan form == Keras's step loop == the cell called step by step (masks with
holes, go_backwards, initial states, dropout), stateful, Bidirectional, one
model with all of them through config, fit, `.keras`, XLA and SavedModel,
mixed precision, bad arguments, and the JAX backend."""

import os

import keras
import numpy as np
import pytest

from kerasrnn import layers as L
from kerasrnn.validation import ArgumentError
from tests.helpers import assert_close
from tests.helpers import run_python

#: Each layer with the options it is checked with (log_space=False: the
#: plain minGRU/minLSTM, whose scan runs in linear space).
CASES = [
    (L.MinGRU, {}),
    (L.MinGRU, {"log_space": False}),
    (L.MinLSTM, {}),
    (L.MinLSTM, {"log_space": False}),
    (L.LRU, {"state_units": 4}),
    (L.RGLRU, {}),
    (L.HawkBlock, {"rnn_units": 4, "conv_width": 3}),
]
IDS = [f"{cls.__name__}{'-linear' if kw.get('log_space') is False else ''}" for cls, kw in CASES]

RNG = np.random.RandomState(0)
X = RNG.randn(2, 5, 4).astype("float32")
#: Holes in the middle, a masked first step, trailing padding.
MASK = np.array([[0, 1, 1, 0, 1], [1, 1, 1, 0, 0]], bool)


def _states(layer, seed=1):
    rng = np.random.RandomState(seed)
    return [rng.randn(2, size).astype("float32") for size in layer.state_size]


def _step_by_step(cell, x, states, mask, go_backwards, training=False):
    """The cell called one step at a time, masked steps keeping the states
    and repeating the last output (zeros before the first)."""
    outputs, last = [], np.zeros((x.shape[0], cell.output_size), "float32")
    steps = range(x.shape[1])[::-1] if go_backwards else range(x.shape[1])
    for t in steps:
        out, new = cell(x[:, t], states, training=training)
        keep = mask[:, t, None]
        states = [np.where(keep, n, s) for n, s in zip(new, states)]
        last = np.where(keep, out, last)
        outputs.append(last)
    return np.stack(outputs, axis=1), states


@pytest.mark.parametrize("cls, kwargs", CASES, ids=IDS)
def test_scan_equals_step_loop_and_cell_steps(cls, kwargs):
    for go_backwards in (False, True):
        scan = cls(3, return_sequences=True, return_state=True, go_backwards=go_backwards,
                   bias_initializer="random_normal", **kwargs)
        assert scan.loop_implementation() == "scan"
        scan(X)
        loop = cls.from_config({**scan.get_config(), "fast_path": False})
        loop(X)
        loop.set_weights(scan.get_weights())
        assert loop.loop_implementation() == "generic"
        states = _states(scan)
        for mask in (None, MASK):
            got = scan(X, mask=mask, initial_state=states)
            want = loop(X, mask=mask, initial_state=states)
            for a, b in zip(got, want):
                assert_close(a, b, msg=f"go_backwards={go_backwards} mask={mask is not None}")
        outputs, final = _step_by_step(scan.cell, X, states, MASK, go_backwards)
        got = scan(X, mask=MASK, initial_state=states)
        assert_close(got[0], outputs)
        for a, b in zip(got[1:], final):
            assert_close(a, b)
    # Padded steps change nothing; the last output is the last unmasked one.
    layer = cls(3, return_state=True, **kwargs)
    padded = np.concatenate([X[:, :3], RNG.randn(2, 2, 4).astype("float32")], axis=1)
    short, long = layer(X[:, :3]), layer(padded, mask=np.array([[1, 1, 1, 0, 0]] * 2, bool))
    for a, b in zip(short, long):
        assert_close(a, b)


def test_dropout_stateful_and_bidirectional():
    for cls, kwargs in CASES[::2]:
        name = cls.__name__
        # Dropout: the same input mask at every step in both forms.
        scan = cls(3, return_sequences=True, dropout=0.5, seed=3, **kwargs)
        loop = cls(3, return_sequences=True, dropout=0.5, seed=3, fast_path=False, **kwargs)
        loop(X)
        scan(X)
        loop.set_weights(scan.get_weights())
        assert_close(scan(X, training=True), loop(X, training=True), msg=name)
        assert not np.allclose(scan(X, training=True), scan(X), atol=1e-4), name
        # Stateful: two chunks carry the state like one sequence.
        stateful = cls(3, stateful=True, return_sequences=True, **kwargs)
        whole = np.concatenate([stateful(X[:, :2]), stateful(X[:, 2:])], axis=1)
        stateful.reset_state()
        assert_close(stateful(X), whole, msg=name)
        # Bidirectional (merge "concat"): forward half == the layer alone.
        bi = keras.layers.Bidirectional(cls(3, return_sequences=True, **kwargs))
        out = bi(X, mask=MASK)
        forward = cls.from_config(bi.forward_layer.get_config())
        forward(X)
        forward.set_weights(bi.forward_layer.get_weights())
        assert out.shape == (2, 5, 6)
        assert_close(out[..., :3], forward(X, mask=MASK), msg=name)


#: One case per scan (log-space, complex, HawkBlock's own) for the model test.
MODEL_CASES = [CASES[0], CASES[4], CASES[6]]


def test_layers_in_a_model_fit_save_xla_and_export(tmp_path):
    """Config round trip of every case; then a model holding one layer per
    kind of scan through a fit step (Adam), a `.keras` round trip, XLA, and
    a SavedModel served by tf.saved_model.load."""
    import tensorflow as tf

    for cls, kwargs in CASES:
        config = cls(3, **kwargs).get_config()
        assert cls.from_config(config).get_config() == config

    def build():
        inputs = keras.Input((5, 4))
        mask = keras.Input((5,), dtype="bool")
        outputs = [cls(3, return_sequences=True, name=f"layer{i}", **kw)(inputs, mask=mask)
                   for i, (cls, kw) in enumerate(MODEL_CASES)]
        return keras.Model([inputs, mask], outputs)

    model = build()
    targets = [np.zeros((2, 5, 3), "float32")] * len(MODEL_CASES)
    model.compile(keras.optimizers.Adam(0.01), ["mse"] * len(MODEL_CASES), jit_compile=False)
    before = [w.copy() for w in model.get_weights()]
    model.fit([X, MASK], targets, epochs=1, batch_size=2, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    expected = [np.asarray(o) for o in model([X, MASK])]

    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    for a, b in zip(reloaded([X, MASK]), expected):
        assert_close(a, b, msg=".keras")

    # XLA: outputs and gradients of a compiled step equal the eager ones.
    def outputs_and_gradients(x, mask):
        with tf.GradientTape() as tape:
            outputs = model([x, mask])
            loss = sum(tf.reduce_sum(o * o) for o in outputs)
        return outputs, tape.gradient(loss, model.trainable_variables)

    eager = outputs_and_gradients(tf.constant(X), tf.constant(MASK))
    xla = tf.function(outputs_and_gradients, jit_compile=True)(tf.constant(X), tf.constant(MASK))
    for a, b in zip(tf.nest.flatten(xla), tf.nest.flatten(eager)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)

    export = os.path.join(str(tmp_path), "export")
    model.export(export, verbose=False)
    loaded = tf.saved_model.load(export)  # keep a reference while serving
    served = loaded.serve([tf.constant(X), tf.constant(MASK)])
    for a, b in zip(served, expected):
        assert_close(a, b, msg="SavedModel")


def test_mixed_precision_scan_matches_step_loop():
    for cls, kwargs in (CASES[0], CASES[4], CASES[6]):
        layer = cls(3, return_sequences=True, dtype="mixed_bfloat16", **kwargs)
        out = layer(X, mask=MASK)
        assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
        loop = cls(3, return_sequences=True, dtype="mixed_bfloat16", fast_path=False, **kwargs)
        loop(X)
        loop.set_weights(layer.get_weights())
        np.testing.assert_allclose(np.asarray(out, "float32"), np.asarray(loop(X, mask=MASK), "float32"),
                                   atol=0.05)


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: L.MinGRU(0), "units=0"),
        (lambda: L.MinLSTM(2.5), "units=2.5"),
        (lambda: L.MinGRU(3, log_space="yes"), "log_space='yes'"),
        (lambda: L.MinGRU(3, dropout=1.0), "dropout=1.0"),
        (lambda: L.LRU(3, state_units=-1), "state_units=-1"),
        (lambda: L.LRU(3, r_min=0.0), "r_min=0.0"),
        (lambda: L.LRU(3, r_min=1.2), "r_min=1.2"),
        (lambda: L.LRU(3, r_min=0.5, r_max=1.0), "r_max=1.0"),
        (lambda: L.LRU(3, r_min=0.5, r_max=0.4), "r_max=0.4"),
        (lambda: L.LRU(3, max_phase=0), "max_phase=0"),
        (lambda: L.RGLRU(3, c=-1), "c=-1"),
        (lambda: L.HawkBlock(3, conv_width=1), "conv_width=1"),
        (lambda: L.HawkBlock(3, rnn_units=0), "rnn_units=0"),
    ],
)
def test_bad_arguments_name_argument_and_value(make, argument):
    with pytest.raises(ArgumentError, match=f"Received: {argument}"):
        make()


def test_bad_inputs_are_rejected():
    layer = L.MinGRU(3)
    with pytest.raises(ValueError, match=r"rank 3.*Received: inputs.shape=\(2, 4\)"):
        layer(X[:, 0])
    with pytest.raises(ValueError, match=r"`mask` must have shape .*Received: mask.shape=\(2, 4\)"):
        layer(X, mask=MASK[:, :4])
    with pytest.raises(ValueError, match="`initial_state` must hold 2"):
        L.LRU(3)(X, initial_state=[np.zeros((2, 3), "float32")])


JAX_CODE = """
import numpy as np
import keras
from kerasrnn import layers as L

assert keras.backend.backend() == "jax"
rng = np.random.RandomState(0)
x = rng.randn(2, 5, 4).astype("float32")
mask = np.array([[0, 1, 1, 0, 1], [1, 1, 1, 0, 0]], bool)
cases = [(L.MinGRU, {}), (L.MinLSTM, {"log_space": False}), (L.LRU, {}), (L.RGLRU, {}), (L.HawkBlock, {})]
inputs, m = keras.Input((5, 4)), keras.Input((5,), dtype="bool")
scan = [cls(3, return_sequences=True, name=f"s{i}", **kw) for i, (cls, kw) in enumerate(cases)]
loop = [cls(3, return_sequences=True, fast_path=False, name=f"l{i}", **kw) for i, (cls, kw) in enumerate(cases)]
model = keras.Model([inputs, m], [layer(inputs, mask=m) for layer in scan + loop])
for a, b in zip(scan, loop):
    b.set_weights(a.get_weights())
outputs = model.predict_on_batch([x, mask])
# Compared at the unmasked steps: on masked steps Keras's JAX loop repeats
# the first state rather than the last output (they differ for LRU, Hawk).
for i in range(len(cases)):
    np.testing.assert_allclose(outputs[i][mask], outputs[i + len(cases)][mask], atol=1e-5, err_msg=str(cases[i]))
# Training through the written-out backward passes (real, log-space, complex).
trained = keras.Model([inputs, m], [scan[0](inputs, mask=m), scan[2](inputs, mask=m)])
trained.compile("adam", ["mse"] * 2)
before = [np.array(w) for w in trained.get_weights()]
loss = trained.train_on_batch([x, mask], [np.zeros((2, 5, 3), "float32")] * 2)
assert np.isfinite(loss).all()
assert all(not np.array_equal(a, b) for a, b in zip(before, trained.get_weights()))
print("OK")
"""


def test_scan_and_step_forms_agree_and_train_on_the_jax_backend():
    pytest.importorskip("jax")
    result = run_python(JAX_CODE, timeout=600, env={"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
                                                    "PYTHONPATH": os.getcwd()})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")
