"""The `--quick` run of every NTM pipeline (in process, through the CLI's
`main`) and its outputs; bad options in a real process (exit status 2)."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import load_saved_model_without_kerasrnn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True)
def _xla_as_in_a_fresh_process():
    """The NTM pipelines train under XLA unless TF op determinism is on (then
    Keras drops XLA); an earlier in-process run may have turned it on, which a
    fresh `kerasrnn` process never has. Off here, left as found afterwards."""
    from tensorflow.python.framework import config

    before = config.is_op_determinism_enabled()
    config.disable_op_determinism()
    yield
    if before:
        config.enable_op_determinism()
    else:
        config.disable_op_determinism()


def main(*args):
    """The exit status of `kerasrnn ARGS`, run in this process."""
    from kerasrnn.pipelines.runner import main as kerasrnn

    return kerasrnn(list(args))


def run_pipeline(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "kerasrnn.pipelines", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env
    )


@pytest.mark.parametrize(
    "name, model, extra",
    [
        ("ntm-copy", "ntm", ["length_5"]),
        ("ntm-repeat-copy", "ntm", []),
        ("ntm-recall", "ntm", ["4_items"]),
        ("ntm-sort", "ntm", []),
        ("ntm-ngrams", "lstm", []),
    ],
)
def test_quick_run_writes_metrics_history_plots_and_export(name, model, extra, tmp_path):
    out = tmp_path / "run"
    # The export is the same code for every task: checked on copy (served
    # without kerasrnn) and on the LSTM baseline.
    export = name in ("ntm-copy", "ntm-ngrams")
    assert main(name, "--quick", "--model", model, "--output", str(out), *([] if export else ["--no-export"])) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["xla"] is True  # trained under XLA, as in a fresh process
    for key in ("bits_per_sequence", "bit_errors_per_sequence_mean", "bit_errors_per_sequence_median", "sequences_per_second"):
        assert np.isfinite(metrics[key]), key
    assert metrics["model"] == model and metrics["training_sequences"] == 2 * 3 * 4
    rows = list(csv.DictReader(open(out / "history.csv")))
    assert len(rows) == 2 and "val_bit_errors_per_sequence" in rows[0]
    assert (out / "learning_curves.png").stat().st_size > 0
    assert (out / "export" / "saved_model.pb").exists() is export
    # config.json holds the values the run used: the quick budget, the task's
    # optimizer and the rate and schedule it resolved to.
    config = json.loads((out / "config.json").read_text())
    assert config["pipeline"] == name and config["quick"] is True
    assert (config["epochs"], config["batch_size"], config["steps_per_epoch"], config["eval_size"]) == (2, 4, 3, 8)
    # Repeat copy and 6-grams train with the paper's RMSprop at batch size 1
    # (4 with --quick); repeat copy with a random initial memory.
    rmsprop = name in ("ntm-repeat-copy", "ntm-ngrams")
    assert config["units"] == 16 and config["optimizer"] == ("rmsprop" if rmsprop else "adam")
    assert config["learning_rate"] == (1e-4 if rmsprop else 1e-3)
    assert config["memory_init"] == ("random" if name == "ntm-repeat-copy" else "constant")
    assert config["lr_schedule"] == ("45:3e-5,80:1e-5" if name == "ntm-ngrams" else None)
    assert config["jit_compile"] == "on" and config["export"] is export
    if model == "ntm":
        assert (out / "heatmap_train.png").stat().st_size > 0
        for label in extra:
            assert (out / f"heatmap_{label}.png").exists()
    if name == "ntm-copy":
        assert set(metrics["generalisation"]) == {"length 5"}
        stdout = load_saved_model_without_kerasrnn(
            str(out / "export"), "import numpy as np; print(m.serve(np.zeros((2, 7, 9), 'float32')).shape)"
        )
        assert "(2, 7, 8)" in stdout
    if name == "ntm-ngrams":
        assert 0 < metrics["bayes_optimal_bits_per_sequence"] < 20  # 20 scored bits
        assert metrics["model_bits_per_sequence"] == pytest.approx(metrics["bits_per_sequence"], rel=1e-3)


@pytest.mark.parametrize("name, option, value, message", [
    ("ntm-copy", "--memory-size", "0", "`--memory-size` must be a positive integer. Received: --memory-size=0"),
    ("ntm-repeat-copy", "--optimizer", "sgd", "`--optimizer` must be one of adam, rmsprop. Received: --optimizer='sgd'"),
    ("ntm-recall", "--learning-rate", "-1", "`--learning-rate` must be a positive number"),
    ("ntm-sort", "--strategy", "tpu", "`--strategy` must be one of none, mirrored, multi-worker for this pipeline"),
    ("ntm-ngrams", "--lr-schedule", "5:-1", "`--lr-schedule` must be EPOCH:LR pairs"),
])
def test_bad_option_exits_2_with_one_line_and_writes_nothing(tmp_path, name, option, value, message):
    out = tmp_path / "run"
    result = run_pipeline(name, "--quick", option, value, "--output", str(out))
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert not out.exists()


def resolved(name, **given):
    from kerasrnn.pipelines import load
    from kerasrnn.pipelines.config import resolve

    # As the command line gives them: text, booleans as booleans.
    return resolve(load(name).Config, {k: v if isinstance(v, bool) else str(v) for k, v in given.items()})


def test_jit_compile_defaults_to_on():
    # The NTM pipelines compile with XLA by default; the others leave it to Keras.
    assert resolved("ntm-copy").jit is True
    assert resolved("ntm-sort", jit_compile="off").jit is False
    assert resolved("char-lm").jit == "auto"


def test_task_defaults_resolve_per_task():
    repeat = resolved("ntm-repeat-copy")
    assert (repeat.optimizer, repeat.learning_rate, repeat.memory_init) == ("rmsprop", 1e-4, "random")
    assert (repeat.batch_size, repeat.steps_per_epoch, repeat.epochs, repeat.lstm_units) == (1, 1000, 80, 512)
    assert repeat.lr_schedule is None
    ngrams = resolved("ntm-ngrams")
    assert (ngrams.optimizer, ngrams.batch_size, ngrams.epochs) == ("rmsprop", 1, 120)
    assert ngrams.lr_schedule == "45:3e-5,80:1e-5"
    # The task's schedule belongs to its optimizer and rate: any other choice drops it.
    assert resolved("ntm-ngrams", optimizer="adam").lr_schedule is None
    assert resolved("ntm-ngrams", learning_rate="1e-3").lr_schedule is None
    assert resolved("ntm-ngrams", lr_schedule="none").lr_schedule is None
    assert resolved("ntm-ngrams", lr_schedule="10:1e-5").lr_schedule == "10:1e-5"
    copy = resolved("ntm-copy")
    assert (copy.optimizer, copy.learning_rate, copy.memory_init, copy.batch_size) == ("adam", 1e-3, "constant", 16)
    assert (copy.epochs, copy.units, copy.memory_size, copy.memory_width) == (20, 100, 128, 20)
    sort = resolved("ntm-sort")
    assert (sort.read_heads, sort.write_heads, sort.lstm_units, sort.epochs) == (5, 5, 128, 10)
    # --quick shrinks the model and the budget but keeps the task's heads.
    quick = resolved("ntm-sort", quick=True)
    assert (quick.units, quick.memory_size, quick.read_heads, quick.epochs, quick.batch_size) == (16, 32, 5, 2, 4)
    # Command-line options override the task's defaults.
    custom = resolved("ntm-repeat-copy", optimizer="adam", memory_init="constant", batch_size=8)
    assert (custom.optimizer, custom.learning_rate, custom.memory_init, custom.batch_size) == ("adam", 1e-3, "constant", 8)


def test_config_json_repeats_the_resolved_run():
    from kerasrnn.pipelines import load
    from kerasrnn.pipelines.config import resolve
    from kerasrnn.pipelines.config import to_json

    config_class = load("ntm-ngrams").Config
    for given in ({"quick": True}, {"optimizer": "adam"}, {"lr_schedule": "none"}, {"learning_rate": "3e-4"}):
        first = resolve(config_class, given)
        again = resolve(config_class, {}, replayed=json.loads(json.dumps(to_json(first))))
        assert again == first, given


def test_lr_schedule_drops_the_rate_of_a_resumed_run(tmp_path):
    # Two epochs at the default rate, then a resumed run whose schedule drops
    # it: history.csv records each epoch's rate. The schedule is the
    # pipeline's callback whatever the model: the (quicker) LSTM baseline.
    out = str(tmp_path / "run")
    common = ("ntm-copy", "--quick", "--model", "lstm", "--no-export", "--steps-per-epoch", "2", "--output", out)
    assert main(*common, "--epochs", "2") == 0
    assert main(*common, "--epochs", "3", "--lr-schedule", "2:1e-5") == 0
    rows = list(csv.DictReader(open(os.path.join(out, "history.csv"))))
    assert [float(r["learning_rate"]) for r in rows] == pytest.approx([1e-3, 1e-3, 1e-5], rel=1e-6)
    assert not os.path.exists(os.path.join(out, "export"))
