"""Training speed of the NTM on the copy task with the paper's sizes.

Memory 128 x 20, one read and one write head, LSTM controller of 100 units,
8-bit copy sequences of length L (2L + 1 steps), Adam with global-norm
clipping; the LSTM baseline (3 x 256) on the same batches for comparison.
Each configuration is warmed up (tracing) and then timed over `--steps`
`train_on_batch` calls; the median step time is reported as sequences/second.

    python benchmarks/ntm_speed.py --output benchmarks/results/ntm_speed.json
    python benchmarks/ntm_speed.py --quick          # seconds, smoke test
"""

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kerasrnn.data.tasks.copy import copy_batch  # noqa: E402
from kerasrnn.layers.lstm import LSTM  # noqa: E402
from kerasrnn.layers.ntm_cell import NTMCell  # noqa: E402


def build(model, units, memory_size, memory_width, jit):
    inputs = keras.Input((None, 9))
    if model == "ntm":
        cell = NTMCell(units, memory_size=memory_size, memory_width=memory_width)
        x = keras.layers.RNN(cell, return_sequences=True)(inputs)
    else:
        x = inputs
        for _ in range(3):
            x = LSTM(units, return_sequences=True)(x)
    m = keras.Model(inputs, keras.layers.Dense(8)(x))
    m.compile(
        keras.optimizers.Adam(1e-3, global_clipnorm=50.0),
        keras.losses.BinaryCrossentropy(from_logits=True),
        jit_compile=jit,
    )
    return m


def time_config(model, batch_size, length, steps, jit, sizes):
    keras.utils.set_random_seed(0)
    m = build(model, jit=jit, **sizes)
    batch = copy_batch(np.random.default_rng(0), batch_size, length, length)
    x, y, w = batch["inputs"], batch["targets"], batch["output_mask"]
    for _ in range(2):
        m.train_on_batch(x, y, sample_weight=w)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        m.train_on_batch(x, y, sample_weight=w)
        times.append(time.perf_counter() - start)
    step = float(np.median(times))
    keras.backend.clear_session()
    return {
        "model": model,
        "batch_size": batch_size,
        "length": length,
        "timesteps": 2 * length + 1,
        "jit_compile": jit,
        "median_step_seconds": round(step, 4),
        "sequences_per_second": round(batch_size / step, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=None)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        sizes = {"ntm": dict(units=8, memory_size=8, memory_width=4), "lstm": dict(units=8, memory_size=0, memory_width=0)}
        configs = [("ntm", 2, 3, False), ("lstm", 2, 3, False)]
        args.steps = 2
    else:
        sizes = {
            "ntm": dict(units=100, memory_size=128, memory_width=20),
            "lstm": dict(units=256, memory_size=0, memory_width=0),
        }
        configs = [
            ("ntm", 1, 10, False),
            ("ntm", 16, 10, False),
            ("ntm", 16, 10, True),
            ("ntm", 16, 20, False),
            ("ntm", 32, 10, False),
            ("lstm", 16, 10, False),
        ]
    results = []
    for model, batch_size, length, jit in configs:
        row = time_config(model, batch_size, length, args.steps, jit, sizes[model])
        print(json.dumps(row), flush=True)
        results.append(row)
    report = {
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "keras": keras.__version__,
        "note": "NTM: memory 128x20, 1+1 heads, LSTM controller 100; LSTM: 3x256. Shared machine: load varies.",
        "results": results,
    }
    if args.output:
        os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
