"""The `word2vec` pipeline end to end (`--quick`): gensim training, analogies,
WordSim353, TensorBoard logs, bad options and text files."""

import csv
import json
import os

import numpy as np

from kerasrnn.pipelines.__main__ import main
from tests.helpers import read_metrics


def run_cli(*argv):
    return main(list(argv))


def test_word2vec_quick(tmp_path):
    from kerasrnn.embeddings import load_vectors

    out = str(tmp_path / "w2v")
    assert run_cli("word2vec", "--quick", "--output", out, "--workers", "1") == 0
    metrics = read_metrics(out)
    assert metrics["corpus"] == "lee" and metrics["method"] == "skip-gram"
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    assert all(e["loss"] > 0 and e["words_per_second"] > 0 for e in metrics["epochs"])
    assert metrics["analogy"]["questions"] == 19544 and metrics["analogy"]["answered"] > 0
    assert metrics["wordsim353"]["pairs"] > 0 and np.isfinite(metrics["wordsim353"]["spearman"])
    kv = load_vectors(os.path.join(out, "vectors.txt"))
    assert len(kv) == metrics["vocabulary"] and kv.vector_size == 32
    words = open(os.path.join(out, "projector", "metadata.tsv"), encoding="utf-8").read().splitlines()
    assert words == kv.index_to_key[: len(words)]
    assert np.loadtxt(os.path.join(out, "projector", "vectors.tsv"), delimiter="\t").shape == (len(words), 32)
    assert open(os.path.join(out, "projection.png"), "rb").read(4) == b"\x89PNG"
    with open(os.path.join(out, "history.csv"), encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 2
    assert not os.path.exists(os.path.join(out, "backup"))  # the checkpoint goes once training completes
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    assert (config["epochs"], config["embedding_dim"], config["max_lines"]) == (2, 32, 2000)  # --quick, resolved


def test_word2vec_logdir_progress_and_bad_options(tmp_path, capsys):
    out, logdir = tmp_path / "w2v", tmp_path / "tensorboard"
    argv = ["word2vec", "--quick", "--epochs", "1", "--max-lines", "300", "--output", str(out)]
    assert run_cli(*argv, "--progress", "none", "--logdir", str(logdir)) == 0
    assert "word2vec epoch" not in capsys.readouterr().out  # --progress none: no line per epoch
    import tensorflow as tf

    events = [os.path.join(d, f) for d, _, files in os.walk(logdir) for f in files if "tfevents" in f]
    tags = {value.tag for path in events for event in tf.compat.v1.train.summary_iterator(path)
            for value in event.summary.value}
    assert {"word2vec/loss", "word2vec/words_per_second"} <= tags
    assert run_cli(*argv, "--progress", "bar", "--fresh") == 0
    assert "word2vec epoch 1/1" in capsys.readouterr().out
    for bad, message in ((["--window", "0"], "`--window` must be a positive integer"),
                         (["--corpus", "news"], "`--corpus` must be one of lee, kjv"),
                         (["--words", "australia"], "`--words` must be at least two words of the vocabulary")):
        assert run_cli("word2vec", "--quick", "--output", str(tmp_path / "bad"), *bad) == 2
        assert message in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path / "bad")) == ["config.json"]  # only the run that got to --words wrote


def test_word2vec_corrupt_checkpoint_and_fresh(tmp_path, capsys):
    out = tmp_path / "w2v"
    (out / "backup").mkdir(parents=True)
    (out / "backup" / "progress.json").write_text('{"epoch": 1, "model": "missing.model"}', encoding="utf-8")
    assert run_cli("word2vec", "--quick", "--output", str(out), "--workers", "1") == 2
    assert "--fresh" in capsys.readouterr().err
    assert run_cli("word2vec", "--quick", "--output", str(out), "--workers", "1", "--fresh") == 0
    assert [e["epoch"] for e in read_metrics(str(out))["epochs"]] == [1, 2]


def test_word2vec_bad_text_files(tmp_path, capsys):
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("une critique très élogieuse\n".encode("cp1252"))
    assert run_cli("word2vec", "--quick", "--output", str(tmp_path / "a"), "--text", str(latin)) == 2
    assert "latin1.txt' is not valid utf-8" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    for text in ("", "\n\n"):
        empty.write_text(text)
        assert run_cli("word2vec", "--quick", "--output", str(tmp_path / "b"), "--text", str(empty)) == 2
        error = capsys.readouterr().err.strip().splitlines()
        assert error == [f"error: `--text` {str(empty)!r} contains no words: it is empty or holds only blank lines"]
    rare = tmp_path / "rare.txt"
    rare.write_text("one two three\n\nfour two\n")
    assert run_cli("word2vec", "--quick", "--output", str(tmp_path / "b"), "--text", str(rare)) == 2
    assert (f"error: no word of `--text` {str(rare)!r} occurs --min-count=3 times (5 tokens, the most frequent 2 "
            "times): give more text or a lower --min-count") in capsys.readouterr().err
    assert run_cli("word2vec", "--quick", "--output", str(tmp_path / "b"), "--text", str(rare), "--max-lines", "1",
                   "--min-count", "2") == 2
    assert f"`--text` {str(rare)!r} (its first 1 lines, --max-lines) occurs" in capsys.readouterr().err
    assert run_cli("word2vec", "--quick", "--output", str(tmp_path / "c"), "--text", str(tmp_path / "no.txt")) == 2
    assert "no.txt" in capsys.readouterr().err
