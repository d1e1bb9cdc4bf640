"""Training-step time of the layers run by a parallel scan against LSTM and GRU.

For each sequence length T and with XLA on and off, one process builds a
model `Input((T, D)) -> layer(H, return_sequences=True)` per layer and times
Adam training steps (`train_on_batch`, MSE on every output) of all of them in
alternation: MinGRU, MinLSTM, LRU and RGLRU against kerasrnn's fused LSTM and
GRU and Keras's LSTM. Ratios are to kerasrnn's LSTM in the same round.

A second table times the scan op alone (forward and backward of
`h_t = a_t h_{t-1} + b_t` over `(B, T, H)`): `kerasrnn.ops.linear_scan`,
`keras.ops.associative_scan` and a sequential loop (`kerasrnn.ops.scan`).

A case whose single (warm) step takes longer than `--max-step-seconds` is
timed at that length and skipped at the longer ones (listed in the report).

`--memory` reports peak memory instead of time: each (layer, T, XLA) case
runs in a fresh child process, which builds the model, takes one training
step (tracing and compiling included) and then a second, warm one, and
reports the peak resident memory (Linux `VmHWM`, reset just before each
step through `/proc/self/clear_refs`) above the resident memory just before
that step, in MiB: what the step itself holds at its peak (activations
saved for the backward pass, gradients, optimizer temporaries, and for the
first step the tracing/compilation too). The children run with glibc's
mmap and trim thresholds fixed at 64 KiB and TensorFlow's oneDNN ops off
(`MEMORY_CHILD_ENV`), so that large buffers go back to the system when
freed and a warm step cannot reuse memory the first one left resident. A case is stopped and reported as skipped when the child's resident
memory exceeds `--memory-limit-mib` or it runs longer than
`--case-timeout`; that layer is then skipped at the longer lengths too.

    python benchmarks/parallel_rnn.py --output benchmarks/results/parallel_rnn.json
    python benchmarks/parallel_rnn.py --lengths 128,512 --jit false --quick
    python benchmarks/parallel_rnn.py --memory --output benchmarks/results/parallel_rnn_memory.json
"""

import argparse
import gc
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchutil import environment  # noqa: E402
from benchutil import paired_ratio_quartiles  # noqa: E402
from benchutil import reset_peak_resident  # noqa: E402
from benchutil import resident_mib  # noqa: E402
from benchutil import sequence_layers  # noqa: E402
from benchutil import write_report  # noqa: E402

from kerasrnn.analysis import time_alternating  # noqa: E402
from kerasrnn.ops import linear_scan  # noqa: E402
from kerasrnn.ops import scan as sequential_scan  # noqa: E402

LAYERS = sequence_layers("lstm", "gru", "keras_lstm", "mingru", "minlstm", "lru", "rglru")
REFERENCE = "lstm"


def build(name, batch, length, features, units, jit):
    inputs = keras.Input((length, features), batch_size=batch)
    model = keras.Model(inputs, LAYERS[name](units)(inputs), name=name)
    model.compile(keras.optimizers.Adam(1e-3), "mse", jit_compile=jit)
    return model


def time_layers(names, batch, length, features, units, jit, steps, warmup):
    """`{name: (median ms, per-round samples)}`, the models timed in alternation."""
    rng = np.random.RandomState(0)
    x = tf.constant(rng.randn(batch, length, features).astype("float32"))
    y = tf.constant(rng.randn(batch, length, units).astype("float32"))
    models = [build(n, batch, length, features, units, jit) for n in names]
    try:
        medians, samples = time_alternating(
            [lambda m=m: m.train_on_batch(x, y) for m in models], steps, warmup, samples=True
        )
    finally:
        del models
        keras.backend.clear_session()
    return {n: (m, s) for n, m, s in zip(names, medians, samples)}


def scan_functions(batch, length, units, jit):
    """Forward + backward of each scan implementation, as `tf.function`s."""

    def keras_associative(a, b):
        def combine(x, y):
            return x[0] * y[0], y[0] * x[1] + y[1]

        return keras.ops.associative_scan(combine, (a, b), axis=0)[1]

    def sequential(a, b):
        def step(h, ab):
            h = ab[0] * h + ab[1]
            return h, h

        return sequential_scan(step, tf.zeros_like(b[0]), (a, b))[1]

    def ours(a, b):
        return linear_scan(a, b, axis=0)

    fns = {}
    for name, fn in (("linear_scan", ours), ("keras_associative_scan", keras_associative),
                     ("sequential", sequential)):
        @tf.function(jit_compile=jit)
        def grad(a, b, fn=fn):
            with tf.GradientTape() as tape:
                tape.watch([a, b])
                loss = tf.reduce_sum(tf.square(fn(a, b)))
            return tape.gradient(loss, [a, b])

        fns[name] = grad
    return fns


def time_scans(batch, length, units, jit, steps, warmup, skip):
    rng = np.random.RandomState(1)
    a = tf.constant(rng.uniform(0.5, 1.0, (length, batch, units)).astype("float32"))
    b = tf.constant(rng.randn(length, batch, units).astype("float32"))
    fns = scan_functions(batch, length, units, jit)
    results, runnable = {}, []
    for name, fn in fns.items():
        if name in skip:
            results[name] = {"skipped": skip[name]}
            continue
        try:
            start = time.perf_counter()
            [g.numpy() for g in fn(a, b)]
            results[name] = {"first_call_s": round(time.perf_counter() - start, 2)}
            runnable.append(name)
        except Exception as error:  # noqa: BLE001 -- reported as a result
            results[name] = {"error": f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"}
    medians = time_alternating([lambda f=fns[n]: [g.numpy() for g in f(a, b)] for n in runnable],
                               steps, warmup) if runnable else []
    for name, ms in zip(runnable, medians):
        results[name]["ms"] = ms
    return results


#: The environment of `--memory`'s children: glibc returns freed buffers of
#: 64 KiB and more to the system at once, and TensorFlow's oneDNN allocator,
#: which keeps freed buffers in a pool of its own, is off; a warm step then
#: cannot reuse memory that the first step left resident.
MEMORY_CHILD_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "65536",
    "MALLOC_TRIM_THRESHOLD_": "65536",
    "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536:glibc.malloc.trim_threshold=65536",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}


def memory_child(name, batch, length, features, units, jit):
    """In a fresh process: one model, a first and a second training step;
    prints one `MEMORY {json}` line with the peak resident memory of each
    step above the resident memory just before it (MiB)."""
    rng = np.random.RandomState(0)
    x = tf.constant(rng.randn(batch, length, features).astype("float32"))
    y = tf.constant(rng.randn(batch, length, units).astype("float32"))
    model = build(name, batch, length, features, units, jit)
    result = {"layer": name, "timesteps": length, "jit_compile": jit}
    for key in ("first_step", "step"):
        gc.collect()
        if not reset_peak_resident():
            raise RuntimeError("cannot reset the peak resident memory (/proc/self/clear_refs)")
        before = resident_mib("VmRSS")
        start = time.perf_counter()
        model.train_on_batch(x, y)
        result[f"{key}_s"] = round(time.perf_counter() - start, 2)
        result[f"{key}_peak_mib"] = round(resident_mib("VmHWM") - before, 1)
        result[f"{key}_rss_before_mib"] = round(before, 1)
    print("MEMORY " + json.dumps(result), flush=True)


def run_memory_case(name, batch, length, features, units, jit, limit_mib, timeout_s):
    """Runs `memory_child` in a subprocess, stopped when its resident memory
    passes `limit_mib` or it runs longer than `timeout_s`: the child's
    result, or `{"skipped": why}`."""
    command = [sys.executable, os.path.abspath(__file__), "--memory-child", name, "--lengths", str(length),
               "--jit", "true" if jit else "false", "--batch", str(batch), "--features", str(features),
               "--units", str(units)]
    env = {**os.environ, **MEMORY_CHILD_ENV}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    start, peak, why = time.perf_counter(), 0.0, None
    while child.poll() is None:
        rss = resident_mib("VmRSS", child.pid) or 0.0
        peak = max(peak, rss)
        if rss > limit_mib:
            why = f"resident memory passed {limit_mib / 1024:.0f} GiB"
        elif time.perf_counter() - start > timeout_s:
            why = f"ran longer than {timeout_s / 60:.0f} min"
        if why:
            child.kill()
            child.communicate()
            return {"skipped": why}
        time.sleep(0.1)
    out, err = child.communicate()
    for line in out.splitlines():
        if line.startswith("MEMORY "):
            result = json.loads(line[len("MEMORY "):])
            result["child_peak_rss_mib"] = round(peak, 1)
            return result
    tail = (err.strip().splitlines() or ["no output"])[-1][:200]
    return {"skipped": f"the child failed (exit {child.returncode}): {tail}"}


def memory_tables(names, lengths, jits, batch, features, units, limit_mib, timeout_s, emit, save=None, jobs=1):
    """The `--memory` tables. Each (layer, XLA) runs its lengths in order in
    fresh children and stops at the first skipped one; `jobs` of these run
    at once (the children measure their own memory, so running side by side
    changes none of the numbers). `save(results, skipped)` is called after
    every case (the report so far is written as the run goes)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    cases, lock = {}, threading.Lock()

    def ordered():
        results, skipped = [], []
        for jit in jits:
            for length in lengths:
                for n in names:
                    result = cases.get((n, length, jit))
                    if result is None:
                        continue
                    if "skipped" in result:
                        skipped.append({"layer": n, "timesteps": length, "jit_compile": jit,
                                        "reason": result["skipped"]})
                    else:
                        results.append({**result, "batch": batch, "features": features, "units": units})
        return results, skipped

    def chain(name, jit):
        too_big = None
        for length in lengths:
            if too_big:
                result = {"skipped": too_big}
            else:
                result = run_memory_case(name, batch, length, features, units, jit, limit_mib, timeout_s)
                if "skipped" in result:
                    too_big = f"{result['skipped']} at T={length}"
            with lock:
                cases[(name, length, jit)] = result
                print(f"  {name} T={length} XLA {'on' if jit else 'off'}: "
                      f"{result.get('skipped') or result['step_peak_mib']}", flush=True)
                if save is not None:
                    save(*ordered())

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for future in [pool.submit(chain, n, jit) for jit in jits for n in names]:
            future.result()

    for jit in jits:
        emit(f"\nXLA {'on' if jit else 'off'}: peak memory of one warm training step, MiB above the resident "
             f"memory before it (first step, with tracing/compilation, in brackets)  B={batch} D={features} "
             f"H={units}")
        emit(f"{'T':>6} " + " ".join(f"{n:>17}" for n in names))
        for length in lengths:
            cells = []
            for n in names:
                result = cases[(n, length, jit)]
                if "skipped" in result:
                    cells.append(f"{'skipped':>17}")
                else:
                    cells.append(f"{result['step_peak_mib']:>8.0f} ({result['first_step_peak_mib']:>6.0f})")
            emit(f"{length:>6} " + " ".join(cells))
    results, skipped = ordered()
    if skipped:
        emit("skipped: " + "; ".join(f"{s['layer']} T={s['timesteps']} XLA {'on' if s['jit_compile'] else 'off'}: "
                                     f"{s['reason']}" for s in skipped))
    return results, skipped


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", help="write the results as JSON here (and the printed table next to it as .txt)")
    parser.add_argument("--lengths", default="128,512,2048,4096", help="sequence lengths T, comma-separated")
    parser.add_argument("--layers", default=",".join(LAYERS), help="layers to time, comma-separated")
    parser.add_argument("--jit", default="false,true", help="XLA settings to run: false, true or both")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--features", type=int, default=256)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per case (median)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per case (compilation)")
    parser.add_argument("--max-step-seconds", type=float, default=20.0,
                        help="skip a case at longer lengths once one of its steps takes longer than this")
    parser.add_argument("--no-scan-ops", action="store_true", help="skip the table of the scan op alone")
    parser.add_argument("--quick", action="store_true", help="smoke run: B=2, D=H=8, T=16,32, one step")
    parser.add_argument("--memory", action="store_true",
                        help="report the peak memory of a training step per case (fresh process each) instead of time")
    parser.add_argument("--memory-limit-mib", type=float, default=6144,
                        help="--memory: stop a case whose resident memory passes this (MiB)")
    parser.add_argument("--case-timeout", type=float, default=300,
                        help="--memory: stop a case that runs longer than this (seconds)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="--memory: cases (child processes) run at once")
    parser.add_argument("--memory-child", metavar="LAYER", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    lengths = [int(t) for t in args.lengths.split(",")]
    names = args.layers.split(",")
    unknown = [n for n in names if n not in LAYERS]
    if unknown:
        parser.error(f"--layers: unknown {unknown}; choose from {', '.join(LAYERS)}")
    jits = [{"false": False, "true": True}[j] for j in args.jit.split(",")]
    batch, features, units, steps, warmup = args.batch, args.features, args.units, args.steps, args.warmup
    if args.quick:
        batch, features, units, steps, warmup = 2, 8, 8, 1, 1
        lengths = [16, 32]
    if args.memory_child:
        memory_child(args.memory_child, batch, lengths[0], features, units, jits[0])
        return 0
    if REFERENCE not in names:
        names = [REFERENCE] + names

    lines, results, skipped, scan_results = [], [], [], []

    def emit(line):
        print(line, flush=True)
        lines.append(line)

    start = time.perf_counter()
    if args.memory:
        def save(results, skipped, done=False):
            elapsed = time.perf_counter() - start
            write_report(args.output, {
                "complete": done,
                **environment("kerasrnn", "benchmarks/parallel_rnn.py"),
                "measure": "peak resident memory (VmHWM, reset before each step) minus resident memory before the step, "
                           "MiB; first_step includes tracing/compilation",
                "child_environment": MEMORY_CHILD_ENV,
                "memory_limit_mib": args.memory_limit_mib,
                "case_timeout_s": args.case_timeout,
                "elapsed_s": round(elapsed, 1),
                "results": results,
                "skipped": skipped,
            }, table=lines)

        results, skipped = memory_tables(names, lengths, jits, batch, features, units, args.memory_limit_mib,
                                         args.case_timeout, emit, save, jobs=args.jobs)
        emit(f"benchmark took {(time.perf_counter() - start) / 60:.1f} min")
        save(results, skipped, done=True)
        return 0
    for jit in jits:
        emit(f"\nXLA {'on' if jit else 'off'}: training-step ms (ratio to kerasrnn LSTM)  B={batch} D={features} "
             f"H={units}")
        emit(f"{'T':>6} " + " ".join(f"{n:>18}" for n in names))
        too_slow = {}
        for length in lengths:
            run = [n for n in names if n not in too_slow]
            for n in names:
                if n in too_slow:
                    skipped.append({"layer": n, "timesteps": length, "jit_compile": jit, "reason": too_slow[n]})
            if REFERENCE not in run:
                break
            timed = time_layers(run, batch, length, features, units, jit, steps, warmup)
            ref_ms, ref_samples = timed[REFERENCE]
            cells = []
            for n in names:
                if n not in timed:
                    cells.append(f"{'skipped':>18}")
                    continue
                ms, samples = timed[n]
                results.append({
                    "layer": n,
                    "timesteps": length,
                    "jit_compile": jit,
                    "batch": batch,
                    "features": features,
                    "units": units,
                    "train_ms": ms,
                    "ratio_to_lstm": ms / ref_ms,
                    "speedup_over_lstm": ref_ms / ms,
                    "ratio_quartiles": paired_ratio_quartiles(samples, ref_samples),
                })
                cells.append(f"{ms:>10.1f} ({ms / ref_ms:>5.2f})")
                if max(samples) / 1000 > args.max_step_seconds:
                    too_slow[n] = f"a step took {max(samples) / 1000:.1f} s at T={length}"
            emit(f"{length:>6} " + " ".join(cells))
        if not args.no_scan_ops:
            emit(f"\nXLA {'on' if jit else 'off'}: scan op alone, forward + backward ms, (T, B={batch}, "
                 f"H={units}) float32")
            emit(f"{'T':>6} {'linear_scan':>14} {'keras assoc.':>14} {'sequential':>14}")
            slow = {}
            for length in lengths:
                timed = time_scans(batch, length, units, jit, steps, warmup, slow)
                row = []
                for name in ("linear_scan", "keras_associative_scan", "sequential"):
                    r = timed[name]
                    scan_results.append({"op": name, "timesteps": length, "jit_compile": jit, **r})
                    row.append(f"{r['ms']:>14.1f}" if "ms" in r else f"{'error' if 'error' in r else 'skipped':>14}")
                    if r.get("first_call_s", 0) > args.max_step_seconds:
                        slow[name] = f"its first call took {r['first_call_s']} s at T={length}"
                emit(f"{length:>6} " + " ".join(row))
    elapsed = time.perf_counter() - start
    emit(f"benchmark took {elapsed / 60:.1f} min")
    report = {
        **environment("kerasrnn", "benchmarks/parallel_rnn.py"),
        "steps": steps,
        "warmup": warmup,
        "max_step_seconds": args.max_step_seconds,
        "elapsed_s": round(elapsed, 1),
        "results": results,
        "skipped": skipped,
        "scan_ops": scan_results,
    }
    write_report(args.output, report, table=lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
