import numpy as np
import pytest
import tensorflow as tf

from kerasrnn.embeddings import EpochLogger
from kerasrnn.embeddings import corpus_sentences
from kerasrnn.embeddings import export_projector
from kerasrnn.embeddings import load_vectors
from kerasrnn.embeddings import save_vectors
from kerasrnn.embeddings import tokenize
from kerasrnn.embeddings import train_word2vec

TEXTS = ["The cat sat on the mat.", "The dog sat on the log!", "A cat, a dog; the end."] * 20


def test_corpus_forms_give_the_same_sentences(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(TEXTS) + "\n\n", encoding="utf-8")
    expected = [tokenize(t) for t in TEXTS]
    assert corpus_sentences(TEXTS) == expected
    assert corpus_sentences(str(path)) == expected  # the blank line gives no sentence
    assert corpus_sentences(path) == expected
    assert corpus_sentences(tf.data.Dataset.from_tensor_slices(TEXTS)) == expected
    assert corpus_sentences([["already", "split"]]) == [["already", "split"]]


def test_long_lines_are_cut_not_truncated():
    sentences = corpus_sentences([" ".join(["w"] * 25000)])
    assert [len(s) for s in sentences] == [10000, 10000, 5000]


@pytest.mark.parametrize("sg", [0, 1])
def test_train_logs_each_epoch_and_returns_vectors(sg):
    lines = []
    logger = EpochLogger(log=lines.append)
    kv = train_word2vec(TEXTS, sg=sg, vector_size=8, min_count=1, epochs=3, workers=1, seed=1, logger=logger)
    assert kv.vector_size == 8
    assert set(kv.index_to_key) == {t for text in TEXTS for t in tokenize(text)}
    assert [r["epoch"] for r in logger.epochs] == [1, 2, 3] and len(lines) == 3
    assert "words/s" in lines[0] and "loss" in lines[0]
    for record in logger.epochs:
        assert record["loss"] > 0 and record["words_per_second"] > 0
    # Per-epoch losses are differences of gensim's cumulative reading.
    np.testing.assert_allclose(
        np.cumsum([r["loss"] for r in logger.epochs]), [r["cumulative_loss"] for r in logger.epochs], rtol=1e-6
    )


def test_same_seed_one_worker_is_reproducible():
    a = train_word2vec(TEXTS, vector_size=8, min_count=1, epochs=2, workers=1, seed=5, logger=EpochLogger(None))
    b = train_word2vec(TEXTS, vector_size=8, min_count=1, epochs=2, workers=1, seed=5, logger=EpochLogger(None))
    np.testing.assert_array_equal(a.vectors, b.vectors)


def test_bad_corpus_and_arguments(tmp_path):
    quiet = EpochLogger(None)
    with pytest.raises(ValueError, match="`corpus` contains no tokens"):
        train_word2vec(["", "  ", "?!"], logger=quiet)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="no tokens.*empty.txt"):
        train_word2vec(empty, logger=quiet)
    with pytest.raises(ValueError, match="min_count=1000"):
        train_word2vec(TEXTS, min_count=1000, logger=quiet)
    with pytest.raises(ValueError, match="vector_size=0"):
        train_word2vec(TEXTS, vector_size=0, logger=quiet)
    with pytest.raises(ValueError, match="sg=2"):
        train_word2vec(TEXTS, sg=2, logger=quiet)
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        train_word2vec(str(tmp_path / "nope.txt"), logger=quiet)
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("café crème\n".encode("cp1252"))
    with pytest.raises(ValueError, match=r"latin1.txt' is not valid utf-8.*b'\\xe9'"):
        train_word2vec(latin, logger=quiet)
    assert corpus_sentences(latin, encoding="cp1252") == [["café", "crème"]]
    with pytest.raises(ValueError, match="`corpus` must be"):
        train_word2vec(42, logger=quiet)


@pytest.mark.parametrize("name", ["vectors.txt", "vectors.bin", "vectors.kv"])
def test_save_load_round_trip(name, tmp_path):
    kv = train_word2vec(TEXTS, vector_size=8, min_count=1, epochs=1, workers=1, logger=EpochLogger(None))
    loaded = load_vectors(save_vectors(kv, tmp_path / name))
    assert loaded.index_to_key == kv.index_to_key
    atol = 1e-5 if name.endswith(".txt") else 0  # the text format prints 6 digits
    np.testing.assert_allclose(loaded.vectors, kv.vectors, atol=atol, rtol=0)
    with pytest.raises(FileNotFoundError, match="missing.kv"):
        load_vectors(tmp_path / "missing.kv")


def test_projector_files(tmp_path):
    kv = train_word2vec(TEXTS, vector_size=8, min_count=1, epochs=1, workers=1, logger=EpochLogger(None))
    vectors_path, metadata_path = export_projector(kv, tmp_path / "projector", limit=5)
    vectors = np.loadtxt(vectors_path, delimiter="\t")
    words = open(metadata_path, encoding="utf-8").read().splitlines()
    assert vectors.shape == (5, 8) and words == kv.index_to_key[:5]
    np.testing.assert_allclose(vectors, kv.vectors[:5], atol=1e-5)


class _Crash(Exception):
    pass


class _CrashingLogger(EpochLogger):
    """Raises when epoch `at` ends (before its checkpoint is written)."""

    def __init__(self, at):
        super().__init__(log=None)
        self.at = at

    def on_epoch_end(self, model):
        super().on_epoch_end(model)
        if len(self.epochs) == self.at:
            raise _Crash()


def test_checkpointed_training_resumes_bit_identically(tmp_path):
    kwargs = dict(vector_size=8, min_count=1, epochs=4, workers=1, seed=3)
    whole = EpochLogger(None)
    expected = train_word2vec(TEXTS, logger=whole, checkpoint_dir=tmp_path / "a", **kwargs)
    assert not (tmp_path / "a").exists()  # removed once training completes
    with pytest.raises(_Crash):
        train_word2vec(TEXTS, logger=_CrashingLogger(at=3), checkpoint_dir=tmp_path / "b", **kwargs)
    assert (tmp_path / "b" / "progress.json").exists()  # epochs 1-2 saved; epoch 3 lost
    resumed_logger = EpochLogger(None)
    resumed = train_word2vec(TEXTS, logger=resumed_logger, checkpoint_dir=tmp_path / "b", **kwargs)
    np.testing.assert_array_equal(resumed.vectors, expected.vectors)
    assert [r["epoch"] for r in resumed_logger.epochs] == [1, 2, 3, 4]
    assert [r["loss"] for r in resumed_logger.epochs] == [r["loss"] for r in whole.epochs]
    # Epoch by epoch, the learning rate decays as in one call: close to it.
    single = train_word2vec(TEXTS, logger=EpochLogger(None), **kwargs)
    np.testing.assert_allclose(single.vectors, expected.vectors, atol=0.05)


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "progress.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot be read.*--fresh"):
        train_word2vec(TEXTS, vector_size=8, min_count=1, epochs=2, workers=1, logger=EpochLogger(None),
                       checkpoint_dir=tmp_path)
