"""Size and per-call latency of a kerasrnn model exported as SavedModel, TFLite and ONNX.

One model, `Sequential([LSTM, GRU, Dense])` of kerasrnn layers, is written
with `model.export(format="tf_saved_model")`, `kerasrnn.export.export_tflite`
(builtin ops only) and `kerasrnn.export.export_onnx`; each file is loaded the
way a server would (`tf.saved_model.load`, the TFLite interpreter,
onnxruntime) and its inference call is timed in alternation with the others
(`kerasrnn.analysis.time_alternating`), so machine load hits all alike. The
outputs of each are checked against the Keras model first.

    python benchmarks/export_formats.py --output benchmarks/results/export_formats.json
    python benchmarks/export_formats.py --quick

`--support` instead converts a tiny model of each recurrent layer type and
option to both formats, runs each file and compares it with Keras (the
support table of docs/export.md):

    python benchmarks/export_formats.py --support --output benchmarks/results/export_support.json
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerasrnn  # noqa: E402
from kerasrnn.analysis import time_alternating  # noqa: E402
from kerasrnn.export import export_onnx  # noqa: E402
from kerasrnn.export import export_tflite  # noqa: E402
from kerasrnn.export import run_tflite  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchutil import source_commit  # noqa: E402
from benchutil import write_report  # noqa: E402


def build(features, units, classes):
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((None, features)),
            kerasrnn.layers.LSTM(units, return_sequences=True),
            kerasrnn.layers.GRU(units),
            keras.layers.Dense(classes),
        ]
    )


def _size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def servers(model, directory):
    """name -> (callable x -> outputs, file size in bytes, seconds to export)."""
    import onnxruntime

    found = {}
    start = time.perf_counter()
    saved = os.path.join(directory, "saved_model")
    model.export(saved, format="tf_saved_model", verbose=False)
    seconds = time.perf_counter() - start
    loaded = tf.saved_model.load(saved)
    found["savedmodel"] = (lambda x: loaded.serve(x).numpy(), _size(saved), seconds)

    start = time.perf_counter()
    lite = export_tflite(model, os.path.join(directory, "model.tflite"))
    seconds = time.perf_counter() - start
    interpreter = tf.lite.Interpreter(model_path=lite)
    detail = interpreter.get_input_details()[0]
    output = interpreter.get_output_details()[0]["index"]
    shape = [None]

    def run_lite(x):
        if shape[0] != x.shape:
            interpreter.resize_tensor_input(detail["index"], x.shape)
            interpreter.allocate_tensors()
            shape[0] = x.shape
        interpreter.set_tensor(detail["index"], x)
        interpreter.invoke()
        return interpreter.get_tensor(output)

    found["tflite"] = (run_lite, _size(lite), seconds)

    start = time.perf_counter()
    path = export_onnx(model, os.path.join(directory, "model.onnx"))
    seconds = time.perf_counter() - start
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    found["onnx"] = (lambda x: session.run(None, {name: x})[0], _size(path), seconds)
    return found


#: name -> (layer factory, input shape without the batch): what `--support` converts.
SUPPORT_CASES = {
    "LSTM": (lambda: kerasrnn.layers.LSTM(4, return_sequences=True), (None, 3)),
    "LSTM peephole": (lambda: kerasrnn.layers.LSTM(4, peephole=True), (None, 3)),
    "GRU": (lambda: kerasrnn.layers.GRU(4), (None, 3)),
    "GRU reset_after=False": (lambda: kerasrnn.layers.GRU(4, reset_after=False), (None, 3)),
    "SimpleRNN": (lambda: kerasrnn.layers.SimpleRNN(4), (None, 3)),
    "IRNN": (lambda: kerasrnn.layers.IRNN(4), (None, 3)),
    "LSTM unroll=True": (lambda: kerasrnn.layers.LSTM(4, unroll=True), (5, 3)),
    "GRU go_backwards": (lambda: kerasrnn.layers.GRU(4, go_backwards=True, return_sequences=True), (None, 3)),
    "Bidirectional(LSTM)": (
        lambda: keras.layers.Bidirectional(kerasrnn.layers.LSTM(4, return_sequences=True)), (None, 3)
    ),
    "LayerNormLSTM": (lambda: kerasrnn.layers.LayerNormLSTM(4), (None, 3)),
    "MinGRU": (lambda: kerasrnn.layers.MinGRU(4), (None, 3)),
    "MinLSTM": (lambda: kerasrnn.layers.MinLSTM(4), (None, 3)),
    "LRU": (lambda: kerasrnn.layers.LRU(4), (None, 3)),
    "RGLRU": (lambda: kerasrnn.layers.RGLRU(4), (None, 3)),
    "HawkBlock": (lambda: kerasrnn.layers.HawkBlock(4), (None, 3)),
    "DeepRNN([LSTMCell, GRUCell])": (
        lambda: kerasrnn.layers.DeepRNN([kerasrnn.layers.LSTMCell(4), kerasrnn.layers.GRUCell(3)]), (None, 3)
    ),
    "keras.layers.RNN(LSTMCell)": (lambda: keras.layers.RNN(kerasrnn.layers.LSTMCell(4)), (None, 3)),
    "LSTM fast_path=False": (lambda: kerasrnn.layers.LSTM(4, fast_path=False), (None, 3)),
    "Keras's LSTM": (lambda: keras.layers.LSTM(4), (None, 3)),
}


def support(output):
    """Converts a tiny model per `SUPPORT_CASES` entry to both formats."""
    import onnxruntime

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    results, lines = [], []
    with tempfile.TemporaryDirectory() as directory:
        for name, (make, shape) in SUPPORT_CASES.items():
            model = keras.Sequential([keras.Input(shape), make(), keras.layers.Dense(2)])
            expected = model(x).numpy()
            row = {"case": name}
            for fmt in ("tflite", "onnx"):
                path = os.path.join(directory, f"model.{fmt}")
                try:
                    if fmt == "tflite":
                        export_tflite(model, path)
                        got = run_tflite(path, x)
                    else:
                        export_onnx(model, path)
                        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
                        got = session.run(None, {session.get_inputs()[0].name: x})[0]
                    row[fmt] = {"max_abs_error": float(np.abs(got - expected).max())}
                except ValueError as error:
                    row[fmt] = {"refused": str(error).splitlines()[0][:300]}
            results.append(row)
            cells = [
                f"{r['max_abs_error']:.1e}" if "max_abs_error" in r else "refused"
                for r in (row["tflite"], row["onnx"])
            ]
            lines.append(f"{name:<30} | tflite {cells[0]:>8} | onnx {cells[1]:>8}")
            print(lines[-1], flush=True)
    report = {
        "what": "a tiny Sequential([Input, layer, Dense(2)]) per case, batch 2 x 5 steps; the file's "
                "output against the Keras model's (max abs error), or the error export_* raised",
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "commit": source_commit("kerasrnn", "benchmarks/export_formats.py")},
        "results": results,
    }
    write_report(output, report, table=lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", help="write the results as JSON here (and the table beside it as .txt)")
    parser.add_argument("--shapes", default="1,50;32,50", help="semicolon-separated batch,steps pairs")
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30, help="timed calls per format and shape (median)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny model, few calls")
    parser.add_argument("--support", action="store_true", help="the support table instead of timings")
    args = parser.parse_args(argv)
    if args.support:
        return support(args.output)
    if args.quick:
        args.shapes, args.features, args.units, args.steps, args.warmup = "2,5", 3, 4, 3, 1
    shapes = [tuple(int(v) for v in s.split(",")) for s in args.shapes.split(";")]

    start = time.perf_counter()
    model = build(args.features, args.units, 10)
    rng = np.random.default_rng(0)
    results, lines = [], []
    with tempfile.TemporaryDirectory() as directory:
        found = servers(model, directory)
        names = list(found)
        for batch, steps in shapes:
            x = rng.normal(size=(batch, steps, args.features)).astype("float32")
            expected = model(x).numpy()
            for name in names:
                error = float(np.abs(found[name][0](x) - expected).max())
                if error > 1e-4:
                    raise SystemExit(f"{name} differs from the Keras model by {error}")
            medians = time_alternating([lambda f=found[n][0]: f(x) for n in names], args.steps, args.warmup)
            for name, ms in zip(names, medians):
                results.append({
                    "format": name, "batch": batch, "timesteps": steps, "ms_per_call": ms,
                    "ratio_to_savedmodel": ms / medians[0], "bytes": found[name][1],
                    "export_seconds": found[name][2],
                })
    header = f"{'format':<11} {'B':>4} {'T':>4} | {'ms/call':>8} {'vs SavedModel':>13} | {'size KiB':>9} | {'export s':>8}"
    lines += [header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r['format']:<11} {r['batch']:>4} {r['timesteps']:>4} | {r['ms_per_call']:>8.2f} "
            f"{r['ratio_to_savedmodel']:>13.2f} | {r['bytes'] / 1024:>9.0f} | {r['export_seconds']:>8.1f}"
        )
    print("\n".join(lines))
    print(f"benchmark took {(time.perf_counter() - start) / 60:.1f} min")
    import onnxruntime
    import tf2onnx

    report = {
        "model": f"Sequential([Input((None, {args.features})), kerasrnn LSTM({args.units}, return_sequences=True), "
                 f"kerasrnn GRU({args.units}), Dense(10)])",
        "timed": "one inference call per format, median of --steps calls timed in alternation",
        "steps": args.steps,
        "versions": {
            "tensorflow": tf.__version__, "keras": keras.__version__, "onnxruntime": onnxruntime.__version__,
            "tf2onnx": tf2onnx.__version__,
            "commit": source_commit("kerasrnn", "benchmarks/export_formats.py"),
        },
        "results": results,
    }
    write_report(args.output, report, table=lines)


if __name__ == "__main__":
    main()
