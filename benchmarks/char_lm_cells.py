"""char-lm on the King James Bible: LSTM vs GRU vs SimpleRNN of equal size,
with gradient clipping on and off.

Runs `python -m kerasrnn.pipelines char-lm --corpus kjv ...` once per configuration
(each a subprocess with its own run directory) and collects one table:
validation bits per character at the best epoch, epochs run, wall time, and
the per-epoch gradient-norm history the pipeline records (`grad_norm` in
history.csv: the global L2 norm of the unclipped loss gradient on one fixed
validation batch at the end of each epoch) as its max and median, plus
whether any loss or gradient norm was NaN/Inf.

Every run shares the embedding size, window length, batch size, learning
rate, epoch budget, early-stopping patience and seed; `--units` is chosen per
cell so that the recurrent layers hold the same number of parameters (within
~1%), the LSTM's size being the reference:

* LSTM:      4 * h * (e + h + 1)
* GRU:       3 * h * (e + h + 2)   (kerasrnn's GRU: reset after, two biases)
* SimpleRNN: h * (e + h + 1)

The formulas pick the sizes; the counts printed and stored are those of the
built models (`kerasrnn.models.char_language_model`).

    python benchmarks/char_lm_cells.py                 # ~45 min on 2 CPU cores
    python benchmarks/char_lm_cells.py --quick         # smoke test (first 6,000 characters)

The runs execute in a snapshot of the committed code (`git archive HEAD`
unpacked into a temporary directory), so that edits others make to the
working tree while the study runs (it takes most of an hour) cannot change
the code halfway through; the commit is recorded. `--live` runs the working
tree instead. Finished runs whose command matches are reused (rerun after an
interruption continues); `--fresh` reruns everything.
"""

import argparse
import csv
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: (name, cell, clipping on) in the order they run.
RUNS = [
    ("lstm", "lstm", True),
    ("gru", "gru", True),
    ("simple_rnn", "simple_rnn", True),
    ("lstm-noclip", "lstm", False),
    ("simple_rnn-noclip", "simple_rnn", False),
]


def recurrent_params(cell, units, embedding_dim):
    h, e = units, embedding_dim
    return {"lstm": 4 * h * (e + h + 1), "gru": 3 * h * (e + h + 2), "simple_rnn": h * (e + h + 1)}[cell]


def matching_units(cell, target, embedding_dim):
    """The unit count whose recurrent parameter count is closest to `target`."""
    return min(range(1, 4096), key=lambda h: abs(recurrent_params(cell, h, embedding_dim) - target))


def built_counts(cell, units, embedding_dim, vocabulary_size):
    """`(recurrent, total)` parameter counts of the pipeline's model."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from kerasrnn.models import char_language_model

    model = char_language_model(vocabulary_size, cell, units, embedding_dim)
    counts = model.get_layer("recurrent").count_params(), model.count_params()
    keras.backend.clear_session()
    return counts


def kjv_vocabulary_size(quick):
    from kerasrnn.data.text import build_vocabulary
    from kerasrnn.data.text import split_sizes
    from kerasrnn.pipelines.char_lm import Config
    from kerasrnn.pipelines.char_lm import load_corpus
    from kerasrnn.pipelines.config import resolve

    text, _ = load_corpus(None, resolve(Config, {"quick": quick}).max_chars, "kjv")
    train_chars, _ = split_sizes(len(text), 0.1)
    return len(build_vocabulary(text[:train_chars]))


def read_history(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {key: [float(row[key]) for row in rows] for key in (rows[0] if rows else {}) if key != "epoch"}


def finite(values):
    return [v for v in values if math.isfinite(v)]


def command_for(cell, units, clipnorm, args, output):
    command = [
        sys.executable, "-m", "kerasrnn.pipelines", "char-lm", "--corpus", "kjv", "--cell", cell, "--units", str(units),
        "--embedding-dim", str(args.embedding_dim), "--sequence-length", str(args.seq_length),
        "--batch-size", str(args.batch_size), "--learning-rate", str(args.learning_rate),
        "--epochs", str(args.epochs), "--patience", str(args.patience), "--seed", str(args.seed),
        "--clip-norm", str(clipnorm), "--output", output,
    ]
    return command + (["--quick"] if args.quick else [])


def same_config(output, command, code):
    """Whether `output` holds a finished run of exactly this command."""
    try:
        with open(os.path.join(output, "study_run.json"), encoding="utf-8") as f:
            previous = json.load(f)
    except (OSError, ValueError):
        return False
    return (previous.get("command")[1:] == command[1:] and previous.get("code") == code
            and os.path.exists(os.path.join(output, "metrics.json")))


def snapshot(commit="HEAD"):
    """`(directory, commit)`: the committed tree unpacked into a temporary directory."""
    commit = subprocess.run(["git", "rev-parse", commit], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    directory = tempfile.mkdtemp(prefix=f"char_lm_cells-{commit[:10]}-")
    archive = subprocess.Popen(["git", "archive", commit], cwd=ROOT, stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", directory], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        raise RuntimeError(f"git archive {commit} failed")
    return directory, commit


def run_one(name, cell, units, clipnorm, args):
    output = os.path.abspath(os.path.join(args.runs_dir, name))
    command = command_for(cell, units, clipnorm, args, output)
    printable = " ".join(["python"] + command[1:])
    if not args.fresh and same_config(output, command, args.code_commit):
        print(f"[{name}] reusing the finished run in {output}", flush=True)
        with open(os.path.join(output, "study_run.json"), encoding="utf-8") as f:
            return json.load(f)
    os.makedirs(output, exist_ok=True)
    for stale in ("metrics.json", "history.csv", "study_run.json"):
        if os.path.exists(os.path.join(output, stale)):
            os.remove(os.path.join(output, stale))
    print(f"[{name}] {printable}", flush=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    start = time.perf_counter()
    with open(os.path.join(output, "log.txt"), "w", encoding="utf-8") as log:
        # The snapshot's `kerasrnn` comes first on sys.path (`python -m` puts
        # the working directory first).
        check = subprocess.run([sys.executable, "-c", "import kerasrnn; print(kerasrnn.__file__)"],
                               cwd=args.code_dir, capture_output=True, text=True, env=env)
        log.write(f"code: {args.code_commit} in {args.code_dir}; imports {check.stdout.strip()}\n")
        log.flush()
        if not check.stdout.startswith(os.path.join(args.code_dir, "")):
            raise RuntimeError(f"kerasrnn does not import from {args.code_dir}: {check.stdout} {check.stderr}")
        returncode = subprocess.call(command, cwd=args.code_dir, stdout=log, stderr=subprocess.STDOUT, env=env)
    wall = time.perf_counter() - start
    record = {"name": name, "cell": cell, "units": units, "clipnorm": clipnorm, "command": command,
              "returncode": returncode, "wall_seconds": round(wall, 1), "run_dir": output,
              "code": args.code_commit}
    history_path = os.path.join(output, "history.csv")
    if os.path.exists(history_path):
        history = read_history(history_path)
        record["history"] = {k: history[k] for k in ("loss", "val_loss", "val_bits_per_char", "bits_per_char",
                                                     "grad_norm") if k in history}
    if returncode == 0 and os.path.exists(os.path.join(output, "metrics.json")):
        with open(os.path.join(output, "metrics.json"), encoding="utf-8") as f:
            record["metrics"] = {k: v for k, v in json.load(f).items() if k not in ("sample", "export")}
    else:
        with open(os.path.join(output, "log.txt"), encoding="utf-8") as f:
            record["log_tail"] = f.read()[-2000:]
    with open(os.path.join(output, "study_run.json"), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
    print(f"[{name}] done in {wall:.0f} s (exit {returncode})", flush=True)
    return record


def summarise(record, counts):
    history = record.get("history", {})
    val_bits = history.get("val_bits_per_char", [])
    norms = history.get("grad_norm", [])
    losses = history.get("loss", []) + history.get("val_loss", [])
    finite_bits = finite(val_bits)
    best = min(range(len(val_bits)), key=lambda i: val_bits[i] if math.isfinite(val_bits[i]) else math.inf) \
        if finite_bits else None
    metrics = record.get("metrics", {})
    recurrent, total = counts
    return {
        "run": record["name"],
        "cell": record["cell"],
        "units": record["units"],
        "clipnorm": record["clipnorm"],
        "recurrent_params": recurrent,
        "total_params": total,
        "val_bits_per_char": val_bits[best] if best is not None else None,
        "best_epoch": best + 1 if best is not None else None,
        "train_bits_per_char_at_best": history["bits_per_char"][best] if best is not None else None,
        "epochs_run": len(val_bits),
        "wall_seconds": record["wall_seconds"],
        "training_seconds": metrics.get("training_seconds"),
        "grad_norm_max": max(finite(norms)) if finite(norms) else None,
        "grad_norm_median": statistics.median(finite(norms)) if finite(norms) else None,
        "grad_norm_history": norms,
        "nan_or_inf": any(not math.isfinite(v) for v in losses + norms),
        "exit_code": record["returncode"],
        "pipeline_val_bits_per_char": metrics.get("val_bits_per_char"),
        "unigram_bits_per_char": metrics.get("unigram_bits_per_char"),
    }


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def table(rows):
    header = (f"{'run':18s} {'units':>5s} {'clip':>4s} {'rec. params':>11s} {'total':>8s} | {'val bits/char':>13s} "
              f"{'best/run':>8s} | {'wall s':>6s} | {'|g| max':>8s} {'|g| med':>8s} {'NaN/Inf':>7s}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['run']:18s} {r['units']:5d} {format(r['clipnorm'], 'g') if r['clipnorm'] else 'off':>4s} "
            f"{r['recurrent_params']:11,d} {r['total_params']:8,d} | {fmt(r['val_bits_per_char'], '.3f'):>13s} "
            f"{fmt(r['best_epoch'], 'd'):>3s}/{r['epochs_run']:<4d} | {r['wall_seconds']:6.0f} | "
            f"{fmt(r['grad_norm_max'], '.3f'):>8s} {fmt(r['grad_norm_median'], '.3f'):>8s} "
            f"{'yes' if r['nan_or_inf'] else 'no':>7s}"
        )
    return "\n".join(lines)


def git_state():
    def git(*argv):
        try:
            return subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    return {"commit": git("rev-parse", "HEAD"),
            "uncommitted_in_kerasrnn_or_pipelines": git("status", "--porcelain", "--", "kerasrnn", "pipelines")}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lstm-units", type=int, default=128, help="reference size (default: %(default)s)")
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--seq-length", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=6e-3)
    parser.add_argument("--clipnorm", type=float, default=1.0, help="clipping of the clipped runs (default: 1.0)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", default=",".join(name for name, _, _ in RUNS),
                        help="comma-separated subset of the runs (default: all)")
    parser.add_argument("--runs-dir", default="runs/char-lm-cells", help="parent of the run directories")
    parser.add_argument("--output", default="benchmarks/results/char_lm_cells.json",
                        help="JSON results (a .txt table next to it)")
    parser.add_argument("--fresh", action="store_true", help="rerun runs that already finished")
    parser.add_argument("--live", action="store_true",
                        help="run the working tree (default: a snapshot of the HEAD commit)")
    parser.add_argument("--quick", action="store_true",
                        help="the pipeline's --quick (first 6,000 characters), 1 epoch, tiny sizes")
    args = parser.parse_args(argv)
    if args.quick:
        args.lstm_units, args.embedding_dim, args.seq_length, args.batch_size, args.epochs = 16, 8, 32, 16, 1
        args.runs_dir = args.runs_dir.rstrip("/") + "-quick"
    selected = [r for r in RUNS if r[0] in args.runs.split(",")]
    os.chdir(ROOT)
    if args.live:
        args.code_dir, args.code_commit = ROOT, "working tree of " + (git_state()["commit"] or "?")
    else:
        args.code_dir, args.code_commit = snapshot()
    print(f"code: {args.code_commit} ({args.code_dir})")
    sys.path.insert(0, args.code_dir)  # the counts below come from the same code as the runs

    start_date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    start = time.perf_counter()
    target = recurrent_params("lstm", args.lstm_units, args.embedding_dim)
    units = {cell: matching_units(cell, target, args.embedding_dim) for cell in ("lstm", "gru", "simple_rnn")}
    vocabulary_size = kjv_vocabulary_size(args.quick)
    counts = {cell: built_counts(cell, h, args.embedding_dim, vocabulary_size) for cell, h in units.items()}
    print(f"Equal recurrent parameter counts (embedding {args.embedding_dim}, vocabulary {vocabulary_size}):")
    for cell, h in units.items():
        formula = recurrent_params(cell, h, args.embedding_dim)
        recurrent, total = counts[cell]
        assert formula == recurrent, (cell, formula, recurrent)
        print(f"  {cell:10s} {h:4d} units: recurrent {recurrent:,} ({100 * (recurrent / target - 1):+.2f}% of the "
              f"LSTM's), whole model {total:,}")
    print(flush=True)

    rows, records = [], []
    for name, cell, clipped in selected:
        record = run_one(name, cell, units[cell], args.clipnorm if clipped else 0.0, args)
        records.append(record)
        rows.append(summarise(record, counts[cell]))
        print(table(rows[-1:]).splitlines()[-1], flush=True)

    if not args.live:
        shutil.rmtree(args.code_dir, ignore_errors=True)
    text = table(rows)
    print()
    print(text)
    import tensorflow as tf

    report = {
        "benchmark": "char_lm_cells",
        "date": start_date,
        "finished": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - start, 1),
        "machine": {"cpu_count": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version(), "load_average_at_end": os.getloadavg()},
        "tensorflow": tf.__version__,
        "code": args.code_commit,
        "working_tree_at_end": git_state(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("output", "fresh", "code_dir")},
        "units": units,
        "target_recurrent_params": target,
        "grad_norm": "global L2 norm of the unclipped loss gradient on one fixed validation batch, at the end of "
                     "each epoch (pipeline's GradientNormHistory); max and median over the epochs run",
        "results": rows,
        "commands": {r["name"]: " ".join(["python"] + r["command"][1:]) for r in records},
        "failures": {r["name"]: r.get("log_tail") for r in records if r["returncode"] != 0},
    }
    if args.output:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
        txt = os.path.splitext(args.output)[0] + ".txt"
        with open(txt, "w", encoding="utf-8") as f:
            f.write(f"char-lm on the KJV: equal-size recurrent cells, gradient clipping on/off ({start_date}; "
                    f"TensorFlow {tf.__version__}; {os.cpu_count()} CPU cores; {report['seconds'] / 60:.0f} min)\n"
                    f"embedding {args.embedding_dim}, seq length {args.seq_length}, batch {args.batch_size}, "
                    f"Adam {args.learning_rate}, {args.epochs} epochs max (patience {args.patience}), "
                    f"seed {args.seed}; |g| = per-epoch gradient norm on a fixed validation batch\n\n{text}\n")
        print(f"wrote {args.output} and {txt}")
    return report


if __name__ == "__main__":
    main()
