"""tree-arith: recursive networks vs a sequential LSTM on arithmetic trees.

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

Training is crash-safe: each model is a stage with its own backup; kill a run
and rerun the same command to reload the models already trained and resume
the interrupted one from its last finished epoch.

Example: kerasrnn tree-arith --quick
"""

import csv
import dataclasses
import os
import time
import typing

from kerasrnn.pipelines.config import TrainingConfig
from kerasrnn.pipelines.config import each
from kerasrnn.pipelines.config import not_empty
from kerasrnn.pipelines.config import option
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number

DESCRIPTION = "TreeRNN/Tree-LSTM vs prefix LSTM on mod-10 expression trees: accuracy by depth beyond training"

MODELS = ("tree-rnn", "tree-lstm", "lstm")  # kerasrnn.models.TREE_MODELS


def _depths(name, values):
    not_empty(name, values)
    each(check_positive_int)(name, values)


@dataclasses.dataclass
class Config(TrainingConfig):
    """tree-arith's options."""

    models: typing.Tuple[str, ...] = option(("tree-lstm", "tree-rnn", "lstm"), "models to train and compare",
                                            choices=MODELS, check=not_empty)
    units: int = option(64, "embedding and state size of every model", quick=8, check=check_positive_int)
    train_depths: typing.Tuple[int, ...] = option((1, 2, 3), "depths of the training trees", check=_depths)
    test_depths: typing.Tuple[int, ...] = option((1, 2, 3, 4, 5, 6, 7, 8), "depths tested",
                                                 quick=(1, 2, 3, 4), check=_depths)
    train_size: int = option(16000, "training expressions", quick=256, check=check_positive_int)
    test_size: int = option(1000, "test expressions per depth", quick=32, check=check_positive_int)
    learning_rate: float = option(3e-3, "Adam learning rate", check=check_positive_number)
    epochs: int = option(25, "training epochs of each model", quick=2, check=check_positive_int)
    batch_size: int = option(64, "batch size", check=check_positive_int)

    def validate(self):
        super().validate()
        # Depths are sets: record them sorted, once each.
        self.train_depths = tuple(sorted(set(self.train_depths)))
        self.test_depths = tuple(sorted(set(self.test_depths)))


def build_model(kind, units, learning_rate, jit_compile="auto"):
    """A compiled `kerasrnn.models.tree_value_model`: `{tokens, left,
    right}` -> value logits (10)."""
    import keras

    from kerasrnn.data.trees import VOCAB_SIZE
    from kerasrnn.models import tree_value_model

    model = tree_value_model(kind, units, VOCAB_SIZE, classes=10)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return model


def _inputs(data):
    return {k: data[k] for k in ("tokens", "left", "right")}


def run(config):
    import numpy as np

    from kerasrnn import training
    from kerasrnn.data.trees import generate_expressions

    train_depths, test_depths = list(config.train_depths), list(config.test_depths)
    seed, output = config.seed, config.output
    training.enable_determinism(seed, config.jit)
    train = generate_expressions(config.train_size, train_depths, seed=seed)
    val = generate_expressions(max(config.test_size, 64), train_depths, seed=seed + 1)
    tests = {d: generate_expressions(config.test_size, [d], seed=seed + 100 + d) for d in test_depths}

    rows = {"majority": {d: float(np.bincount(t["values"], minlength=10).max() / len(t["values"]))
                         for d, t in tests.items()}}
    metrics = {"train_depths": train_depths, "test_depths": test_depths, "train_size": config.train_size,
               "test_size": config.test_size, "units": config.units, "epochs": config.epochs, "models": {}}
    epoch_batches, steps = training.array_epoch_batches((_inputs(train), train["values"]), config.batch_size, seed)
    for kind in config.models:
        model = build_model(kind, config.units, config.learning_rate, config.jit)
        start = time.perf_counter()
        history = training.fit(
            model, epoch_batches, steps, config.epochs, validation_data=(_inputs(val), val["values"]),
            output=output, fresh=config.fresh, logdir=config.logdir, progress=config.progress,
            stage=kind, history_path=os.path.join(output, f"history_{kind}.csv"),
            validation_batch_size=config.batch_size,
        )
        seconds = time.perf_counter() - start
        rows[kind] = {d: float(model.evaluate(_inputs(t), t["values"], batch_size=256, verbose=0)[1])
                      for d, t in tests.items()}
        metrics["models"][kind] = {
            "accuracy_by_depth": {str(d): a for d, a in rows[kind].items()},
            "train_seconds": seconds,
            "parameters": int(model.count_params()),
            "final_train_accuracy": float(history["accuracy"][-1]),
            "final_val_accuracy": float(history["val_accuracy"][-1]),
        }
        print(f"{kind}: " + "  ".join(f"d{d}={a:.3f}" for d, a in rows[kind].items()), flush=True)
    metrics["majority_by_depth"] = {str(d): a for d, a in rows["majority"].items()}
    write_table(os.path.join(output, "accuracy_by_depth.csv"), rows, test_depths, train_depths)
    plot_by_depth(os.path.join(output, "accuracy_by_depth.png"), rows, test_depths, max(train_depths))
    training.remove_backup(output)  # every model is trained
    return metrics


def write_table(path, rows, depths, train_depths):
    """accuracy_by_depth.csv: one row per depth, one column per model."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["depth", "in_training"] + list(rows))
        for d in depths:
            writer.writerow([d, int(d in train_depths)] + [f"{rows[m][d]:.4f}" for m in rows])


def plot_by_depth(path, rows, depths, max_train_depth):
    """Accuracy against depth per model (`kerasrnn.plots.plot_curves`), the
    majority class dashed, the training depths shaded."""
    from kerasrnn.plots import plot_curves

    figure = plot_curves({name: [accuracy[d] for d in depths] for name, accuracy in rows.items()},
                         x=depths, xlabel="tree depth", ylabel="accuracy")
    axes = figure.axes[0]
    for line in axes.get_lines():
        if line.get_label() == "majority":
            line.set(linestyle="--", marker="")
    axes.axvspan(min(depths) - 0.5, max_train_depth + 0.5, color="0.9", label="training depths", zorder=0)
    axes.set_ylim(0, 1.02)
    axes.set_xticks(depths)
    axes.legend()
    figure.savefig(path, dpi=100)
