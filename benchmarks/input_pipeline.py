"""Input pipelines against the models they feed: is tf.data ever the bottleneck?

Requirement: each pipeline's tf.data input runs at >= 10x its model's training
step rate. For every case the dataset and the model are built with the
pipeline's own functions and default sizes (pipelines/char_lm.py,
pipelines/forecast.py, pipelines/ntm_common.py + ntm_copy.py), and in one
process we time:

* input: batches/second of iterating the dataset alone, after warm-up, each
  batch's tensors touched on the host (`.numpy()` of the first component);
  the median over timed chunks. Finite per-epoch datasets (char-lm) are
  timed per epoch with a fresh iterator, as `model.fit` does, so the shuffle
  buffer refill at each epoch start is included; the first epoch (which
  fills the `cache()`) is reported separately as `first_epoch`.
* model: training steps/second of the pipeline's default model, compiled as
  the pipeline compiles it, with `train_on_batch` on one cached batch taken
  from that dataset (no input cost); the median of the timed steps.
* ratio = input batches/s / model steps/s (target >= 10).

    python benchmarks/input_pipeline.py
    python benchmarks/input_pipeline.py --quick     # smoke test, seconds
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

TARGET = 10.0


def touch(batch):
    """Forces the batch to the host (like Keras converting it for a step)."""
    first = tf.nest.flatten(batch)[0]
    return first.numpy()


def time_epochs(dataset, epochs):
    """Per-epoch batches/s of a finite dataset, a fresh iterator per epoch.

    Returns `(first_epoch_rate, [later epoch rates], batches_per_epoch)`."""
    rates, batches = [], 0
    for _ in range(epochs):
        start, batches = time.perf_counter(), 0
        for batch in dataset:
            touch(batch)
            batches += 1
        rates.append(batches / (time.perf_counter() - start))
    return rates[0], rates[1:], batches


def time_stream(dataset, warmup, chunk, chunks):
    """Batches/s over `chunks` chunks of `chunk` batches of one iterator
    (after `warmup` batches). Returns the per-chunk rates."""
    iterator = iter(dataset)
    for _ in range(warmup):
        touch(next(iterator))
    rates = []
    for _ in range(chunks):
        start = time.perf_counter()
        for _ in range(chunk):
            touch(next(iterator))
        rates.append(chunk / (time.perf_counter() - start))
    return rates


def time_steps(model, batch, warmup, steps):
    """Per-step seconds of `model.train_on_batch` on one cached batch."""
    x, y = batch
    for _ in range(warmup):
        model.train_on_batch(x, y)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return times


def summarise(name, rates, first_epoch, step_times, details):
    input_rate = statistics.median(rates)
    step_rate = 1.0 / statistics.median(step_times)
    row = {
        "case": name,
        "input_batches_per_s": input_rate,
        "input_batches_per_s_min": min(rates),
        "input_samples": len(rates),
        "first_epoch_batches_per_s": first_epoch,
        "model_steps_per_s": step_rate,
        "model_step_ms_median": 1000 * statistics.median(step_times),
        "model_steps_timed": len(step_times),
        "ratio": input_rate / step_rate,
        "ratio_min": min(rates) / step_rate,
        "ratio_first_epoch": None if first_epoch is None else first_epoch / step_rate,
        "meets_target": input_rate / step_rate >= TARGET,
    }
    row.update(details)
    print(f"  {name}: input {input_rate:,.0f} batches/s (min {min(rates):,.0f}"
          + ("" if first_epoch is None else f", first epoch {first_epoch:,.0f}")
          + f"), model {step_rate:.2f} steps/s ({row['model_step_ms_median']:.1f} ms), ratio {row['ratio']:.0f}x",
          flush=True)
    return row


# --- char-lm -----------------------------------------------------------------

def char_lm_cases(args, corpus, quick):
    import keras

    from kerasrnn.data.text import build_vocabulary
    from kerasrnn.data.text import language_model_batches
    from kerasrnn.data.text import tbptt_language_model_datasets
    from kerasrnn.models import char_language_model
    from kerasrnn.pipelines import char_lm
    from kerasrnn.pipelines.config import resolve

    config = resolve(char_lm.Config, {"quick": quick})
    settings = {"units": config.units, "embedding_dim": config.embedding_dim}
    max_chars = config.max_chars if quick else (args.kjv_chars if corpus == "kjv" else None)
    text, source = char_lm.load_corpus(None, max_chars, corpus)
    fraction, seed = 0.1, 0
    seq_length, batch_size = config.sequence_length, config.batch_size
    train_chars, _ = char_lm.check_text_length(len(text), seq_length, fraction)
    vocabulary = build_vocabulary(text[:train_chars])
    shape = (len(vocabulary), "lstm", settings["units"], settings["embedding_dim"])
    details = {"corpus": source, "corpus_chars": len(text), "vocabulary": len(vocabulary), "cell": "lstm",
               "units": settings["units"], "embedding_dim": settings["embedding_dim"], "seq_length": seq_length,
               "batch_size": batch_size}
    rows = []

    # Default: shuffled windows (language_model_batches), stateless model.
    keras.utils.set_random_seed(seed)
    epoch_batches, _, _ = language_model_batches(text, vocabulary, seq_length, fraction, batch_size, seed)
    train = epoch_batches(0, 1)
    first, later, per_epoch = time_epochs(train, args.epochs)
    model = char_lm.compile_model(char_language_model(*shape), 6e-3, 1.0)
    batch = next(iter(train))
    steps = time_steps(model, batch, args.warmup_steps, args.steps)
    rows.append(summarise(f"char-lm {corpus} windows", later, first, steps,
                          dict(details, pipeline="char-lm", dataset="kerasrnn.data.text.language_model_batches (shuffled windows)",
                               batches_per_epoch=per_epoch)))

    # --tbptt: consecutive stateful batches, stateful model.
    keras.backend.clear_session()
    train, _ = tbptt_language_model_datasets(text, vocabulary, train_chars, seq_length, batch_size)
    first, later, per_epoch = time_epochs(train, args.epochs)
    model = char_lm.compile_model(char_language_model(*shape, stateful_batch_size=batch_size), 6e-3, 1.0)
    batch = next(iter(train))
    steps = time_steps(model, batch, args.warmup_steps, args.steps)
    rows.append(summarise(f"char-lm {corpus} --tbptt", later, first, steps,
                          dict(details, pipeline="char-lm --tbptt",
                               dataset="kerasrnn.data.text.tbptt_language_model_datasets",
                               batches_per_epoch=per_epoch)))
    keras.backend.clear_session()
    return rows


# --- forecast ----------------------------------------------------------------

def forecast_case(args, quick):
    import keras

    from kerasrnn.data import series
    from kerasrnn.forecasting import forecaster_model
    from kerasrnn.pipelines import forecast
    from kerasrnn.pipelines.config import resolve

    config = resolve(forecast.Config, {"quick": quick})  # the pipeline's budget
    budget = {"epochs": config.epochs, "batch_size": config.batch_size, "units": config.units}
    values, _, info = series.load_dataset("co2")
    window, horizon = info["window"], info["horizon"]
    val_start, _ = series.check_length(len(values), window, horizon, 0.2, 0.1)
    scaler = series.RelativeScaler().fit(values[:val_start])
    origins = series.origins_between(0, val_start, window, horizon)
    x_train, y_train = scaler.windows(values, origins, window, horizon)
    from kerasrnn import training

    epoch_batches, steps_per_epoch = training.array_epoch_batches((x_train, y_train), budget["batch_size"], 0)
    # The dataset `training.fit` iterates: every epoch's batches, in order.
    dataset = epoch_batches(0, budget["epochs"])
    chunks = min(args.chunks, max(1, budget["epochs"] - 1))
    rates = time_stream(dataset, warmup=steps_per_epoch, chunk=steps_per_epoch, chunks=chunks)

    keras.utils.set_random_seed(0)
    model = forecaster_model(window, horizon, "lstm", budget["units"])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse", metrics=["mae"])
    batch = next(iter(dataset))
    steps = time_steps(model, batch, args.warmup_steps, args.steps)
    row = summarise("forecast co2", rates, None, steps, {
        "pipeline": "forecast", "dataset": "training.array_epoch_batches (per-epoch permutation, gather)",
        "series": "co2", "window": window, "horizon": horizon, "cell": "lstm", "units": budget["units"],
        "batch_size": budget["batch_size"], "batches_per_epoch": steps_per_epoch,
    })
    keras.backend.clear_session()
    return [row]


# --- NTM copy ------------------------------------------------------------------

def ntm_copy_cases(args, quick):
    import keras

    from kerasrnn import losses
    from kerasrnn import metrics
    from kerasrnn.data.tasks.batches import pack
    from kerasrnn.data.tasks.batches import pad_time
    from kerasrnn.data.tasks.batches import task_epoch_batches
    from kerasrnn.pipelines import ntm_common
    from kerasrnn.pipelines import ntm_copy
    from kerasrnn.pipelines.config import resolve

    task = ntm_copy.task()
    rows = []
    for model_kind in ("ntm", "lstm"):
        config = resolve(ntm_copy.Config, {"model": model_kind, "quick": quick})
        options = task.quick_options if quick else task.train_options

        # As run_task builds it: per-epoch generators of packed batches,
        # padded to a multiple of TIME_BUCKET steps, prefetched.
        epoch_batches = task_epoch_batches(task.batch_fn, options, config.batch_size, config.steps_per_epoch,
                                           config.seed)
        needed = args.warmup_batches + args.chunk * args.chunks
        train = epoch_batches(0, -(-needed // config.steps_per_epoch))
        rates = time_stream(train, warmup=args.warmup_batches, chunk=args.chunk, chunks=args.chunks)

        keras.utils.set_random_seed(0)
        probe = task.batch_fn(np.random.default_rng(0), 1, **options)
        model = ntm_common.build_model(config, probe["inputs"].shape[-1], probe["targets"].shape[-1])
        model.compile(optimizer=ntm_common.make_optimizer(config), loss=losses.BitsPerSequence(),
                      metrics=[metrics.BitsPerSequence(), metrics.BitErrorsPerSequence()])
        # A batch of the training distribution at its longest (length
        # max_length: 2 * 20 + 1 = 41 steps, padded to 48 as in training), the
        # usual batch shape since the longest of 16 uniform lengths is almost
        # always 19 or 20.
        full = task.batch_fn(np.random.default_rng(1), config.batch_size,
                             **dict(options, min_length=options["max_length"]))
        batch = pad_time(*pack(full))
        steps = time_steps(model, batch, args.warmup_steps, args.steps)
        size = (f"controller {config.controller} {config.units}, memory {config.memory_size}x"
                f"{config.memory_width}" if model_kind == "ntm"
                else f"{config.lstm_layers}x LSTM {config.lstm_units}")
        rows.append(summarise(f"ntm-copy --model {model_kind}", rates, None, steps, {
            "pipeline": f"ntm-copy --model {model_kind}",
            "dataset": "kerasrnn.data.tasks.batches.task_epoch_batches (from_generator, packed, padded to 16 "
                       "steps, prefetch(2))",
            "model": size, "batch_size": config.batch_size, "timesteps_of_timed_batch": int(batch[0].shape[1]),
            "parameters": int(model.count_params()),
        }))
        keras.backend.clear_session()
    return rows


def write_table(rows, path=None):
    header = (f"{'case':28s} {'input batch/s':>13s} {'(min)':>9s} {'1st epoch':>9s} | {'model step/s':>12s} "
              f"{'ms/step':>8s} | {'ratio':>7s} {'(min)':>7s}  >=10x")
    lines = [header, "-" * len(header)]
    for r in rows:
        first = "" if r["first_epoch_batches_per_s"] is None else f"{r['first_epoch_batches_per_s']:,.0f}"
        lines.append(
            f"{r['case']:28s} {r['input_batches_per_s']:13,.0f} {r['input_batches_per_s_min']:9,.0f} {first:>9s} | "
            f"{r['model_steps_per_s']:12.2f} {r['model_step_ms_median']:8.1f} | {r['ratio']:7,.0f} "
            f"{r['ratio_min']:7,.0f}  {'yes' if r['meets_target'] else 'NO'}"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="benchmarks/results/input_pipeline.json",
                        help="JSON results (a .txt table next to it) (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=6,
                        help="epochs iterated per finite dataset; the first is reported apart (default: 6)")
    parser.add_argument("--chunk", type=int, default=50, help="batches per timed chunk of an infinite dataset")
    parser.add_argument("--chunks", type=int, default=9, help="timed chunks (median) of infinite datasets")
    parser.add_argument("--warmup-batches", type=int, default=20)
    parser.add_argument("--steps", type=int, default=15, help="timed training steps (median)")
    parser.add_argument("--warmup-steps", type=int, default=3)
    parser.add_argument("--kjv-chars", type=int, default=None,
                        help="char-lm KJV cases: only the first N characters (default: all)")
    parser.add_argument("--no-kjv", action="store_true", help="skip the KJV char-lm cases")
    parser.add_argument("--quick", action="store_true", help="tiny budgets of each pipeline, few samples")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.chunk, args.chunks, args.steps, args.warmup_steps = 3, 10, 3, 3, 1

    import keras

    start = time.perf_counter()
    load_before = os.getloadavg()
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPU cores", flush=True)
    rows = char_lm_cases(args, "lee", args.quick)
    if not (args.no_kjv or args.quick):
        rows += char_lm_cases(args, "kjv", args.quick)
    rows += forecast_case(args, args.quick)
    rows += ntm_copy_cases(args, args.quick)
    table = write_table(rows)
    print()
    print(table)

    report = {
        "benchmark": "input_pipeline",
        "target_ratio": TARGET,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version(), "load_average_before": load_before,
                    "load_average_after": os.getloadavg()},
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "quick": args.quick,
        "settings": {k: v for k, v in vars(args).items() if k != "output"},
        "seconds": round(time.perf_counter() - start, 1),
        "method": ("input: median batches/s over fresh-iterator epochs after the first (finite datasets) or over "
                   "chunks of one iterator after warm-up (infinite/multi-epoch ones); model: median "
                   "train_on_batch time on one cached batch of the same dataset; ratio = input / model rate"),
        "results": rows,
    }
    if args.output:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
        txt = os.path.splitext(args.output)[0] + ".txt"
        with open(txt, "w", encoding="utf-8") as f:
            f.write(f"Input pipeline vs model step rate ({report['date']}; TensorFlow {tf.__version__}, "
                    f"Keras {keras.__version__}; {os.cpu_count()} CPU cores; load average before "
                    f"{load_before[0]:.2f})\n\n{table}\n")
        print(f"wrote {args.output} and {txt}")
    return report


if __name__ == "__main__":
    main()
