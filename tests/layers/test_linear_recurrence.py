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
from kerasrnn.ops import linear_scan
from kerasrnn.ops import log_linear_scan
from kerasrnn.validation import ArgumentError
from tests.helpers import assert_close
from tests.helpers import run_python

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

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
import jax
import numpy as np
import keras
import kerasrnn.layers  # noqa: F401  (registers the layers for loading)
from kerasrnn.ops import linear_scan, log_linear_scan

assert keras.backend.backend() == "jax"
data = np.load(sys.argv[1])
model = keras.models.load_model(sys.argv[2])
outputs = model.predict_on_batch([data["x"], data["mask"]])
for i, out in enumerate(outputs):
    np.testing.assert_allclose(out, data[f"out{i}"], atol=1e-5, err_msg=str(i))
# The scans' written-out gradients (keras.ops.custom_gradient) on JAX.
a, b, h0, w, mask = (data[k] for k in ("a", "b", "h0", "w", "mask"))
scans = {
    "linear": lambda a, b, h0: linear_scan(a, b, h0, mask),
    "log": lambda a, b, h0: log_linear_scan(a, b, h0, mask),
    "complex": lambda a, b, h0: sum(linear_scan((a, b), (b, a), (h0, h0), mask)),
}
for name, scan in scans.items():
    grads = jax.grad(lambda *args: (w * scan(*args)).sum(), argnums=(0, 1, 2))(a, b, h0)
    for k, g in enumerate(grads):
        np.testing.assert_allclose(g, data[f"{name}_grad{k}"], atol=1e-5, err_msg=name)
print("OK")
"""


class _PassMask(keras.layers.Layer):
    def call(self, x, mask=None):
        return x

    def compute_mask(self, x, mask=None):
        return mask


def _keras_loss_of_masked_output(values):
    """The MSE (against zeros) Keras reports for `values` as an output
    masked by MASK, whatever this Keras version does with output masks."""
    inputs, mask = keras.Input(values.shape[1:]), keras.Input(MASK.shape[1:], dtype="bool")
    probe = keras.Model([inputs, mask], _PassMask()(inputs, mask=mask))
    probe.compile(loss="mse", run_eagerly=True)
    return probe.evaluate([values, MASK], np.zeros_like(values), batch_size=len(values), verbose=0)


def test_layers_in_a_model_xla_fit_save_export_and_jax(tmp_path):
    """Config round trip of every case; then a model holding each layer
    through an XLA call, a fit step (Adam), a `.keras` round trip, a
    SavedModel served by tf.saved_model.load, and on the JAX backend: LRU and
    HawkBlock loaded from a `.keras` file give the same outputs, and the
    scans' gradients equal TensorFlow's."""
    import tensorflow as tf

    for cls, kwargs in CASES:
        config = cls(3, **kwargs).get_config()
        assert cls.from_config(config).get_config() == config

    inputs = keras.Input((5, 4))
    mask = keras.Input((5,), dtype="bool")
    outputs = [cls(3, return_sequences=True, name=f"layer{i}", **kw)(inputs, mask=mask)
               for i, (cls, kw) in enumerate(MODEL_CASES)]
    model = keras.Model([inputs, mask], outputs)
    # XLA: a compiled call gives the eager outputs (the scan op's compiled
    # gradients are checked in tests/ops/test_linear_scan.py).
    eager = [np.asarray(o) for o in model([X, MASK])]
    compiled = tf.function(lambda x, m: model([x, m]), jit_compile=True)(tf.constant(X), tf.constant(MASK))
    for a, b in zip(compiled, eager):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # A fit step (Keras's loop run eagerly: tracing five layers' gradients
    # for one step would cost more than the rest of this file).
    targets = [np.zeros((2, 5, 3), "float32")] * len(MODEL_CASES)
    model.compile(keras.optimizers.Adam(0.01), ["mse"] * len(MODEL_CASES), run_eagerly=True)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit([X, MASK], targets, epochs=1, batch_size=2, verbose=0).history
    for i, out in enumerate(eager):
        # The layers' output mask reaches the loss as any masked output's
        # does (Keras 3.8 ignores it there, later versions leave the masked
        # steps out).
        np.testing.assert_allclose(history[f"layer{i}_loss"][0], _keras_loss_of_masked_output(out), rtol=1e-4)
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
    # Gradients of the three scans on TensorFlow, for the JAX side to match.
    rng = np.random.RandomState(4)
    a, b, h0, w = (rng.uniform(0.3, 0.9, shape).astype("float32") for shape in ((2, 5, 3),) * 2 + ((2, 3), (2, 5, 3)))
    scans = {
        "linear": lambda a, b, h0: linear_scan(a, b, h0, MASK),
        "log": lambda a, b, h0: log_linear_scan(a, b, h0, MASK),
        "complex": lambda a, b, h0: sum(linear_scan((a, b), (b, a), (h0, h0), MASK)),
    }
    grads = {}
    for name, scan in scans.items():
        args = [tf.constant(v) for v in (a, b, h0)]
        with tf.GradientTape() as tape:
            tape.watch(args)
            loss = tf.reduce_sum(w * scan(*args))
        grads.update({f"{name}_grad{k}": np.asarray(g) for k, g in enumerate(tape.gradient(loss, args))})
    # LRU and HawkBlock, whose outputs are not their states, to JAX (each
    # layer compiled there costs seconds; the others' scans are checked by
    # the gradients).
    jax_model = keras.Model(model.inputs, [model.outputs[2], model.outputs[4]])
    path = os.path.join(str(tmp_path), "jax.keras")
    jax_model.save(path)
    data = os.path.join(str(tmp_path), "data.npz")
    np.savez(data, x=X, mask=MASK, a=a, b=b, h0=h0, w=w, **grads, out0=expected[2], out1=expected[4])
    result = run_python(
        f"import sys; sys.argv = ['-', {data!r}, {path!r}]\n" + JAX_CODE,
        timeout=600,
        env={"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PYTHONPATH": ROOT},
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
    (lambda: L.LRU(3, seed="x"), "seed='x'"),
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


def test_numpy_integer_seed_is_accepted_as_an_int():
    for cls in (L.MinGRU, L.LRU):
        layer = cls(3, seed=np.int64(7))
        assert layer.cell.seed == 7 and type(layer.cell.seed) is int
