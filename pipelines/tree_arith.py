"""`tree-arith`: recursive networks vs a sequential LSTM on arithmetic trees.

Expressions modulo 10 with `+`, `-`, `*` (e.g. `((3 + 4) * 5)` = 5) are drawn
at exact depths by `kerasrnn.data.trees`. Every model predicts the value (10
classes) from the tokens:

* `tree-rnn` / `tree-lstm`: embedded tokens (digits at the leaves, operators
  at the internal nodes) composed bottom-up along the tree by
  `kerasrnn.layers.TreeRNN` / `TreeLSTM`, then a softmax on the root;
* `lstm`: `kerasrnn.layers.LSTM` over the same tokens in prefix order (the
  preorder of the tree, e.g. `* + 3 4 5`), then a softmax on the last state.

Models train on shallow trees (`--train-depths`, default 1-3) and are tested
at every depth in `--test-depths` (default 1-8): accuracy by depth goes to
metrics.json, accuracy_by_depth.csv and accuracy_by_depth.png, next to the
majority-class baseline of each test set.

Training is crash-safe (`kerasrnn.training`): each model is a stage with
its own backup; kill a run and rerun the same command to reload the models
already trained and resume the interrupted one from its last finished epoch
(each epoch's batch order is a function of `(--seed, epoch)`).
"""

import csv
import os
import time

import numpy as np

from kerasrnn import training
from kerasrnn.pipelines import cli_training
from kerasrnn.pipelines.common import positive

DESCRIPTION = "TreeRNN/Tree-LSTM vs prefix LSTM on mod-10 expression trees: accuracy by depth beyond training"

MODELS = ("tree-rnn", "tree-lstm", "lstm")
#: `--strategy` values: this pipeline is not distributed.
STRATEGIES = ("none",)


def add_arguments(parser):
    parser.add_argument("--models", default="tree-lstm,tree-rnn,lstm", help="comma-separated subset of " + ",".join(MODELS))
    parser.add_argument("--units", type=int, default=64, help="state size of every model (default: %(default)s)")
    parser.add_argument("--train-depths", default="1,2,3", help="depths of the training trees (default: %(default)s)")
    parser.add_argument("--test-depths", default="1,2,3,4,5,6,7,8", help="depths tested (default: %(default)s)")
    parser.add_argument("--train-size", type=int, default=16000, help="training expressions (default: %(default)s)")
    parser.add_argument("--test-size", type=int, default=1000, help="test expressions per depth (default: %(default)s)")
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="Adam learning rate (default: %(default)s)")
    cli_training.add_training_arguments(parser, STRATEGIES)


def _depths(name, text):
    try:
        depths = sorted({int(d) for d in str(text).split(",") if d.strip()})
    except ValueError:
        depths = []
    if not depths or depths[0] < 1:
        raise ValueError(f"`--{name}` must be comma-separated positive integers. Received: {name}={text!r}")
    return depths


def _check_args(args):
    cli_training.check_arguments(args, STRATEGIES)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if not models or unknown:
        raise ValueError(f"`--models` must be a subset of {','.join(MODELS)}. Received: models={args.models!r}")
    positive("units", args.units)
    positive("train-size", args.train_size)
    positive("test-size", args.test_size)
    if not args.learning_rate > 0:
        raise ValueError(f"`--learning-rate` must be positive. Received: learning_rate={args.learning_rate!r}")
    return models, _depths("train-depths", args.train_depths), _depths("test-depths", args.test_depths)


def build_model(kind, units, learning_rate, jit_compile="auto"):
    """A compiled model: `[tokens, left, right]` -> value logits (10)."""
    import keras

    from kerasrnn.data.trees import VOCAB_SIZE
    from kerasrnn.layers.lstm import LSTM
    from kerasrnn.layers.tree_rnn import TreeLSTM
    from kerasrnn.layers.tree_rnn import TreeRNN

    tokens = keras.Input((None,), dtype="int32", name="tokens")
    left = keras.Input((None,), dtype="int32", name="left")
    right = keras.Input((None,), dtype="int32", name="right")
    x = keras.layers.Embedding(VOCAB_SIZE, units, mask_zero=(kind == "lstm"), name="embedding")(tokens)
    if kind == "lstm":
        h = LSTM(units, name="lstm")(x)
    else:
        h = (TreeRNN if kind == "tree-rnn" else TreeLSTM)(units, name=kind.replace("-", "_"))([x, left, right])
    logits = keras.layers.Dense(10, name="value")(h)
    model = keras.Model({"tokens": tokens, "left": left, "right": right}, logits, name=kind.replace("-", "_"))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return model


def _inputs(data):
    return {k: data[k] for k in ("tokens", "left", "right")}


def run(args):
    models, train_depths, test_depths = _check_args(args)
    from kerasrnn.data.trees import generate_expressions

    epochs = args.epochs or 25
    batch_size = args.batch_size or 64
    train_size, test_size, units = args.train_size, args.test_size, args.units
    if args.quick:
        epochs, train_size, test_size, units = min(epochs, 2), 256, 32, 8
        test_depths = [d for d in test_depths if d <= 4] or test_depths[:1]
    training.enable_determinism(args.seed, cli_training.jit_compile(args))
    train = generate_expressions(train_size, train_depths, seed=args.seed)
    val = generate_expressions(max(test_size, 64), train_depths, seed=args.seed + 1)
    tests = {d: generate_expressions(test_size, [d], seed=args.seed + 100 + d) for d in test_depths}

    rows = {"majority": {d: float(np.bincount(t["values"], minlength=10).max() / len(t["values"])) for d, t in tests.items()}}
    metrics = {"train_depths": train_depths, "test_depths": test_depths, "train_size": train_size,
               "test_size": test_size, "units": units, "epochs": epochs, "models": {}}
    epoch_batches, steps = training.array_epoch_batches((_inputs(train), train["values"]), batch_size, args.seed)
    for kind in models:
        model = build_model(kind, units, args.learning_rate, cli_training.jit_compile(args))
        start = time.perf_counter()
        history = training.fit(
            model, epoch_batches, steps, epochs, validation_data=(_inputs(val), val["values"]),
            output=args.output, fresh=args.fresh, logdir=args.logdir, progress=args.progress,
            stage=kind, history_path=os.path.join(args.output, f"history_{kind}.csv"),
            validation_batch_size=batch_size,
        )
        seconds = time.perf_counter() - start
        rows[kind] = {
            d: float(model.evaluate(_inputs(t), t["values"], batch_size=256, verbose=0)[1]) for d, t in tests.items()
        }
        metrics["models"][kind] = {
            "accuracy_by_depth": {str(d): a for d, a in rows[kind].items()},
            "train_seconds": seconds,
            "parameters": int(model.count_params()),
            "final_train_accuracy": float(history["accuracy"][-1]),
            "final_val_accuracy": float(history["val_accuracy"][-1]),
        }
        print(f"{kind}: " + "  ".join(f"d{d}={a:.3f}" for d, a in rows[kind].items()), flush=True)
    metrics["majority_by_depth"] = {str(d): a for d, a in rows["majority"].items()}
    _write_table(os.path.join(args.output, "accuracy_by_depth.csv"), rows, test_depths, train_depths)
    _plot(os.path.join(args.output, "accuracy_by_depth.png"), rows, test_depths, max(train_depths))
    training.remove_backup(args.output)  # every model is trained
    return metrics


def _write_table(path, rows, depths, train_depths):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["depth", "in_training"] + list(rows))
        for d in depths:
            writer.writerow([d, int(d in train_depths)] + [f"{rows[m][d]:.4f}" for m in rows])


def _plot(path, rows, depths, max_train_depth):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, accuracy in rows.items():
        ax.plot(depths, [accuracy[d] for d in depths], "--" if name == "majority" else "-o", label=name)
    ax.axvspan(min(depths) - 0.5, max_train_depth + 0.5, color="0.9", label="training depths")
    ax.set_xlabel("tree depth")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(depths)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
