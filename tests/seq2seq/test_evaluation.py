"""kerasrnn.seq2seq.fitting and kerasrnn.seq2seq.evaluation: building a
Seq2Seq from options, batched decoding, scores, heat maps."""

import os

import numpy as np
import pytest

from kerasrnn.data import translation
from kerasrnn.seq2seq import beam_search
from kerasrnn.seq2seq import greedy_search
from kerasrnn.seq2seq import evaluation
from kerasrnn.seq2seq.fitting import build_seq2seq

VOCAB = translation.Vocabulary(list("abcd"), "char")
SOURCES = ["abc", "dd", "a", "cab", "bbbb"]


def _ids():
    return VOCAB.encode(SOURCES, 5, add_end=True).to_tensor().numpy()


@pytest.mark.parametrize("attention, copy", [("luong", False), ("bahdanau", True), ("none", False)])
def test_build_seq2seq_compiles_a_built_model(attention, copy):
    model = build_seq2seq(len(VOCAB), len(VOCAB), units=4, embedding_dim=3, cell="gru", bidirectional=False,
                          attention=attention, copy_attention=copy)
    assert model.built and model.optimizer is not None and model.name == f"seq2seq_{attention}"
    assert (model.decoder.attention is None) == (attention == "none")
    logits = model((_ids(), np.ones((5, 3), "int32")))
    assert tuple(logits.shape) == (5, 3, len(VOCAB))
    with pytest.raises(ValueError, match="`attention` must be one of"):
        build_seq2seq(8, 8, units=4, embedding_dim=3, attention="dot")


def test_batched_search_equals_one_search_over_all_sources():
    model = build_seq2seq(len(VOCAB), len(VOCAB), units=4, embedding_dim=3, attention="luong")
    ids = _ids()
    greedy_ids, attention = evaluation.BatchedSearch(model, 6)(ids, batch_size=2)
    np.testing.assert_array_equal(greedy_ids, np.asarray(greedy_search(model, ids, 6)["ids"]))
    assert len(attention) == len(SOURCES) and attention[0].shape == (6, ids.shape[1])
    beam_ids, _ = evaluation.BatchedSearch(model, 6, beam_width=3, length_penalty=0.6)(ids, batch_size=3)
    expected = np.asarray(beam_search(model, ids, 3, 6, length_penalty=0.6)["ids"])[:, 0]
    np.testing.assert_array_equal(beam_ids, expected)
    strings = evaluation.decode_strings(VOCAB, greedy_ids)
    assert len(strings) == len(SOURCES) and all(isinstance(s, str) for s in strings)
    # With the sources and attention, <unk> outputs become source tokens.
    replaced = evaluation.decode_strings(VOCAB, np.full((1, 2), translation.OOV_ID), ["ab"],
                                         [np.array([[0.1, 0.9, 0.0], [0.8, 0.2, 0.0]])], 5)
    assert replaced == ["ba"]


def test_heatmaps_are_written_for_the_first_examples(tmp_path):
    model = build_seq2seq(len(VOCAB), len(VOCAB), units=4, embedding_dim=3, attention="bahdanau")
    ids = _ids()
    out, attention = evaluation.BatchedSearch(model, 6)(ids)
    names = evaluation.attention_heatmaps(str(tmp_path), "att", SOURCES, VOCAB, VOCAB, ids, out, attention,
                                          count=2)
    assert names == ["att_0.png", "att_1.png"]
    assert all(os.path.getsize(tmp_path / name) > 1000 for name in names)


def test_exact_match_and_accuracy_by_length():
    hits = evaluation.exact_match(["1998-03-03", "2001-01-01", "x"], ["1998-03-03", "2001-01-02", "x"])
    np.testing.assert_array_equal(hits, [1.0, 0.0, 1.0])
    table = evaluation.accuracy_by_length([10, 7, 10], hits)
    assert list(table) == [7, 10]
    assert table == {7: {"accuracy": 0.0, "count": 1}, 10: {"accuracy": 1.0, "count": 2}}


def test_corpus_scores():
    pytest.importorskip("sacrebleu")
    references = ["and he said to them", "the light was good"]
    scores = evaluation.CorpusScores(references)
    perfect = scores(references)
    assert perfect["bleu"] == pytest.approx(100.0) and perfect["chrf"] == pytest.approx(100.0)
    worse = scores(["and he said unto them", "the light, that it was good"])
    assert 0.0 < worse["bleu"] < 100.0 and 0.0 < worse["chrf"] < 100.0
    assert len(scores.signatures) == 2 and all("version" in s for s in scores.signatures)
