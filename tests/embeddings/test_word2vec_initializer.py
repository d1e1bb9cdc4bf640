import os

import keras
import numpy as np
import pytest
from gensim.models import KeyedVectors

from kerasrnn.embeddings import CoverageWarning
from kerasrnn.embeddings import Word2VecInitializer
from kerasrnn.embeddings import assign_vectors
from kerasrnn.embeddings import text_vectorization
from kerasrnn.embeddings import word2vec_embedding
from kerasrnn.layers import LSTM
from tests.helpers import assert_close

DIM = 4
WORDS = ["the", "movie", "was", "great", "bad"]


@pytest.fixture
def kv():
    vectors = KeyedVectors(DIM)
    rng = np.random.default_rng(0)
    vectors.add_vectors(WORDS, rng.normal(size=(len(WORDS), DIM)).astype("float32"))
    return vectors


@pytest.fixture
def vectorize():
    layer = text_vectorization(output_sequence_length=5)
    # "plot" and "boring" have no vector; "[UNK]" and "" are special.
    layer.set_vocabulary(["the", "movie", "plot", "great", "boring", "bad"])
    return layer


def test_rows_align_with_text_vectorization_vocabulary(kv, vectorize):
    vocabulary = vectorize.get_vocabulary()
    assert vocabulary[:2] == ["", "[UNK]"]
    for oov in ("random", "zeros", "mean"):
        init = Word2VecInitializer(kv, vectorize, oov=oov, seed=3)
        matrix = np.asarray(init((len(vocabulary), DIM)))
        assert matrix.shape == (8, DIM)
        np.testing.assert_array_equal(matrix[0], 0.0)  # padding
        for i, token in enumerate(vocabulary):
            if token in kv.key_to_index:
                np.testing.assert_array_equal(matrix[i], kv[token], err_msg=token)
        oov_rows = [vocabulary.index(t) for t in ("[UNK]", "plot", "boring")]
        if oov == "zeros":
            np.testing.assert_array_equal(matrix[oov_rows], 0.0)
        elif oov == "mean":
            for row in oov_rows:
                assert_close(matrix[row], kv.vectors.mean(axis=0))
        else:
            assert np.all(matrix[oov_rows] != 0.0)
            assert len({tuple(matrix[r]) for r in oov_rows}) == 3
            again = Word2VecInitializer(kv, vectorize, oov=oov, seed=3).matrix
            np.testing.assert_array_equal(again, matrix)
        assert init.coverage == {
            "words": 6,
            "found": 4,
            "missing": 2,
            "fraction": 4 / 6,
            "missing_examples": ["plot", "boring"],
        }


def test_ids_from_text_select_the_word_vectors(kv, vectorize):
    embedding = word2vec_embedding(kv, vectorize, trainable=False, oov="zeros")
    ids = vectorize(["The movie was GREAT!"])
    out = np.asarray(embedding(ids))[0]
    np.testing.assert_array_equal(out[0], kv["the"])
    np.testing.assert_array_equal(out[1], kv["movie"])
    np.testing.assert_array_equal(out[2], 0.0)  # "was" is not in the vocabulary: [UNK]
    np.testing.assert_array_equal(out[3], kv["great"])
    np.testing.assert_array_equal(out[4], 0.0)  # padding
    assert np.asarray(embedding.compute_mask(ids)).tolist() == [[True, True, True, True, False]]
    assert not embedding.trainable


def test_string_lookup_vocabulary_without_mask(kv):
    lookup = keras.layers.StringLookup(vocabulary=["movie", "plot"])
    init = Word2VecInitializer(kv, lookup, oov="zeros")
    assert init.vocabulary == ["[UNK]", "movie", "plot"]
    np.testing.assert_array_equal(init.matrix, np.stack([np.zeros(DIM), kv["movie"], np.zeros(DIM)]))


def test_config_round_trip_is_exact(kv, vectorize):
    init = Word2VecInitializer(kv, vectorize, oov="random", seed=1)
    config = init.get_config()
    clone = Word2VecInitializer.from_config(keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(init)).get_config())
    assert clone.get_config() == config
    np.testing.assert_array_equal(clone.matrix, init.matrix)
    restored = keras.initializers.deserialize(keras.initializers.serialize(init))
    assert isinstance(restored, Word2VecInitializer)
    np.testing.assert_array_equal(restored.matrix, init.matrix)


def test_bad_input(kv, vectorize):
    with pytest.raises(ValueError, match=r"`vocabulary` has duplicate tokens.*'movie'"):
        Word2VecInitializer(kv, ["", "[UNK]", "movie", "bad", "movie"])
    with pytest.raises(ValueError, match="`vocabulary` is empty"):
        Word2VecInitializer(kv, [])
    with pytest.raises(ValueError, match="oov='unk'"):
        Word2VecInitializer(kv, vectorize, oov="unk")
    init = Word2VecInitializer(kv, vectorize)
    with pytest.raises(ValueError, match=r"shape=\(8, 16\)"):
        keras.layers.Embedding(8, 16, embeddings_initializer=init).build((None,))
    with pytest.raises(ValueError, match=r"output_dim\)=\(8, 16\).*\(8, 4\)"):
        assign_vectors(keras.layers.Embedding(8, 16), init)


def test_assign_vectors_to_existing_embedding(kv, vectorize):
    init = Word2VecInitializer(kv, vectorize, seed=0)
    layer = assign_vectors(keras.layers.Embedding(8, DIM, mask_zero=True), init)
    np.testing.assert_array_equal(np.asarray(layer.embeddings), init.matrix)


def make_model(kv, vectorize, vectors_in_config):
    text = keras.Input(shape=(), dtype="string")
    ids = vectorize(text)
    x = word2vec_embedding(kv, vectorize, trainable=True, seed=0, vectors_in_config=vectors_in_config)(ids)
    x = keras.layers.Bidirectional(LSTM(3))(x)
    return keras.Model(text, keras.layers.Dense(1, activation="sigmoid")(x))


@pytest.mark.parametrize("vectors_in_config", [True, False])
def test_model_saves_and_reloads_keras_and_savedmodel(kv, vectorize, vectors_in_config, tmp_path):
    import tensorflow as tf

    model = make_model(kv, vectorize, vectors_in_config)
    texts = np.array(["the movie was great", "bad plot", "boring boring"], dtype=object)
    model.compile("adam", "binary_crossentropy")
    model.fit(texts, np.array([1.0, 0.0, 0.0]), epochs=1, verbose=0)  # fine-tunes the vectors
    expected = model.predict(texts, verbose=0)
    weights = model.get_weights()

    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    for a, b in zip(reloaded.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    assert_close(reloaded.predict(texts, verbose=0), expected)
    embedding = [layer for layer in reloaded.layers if isinstance(layer, keras.layers.Embedding)][0]
    kind = "Word2VecInitializer" if vectors_in_config else "Zeros"
    assert type(embedding.embeddings_initializer).__name__ == kind

    export = os.path.join(tmp_path, "export")
    model.export(export, verbose=False)
    loaded = tf.saved_model.load(export)  # keep a reference while serving
    served = loaded.serve(tf.constant(texts.astype(str)))
    assert_close(served, expected)
    # The exported embedding matrix is the (fine-tuned) one, bit for bit.
    matrix = [w for w in weights if w.shape == (8, DIM)]
    exported = [v.numpy() for v in loaded.variables if tuple(v.shape) == (8, DIM)]
    assert len(matrix) == len(exported) == 1
    np.testing.assert_array_equal(exported[0], matrix[0])


def test_package_import_registers_initializer_without_gensim():
    from tests.helpers import run_python

    result = run_python(
        """
        import sys
        import keras
        import kerasrnn.embeddings
        assert "gensim" not in sys.modules, "kerasrnn.embeddings imported gensim"
        assert keras.saving.get_registered_object("kerasrnn>Word2VecInitializer") is kerasrnn.embeddings.Word2VecInitializer
        from kerasrnn.embeddings import train_word2vec  # lazy: imports gensim now
        assert "gensim" in sys.modules
        print("ok")
        """
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]


def test_no_coverage_is_an_error_naming_both_sides(kv):
    from kerasrnn.validation import InputError

    with pytest.raises(InputError, match=r"No word of `vocabulary`.*coverage 0 of 2.*'CAT'.*'the'.*case only"):
        Word2VecInitializer(kv, ["CAT", "MOVIE"])  # "movie" is known, "MOVIE" is not
    with pytest.raises(InputError, match=r"coverage 0 of 3.*'plot', 'boring', 'film'.*'the', 'movie'") as caught:
        word2vec_embedding(kv, ["", "plot", "boring", "film"])
    assert "case only" not in str(caught.value)
    with pytest.raises(InputError, match=r"only the mask and OOV tokens.*\['', '\[UNK\]'\].*adapted"):
        word2vec_embedding(kv, text_vectorization())  # never adapted
    with pytest.raises(ValueError, match=r"`vocabulary` must be a list of string tokens.*vocabulary=\[0, 1, 2\]"):
        Word2VecInitializer(kv, [0, 1, 2])
    with pytest.raises(ValueError, match=r"vocabulary=\['', 'movie', 3, 4, 5, '...'\]"):
        Word2VecInitializer(kv, ["", "movie", 3, 4, 5, 6])


def test_low_coverage_warns_unless_turned_off(kv):
    import warnings

    vocabulary = ["", "[UNK]", "movie", "plot", "boring", "film"]  # 1 of 4 words known
    with pytest.warns(CoverageWarning, match=r"Only 1 of 4 vocabulary words \(25.0%\).*min_coverage=0.5") as caught:
        init = Word2VecInitializer(kv, vocabulary, seed=0)
    assert issubclass(CoverageWarning, UserWarning) and caught[0].filename == __file__
    assert init.coverage["fraction"] == 0.25
    with pytest.warns(CoverageWarning, match="below min_coverage=0.9"):
        word2vec_embedding(kv, ["", "the", "movie", "was", "plot"], min_coverage=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Word2VecInitializer(kv, vocabulary, min_coverage=None)
        Word2VecInitializer(kv, vocabulary, min_coverage=0.2)
        word2vec_embedding(kv, vocabulary, min_coverage=0)
    with pytest.raises(ValueError, match="min_coverage=2"):
        Word2VecInitializer(kv, vocabulary, min_coverage=2)


def test_mask_zero_refuses_a_word_at_id_0(kv):
    # ["movie", "bad"] would put "movie"'s vector at id 0: masked as padding.
    with pytest.raises(ValueError, match=r"mask token '' at id 0.*every 'movie' would be masked.*mask_zero=False"):
        word2vec_embedding(kv, ["movie", "bad"])
    init = Word2VecInitializer(kv, ["movie", "bad"])
    with pytest.raises(ValueError, match=r"every 'movie' would be masked"):
        assign_vectors(keras.layers.Embedding(2, DIM, mask_zero=True), init)
    with pytest.raises(ValueError, match=r"every '\[UNK\]' would be masked"):
        word2vec_embedding(kv, keras.layers.StringLookup(vocabulary=["movie", "bad"]))
    # The two ways out: padding first, or no mask.
    embedding = word2vec_embedding(kv, ["", "movie", "bad"], oov="zeros")
    assert np.asarray(embedding.compute_mask(np.array([[1, 2, 0]]))).tolist() == [[True, True, False]]
    np.testing.assert_array_equal(np.asarray(embedding(np.array([[1]])))[0, 0], kv["movie"])
    assert word2vec_embedding(kv, ["movie", "bad"], mask_zero=False).compute_mask(np.array([[0]])) is None
    assign_vectors(keras.layers.Embedding(2, DIM), init)
