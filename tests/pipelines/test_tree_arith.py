"""tree-arith (--quick, in process through the CLI's `main`): outputs,
metrics, the resolved config.json, bad options."""

import csv
import json

import numpy as np
import pytest

from kerasrnn.pipelines.__main__ import main


def test_tree_arith_quick_run_writes_table_plot_and_metrics(tmp_path):
    out = tmp_path / "run"
    assert main(["tree-arith", "--quick", "--models", "tree-lstm,lstm", "--output", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_depths"] == [1, 2, 3, 4] and metrics["train_depths"] == [1, 2, 3]
    assert set(metrics["models"]) == {"tree-lstm", "lstm"}
    for model in metrics["models"].values():
        accuracy = model["accuracy_by_depth"]
        assert set(accuracy) == {"1", "2", "3", "4"}
        assert all(0.0 <= a <= 1.0 for a in accuracy.values())
        assert np.isfinite(model["train_seconds"]) and model["parameters"] > 0
    rows = list(csv.DictReader(open(out / "accuracy_by_depth.csv")))
    assert [r["depth"] for r in rows] == ["1", "2", "3", "4"] and [r["in_training"] for r in rows] == ["1", "1", "1", "0"]
    assert float(rows[3]["tree-lstm"]) == pytest.approx(metrics["models"]["tree-lstm"]["accuracy_by_depth"]["4"], abs=1e-4)
    assert float(rows[0]["majority"]) == pytest.approx(metrics["majority_by_depth"]["1"], abs=1e-4)
    assert (out / "accuracy_by_depth.png").stat().st_size > 0
    assert len(list(csv.DictReader(open(out / "history_lstm.csv")))) == 2
    config = json.loads((out / "config.json").read_text())
    assert config["models"] == ["tree-lstm", "lstm"] and config["test_depths"] == [1, 2, 3, 4]
    assert (config["epochs"], config["units"], config["train_size"], config["test_size"]) == (2, 8, 256, 32)


def test_tree_arith_depths_are_recorded_sorted_and_once():
    from kerasrnn.pipelines import tree_arith
    from kerasrnn.pipelines.config import resolve

    config = resolve(tree_arith.Config, {"quick": True, "output": "unused", "train_depths": "3,1,1",
                                         "test_depths": "6,2"})
    assert config.train_depths == (1, 3) and config.test_depths == (2, 6)
    assert resolve(tree_arith.Config, {"output": "unused"}).test_depths == tuple(range(1, 9))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["tree-arith", "--models", "tree-rnn,gru"], "`--models` must be one of tree-rnn, tree-lstm, lstm"),
        (["tree-arith", "--models", ","], "`--models` must be a non-empty comma-separated list"),
        (["tree-arith", "--train-depths", "0,1"], "`--train-depths` must be a positive integer"),
        (["tree-arith", "--test-depths", "x"], "`--test-depths` must be an integer"),
        (["tree-arith", "--units", "0"], "`--units` must be a positive integer"),
        (["tree-arith", "--learning-rate", "-1"], "`--learning-rate` must be a positive number"),
    ],
)
def test_bad_options_exit_2_with_a_clear_error(argv, message, tmp_path, capsys):
    assert main(argv + ["--output", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()
