"""Learning quality of the parallel-scan layers beside LSTM, at equal parameter
count and equal training time.

Four tasks, each run with every model in one process:

* `adding`: the adding problem (`kerasrnn.data.adding`) at T = 1000; mean
  squared error on held-out sequences; solved when MSE < 0.01 (predicting 1
  gives 1/6 ≈ 0.167).
* `selective_copy`: the selective copy of Gu & Dao 2023
  (`kerasrnn.data.selective_copy`): 8 data tokens from a vocabulary of 8 at
  random distinct positions among 256 blanks, then 8 copy markers; at the
  k-th marker the model must output the k-th data token. Token accuracy on
  held-out sequences; solved when >= 0.95 (guessing gives 1/8).
* `char_lm_lee`, `char_lm_kjv`: next-character prediction on the embedded
  corpus (gensim's Lee news text, char-lm's default) and on the King James
  Version (`kerasrnn.data.corpora`); bits per character on fixed windows of
  the held-out last 10 % of the text.

Models: the same stack for every recurrent layer: the task's input (an
`Embedding` for tokens, the raw channels for the adding problem), then
`--layers` recurrent layers each followed by a GELU, then the task's `Dense`
readout. The LSTM's width is the task's reference; every other layer's width
is the one that gives the whole model the parameter count closest to the
LSTM model's (reported; within 5 %). "hawk" is `HawkBlock`, the RG-LRU with
its convolution and gate as De et al. use it (`RGLRU` alone can be added
with `--models`). No XLA (the faster setting on this CPU in
benchmarks/parallel_rnn.py), float32, one optimizer for all: Adam with a
constant learning rate and global-norm clipping at 1.

Equal training time, independent of the machine's load while training: for
each task all models' training steps are first timed in one process in
alternation (`kerasrnn.analysis.time_alternating`), the task's time budget
is divided by each model's median step time to give its number of steps,
and each model then trains that many steps on the same batches (generated
per step from a seed). Both the step times and the step counts are in the
report, with the metric at evenly spaced checkpoints.

    nice -n 10 python benchmarks/learning_quality.py --output benchmarks/results/learning_quality.json
    python benchmarks/learning_quality.py --quick
"""

import argparse
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchutil import environment  # noqa: E402
from benchutil import sequence_layers  # noqa: E402
from benchutil import write_report  # noqa: E402

from kerasrnn.analysis import count_parameters  # noqa: E402
from kerasrnn.analysis import time_alternating  # noqa: E402
from kerasrnn.data.adding import BASELINE_MSE  # noqa: E402
from kerasrnn.data.adding import adding_problem  # noqa: E402
from kerasrnn.data.selective_copy import selective_copy  # noqa: E402

LAYERS = sequence_layers("lstm", "mingru", "minlstm", "lru", "hawk", "rglru", "gru")
DEFAULT_MODELS = ("lstm", "mingru", "minlstm", "lru", "hawk")
REFERENCE = "lstm"
TASKS = ("adding", "selective_copy", "char_lm_lee", "char_lm_kjv")
#: Largest relative difference of a model's parameter count from the LSTM model's.
PARAMETER_TOLERANCE = 0.05

# Sizes of the default run and of --quick.
SIZES = {
    "adding": dict(length=1000, batch=32, units=32, budget_s=110.0, validation=512),
    "selective_copy": dict(length=256, tokens=8, vocabulary=8, embedding=16, batch=32, units=48, budget_s=110.0,
                           validation=512),
    "char_lm": dict(length=128, embedding=32, batch=32, units=96, budget_s=70.0, validation_windows=64),
}
QUICK_SIZES = {
    "adding": dict(length=4, batch=2, units=16, budget_s=0.01, validation=4),
    "selective_copy": dict(length=4, tokens=2, vocabulary=3, embedding=4, batch=2, units=16, budget_s=0.01,
                           validation=4),
    "char_lm": dict(length=4, embedding=4, batch=2, units=16, budget_s=0.01, validation_windows=2, max_chars=3000),
}


class Task:
    """A task: model input and readout, training batches per step, and the
    held-out metric."""

    metric = None  # name of the held-out metric
    higher_is_better = False
    threshold = None  # solved threshold of the metric, or None

    def inputs(self):
        raise NotImplementedError

    def readout(self, x):
        raise NotImplementedError

    def loss(self):
        raise NotImplementedError

    def batch(self, step):
        raise NotImplementedError

    def evaluate(self, model):
        raise NotImplementedError

    def solved(self, value):
        if self.threshold is None:
            return None
        return bool(value >= self.threshold if self.higher_is_better else value < self.threshold)


class Adding(Task):
    metric, threshold = "mse", 0.01

    def __init__(self, length, batch, validation, **_):
        self.length, self.batch_size = length, batch
        self.x_val, self.y_val = adding_problem(validation, length, seed=1)
        self.description = (f"adding problem, T={length}; held-out MSE of {validation} sequences; solved: MSE < "
                            f"{self.threshold} (predicting 1: {BASELINE_MSE:.3f})")

    def inputs(self):
        x = keras.Input((self.length, 2))
        return x, x

    def readout(self, x):
        return keras.layers.Dense(1)(x[:, -1])

    def loss(self):
        return "mse"

    def batch(self, step):
        return adding_problem(self.batch_size, self.length, seed=1000 + step)

    def evaluate(self, model):
        prediction = model.predict(self.x_val, batch_size=128, verbose=0)
        return float(np.mean((prediction - self.y_val) ** 2))


class SelectiveCopy(Task):
    metric, threshold, higher_is_better = "token_accuracy", 0.95, True

    def __init__(self, length, tokens, vocabulary, embedding, batch, validation, **_):
        self.length, self.tokens, self.vocabulary, self.embedding = length, tokens, vocabulary, embedding
        self.batch_size = batch
        self.x_val, self.y_val = selective_copy(validation, length, tokens, vocabulary, seed=1)
        self.description = (f"selective copy, {tokens} tokens of {vocabulary} among {length} positions, then "
                            f"{tokens} markers; held-out token accuracy of {validation} sequences; solved: >= "
                            f"{self.threshold} (guessing: {1 / vocabulary:.3f})")

    def inputs(self):
        x = keras.Input((self.length + self.tokens,), dtype="int32")
        return x, keras.layers.Embedding(self.vocabulary + 2, self.embedding)(x)

    def readout(self, x):
        return keras.layers.Dense(self.vocabulary + 1)(x[:, -self.tokens:])

    def loss(self):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def batch(self, step):
        return selective_copy(self.batch_size, self.length, self.tokens, self.vocabulary, seed=1000 + step)

    def evaluate(self, model):
        logits = model.predict(self.x_val, batch_size=128, verbose=0)
        return float(np.mean(np.argmax(logits, axis=-1) == self.y_val))


def load_text(corpus, max_chars=None):
    """`(text, source)` of char-lm's embedded `corpus` ("lee" or "kjv")."""
    from kerasrnn.pipelines.char_lm import load_corpus

    return load_corpus(None, max_chars, corpus)


class CharLM(Task):
    metric = "bits_per_char"

    def __init__(self, corpus, length, embedding, batch, validation_windows, max_chars=None, **_):
        from kerasrnn.data.text import UNKNOWN_CHAR_ID
        from kerasrnn.data.text import build_vocabulary
        from kerasrnn.data.text import split_sizes
        from kerasrnn.data.text import unigram_bits_per_char

        text, self.source = load_text(corpus, max_chars)
        train_chars, _ = split_sizes(len(text), 0.1)
        self.vocabulary = build_vocabulary(text[:train_chars])
        index = {c: i for i, c in enumerate(self.vocabulary)}
        ids = np.array([index.get(c, UNKNOWN_CHAR_ID) for c in text], "int32")
        self.train, validation = ids[:train_chars], ids[train_chars:]
        self.length, self.embedding, self.batch_size = length, embedding, batch
        rng = np.random.RandomState(1)
        starts = np.sort(rng.choice(len(validation) - length - 1, validation_windows, replace=False))
        windows = np.stack([validation[s:s + length + 1] for s in starts])
        self.x_val, self.y_val = windows[:, :-1], windows[:, 1:]
        self.unigram = unigram_bits_per_char(text[:train_chars], text[train_chars:])
        self.description = (f"char-lm on {corpus} ({len(text):,} characters, {len(self.vocabulary)} ids), "
                            f"windows of {length}; bits/char on {validation_windows} fixed windows of the last 10 % "
                            f"(unigram baseline {self.unigram:.2f})")

    def inputs(self):
        x = keras.Input((self.length,), dtype="int32")
        return x, keras.layers.Embedding(len(self.vocabulary), self.embedding)(x)

    def readout(self, x):
        return keras.layers.Dense(len(self.vocabulary))(x)

    def loss(self):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def batch(self, step):
        starts = np.random.RandomState(1000 + step).randint(0, len(self.train) - self.length - 1, self.batch_size)
        windows = np.stack([self.train[s:s + self.length + 1] for s in starts])
        return windows[:, :-1], windows[:, 1:]

    def evaluate(self, model):
        logits = model.predict(self.x_val, batch_size=64, verbose=0).astype("float64")
        log_norm = np.log(np.sum(np.exp(logits - logits.max(-1, keepdims=True)), -1)) + logits.max(-1)
        picked = np.take_along_axis(logits, self.y_val[..., None], -1)[..., 0]
        return float(np.mean(log_norm - picked) / math.log(2))


def make_task(name, sizes):
    if name == "adding":
        return Adding(**sizes["adding"])
    if name == "selective_copy":
        return SelectiveCopy(**sizes["selective_copy"])
    return CharLM(name.split("_")[-1], **sizes["char_lm"])


def build_model(task, layer, units, num_layers):
    inputs, x = task.inputs()
    for _ in range(num_layers):
        x = keras.layers.Activation("gelu")(LAYERS[layer](units)(x))
    return keras.Model(inputs, task.readout(x), name=layer)


def model_parameters(task, layer, units, num_layers):
    # No clear_session per model: it costs more than the build.
    return count_parameters(build_model(task, layer, units, num_layers))


def equal_size_units(task, layer, target, num_layers):
    """The width whose model's parameter count is closest to `target`, and
    that count. Every layer's count is a quadratic in its width (weights of
    `(width, width)`, `(inputs, width)` and `(width,)` shapes), so three
    built models give the polynomial; the chosen width's model is built
    again to confirm its count."""
    widths = np.array([1.0, 2.0, 3.0])
    counts = [model_parameters(task, layer, int(u), num_layers) for u in widths]
    a, b, c = np.polyfit(widths, counts, 2)

    def predicted(u):
        return round(a * u * u + b * u + c)

    units = 1
    while predicted(units) < target:
        units += 1
    if units > 1 and target - predicted(units - 1) < predicted(units) - target:
        units -= 1
    count = model_parameters(task, layer, units, num_layers)
    if count != predicted(units):
        raise AssertionError(f"{layer}: parameter count {count} at width {units} is not the quadratic fitted to "
                             f"widths 1-3 ({a}, {b}, {c})")
    return units, count


def compile_model(model, task, learning_rate, run_eagerly):
    model.compile(keras.optimizers.Adam(learning_rate, global_clipnorm=1.0), task.loss(), jit_compile=False,
                  run_eagerly=run_eagerly)
    return model


def run_task(name, task, models, units_ref, budget_s, args, emit):
    """Sizes, step times, steps and the metric's history of every model."""
    target = model_parameters(task, REFERENCE, units_ref, args.layers)
    widths = {REFERENCE: (units_ref, target)}
    for layer in models[1:]:
        widths[layer] = equal_size_units(task, layer, target, args.layers)
    keras.backend.clear_session()
    built, initial = {}, {}
    for layer in models:
        keras.utils.set_random_seed(0)
        built[layer] = compile_model(build_model(task, layer, widths[layer][0], args.layers), task,
                                     args.learning_rate, args.quick)
        built[layer].optimizer.build(built[layer].trainable_variables)
        # The initial weights and optimizer state (step 0, zero moments, the learning rate).
        initial[layer] = (built[layer].get_weights(), [np.asarray(v) for v in built[layer].optimizer.variables])
    # Step times: all models in alternation on one fixed batch, in this process.
    x, y = task.batch(-1)
    medians, samples = time_alternating([lambda m=m: m.train_on_batch(x, y) for m in built.values()],
                                        args.timing_steps, args.timing_warmup, samples=True)
    step_ms = dict(zip(models, medians))
    rows = []
    for layer in models:
        # Back to the initial weights and a fresh optimizer state (the
        # timing steps trained the model), without tracing the step again.
        model = built.pop(layer)
        weights, optimizer_state = initial.pop(layer)
        model.set_weights(weights)
        for variable, value in zip(model.optimizer.variables, optimizer_state):
            variable.assign(value)
        assert abs(float(model.optimizer.learning_rate) - args.learning_rate) < 1e-9 and \
            int(model.optimizer.iterations) == 0
        steps = max(1, int(budget_s * 1000 // step_ms[layer]))
        checkpoints = sorted({max(1, round(steps * k / args.checkpoints)) for k in range(1, args.checkpoints + 1)})
        history, losses = [], []
        start = time.perf_counter()
        for step in range(steps):
            xb, yb = task.batch(step)
            loss = model.train_on_batch(xb, yb)
            losses.append(float(loss[0] if isinstance(loss, (list, tuple)) else loss))
            if step + 1 in checkpoints:
                value = task.evaluate(model)
                history.append({"step": step + 1, task.metric: value,
                                "train_loss_last_10": float(np.mean(losses[-10:]))})
        train_wall = time.perf_counter() - start
        final = history[-1][task.metric]
        finite = math.isfinite(final)
        row = {
            "model": layer,
            "units": widths[layer][0],
            "parameters": widths[layer][1],
            "parameter_ratio_to_lstm": widths[layer][1] / target,
            "step_ms": step_ms[layer],
            "step_ms_samples": samples[models.index(layer)],
            "steps": steps,
            "budget_s": budget_s,
            "train_wall_s": round(train_wall, 1),
            task.metric: final if finite else None,
            "diverged": not finite,
            "history": history,
        }
        if task.threshold is not None:
            row["solved"] = bool(finite and task.solved(final))
            row["first_solved_checkpoint"] = next(
                (h["step"] for h in history if math.isfinite(h[task.metric]) and task.solved(h[task.metric])), None)
        rows.append(row)
        value = f"{final:.4f}" if finite else "nan"
        solved = "" if task.threshold is None else ("  solved" if row["solved"] else "  not solved")
        emit(f"{layer:>8} {row['units']:>5} {row['parameters']:>8,} {row['parameter_ratio_to_lstm']:>6.3f} "
             f"{row['step_ms']:>8.1f} {steps:>6} {value:>10}{solved}")
        del model
    keras.backend.clear_session()
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", help="write the results as JSON here (and the printed table next to it as .txt)")
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated, from {', '.join(TASKS)}")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help=f"comma-separated, from {', '.join(LAYERS)} (lstm is always run: the reference)")
    parser.add_argument("--layers", type=int, default=2, help="recurrent layers per model")
    parser.add_argument("--learning-rate", type=float, default=2e-3, help="Adam's constant learning rate, all models")
    parser.add_argument("--budget-scale", type=float, default=1.0,
                        help="multiply every task's training-time budget (default budgets in SIZES)")
    parser.add_argument("--timing-steps", type=int, default=5, help="timed rounds of training steps per task")
    parser.add_argument("--timing-warmup", type=int, default=2, help="untimed steps per model before timing")
    parser.add_argument("--checkpoints", type=int, default=4, help="held-out evaluations per training run")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: tiny sizes, one recurrent layer, eager steps, one timed and one trained "
                             "step per model, the first 3,000 characters of each corpus")
    args = parser.parse_args(argv)
    tasks = args.tasks.split(",")
    models = args.models.split(",")
    if [t for t in tasks if t not in TASKS]:
        parser.error(f"--tasks: unknown {[t for t in tasks if t not in TASKS]}; choose from {', '.join(TASKS)}")
    if [m for m in models if m not in LAYERS]:
        parser.error(f"--models: unknown {[m for m in models if m not in LAYERS]}; choose from {', '.join(LAYERS)}")
    if args.layers < 1:
        parser.error(f"--layers must be a positive integer. Received: {args.layers}")
    if REFERENCE in models:
        models.remove(REFERENCE)
    models = [REFERENCE] + models
    sizes = QUICK_SIZES if args.quick else SIZES
    if args.quick:
        args.timing_steps, args.timing_warmup, args.checkpoints, args.layers = 1, 0, 1, 1

    lines = []

    def emit(line):
        print(line, flush=True)
        lines.append(line)

    start = time.perf_counter()
    results = {}
    for name in tasks:
        task = make_task(name, sizes)
        key = "char_lm" if name.startswith("char_lm") else name
        emit(f"\n{name}: {task.description}")
        emit(f"{'model':>8} {'units':>5} {'params':>8} {'ratio':>6} {'step ms':>8} {'steps':>6} "
             f"{task.metric:>10}")
        budget_s = args.budget_scale * sizes[key]["budget_s"]
        rows = run_task(name, task, models, sizes[key]["units"], budget_s, args, emit)
        results[name] = {
            "description": task.description,
            "sizes": sizes[key],
            "metric": task.metric,
            "higher_is_better": task.higher_is_better,
            "threshold": task.threshold,
            "models": rows,
        }
        if isinstance(task, CharLM):
            results[name].update(corpus=task.source, unigram_bits_per_char=task.unigram)
    elapsed = time.perf_counter() - start
    emit(f"benchmark took {elapsed / 60:.1f} min")
    report = {
        **environment("kerasrnn", "benchmarks/learning_quality.py"),
        "quick": args.quick,
        "layers": args.layers,
        "learning_rate": args.learning_rate,
        "optimizer": "Adam, constant learning rate, global_clipnorm=1.0",
        "jit_compile": False,
        "timing_steps": args.timing_steps,
        "timing_warmup": args.timing_warmup,
        "parameter_tolerance": PARAMETER_TOLERANCE,
        "elapsed_s": round(elapsed, 1),
        "tasks": results,
    }
    write_report(args.output, report, table=lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
