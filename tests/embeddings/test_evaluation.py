import numpy as np
import pytest
from gensim.test.utils import datapath

from kerasrnn.embeddings import EpochLogger
from kerasrnn.embeddings import analogy_accuracy
from kerasrnn.embeddings import nearest_neighbours
from kerasrnn.embeddings import train_word2vec
from kerasrnn.embeddings import word_similarity
from kerasrnn.embeddings.evaluation import ANALOGIES_PATH
from kerasrnn.embeddings.evaluation import WORDSIM353_PATH
from kerasrnn.embeddings.plots import pca_2d
from kerasrnn.embeddings.plots import plot_projection


@pytest.fixture(scope="module")
def kv():
    # Small but real: lee_background, 3 epochs, one worker (a few seconds).
    return train_word2vec(
        datapath("lee_background.cor"), vector_size=32, min_count=3, epochs=3, workers=1, seed=0, logger=EpochLogger(None)
    )


def test_analogy_accuracy_matches_gensim(kv):
    ours = analogy_accuracy(kv)
    score, sections = kv.evaluate_word_analogies(ANALOGIES_PATH)
    total = sections[-1]
    assert ours["questions"] == 19544
    assert ours["answered"] == len(total["correct"]) + len(total["incorrect"]) > 100
    assert ours["correct"] == len(total["correct"])
    assert ours["accuracy"] == pytest.approx(score)
    gensim_sections = {s["section"]: len(s["correct"]) for s in sections[:-1]}
    assert {name: s["correct"] for name, s in ours["sections"].items()} == gensim_sections


def test_analogy_on_planted_vectors_is_solved(tmp_path):
    from gensim.models import KeyedVectors

    # king - man + woman = queen by construction; "apple" is the distractor.
    kv = KeyedVectors(3)
    kv.add_vectors(
        ["king", "man", "woman", "queen", "apple"],
        np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 1], [-1, -1, -1]], dtype="float32"),
    )
    path = tmp_path / "questions.txt"
    path.write_text(": test\nman king woman queen\nMAN WOMAN KING QUEEN\nman king woman unknownword\n")
    result = analogy_accuracy(kv, path)
    assert (result["correct"], result["answered"], result["skipped"]) == (2, 2, 1)
    assert result["sections"] == {"test": {"correct": 2, "answered": 2, "accuracy": 1.0}}
    assert kv.evaluate_word_analogies(str(path))[0] == 1.0


def test_word_similarity_matches_gensim(kv):
    ours = word_similarity(kv)
    pearson, spearman, oov_ratio = kv.evaluate_word_pairs(WORDSIM353_PATH)
    assert ours["pairs"] + ours["skipped"] == 353
    assert ours["oov_ratio"] == pytest.approx(oov_ratio)
    # gensim scores pairs one by one in float32; ranks of near-ties may differ.
    assert ours["spearman"] == pytest.approx(spearman.statistic, abs=5e-3)
    assert ours["pearson"] == pytest.approx(pearson.statistic, abs=1e-4)


def test_nearest_neighbours_match_most_similar(kv):
    result = nearest_neighbours(kv, ["government", "notaword"], topn=3)
    assert result["notaword"] is None
    assert [w for w, _ in result["government"]] == [w for w, _ in kv.most_similar("government", topn=3)]


def test_pca_and_projection_plot(kv, tmp_path):
    rng = np.random.default_rng(0)
    points = rng.normal(size=(50, 2)) @ np.array([[3.0, 0, 0, 0], [0, 1.0, 0, 0]]) + 7
    projected = pca_2d(points)
    # The first component carries the larger variance; the projection is centred.
    assert projected[:, 0].var() > projected[:, 1].var()
    np.testing.assert_allclose(projected.mean(axis=0), 0, atol=1e-9)
    path = tmp_path / "projection.png"
    words = plot_projection(kv, ["government", "police", "minister", "notaword"], path)
    assert words == ["government", "police", "minister"]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="two known words"):
        plot_projection(kv, ["notaword"], path)
