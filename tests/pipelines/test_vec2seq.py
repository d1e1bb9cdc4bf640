"""vec2seq (--quick, in process through the CLI's `main`): outputs, metrics,
the resolved config.json, bad options."""

import json

import numpy as np
import pytest

from kerasrnn.pipelines.__main__ import main


@pytest.mark.parametrize(
    "argv, message",
    [
        (["vec2seq", "--conditioning", "state,fancy"], "`--conditioning` must be one of state, input, both"),
        (["vec2seq", "--sequence-length", "0"], "`--sequence-length` must be a positive integer"),
        (["vec2seq", "--repeats", "0"], "`--repeats` must be a positive integer"),
    ],
)
def test_bad_options_exit_2_with_a_clear_error(argv, message, tmp_path, capsys):
    assert main(argv + ["--output", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()


def test_vec2seq_quick_run(tmp_path):
    out = tmp_path / "v"
    assert main(["vec2seq", "--quick", "--conditioning", "both", "--repeats", "2", "--output", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    scores = metrics["conditioning"]["both"]
    assert metrics["epochs"] == 2 and np.isfinite(scores["final_teacher_forced_loss"])
    assert 0.0 <= scores["free_running_exact_match"] <= scores["free_running_token_accuracy"] <= 1.0
    assert (out / "history_both.csv").exists()
    config = json.loads((out / "config.json").read_text())
    assert config["conditioning"] == ["both"] and config["epochs"] == 2 and config["sequence_length"] == 8


def test_vec2seq_sequence_length_sets_the_generated_length(tmp_path):
    out = tmp_path / "v"
    argv = ["vec2seq", "--quick", "--conditioning", "input", "--repeats", "1", "--epochs", "1",
            "--sequence-length", "3", "--units", "4", "--output", str(out)]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["length"] == 3 and metrics["epochs"] == 1 and list(metrics["conditioning"]) == ["input"]
