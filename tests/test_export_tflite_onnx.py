"""kerasrnn.export: TFLite (builtin ops only) and ONNX files of recurrent models.

Each conversion costs seconds, so one model per format covers the layers
and options (LSTM with and without peepholes, GRU `reset_after` both ways,
SimpleRNN, Bidirectional, stacking, `return_sequences` both ways, masks from
`Embedding(mask_zero=True)` and `Masking`), with fully masked and padded
rows in the inputs.
"""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasrnn
from kerasrnn.export import export_onnx
from kerasrnn.export import export_tflite
from kerasrnn.export import run_tflite
from kerasrnn.export import tflite_operators
from kerasrnn.ops import export_loops
from kerasrnn.ops import scan
from kerasrnn.ops.scan import export_target
from kerasrnn.validation import InputError
from tests.helpers import run_python

L = kerasrnn.layers
ATOL = 1e-5


@pytest.fixture(scope="module")
def tflite_export(tmp_path_factory):
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(9, 3, mask_zero=True),
            L.LSTM(4, return_sequences=True, peephole=True),
            keras.layers.Bidirectional(L.GRU(3, return_sequences=True)),
            L.GRU(3, reset_after=False, return_sequences=True, go_backwards=True),
            L.SimpleRNN(3),
            keras.layers.Dense(2),
        ]
    )
    path = str(tmp_path_factory.mktemp("tflite") / "model.tflite")
    assert export_tflite(model, path) == path
    return model, path


def test_tflite_matches_keras_with_builtin_ops_and_dynamic_shapes(tflite_export):
    model, path = tflite_export
    with open(path, "rb") as f:
        operators = tflite_operators(f.read())
    assert "WHILE" in operators and "FULLY_CONNECTED" in operators
    assert all(op.isupper() and not op.startswith("FLEX") for op in operators), operators
    # Dynamic batch and time: two shapes through one file; padded rows, and
    # a fully masked row.
    rng = np.random.default_rng(0)
    for batch, steps in ((3, 6), (1, 4)):
        ids = rng.integers(1, 9, size=(batch, steps)).astype("int32")
        ids[0, steps - 2 :] = 0
        if batch > 1:
            ids[1] = 0
        got = run_tflite(path, ids)
        np.testing.assert_allclose(got, model(ids).numpy(), atol=ATOL)


@pytest.fixture(scope="module")
def onnx_export(tmp_path_factory):
    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [
            keras.Input((None, 3)),
            keras.layers.Masking(),
            L.LSTM(4, return_sequences=True),
            keras.layers.Bidirectional(L.GRU(3, return_sequences=True)),
            L.GRU(3, reset_after=False, return_sequences=True),
            L.SimpleRNN(3),
            keras.layers.Dense(2),
        ]
    )
    path = str(tmp_path_factory.mktemp("onnx") / "model.onnx")
    assert export_onnx(model, path) == path
    return model, path


def test_onnx_runs_in_onnxruntime_without_kerasrnn_and_matches_keras(onnx_export, tmp_path):
    pytest.importorskip("onnxruntime")
    model, path = onnx_export
    rng = np.random.default_rng(0)
    inputs = {}
    for batch, steps in ((3, 5), (2, 2)):
        x = rng.normal(size=(batch, steps, 3)).astype("float32")
        x[0, 2:] = 0.0  # padded: masked steps
        inputs[f"{batch}x{steps}"] = x
        np.save(tmp_path / f"{batch}x{steps}.npy", x)
    # How a user serves it: onnxruntime alone, kerasrnn (and TensorFlow) absent.
    result = run_python(
        f"""
        import sys
        sys.modules["kerasrnn"] = None
        sys.modules["tensorflow"] = None
        import json
        import numpy as np
        import onnxruntime
        session = onnxruntime.InferenceSession({path!r})
        name = session.get_inputs()[0].name
        out = {{}}
        for key in {sorted(inputs)!r}:
            x = np.load({str(tmp_path)!r} + "/" + key + ".npy")
            out[key] = session.run(None, {{name: x}})[0].tolist()
        print(json.dumps(out))
        """,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    for key, x in inputs.items():
        np.testing.assert_allclose(np.array(served[key]), model(x).numpy(), atol=ATOL)


def test_export_loops_give_the_default_loops_numbers():
    rng = np.random.default_rng(3)
    xs = (rng.normal(size=(5, 2, 3)).astype("float32"), rng.normal(size=(5, 2)).astype("float32"))

    def f(carry, x):
        carry = 0.5 * carry + keras.ops.sum(x[0], axis=-1) * x[1]
        return carry, (carry, 2.0 * x[0])

    def loop(a, b):
        results = []
        for reverse in (False, True):
            carry, ys = scan(f, tf.zeros((2,)), (a, b), unroll=2, reverse=reverse)
            results += [carry, *ys]
        return results

    # A length known only at run time, and two steps per iteration in the
    # default loop (a remainder loop too).
    signature = [tf.TensorSpec((None, 2, 3)), tf.TensorSpec((None, 2))]
    expected = tf.function(loop, input_signature=signature)(*xs)
    for target in ("onnx", "tflite"):
        with export_loops(target):
            got = tf.function(loop, input_signature=signature)(*xs)
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)
    assert export_target() is None
    with pytest.raises(ValueError, match=r"`target` must be one of 'onnx', 'tflite'"):
        with export_loops("coreml"):
            pass


def _small(layer, shape=(None, 3)):
    return keras.Sequential([keras.Input(shape), layer])


def test_keras_loops_are_refused_by_name_for_tflite_and_nothing_is_written(tmp_path):
    path = tmp_path / "keras.tflite"
    with pytest.raises(InputError, match=r"'keras_lstm' \(LSTM\).*Keras's loop.*fixed batch size"):
        export_tflite(_small(keras.layers.LSTM(2, name="keras_lstm")), path)
    assert not path.exists()


def test_unconvertible_ops_are_refused_by_layer_for_onnx_and_nothing_is_written(tmp_path):
    # tf2onnx has no Erfc (HawkBlock's GELU): it logs, then would write a
    # model onnxruntime rejects.
    path = tmp_path / "hawk.onnx"
    with pytest.raises(InputError, match=r"tf2onnx cannot convert.*\(layers 'hawk'\).*Erfc"):
        export_onnx(_small(L.HawkBlock(2, name="hawk")), path)
    assert not path.exists()


@pytest.mark.parametrize("export, suffix", [(export_tflite, ".tflite"), (export_onnx, ".onnx")])
def test_bad_arguments_are_refused_before_converting(export, suffix, tmp_path):
    model = _small(L.GRU(2))
    with pytest.raises(ValueError, match=rf"`filepath` must be a path ending in '\{suffix}'"):
        export(model, str(tmp_path / "model.bin"))
    with pytest.raises(ValueError, match="`filepath` must be in an existing directory"):
        export(model, str(tmp_path / "missing" / f"model{suffix}"))
    (tmp_path / f"folder{suffix}").mkdir()
    with pytest.raises(ValueError, match="`filepath` must be a writable file path"):
        export(model, str(tmp_path / f"folder{suffix}"))
    with pytest.raises(ValueError, match="`model` must be a keras.Model"):
        export(L.GRU(2), str(tmp_path / f"model{suffix}"))
    stateful = keras.Sequential([keras.Input((None, 3), batch_size=2), L.LSTM(2, stateful=True, name="s")])
    with pytest.raises(InputError, match=r"Layer 's' \(LSTM\) is stateful.*stateful=False"):
        export(stateful, str(tmp_path / f"model{suffix}"))

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.rnn = L.GRU(2)

        def call(self, x):
            return self.rnn(x)

    subclassed = Subclassed()
    with pytest.raises(InputError, match="must be built"):
        export(subclassed, str(tmp_path / f"model{suffix}"))
    subclassed(np.zeros((1, 2, 3), "float32"))
    with pytest.raises(InputError, match="pass `input_signature`"):
        export(subclassed, str(tmp_path / f"model{suffix}"))
    assert sorted(os.listdir(tmp_path)) == [f"folder{suffix}"]
