"""The `--quick` run of every NTM pipeline, in a subprocess, and its outputs."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import load_saved_model_without_kerasrnn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
    result = run_pipeline(name, "--quick", "--model", model, "--output", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("bits_per_sequence", "bit_errors_per_sequence_mean", "bit_errors_per_sequence_median", "sequences_per_second"):
        assert np.isfinite(metrics[key]), key
    assert metrics["model"] == model and metrics["training_sequences"] == 2 * 3 * 4
    rows = list(csv.DictReader(open(out / "history.csv")))
    assert len(rows) == 2 and "val_bit_errors_per_sequence" in rows[0]
    assert (out / "learning_curves.png").stat().st_size > 0
    assert (out / "export" / "saved_model.pb").exists()
    config = json.loads((out / "config.json").read_text())
    # Repeat copy and 6-grams train with the paper's RMSprop at batch size 1
    # (4 with --quick); repeat copy with a random initial memory.
    rmsprop = name in ("ntm-repeat-copy", "ntm-ngrams")
    assert config["units"] == 16 and config["optimizer"] == ("rmsprop" if rmsprop else "adam")
    assert config["learning_rate"] == (1e-4 if rmsprop else 1e-3)
    assert config["memory_init"] == ("random" if name == "ntm-repeat-copy" else "constant")
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


def test_bad_option_is_a_clear_error(tmp_path):
    result = run_pipeline("ntm-copy", "--quick", "--memory-size", "0", "--output", str(tmp_path / "run"))
    assert result.returncode == 2
    assert "error: `--memory-size` must be a positive integer" in result.stderr and "memory-size=0" in result.stderr


def parse(name, *argv):
    """A pipeline's command line parsed as `python -m kerasrnn.pipelines` does."""
    import argparse

    from kerasrnn.pipelines import load
    from kerasrnn.pipelines.common import add_common_arguments

    parser = argparse.ArgumentParser()
    add_common_arguments(parser, default_output="unused")
    load(name).add_arguments(parser)
    return parser.parse_args(list(argv))


def test_jit_compile_option_defaults_and_values():
    from kerasrnn.pipelines import cli_training

    # NTM pipelines compile with XLA by default; the others leave it to Keras.
    assert cli_training.jit_compile(parse("ntm-copy")) is True
    assert cli_training.jit_compile(parse("ntm-sort", "--jit-compile", "off")) is False
    assert cli_training.jit_compile(parse("char-lm")) == "auto"
    assert cli_training.jit_compile(parse("forecast", "--jit-compile", "on")) is True
    with pytest.raises(SystemExit):
        parse("ntm-copy", "--jit-compile", "yes")


def test_lr_schedule_parsing_and_rates():
    from kerasrnn.pipelines.ntm_common import lr_schedule_callback
    from kerasrnn.pipelines.ntm_common import parse_lr_schedule

    assert parse_lr_schedule(None) == []
    schedule = parse_lr_schedule("60:3e-4,100:1e-4")
    assert schedule == [(60, 3e-4), (100, 1e-4)]
    rate = lr_schedule_callback(schedule, 1e-3).schedule
    assert [rate(e, None) for e in (0, 59, 60, 99, 100, 500)] == [1e-3, 1e-3, 3e-4, 3e-4, 1e-4, 1e-4]
    for bad in ("60", "60:0", "0:1e-4", "60:1e-4,60:1e-5", "100:1e-4,60:1e-5", "a:b", "60:1e-4,"):
        with pytest.raises(ValueError, match=r"`--lr-schedule` must be EPOCH:LR pairs.*Received: lr_schedule="):
            parse_lr_schedule(bad)


def test_lr_schedule_drops_the_rate_of_a_resumed_run(tmp_path):
    # Two epochs at the default rate, then a resumed run whose schedule drops
    # it: history.csv records each epoch's rate.
    out = str(tmp_path / "run")
    first = run_pipeline("ntm-copy", "--quick", "--no-export", "--epochs", "2", "--output", out)
    assert first.returncode == 0, first.stderr[-3000:]
    second = run_pipeline("ntm-copy", "--quick", "--no-export", "--epochs", "3", "--lr-schedule", "2:1e-5",
                          "--output", out)
    assert second.returncode == 0, second.stderr[-3000:]
    rows = list(csv.DictReader(open(os.path.join(out, "history.csv"))))
    assert [float(r["learning_rate"]) for r in rows] == pytest.approx([1e-3, 1e-3, 1e-5], rel=1e-6)
    bad = run_pipeline("ntm-copy", "--quick", "--lr-schedule", "5:-1", "--output", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "lr_schedule='5:-1'" in bad.stderr


def test_time_padding_leaves_loss_and_gradients_unchanged():
    # Training batches are padded to a multiple of TIME_BUCKET steps (one XLA
    # program per bucket): the padded steps must not change the loss, the
    # metrics or any gradient.
    import argparse

    import tensorflow as tf

    from kerasrnn.data.tasks.repeat_copy import repeat_copy_batch
    from kerasrnn.losses import bits_per_sequence
    from kerasrnn.metrics import bit_errors_per_sequence
    from kerasrnn.pipelines.ntm_common import TIME_BUCKET
    from kerasrnn.pipelines.ntm_common import build_model
    from kerasrnn.pipelines.ntm_common import pack
    from kerasrnn.pipelines.ntm_common import pad_time

    x, y = pack(repeat_copy_batch(np.random.default_rng(3), 3, max_length=3, max_repeats=2, bits=4))
    px, py = pad_time(x, y)
    assert px.shape[1] % TIME_BUCKET == 0 and px.shape[1] > x.shape[1]
    np.testing.assert_array_equal(px[:, : x.shape[1]], x)
    assert not px[:, x.shape[1] :].any() and not py[:, x.shape[1] :].any()
    assert pad_time(px, py)[0].shape == px.shape

    args = argparse.Namespace(model="ntm", units=8, memory_size=8, memory_width=4, read_heads=1, write_heads=1,
                              controller="lstm", memory_init="constant")
    model = build_model(args, x.shape[-1], y.shape[-1] - 1)

    def loss_and_grads(inputs, targets):
        with tf.GradientTape() as tape:
            logits = model(inputs)
            loss = tf.reduce_mean(bits_per_sequence(targets, logits))
        return loss, bit_errors_per_sequence(targets, logits), tape.gradient(loss, model.trainable_weights)

    loss, errors, grads = loss_and_grads(x, y)
    p_loss, p_errors, p_grads = loss_and_grads(px, py)
    assert float(loss) > 0
    np.testing.assert_allclose(p_loss, loss, rtol=1e-6)
    np.testing.assert_array_equal(p_errors, errors)
    for a, b in zip(grads, p_grads):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)


def test_task_defaults_resolve_per_task():
    from kerasrnn.pipelines import load
    from kerasrnn.pipelines.ntm_common import _resolve

    def resolved(name, *argv):
        args = parse(name, *argv)
        _resolve(args, load(name).SPEC)
        return args

    repeat = resolved("ntm-repeat-copy")
    assert (repeat.optimizer, repeat.learning_rate, repeat.memory_init) == ("rmsprop", 1e-4, "random")
    assert (repeat.batch_size, repeat.steps_per_epoch, repeat.epochs) == (1, 1000, 80)
    assert repeat.lr_schedule is None
    ngrams = resolved("ntm-ngrams")
    assert (ngrams.optimizer, ngrams.batch_size, ngrams.epochs) == ("rmsprop", 1, 120)
    assert ngrams.lr_schedule == "45:3e-5,80:1e-5"
    # The task's schedule belongs to its optimizer and rate: any other choice drops it.
    assert resolved("ntm-ngrams", "--optimizer", "adam").lr_schedule is None
    assert resolved("ntm-ngrams", "--learning-rate", "1e-3").lr_schedule is None
    assert resolved("ntm-ngrams", "--lr-schedule", "10:1e-5").lr_schedule == "10:1e-5"
    copy = resolved("ntm-copy")
    assert (copy.optimizer, copy.learning_rate, copy.memory_init, copy.batch_size) == ("adam", 1e-3, "constant", 16)
    # Command-line options override the task's defaults.
    custom = resolved("ntm-repeat-copy", "--optimizer", "adam", "--memory-init", "constant", "--batch-size", "8")
    assert (custom.optimizer, custom.learning_rate, custom.memory_init, custom.batch_size) == ("adam", 1e-3, "constant", 8)
