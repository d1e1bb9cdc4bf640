"""Where an XLA-compiled training step of a recurrent layer spends its time.

Builds the benchmark's model (one layer, Adam, MSE on the last output),
compiles it with `jit_compile=True`, records `--steps` training steps with the
TensorFlow profiler and sums the time of XLA:CPU's operations (thunks) by
name, per training step. The operations are also grouped: matrix products
(`MatMul*`/`matmul*` thunks), copies of per-step values into stacked buffers
(`*dynamic-update-slice*` fusions) and everything else.

    python benchmarks/xla_profile.py --cell gru --shape 256,50,32,128
    python benchmarks/xla_profile.py --cell lstm --shape 64,100,64,256 --keras

Operation times overlap where XLA runs two at once on different threads (and
leave out the gaps between operations), so their sum can differ from the
step's wall time (printed too).
"""

import argparse
import collections
import glob
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerasrnn  # noqa: E402

#: Cell name -> (kerasrnn layer, Keras's layer of the same name), for the
#: registered layers that Keras also has.
LAYERS = {
    name: (layer, getattr(keras.layers, layer.__name__))
    for name, layer in kerasrnn.layers.RECURRENT_LAYERS.items()
    if hasattr(keras.layers, layer.__name__)
}


def group(name):
    lower = name.lower()
    if lower.startswith("matmul"):
        return "matrix products"
    if "dynamic-update-slice" in lower:
        return "stacked-buffer copies"
    return "other"


def op_times(logdir, steps):
    """`({op name: (ms per step, calls per step)}, wall ms per step)` from the
    profile under `logdir`."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    (path,) = glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb"))
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    total = collections.Counter()
    calls = collections.Counter()
    for plane in space.planes:
        names = {k: v.name for k, v in plane.event_metadata.items()}
        hlo_op = next((k for k, v in plane.stat_metadata.items() if v.name == "hlo_op"), None)
        # On every thread, the caller's included (XLA runs some operations
        # there): the events of XLA operations are those with an `hlo_op`
        # stat, except `while` loops, whose time is that of the operations
        # of their bodies, counted already.
        for line in plane.lines:
            for event in line.events:
                name = names.get(event.metadata_id, "?")
                if name.startswith("while") or not any(s.metadata_id == hlo_op for s in event.stats):
                    continue
                total[name] += event.duration_ps / 1e9
                calls[name] += 1
    return {name: (ms / steps, calls[name] / steps) for name, ms in total.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", choices=sorted(LAYERS), default="gru")
    parser.add_argument("--shape", default="256,50,32,128", help="B,T,D,H (default 256,50,32,128)")
    parser.add_argument("--keras", action="store_true", help="profile Keras's layer instead of kerasrnn's")
    parser.add_argument("--steps", type=int, default=10, help="profiled training steps (default 10)")
    parser.add_argument("--top", type=int, default=25, help="operations listed (default 25)")
    args = parser.parse_args(argv)
    try:
        batch, length, features, units = (int(v) for v in args.shape.split(","))
    except ValueError:
        parser.error(f"--shape takes four integers B,T,D,H. Received: {args.shape!r}")
    if min(batch, length, features, units, args.steps) < 1:
        parser.error(f"--shape and --steps must be positive. Received: --shape {args.shape} --steps {args.steps}")

    rng = np.random.RandomState(0)
    x = tf.constant(rng.randn(batch, length, features).astype("float32"))
    y = tf.constant(rng.randn(batch, units).astype("float32"))
    layer_cls = LAYERS[args.cell][1 if args.keras else 0]
    inputs = keras.Input((length, features), batch_size=batch)
    model = keras.Model(inputs, layer_cls(units)(inputs))
    model.compile(keras.optimizers.Adam(1e-3), "mse", jit_compile=True)
    for _ in range(3):  # compile and warm up
        model.train_on_batch(x, y)

    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        for _ in range(args.steps):
            model.train_on_batch(x, y)
        wall = 1000 * (time.perf_counter() - start) / args.steps
        tf.profiler.experimental.stop()
        ops = op_times(logdir, args.steps)

    who = "Keras" if args.keras else "kerasrnn"
    print(f"{who} {args.cell} (B, T, D, H) = {args.shape}, XLA, {args.steps} profiled training steps")
    print(f"wall time {wall:.2f} ms per step; operation time {sum(ms for ms, _ in ops.values()):.2f} ms per step")
    groups = collections.Counter()
    for name, (ms, _) in ops.items():
        groups[group(name)] += ms
    for name, ms in groups.most_common():
        print(f"  {name:22s} {ms:8.2f} ms")
    print(f"{'ms/step':>9} {'calls':>6} {'us/call':>8}  operation")
    for name, (ms, count) in sorted(ops.items(), key=lambda kv: -kv[1][0])[: args.top]:
        print(f"{ms:9.3f} {count:6.1f} {1000 * ms / count:8.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
