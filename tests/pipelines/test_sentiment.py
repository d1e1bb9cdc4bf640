"""The `sentiment` pipeline end to end (`--quick`): polarity, export, IMDB
(mocked tfds data), `--vectors`, bad input."""

import csv
import json
import os
import time

import numpy as np

from kerasrnn.pipelines.__main__ import main
from tests.helpers import read_metrics
from tests.helpers import load_saved_model_without_kerasrnn


def run_cli(*argv):
    return main(list(argv))


def test_sentiment_quick_polarity_and_export(tmp_path):
    out = str(tmp_path / "sentiment")
    assert run_cli("sentiment", "--quick", "--output", out) == 0
    metrics = read_metrics(out)
    assert metrics["dataset"] == "polarity"
    assert (metrics["train_examples"], metrics["validation_examples"]) == (150, 50)
    assert set(metrics["variants"]) == {"random", "frozen", "finetuned"}
    for variant in metrics["variants"].values():
        assert 0.0 <= variant["final_val_accuracy"]["mean"] <= 1.0
    assert set(metrics["comparisons"]) == {"frozen_minus_random", "finetuned_minus_random"}
    assert 0.0 < metrics["word2vec"]["vocabulary_coverage_mean"] <= 1.0
    assert metrics["export"]["check_max_abs_diff"] < 1e-5
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    assert (config["seeds"], config["epochs"], config["sequence_length"]) == ([0], 1, 32)  # resolved
    with open(os.path.join(out, "history.csv"), encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert "frozen_seed0_val_accuracy" in header
    assert open(os.path.join(out, "val_accuracy.png"), "rb").read(4) == b"\x89PNG"
    # The SavedModel maps strings to probabilities with TensorFlow alone.
    stdout = load_saved_model_without_kerasrnn(
        os.path.join(out, "export"),
        "print(m.serve(tf.constant(['a great , moving film', 'dull and tedious'])).numpy().ravel().tolist())",
    )
    probabilities = json.loads(stdout.strip().splitlines()[-1])
    assert len(probabilities) == 2 and all(0.0 < p < 1.0 for p in probabilities)


def test_sentiment_imdb_missing_fails_fast(tmp_path, capsys):
    start = time.perf_counter()
    code = run_cli("sentiment", "--quick", "--dataset", "imdb", "--data-dir", str(tmp_path / "tfds"), "--output", str(tmp_path / "o"))
    seconds = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 2
    assert "imdb_reviews is not prepared" in err and str(tmp_path / "tfds") in err and "download_and_prepare" in err
    assert seconds < 10, f"took {seconds:.1f} s"


def test_sentiment_imdb_with_mock_data(tmp_path):
    import tensorflow_datasets as tfds

    out = str(tmp_path / "imdb")
    with tfds.testing.mock_data(num_examples=48):
        code = run_cli(
            "sentiment", "--quick", "--dataset", "imdb", "--data-dir", str(tmp_path / "tfds"),
            "--variants", "random,frozen", "--output", out,
        )
    assert code == 0
    metrics = read_metrics(out)
    assert metrics["dataset"] == "imdb"
    assert metrics["train_examples"] == 48 and metrics["validation_examples"] == 48
    assert set(metrics["variants"]) == {"random", "frozen"}


def test_sentiment_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\ngood film,pos\nbad film,maybe\n")
    assert run_cli("sentiment", "--quick", "--csv", str(bad), "--output", str(tmp_path / "a")) == 2
    assert "label='maybe'" in capsys.readouterr().err
    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\ntrès bien,1\nnul,0\n".encode("cp1252"))
    assert run_cli("sentiment", "--quick", "--csv", str(latin), "--output", str(tmp_path / "b")) == 2
    assert "not valid utf-8" in capsys.readouterr().err
    from gensim.models import KeyedVectors

    vectors = KeyedVectors(5)
    vectors.add_vectors(["good", "bad"], np.eye(2, 5, dtype="float32"))
    vectors.save_word2vec_format(str(tmp_path / "v.txt"))
    assert run_cli("sentiment", "--quick", "--vectors", str(tmp_path / "v.txt"), "--output", str(tmp_path / "e")) == 2
    assert "`--embedding-dim` (16) differs from the size of the vectors" in capsys.readouterr().err
    (tmp_path / "broken.bin").write_bytes(b"\x00not vectors")
    assert run_cli("sentiment", "--quick", "--vectors", str(tmp_path / "broken.bin"), "--output",
                   str(tmp_path / "f")) == 2
    assert "`--vectors` " + repr(str(tmp_path / "broken.bin")) + " cannot be read" in capsys.readouterr().err
    rejected = tmp_path / "rejected"
    for bad, message in ((["--seeds", "1,x"], "`--seeds` must be an integer. Received: --seeds='x'"),
                         (["--seeds", "1,1"], "`--seeds` must be distinct seeds. Received: --seeds='1,1'"),
                         (["--variants", "random,glove"], "`--variants` must be one of random, frozen, finetuned. "
                                                          "Received: --variants='glove'"),
                         (["--units", "0"], "`--units` must be a positive integer"),
                         (["--csv", str(bad), "--dataset", "imdb"], "`--dataset` must be left out with --csv")):
        assert run_cli("sentiment", "--quick", "--output", str(rejected), *bad) == 2
        assert message in capsys.readouterr().err
    assert not rejected.exists()  # a rejected command writes nothing


def test_sentiment_config_resolves_defaults():
    from kerasrnn.pipelines import sentiment
    from kerasrnn.pipelines.config import resolve

    quick = resolve(sentiment.Config, {"quick": True})
    assert (quick.seeds, quick.epochs, quick.sequence_length, quick.w2v_corpus) == ((0,), 1, 32, "train")
    default = resolve(sentiment.Config, {})
    assert (default.seeds, default.sequence_length, default.w2v_corpus) == ((0, 1, 2, 3, 4), 64, "train+lee")
    imdb = resolve(sentiment.Config, {"dataset": "imdb", "variants": "random"})
    assert (imdb.sequence_length, imdb.w2v_corpus, imdb.variants) == (256, "train", ("random",))


def test_sentiment_vectors_that_miss_the_data_or_are_malformed_fail_fast(tmp_path, capsys):
    from gensim.models import KeyedVectors

    foreign = KeyedVectors(16)  # --quick's --embedding-dim
    foreign.add_vectors(["FILM", "Gut", "schlecht"], np.ones((3, 16), dtype="float32"))
    foreign.save_word2vec_format(str(tmp_path / "foreign.txt"))
    start = time.perf_counter()
    assert run_cli("sentiment", "--quick", "--vectors", str(tmp_path / "foreign.txt"),
                   "--output", str(tmp_path / "a")) == 2
    seconds = time.perf_counter() - start
    captured = capsys.readouterr()
    error = captured.err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: `--vectors` " + repr(str(tmp_path / "foreign.txt"))), error
    assert "has a vector for none of the" in error[0] and "'FILM', 'Gut', 'schlecht'" in error[0]
    assert "-- random embeddings" not in captured.out  # nothing trained
    assert seconds < 20, f"took {seconds:.1f} s"
    header = "3 16\n"
    row = "good " + " ".join(["0.5"] * 16) + "\n"
    for name, text, message in (
            ("narrow.txt", header + row + "bad 1 2\n", "line 3: 2 number(s) after the word 'bad', but the header's "
                                                      "dimension is 16"),
            ("words.txt", header + row + row.replace(" 0.5", " x", 1), "line 3: 'x' (in the vector of 'good') "
                                                                      "is not a number"),
            ("short.txt", header + row, "line 3: the header promises 3 vectors but the file ends after 1"),
            ("headless.txt", row, "line 1: the header must be '<count> <dimension>'")):
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert run_cli("sentiment", "--quick", "--vectors", str(tmp_path / name), "--output", str(tmp_path / "b")) == 2
        error = capsys.readouterr().err.strip().splitlines()
        assert len(error) == 1 and f"`--vectors` {str(tmp_path / name)!r} {message}" in error[0], error
