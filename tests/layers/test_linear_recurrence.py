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


def test_dropout_stateful_unknown_length_and_bidirectional():
    import tensorflow as tf

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
        # A time axis of unknown length (a graph traced with `None`
        # timesteps, as a generator feeding one step at a time does).
        dynamic = tf.function(stateful.__call__, input_signature=[tf.TensorSpec((2, None, 4))])
        stateful.reset_state()
        assert_close(dynamic(tf.constant(X)), whole, msg=name)
        # Bidirectional (merge "concat"): forward half == the layer alone.
        bi = keras.layers.Bidirectional(cls(3, return_sequences=True, **kwargs))
        out = bi(X, mask=MASK)
        forward = cls.from_config(bi.forward_layer.get_config())
        forward(X)
        forward.set_weights(bi.forward_layer.get_weights())
        assert out.shape == (2, 5, 6)
        assert_close(out[..., :3], forward(X, mask=MASK), msg=name)


#: One case per layer class for the model test.
MODEL_CASES = [CASES[0], CASES[3], CASES[4], CASES[5], CASES[6]]

JAX_CODE = """
import sys
import numpy as np
import keras
import kerasrnn.layers  # noqa: F401  (registers the layers for loading)

assert keras.backend.backend() == "jax"
data = np.load(sys.argv[1])
model = keras.models.load_model(sys.argv[2])
expected = [data[f"out{i}"] for i in range(len(model.outputs))]
before = [np.array(w) for w in model.get_weights()]
model.compile("adam", ["mse"] * len(expected))
# One compiled training step: its losses are those of the TensorFlow
# outputs (masked steps left out), and it changes every weight.
losses = model.train_on_batch([data["x"], data["mask"]], [np.zeros_like(o) for o in expected])
want = [np.mean(o[data["mask"]] ** 2) for o in expected]
np.testing.assert_allclose(losses[1:], want, rtol=1e-4)
assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
print("OK")
"""


def test_layers_in_a_model_fit_save_xla_export_and_jax(tmp_path):
    """Config round trip of every case; then a model holding each layer
    through an XLA fit step (Adam), a `.keras` round trip, a SavedModel
    served by tf.saved_model.load, and the `.keras` file on the JAX backend
    (a training step from the same losses)."""
    import tensorflow as tf

    for cls, kwargs in CASES:
        config = cls(3, **kwargs).get_config()
        assert cls.from_config(config).get_config() == config

    inputs = keras.Input((5, 4))
    mask = keras.Input((5,), dtype="bool")
    outputs = [cls(3, return_sequences=True, name=f"layer{i}", **kw)(inputs, mask=mask)
               for i, (cls, kw) in enumerate(MODEL_CASES)]
    model = keras.Model([inputs, mask], outputs)
    eager = [np.asarray(o) for o in model([X, MASK])]
    targets = [np.zeros((2, 5, 3), "float32")] * len(MODEL_CASES)
    model.compile(keras.optimizers.Adam(0.01), ["mse"] * len(MODEL_CASES), jit_compile=True)
    before = [w.copy() for w in model.get_weights()]
    # The loss of the compiled (XLA) step is that of the eager outputs (the
    # output mask leaves masked steps out of it).
    history = model.fit([X, MASK], targets, epochs=1, batch_size=2, verbose=0).history
    for i, out in enumerate(eager):
        np.testing.assert_allclose(history[f"layer{i}_loss"][0], np.mean(out[MASK] ** 2), rtol=1e-4)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    expected = [np.asarray(o) for o in model([X, MASK])]

    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    for a, b in zip(reloaded([X, MASK]), expected):
        assert_close(a, b, msg=".keras")

    export = os.path.join(str(tmp_path), "export")
    model.export(export, verbose=False)
    loaded = tf.saved_model.load(export)  # keep a reference while serving
    served = loaded.serve([tf.constant(X), tf.constant(MASK)])
    for a, b in zip(served, expected):
        assert_close(a, b, msg="SavedModel")

    pytest.importorskip("jax")
    data = os.path.join(str(tmp_path), "data.npz")
    np.savez(data, x=X, mask=MASK, **{f"out{i}": o for i, o in enumerate(expected)})
    result = run_python(
        f"import sys; sys.argv = ['-', {data!r}, {path!r}]\n" + JAX_CODE,
        timeout=600,
        env={"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PYTHONPATH": os.getcwd()},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")


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


BAD_ARGUMENTS = [
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
]


def test_bad_arguments_name_argument_and_value():
    for make, argument in BAD_ARGUMENTS:
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
