"""The speed benchmark's smoke run: it builds Keras's and kerasrnn's layers on
the same weights, times both paths and writes the report README.md quotes.
Only the structure and self-consistency of the report are checked (timings on
a shared test machine are not a result)."""

import importlib
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _benchmark(name):
    """`benchmarks/<name>.py` as a module (it imports `benchutil` beside it)."""
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(os.path.join(ROOT, "benchmarks"))


def test_rnn_speed_report_of_the_shapes_asked_for(tmp_path, capsys):
    out = tmp_path / "rnn_speed.json"
    args = ["--quick", "--shapes", "6,5,3,8;4,3,2,12", "--cells", "gru", "--policies", "float32", "--jit", "false",
            "--generic", "--output", str(out)]
    assert _benchmark("rnn_speed").main(args) == 0
    stdout = capsys.readouterr().out
    report = json.loads(out.read_text())
    shapes = [(c["cell"], c["batch"], c["timesteps"], c["features"], c["units"]) for c in report["results"]]
    assert shapes == [("gru", 6, 5, 3, 8), ("gru", 4, 3, 2, 12)]
    for case in report["results"]:
        assert case["jit_compile"] is False and case["policy"] == "float32"
        for kind in ("train", "infer"):
            keras_ms, ours_ms = case[f"keras_{kind}_ms"], case[f"ours_{kind}_ms"]
            assert keras_ms > 0 and ours_ms > 0
            assert case[f"{kind}_ratio"] == pytest.approx(ours_ms / keras_ms)
            low, high = case[f"{kind}_ratio_quartiles"]
            assert 0 < low <= high
        assert case["generic_train_ratio"] == pytest.approx(case["ours_generic_train_ms"] / case["keras_train_ms"])
    assert report["steps"] == 3 and report["elapsed_s"] > 0
    if os.path.isdir(os.path.join(ROOT, ".git")):
        assert report["versions"]["commit"]
    assert set(report["gemm_gflops_float32"]) == {"8", "12"}
    # The printed table carries the same ratios ...
    rows = [line for line in stdout.splitlines() if line.startswith("gru")]
    assert [f"{case['train_ratio']:.2f}" in row for case, row in zip(report["results"], rows)] == [True, True]
    # ... and the table file written next to the JSON is the printed table.
    table = (tmp_path / "rnn_speed.txt").read_text()
    assert all(row in table.splitlines() for row in rows) and "GEMM GFLOP/s" in table


def test_paired_ratio_quartiles():
    benchutil = _benchmark("benchutil")
    # Per-round ratios 1..5: quartiles 2 and 4 (numpy's linear interpolation).
    assert benchutil.paired_ratio_quartiles([2, 4, 6, 8, 10], [2, 2, 2, 2, 2]) == (2.0, 4.0)
    assert benchutil.paired_ratio_quartiles([3, 1], [2, 2]) == (0.75, 1.25)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--cells", "lstm,rnn"], "--cells takes a comma-separated list of lstm, gru. Received: ['rnn']"),
        (["--jit", "yes"], "--jit takes a comma-separated list of false, true. Received: ['yes']"),
        (["--shapes", "64,100,64"], "--shapes takes positive B,T,D,H quadruples separated by ';'. Received: '64,100,64'"),
        (["--shapes", "8,10,8,16;8,0,8,16"], "Received: '8,10,8,16;8,0,8,16'"),
    ],
)
def test_rnn_speed_rejects_bad_options(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _benchmark("rnn_speed").main(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_xla_profile_groups_the_operations_of_a_compiled_step():
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "xla_profile.py"), "--cell", "gru", "--shape", "4,6,3,8",
         "--steps", "2", "--top", "30"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0] == "kerasrnn gru (B, T, D, H) = 4,6,3,8, XLA, 2 profiled training steps"
    header = next(i for i, line in enumerate(lines) if line.endswith("operation"))
    # The groups with any time in them (a tiny step may have no stacked-buffer copy).
    groups = {line.rsplit(None, 2)[0].strip(): float(line.split()[-2]) for line in lines[2:header]}
    assert groups and set(groups) <= {"matrix products", "stacked-buffer copies", "other"}
    assert groups["matrix products"] > 0
    table = lines[header + 1 :]
    # The loop's recurrent products run at every step after the first: 5 calls
    # of the same product per training step.
    assert 0 < len(table) <= 30
    assert any(line.split()[-1].lower().startswith("matmul") and float(line.split()[1]) >= 5 for line in table)
    bad = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "xla_profile.py"), "--shape", "4,6,3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "--shape takes four integers B,T,D,H. Received: '4,6,3'" in bad.stderr


def test_learning_quality_report_at_equal_parameter_count(tmp_path, capsys):
    # One of the four tasks (the one with most code of its own: corpus,
    # vocabulary, windows, bits per character), every model; the thresholds
    # of the others are checked below, and the default run covers all four.
    lq = _benchmark("learning_quality")
    out = tmp_path / "learning_quality.json"
    assert lq.main(["--quick", "--tasks", "char_lm_lee", "--output", str(out)]) == 0
    stdout = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["quick"] is True and report["jit_compile"] is False and report["layers"] == 1
    assert list(report["tasks"]) == ["char_lm_lee"]
    table = (tmp_path / "learning_quality.txt").read_text()
    for name, task in report["tasks"].items():
        rows = task["models"]
        assert [r["model"] for r in rows] == list(lq.DEFAULT_MODELS)
        reference = rows[0]["parameters"]
        for r in rows:
            # Equal size: every model within 5 % of the LSTM model's count.
            assert r["parameter_ratio_to_lstm"] == pytest.approx(r["parameters"] / reference)
            assert abs(r["parameter_ratio_to_lstm"] - 1) <= report["parameter_tolerance"] == 0.05
            # Equal time: the steps are the budget over the measured step time.
            assert r["step_ms"] > 0 and len(r["step_ms_samples"]) == report["timing_steps"] == 1
            assert r["steps"] == max(1, int(r["budget_s"] * 1000 // r["step_ms"]))
            assert [h["step"] for h in r["history"]] == [r["steps"]]
            value = r[task["metric"]]
            assert value == r["history"][-1][task["metric"]] and not r["diverged"]
            row = next(line for line in table.splitlines() if line.split()[:3] == [r["model"], str(r["units"]),
                                                                                   f"{r['parameters']:,}"])
            assert row in stdout
        if task["threshold"] is None:
            assert "solved" not in rows[0]
            assert 0 < rows[0]["bits_per_char"] < 10 and task["unigram_bits_per_char"] > 0
        else:
            for r in rows:
                assert r["solved"] == (r["token_accuracy"] >= task["threshold"])


def test_learning_quality_thresholds_and_options(capsys):
    lq = _benchmark("learning_quality")
    adding = lq.Adding(length=4, batch=2, validation=2)
    assert (adding.solved(0.0099), adding.solved(0.01)) == (True, False)
    copy = lq.SelectiveCopy(length=4, tokens=2, vocabulary=3, embedding=2, batch=2, validation=2)
    assert (copy.solved(0.95), copy.solved(0.949)) == (True, False)
    with pytest.raises(SystemExit) as exit_info:
        lq.main(["--tasks", "adding,copy"])
    assert exit_info.value.code == 2 and "--tasks: unknown ['copy']" in capsys.readouterr().err
