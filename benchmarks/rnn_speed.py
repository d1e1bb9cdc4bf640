"""Training and inference speed of kerasrnn's LSTM/GRU against Keras's own.

Keras's layer and kerasrnn's default (fused) path -- with `--generic`, also
kerasrnn's `fast_path=False` (generic) path -- are built in one process on
identical shapes and weights, and their steps are timed in alternation (keras,
ours, [generic,] keras, ...) so that any drift of machine load hits all alike;
the median of the step times is reported, with the quartiles of the per-round
ratios ours/Keras (how much the ratio moved within the run). A float32 GEMM of the recurrent size
is timed in the same run to express achieved GFLOP/s.

    python benchmarks/rnn_speed.py --output benchmarks/results/rnn_speed.json
    python benchmarks/rnn_speed.py --quick        # seconds, smoke test
    python benchmarks/rnn_speed.py --cells gru --policies float32 --jit true
    python benchmarks/rnn_speed.py --shapes 256,50,32,128 --cells gru --jit true --policies float32
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerasrnn  # noqa: E402
from kerasrnn.analysis import time_alternating  # noqa: E402
from benchutil import environment  # noqa: E402
from benchutil import paired_ratio_quartiles  # noqa: E402  (benchmarks/benchutil.py)
from benchutil import write_report  # noqa: E402

CONFIGS = [(64, 100, 64, 256), (32, 200, 128, 512), (256, 50, 32, 128)]
QUICK_CONFIGS = [(8, 10, 8, 16)]
GATES = {"lstm": 4, "gru": 3}


def training_flops(batch, steps, features, units, gates):
    """Matrix-product FLOPs of one forward+backward pass (3× the forward)."""
    forward = 2 * batch * steps * (features + units) * gates * units
    return 3 * forward


def gemm_gflops(units, gates, batch=256, repeats=20):
    a = tf.random.normal((batch * 16, units))
    b = tf.random.normal((units, gates * units))
    f = tf.function(lambda: tf.matmul(a, b))
    f()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f().numpy()
        times.append(time.perf_counter() - start)
    return 2 * a.shape[0] * units * gates * units / np.median(times) / 1e9


def build(layer_cls, shape, units, jit):
    batch, steps, features = shape
    inputs = keras.Input((steps, features), batch_size=batch)
    model = keras.Model(inputs, layer_cls(units)(inputs))
    model.compile(keras.optimizers.Adam(1e-3), "mse", jit_compile=jit)
    return model


def bench_case(cell, config, jit, policy, steps, warmup, generic=False):
    keras.config.set_dtype_policy(policy)
    try:
        batch, length, features, units = config
        rng = np.random.RandomState(0)
        x = tf.constant(rng.randn(batch, length, features).astype("float32"))
        y = tf.constant(rng.randn(batch, units).astype("float32"))
        ours_cls = kerasrnn.layers.get_recurrent_layer(cell)
        keras_cls = getattr(keras.layers, ours_cls.__name__)  # Keras's layer of the same name
        theirs = build(keras_cls, (batch, length, features), units, jit)
        ours = build(ours_cls, (batch, length, features), units, jit)
        ours.set_weights(theirs.get_weights())
        models = (theirs, ours)
        if generic:
            slow = build(lambda u: ours_cls(u, fast_path=False), (batch, length, features), units, jit)
            slow.set_weights(theirs.get_weights())
            models += (slow,)
        train, train_samples = time_alternating(
            [lambda m=m: m.train_on_batch(x, y) for m in models], steps, warmup, samples=True
        )
        predict, predict_samples = time_alternating(
            [lambda m=m: m.predict_on_batch(x) for m in models], steps, warmup, samples=True
        )
        flops = training_flops(batch, length, features, units, GATES[cell])
        result = {
            "cell": cell,
            "batch": batch,
            "timesteps": length,
            "features": features,
            "units": units,
            "jit_compile": jit,
            "policy": policy,
            "keras_train_ms": train[0],
            "ours_train_ms": train[1],
            "train_ratio": train[1] / train[0],
            # Quartiles of the per-round ratios (Keras and ours timed back to back).
            "train_ratio_quartiles": paired_ratio_quartiles(train_samples[1], train_samples[0]),
            "keras_infer_ms": predict[0],
            "ours_infer_ms": predict[1],
            "infer_ratio": predict[1] / predict[0],
            "infer_ratio_quartiles": paired_ratio_quartiles(predict_samples[1], predict_samples[0]),
            "ours_train_gflops": flops / train[1] / 1e6,
            "keras_train_gflops": flops / train[0] / 1e6,
        }
        if generic:
            result.update(
                ours_generic_train_ms=train[2],
                generic_train_ratio=train[2] / train[0],
                ours_generic_infer_ms=predict[2],
                generic_infer_ratio=predict[2] / predict[0],
            )
        return result
    finally:
        keras.config.set_dtype_policy("float32")
        keras.backend.clear_session()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", help="write the results as JSON here (and the printed table next to it as .txt)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per case (median)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per case first (the first compiles)")
    parser.add_argument("--cells", default="lstm,gru")
    parser.add_argument("--policies", default="float32,mixed_bfloat16")
    parser.add_argument("--jit", default="false,true")
    parser.add_argument(
        "--generic",
        action="store_true",
        help="also time kerasrnn's fast_path=False layers (in the 341d870 run: 218 s more timed steps on top of 287 s)",
    )
    parser.add_argument(
        "--shapes",
        help="semicolon-separated B,T,D,H shapes to time instead of the default three "
        "(e.g. '256,50,32,128' or '64,100,64,256;256,50,32,128')",
    )
    parser.add_argument("--quick", action="store_true", help="tiny shapes, few steps")
    args = parser.parse_args(argv)
    configs = QUICK_CONFIGS if args.quick else CONFIGS
    if args.shapes:
        configs = []
        for text in args.shapes.split(";"):
            try:
                config = tuple(int(v) for v in text.split(","))
            except ValueError:
                config = ()
            if len(config) != 4 or min(config) < 1:
                parser.error(f"--shapes takes positive B,T,D,H quadruples separated by ';'. Received: {args.shapes!r}")
            configs.append(config)
    steps, warmup = (3, 1) if args.quick else (args.steps, args.warmup)
    cells = args.cells.split(",")
    policies = args.policies.split(",")
    jit_values = args.jit.split(",")
    for option, values, allowed in (
        ("--cells", cells, GATES),
        ("--policies", policies, ("float32", "mixed_bfloat16", "mixed_float16")),
        ("--jit", jit_values, ("false", "true")),
    ):
        unknown = [v for v in values if v not in allowed]
        if unknown:
            parser.error(f"{option} takes a comma-separated list of {', '.join(allowed)}. Received: {unknown}")
    if steps < 1 or warmup < 0:
        parser.error(f"--steps must be >= 1 and --warmup >= 0. Received: --steps {steps} --warmup {warmup}")
    jits = [j == "true" for j in jit_values]

    start = time.perf_counter()
    gemm = {str(units): gemm_gflops(units, 4) for units in sorted({c[3] for c in configs})}
    results = []
    header = f"{'cell':5} {'B':>4} {'T':>4} {'D':>4} {'H':>4} {'xla':>5} {'policy':>15} | {'keras ms':>9} {'ours ms':>8} {'ratio':>6} {'q25-q75':>9} {'generic':>7} | {'infer k':>8} {'infer o':>8} {'ratio':>6} {'generic':>7} | {'GFLOP/s':>7}"
    lines = []

    def emit(line):
        print(line, flush=True)
        lines.append(line)

    emit(header)
    emit("-" * len(header))
    for cell in cells:
        for config in configs:
            for policy in policies:
                for jit in jits:
                    r = bench_case(cell, config, jit, policy, steps, warmup, args.generic)
                    results.append(r)
                    generic_train = f"{r['generic_train_ratio']:>7.2f}" if args.generic else f"{'-':>7}"
                    generic_infer = f"{r['generic_infer_ratio']:>7.2f}" if args.generic else f"{'-':>7}"
                    spread = "{:.2f}-{:.2f}".format(*r["train_ratio_quartiles"])
                    emit(
                        f"{cell:5} {r['batch']:>4} {r['timesteps']:>4} {r['features']:>4} {r['units']:>4} "
                        f"{str(jit):>5} {policy:>15} | {r['keras_train_ms']:>9.1f} {r['ours_train_ms']:>8.1f} "
                        f"{r['train_ratio']:>6.2f} {spread:>9} {generic_train} | {r['keras_infer_ms']:>8.1f} "
                        f"{r['ours_infer_ms']:>8.1f} {r['infer_ratio']:>6.2f} {generic_infer} | "
                        f"{r['ours_train_gflops']:>7.1f}"
                    )
    elapsed = time.perf_counter() - start
    emit(f"float32 GEMM GFLOP/s measured in this run: { {k: round(float(v), 1) for k, v in gemm.items()} }")
    emit(f"benchmark took {elapsed / 60:.1f} min")
    report = {
        **environment(),
        "steps": steps,
        "warmup": warmup,
        "elapsed_s": round(elapsed, 1),
        "gemm_gflops_float32": gemm,
        "results": results,
    }
    write_report(args.output, report, table=lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
