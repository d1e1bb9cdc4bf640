"""`Word2VecInitializer`: an embedding matrix aligned with a Keras vocabulary."""

import base64
import collections
import itertools
import numbers
import warnings

import keras
import numpy as np
from keras import ops

from kerasrnn.validation import ArgumentError
from kerasrnn.validation import InputError
from kerasrnn.validation import check_int
from kerasrnn.validation import check_probability

OOV_POLICIES = ("random", "zeros", "mean")

#: Default `min_coverage`: below this share of vocabulary words with a vector,
#: a `CoverageWarning` is issued.
MIN_COVERAGE = 0.5


class CoverageWarning(UserWarning):
    """Fewer vocabulary words than `min_coverage` have a word vector: the
    tokenization of the vocabulary and of the vectors' corpus probably differ
    (case, punctuation, another language), so most rows start random."""


@keras.saving.register_keras_serializable(package="kerasrnn")
class Word2VecInitializer(keras.initializers.Initializer):
    """Initializes an `Embedding` with word vectors, row `i` for vocabulary word `i`.

    The vocabulary is that of a `TextVectorization` or `StringLookup` layer
    (`layer.get_vocabulary()`, or the layer itself). Row by row:

    * the mask token (`""`, index 0 of a `TextVectorization`) gets zeros;
    * the OOV token (`"[UNK]"`) and every word the vectors do not know get the
      `oov` policy: `"random"` (normal, mean 0, the standard deviation of all
      the vectors, from `seed`), `"zeros"`, or `"mean"` (the mean vector);
    * every other word gets its vector.

    The matrix is computed once, in the constructor, with one vectorised
    lookup (well under a second for 100k words); `coverage` reports how many
    words were found. `keyed_vectors` only needs `key_to_index` and
    `vectors` (a gensim `KeyedVectors`).

    Coverage is checked there too, since a vocabulary that does not match the
    vectors would otherwise train on random rows without a word: when no
    word of the vocabulary has a vector (coverage 0: a case mismatch such as
    `"CAT"` vs `"cat"`, another tokenizer, or a `TextVectorization` that was
    never adapted and holds only `""` and `"[UNK]"`) the constructor raises
    `kerasrnn.validation.InputError` (a `ValueError`) naming a few tokens of
    each side; when fewer than `min_coverage` of the words have one, it
    issues a `CoverageWarning` (a `UserWarning`). Tokens must be strings
    (`str` or UTF-8 `bytes`): integer ids are refused.

    Masking: `Embedding(mask_zero=True)` treats id 0 as padding, so row 0
    must be the mask token's: with a `TextVectorization` (or
    `StringLookup(mask_token="")`) it is. A plain list such as
    `["cat", "dog"]` puts "cat" at id 0 and every "cat" would be masked;
    put `""` first (`["", "cat", "dog"]`, ids from 1) or use
    `mask_zero=False`. `word2vec_embedding` and `assign_vectors` refuse that
    combination; an `Embedding` built by hand cannot be checked here.

    Serialization: a `KeyedVectors` object is not JSON, so `get_config()`
    carries the aligned matrix itself (float32, base64, bit-exact) and the
    vocabulary; `from_config` rebuilds an initializer that returns the same
    matrix without gensim or the vectors. A `.keras` file of a model using it
    therefore holds the vectors twice (weights and config); use
    `word2vec_embedding(..., vectors_in_config=False)` to keep only the weights.

    Args:
        keyed_vectors: gensim `KeyedVectors` (or anything with
            `key_to_index` and `vectors`). Not needed when `matrix` is given.
        vocabulary: List of tokens (no duplicates), or a layer with
            `get_vocabulary()`.
        oov: `"random"`, `"zeros"` or `"mean"`: rows of the OOV token and of
            words without a vector.
        seed: Integer seed of the `"random"` rows.
        mask_token: Token whose row is zeros (default `""`).
        oov_token: Token treated as out of vocabulary (default `"[UNK]"`).
        matrix: A ready `(len(vocabulary), dim)` matrix (used by
            `from_config`); then `keyed_vectors` must be `None`.
        min_coverage: A `CoverageWarning` is issued when fewer than this
            fraction of the vocabulary words (mask and OOV tokens left out)
            have a vector (default 0.5); `None` or 0 turns the warning off.
            No coverage at all is an error whatever this is.

    Call arguments:
        shape: Must equal the matrix shape `(len(vocabulary), vector_size)`.
        dtype: Float dtype of the returned tensor.

    Attributes:
        matrix: The float32 NumPy matrix.
        coverage: Dict with `words` (vocabulary minus mask and OOV tokens),
            `found`, `missing`, `fraction` and `missing_examples`.

    Example:

    >>> vectorize = kerasrnn.embeddings.text_vectorization(max_tokens=20000)
    >>> vectorize.adapt(texts)
    >>> init = Word2VecInitializer(kv, vectorize, oov="random", seed=0)
    >>> embedding = keras.layers.Embedding(
    ...     len(init.vocabulary), kv.vector_size,
    ...     embeddings_initializer=init, mask_zero=True, trainable=False)
    """

    def __init__(
        self,
        keyed_vectors=None,
        vocabulary=None,
        oov="random",
        seed=None,
        mask_token="",
        oov_token="[UNK]",
        matrix=None,
        min_coverage=MIN_COVERAGE,
    ):
        if oov not in OOV_POLICIES:
            raise ValueError(f"`oov` must be one of {OOV_POLICIES}. Received: oov={oov!r}")
        if seed is not None:
            seed = check_int("seed", seed)
        if min_coverage is not None:
            min_coverage = check_probability("min_coverage", min_coverage)
        self.min_coverage = min_coverage
        self.keyed_vectors = keyed_vectors
        self.vocabulary = _check_vocabulary(vocabulary)
        self.oov = oov
        self.seed = seed
        self.mask_token = mask_token
        self.oov_token = oov_token
        if (keyed_vectors is None) == (matrix is None):
            raise ValueError("Pass exactly one of `keyed_vectors` and `matrix`.")
        if matrix is not None:
            self.matrix = np.asarray(_decode_matrix(matrix), dtype="float32")
            if self.matrix.ndim != 2 or self.matrix.shape[0] != len(self.vocabulary):
                raise ValueError(
                    f"`matrix` must have one row per vocabulary word ({len(self.vocabulary)}). "
                    f"Received: matrix.shape={self.matrix.shape}"
                )
            self.coverage = None
        else:
            self.matrix, self.coverage = _aligned_matrix(
                keyed_vectors, self.vocabulary, oov, seed, mask_token, oov_token
            )
            _check_coverage(self.coverage, keyed_vectors, self.vocabulary, mask_token, oov_token,
                            min_coverage, oov)

    @property
    def shape(self):
        return self.matrix.shape

    def __call__(self, shape, dtype=None):
        if tuple(shape) != self.matrix.shape:
            raise ValueError(
                f"Word2VecInitializer holds a matrix of shape {self.matrix.shape} "
                f"(vocabulary size, vector size); the weight asks for shape={tuple(shape)}. "
                "The Embedding's input_dim must be the vocabulary size and its output_dim "
                "the vectors' size."
            )
        return ops.convert_to_tensor(self.matrix, dtype=dtype or "float32")

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary": list(self.vocabulary),
            "oov": self.oov,
            "seed": self.seed,
            "mask_token": self.mask_token,
            "oov_token": self.oov_token,
            "matrix": _encode_matrix(self.matrix),
            "min_coverage": self.min_coverage,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_vocabulary(vocabulary):
    if hasattr(vocabulary, "get_vocabulary"):
        vocabulary = vocabulary.get_vocabulary()
    if vocabulary is None or isinstance(vocabulary, (str, bytes)):
        raise ValueError(
            "`vocabulary` must be a list of tokens or a layer with get_vocabulary(). "
            f"Received: vocabulary={vocabulary!r}"
        )
    vocabulary = list(vocabulary)
    if not all(type(t) is str for t in vocabulary):
        numbers_ = [t for t in vocabulary if isinstance(t, numbers.Number)]
        if numbers_:
            # Token ids (or an IntegerLookup's vocabulary) would become "0",
            # "1", ... and match no word vector.
            raise ArgumentError(
                "vocabulary", vocabulary[:5] + (["..."] if len(vocabulary) > 5 else []),
                "a list of string tokens (the words, e.g. `TextVectorization.get_vocabulary()`), "
                f"not numbers such as token ids; it holds {len(numbers_)} number(s)")
        vocabulary = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in vocabulary]
    if not vocabulary:
        raise ValueError("`vocabulary` is empty. Received: vocabulary=[]")
    if len(set(vocabulary)) != len(vocabulary):
        duplicates = [t for t, n in collections.Counter(vocabulary).items() if n > 1]
        raise ValueError(
            f"`vocabulary` has duplicate tokens, so rows cannot be aligned. "
            f"Received: vocabulary with duplicates {duplicates[:10]!r}"
        )
    return vocabulary


def _aligned_matrix(keyed_vectors, vocabulary, oov, seed, mask_token, oov_token):
    vectors = np.asarray(keyed_vectors.vectors, dtype="float32")
    if vectors.ndim != 2 or vectors.shape[0] == 0:
        raise ValueError(f"`keyed_vectors` holds no vectors. Received: shape {vectors.shape}")
    # One C-level pass of dict lookups; special tokens then get no vector.
    lookups = map(keyed_vectors.key_to_index.get, vocabulary, itertools.repeat(-1))
    index = np.fromiter(lookups, dtype=np.int64, count=len(vocabulary))
    special = [i for i, token in enumerate(vocabulary) if token == mask_token or token == oov_token]
    index[special] = -1
    found = index >= 0
    matrix = vectors.take(np.maximum(index, 0), axis=0)  # one gather; missing rows are set below
    missing = ~found
    mask_rows = [i for i in special if vocabulary[i] == mask_token]
    missing[mask_rows] = False
    matrix[mask_rows] = 0.0
    if oov == "zeros":
        matrix[missing] = 0.0
    elif oov == "mean":
        matrix[missing] = vectors.mean(axis=0)
    else:
        rng = np.random.default_rng(seed)
        matrix[missing] = rng.normal(0.0, float(vectors.std()), size=(int(missing.sum()), vectors.shape[1]))
    missing[special] = False
    missing_rows = np.flatnonzero(missing)
    words = len(vocabulary) - len(special)
    coverage = {
        "words": words,
        "found": int(found.sum()),
        "missing": len(missing_rows),
        "fraction": float(found.sum()) / words if words else 0.0,
        "missing_examples": [vocabulary[i] for i in missing_rows[:10]],
    }
    return matrix, coverage


def _check_mask_row(vocabulary, mask_token):
    """With `mask_zero=True`, id 0 is padding: it must be the mask token."""
    if vocabulary[0] != mask_token:
        raise ArgumentError(
            "vocabulary", vocabulary[:3] + (["..."] if len(vocabulary) > 3 else []),
            f"a vocabulary with the mask token {mask_token!r} at id 0 when `mask_zero=True` "
            f"(id 0 is padding, so every {vocabulary[0]!r} would be masked): put {mask_token!r} first "
            "and number the words from 1, as TextVectorization and StringLookup(mask_token=\"\") do, "
            "or pass mask_zero=False")


def _preview(tokens, count=5):
    """The first `count` tokens, then how many more (for messages)."""
    shown = ", ".join(repr(t) for t in itertools.islice(tokens, count))
    return f"[{shown}{f', ... ({len(tokens) - count:,} more)' if len(tokens) > count else ''}]"


def _check_coverage(coverage, keyed_vectors, vocabulary, mask_token, oov_token, min_coverage, oov):
    words = [t for t in vocabulary if t != mask_token and t != oov_token]
    keys = getattr(keyed_vectors, "index_to_key", None) or keyed_vectors.key_to_index
    sides = f"`vocabulary` {_preview(vocabulary)}, `keyed_vectors` {_preview(keys)}"
    if not words:
        raise InputError(
            f"`vocabulary` holds only the mask and OOV tokens, no word to give a vector to ({sides}). "
            "A TextVectorization or StringLookup must be adapted (or given a vocabulary) first.")
    if coverage["found"] == 0:
        hint = ""
        lower = {str(k).lower() for k in keys}
        if any(w.lower() in lower for w in words):
            hint = (" The tokens differ in case only: lower-case one side (kerasrnn's `tokenize` and "
                    "`text_vectorization` lower-case).")
        raise InputError(
            f"No word of `vocabulary` has a vector in `keyed_vectors` (coverage 0 of {len(words):,} "
            f"words): the embedding would be random rows. {sides}.{hint}")
    if min_coverage and coverage["fraction"] < min_coverage:
        warnings.warn(
            f"Only {coverage['found']:,} of {coverage['words']:,} vocabulary words "
            f"({coverage['fraction']:.1%}) have a vector in `keyed_vectors`, below min_coverage="
            f"{min_coverage:g}; the others start {'random' if oov == 'random' else f'as oov={oov!r}'}. "
            f"Missing e.g. {_preview(coverage['missing_examples'])}; vectors e.g. {_preview(keys)}. "
            "Check that both sides are tokenized alike, or pass min_coverage=None.",
            CoverageWarning, stacklevel=3)


def _encode_matrix(matrix):
    data = np.ascontiguousarray(matrix, dtype="<f4")
    return {"shape": list(data.shape), "dtype": "float32", "base64": base64.b64encode(data.tobytes()).decode("ascii")}


def _decode_matrix(matrix):
    if isinstance(matrix, dict):
        data = np.frombuffer(base64.b64decode(matrix["base64"]), dtype="<f4")
        return data.reshape(matrix["shape"])
    return matrix


def word2vec_embedding(
    keyed_vectors,
    vocabulary,
    trainable=True,
    mask_zero=True,
    oov="random",
    seed=None,
    vectors_in_config=True,
    name=None,
    min_coverage=MIN_COVERAGE,
):
    """A `keras.layers.Embedding` initialized from word vectors.

    Args:
        keyed_vectors: gensim `KeyedVectors`.
        vocabulary: Token list or `TextVectorization`/`StringLookup` layer.
        trainable: `False` freezes the vectors; `True` fine-tunes them.
        mask_zero: Mask index 0 (the padding of a `TextVectorization`).
            Then `vocabulary[0]` must be the mask token `""`: a word there
            would be masked wherever it occurs, so that raises
            `ArgumentError`.
        oov, seed, min_coverage: As for `Word2VecInitializer` (no word with a
            vector raises `InputError`; coverage below `min_coverage` warns).
        vectors_in_config: With `True` the layer's initializer is the
            `Word2VecInitializer` (its config carries the matrix, so a clone
            from config has the vectors too). With `False` the layer is built
            at once, the vectors are assigned as its weights and its config
            names a `"zeros"` initializer: the weights (and a `.keras` file)
            still hold the vectors, the config stays small.

    Returns:
        The `Embedding`, with the initializer as `layer.word2vec_initializer`
        (its `coverage` says how many words had a vector).
    """
    vocabulary = _check_vocabulary(vocabulary)
    if mask_zero:
        _check_mask_row(vocabulary, "")
    init = Word2VecInitializer(keyed_vectors, vocabulary, oov=oov, seed=seed, min_coverage=min_coverage)
    rows, dim = init.shape
    layer = keras.layers.Embedding(
        rows,
        dim,
        embeddings_initializer=init if vectors_in_config else "zeros",
        mask_zero=mask_zero,
        trainable=trainable,
        name=name,
    )
    if not vectors_in_config:
        assign_vectors(layer, init)
    layer.word2vec_initializer = init
    return layer


def assign_vectors(embedding, initializer):
    """Writes a `Word2VecInitializer`'s matrix into an existing `Embedding`.

    Raises:
        ValueError: the layer's `input_dim`/`output_dim` differ from the
            vocabulary size / vector size, or the layer has `mask_zero=True`
            and row 0 is a word rather than the mask token.
    """
    if getattr(embedding, "mask_zero", False):
        _check_mask_row(initializer.vocabulary, initializer.mask_token)
    expected = (embedding.input_dim, embedding.output_dim)
    if expected != initializer.shape:
        raise ValueError(
            f"The Embedding {embedding.name!r} has (input_dim, output_dim)={expected} but the "
            f"vectors give (vocabulary size, vector size)={initializer.shape}."
        )
    if not embedding.built:
        embedding.build((None,))
    embedding.embeddings.assign(initializer.matrix)
    return embedding
