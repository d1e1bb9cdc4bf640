"""Crash safety: a run killed with SIGKILL mid-training and restarted with
the same command ends exactly like an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time

TIMEOUT = 400


def _command(output):
    return [sys.executable, "-m", "kerasrnn.pipelines", "forecast", "--dataset", "elnino", "--quick", "--epochs", "4",
            "--units", "16", "--batch-size", "8", "--no-sarimax", "--seed", "3", "--output", str(output)]


def _env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")


def _start(output, log):
    return subprocess.Popen(_command(output), stdout=log, stderr=subprocess.STDOUT, env=_env(),
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _finish(process, log_path):
    try:
        process.wait(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = open(log_path).read()
    assert process.returncode == 0, text[-3000:]
    return text


def test_sigkill_and_restart_matches_uninterrupted_run(tmp_path):
    reference_out, resumed_out = tmp_path / "reference", tmp_path / "resumed"
    logs = {name: tmp_path / f"{name}.log" for name in ("reference", "killed", "resumed")}
    with open(logs["reference"], "w") as reference_log, open(logs["killed"], "w") as killed_log:
        reference = _start(reference_out, reference_log)  # runs alongside
        killed = _start(resumed_out, killed_log)
        metadata = resumed_out / "backup" / "training_metadata.json"
        deadline = time.monotonic() + TIMEOUT
        try:
            while not metadata.exists():
                assert killed.poll() is None, open(logs["killed"]).read()[-3000:]
                assert time.monotonic() < deadline, "no backup was written in time"
                time.sleep(0.05)
            os.kill(killed.pid, signal.SIGKILL)
            killed.wait(timeout=60)
        finally:
            if killed.poll() is None:
                killed.kill()
                killed.wait()
        assert killed.returncode == -signal.SIGKILL
        backed_up = json.loads(metadata.read_text())["epoch"]
        assert 1 <= backed_up < 4 and not (resumed_out / "metrics.json").exists()
        with open(logs["resumed"], "w") as resumed_log:
            resumed_text = _finish(_start(resumed_out, resumed_log), logs["resumed"])
        _finish(reference, logs["reference"])

    assert f"at epoch {backed_up + 1}/4" in resumed_text  # resumed, at most one epoch lost
    assert "epoch 1/4 " not in resumed_text
    reference_metrics = json.loads((reference_out / "metrics.json").read_text())
    resumed_metrics = json.loads((resumed_out / "metrics.json").read_text())
    for key in ("model_mae", "model_rmse", "model_mase", "final_loss", "final_val_loss", "epochs"):
        assert resumed_metrics[key] == reference_metrics[key], key
    # history.csv covers every epoch once, the resumed rows equal the reference.
    def rows(path):
        return [line.split(",")[:-1] for line in (path / "history.csv").read_text().splitlines()]

    assert rows(resumed_out) == rows(reference_out) and len(rows(reference_out)) == 5
    assert not (resumed_out / "backup").exists()
