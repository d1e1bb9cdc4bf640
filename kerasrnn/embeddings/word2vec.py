"""Training gensim Word2Vec on text tokenized like the Keras model's input.

`train_word2vec` takes token lists, a text file, or a `tf.data` dataset of
strings, tokenizes strings with `kerasrnn.embeddings.tokenize.tokenize` (the
same tokens a kerasrnn `TextVectorization` produces), trains skip-gram or
CBOW with negative sampling, logs each epoch (seconds, words/s, loss) and
returns the `KeyedVectors`.
"""

import itertools
import os
import time

import numpy as np
from gensim.models import KeyedVectors
from gensim.models import Word2Vec
from gensim.models.callbacks import CallbackAny2Vec

from kerasrnn.embeddings.tokenize import read_lines
from kerasrnn.embeddings.tokenize import tokenize
from kerasrnn.validation import check_positive_int

#: gensim's Cython routines truncate longer sentences; longer lines are cut.
MAX_SENTENCE_TOKENS = 10000


class EpochLogger(CallbackAny2Vec):
    """Records (and prints) seconds, words/s and loss of each Word2Vec epoch.

    gensim accumulates the loss (`compute_loss=True`) in one float32 over a
    whole `train()` call, so `get_latest_training_loss()` is cumulative and,
    once large, adding small per-word terms loses precision. This callback
    sets the accumulator to 0 when an epoch begins and reads it when the
    epoch ends: `loss` is that epoch's own sum, `cumulative_loss` the float64
    running total. Caveat (gensim 4.4, word2vec_inner.pyx): each job copies
    the accumulator, adds to it without a lock and writes it back, so with
    `workers > 1` concurrent jobs overwrite each other's sums and the loss is
    under-counted (about half with 2 workers on lee_background); compare
    losses only between runs with the same `workers`, exact with 1.
    Words/s counts the raw corpus words of an epoch (before frequent-word
    down-sampling and `min_count` trimming).

    Args:
        log: Callable taking one line (default `print`); `None` is silent.

    Attributes:
        epochs: One dict per finished epoch: `epoch`, `seconds`,
            `words_per_second`, `loss`, `cumulative_loss`.
    """

    def __init__(self, log=print):
        self.log = log
        self.epochs = []
        self.total_epochs = None  # set when training runs one epoch per `train()` call
        self._start = None

    def on_epoch_begin(self, model):
        model.running_training_loss = 0.0
        self._start = time.perf_counter()

    def on_epoch_end(self, model):
        seconds = time.perf_counter() - self._start
        loss = float(model.get_latest_training_loss())
        previous = self.epochs[-1]["cumulative_loss"] if self.epochs else 0.0
        record = {
            "epoch": len(self.epochs) + 1,
            "seconds": seconds,
            "words_per_second": model.corpus_total_words / max(seconds, 1e-9),
            "loss": loss,
            "cumulative_loss": previous + loss,
        }
        self.epochs.append(record)
        if self.log is not None:
            self.log(
                f"word2vec epoch {record['epoch']}/{self.total_epochs or model.epochs}: {seconds:.2f} s, "
                f"{record['words_per_second']:,.0f} words/s, loss {record['loss']:,.1f}"
            )


def corpus_sentences(corpus, encoding="utf-8"):
    """Returns `corpus` as a list of token lists (the shared tokenizer).

    Args:
        corpus: One of
            * a path (`str` or `os.PathLike`) to a text file, one document
              per line, decoded with `encoding`;
            * a `tf.data.Dataset` of scalar strings;
            * an iterable whose items are strings (tokenized here) or lists
              of tokens (taken as already tokenized).
        encoding: Encoding of a text file.

    Lines longer than `MAX_SENTENCE_TOKENS` tokens are cut into pieces, since
    gensim would silently drop the rest. Empty lines are skipped.
    """
    if isinstance(corpus, (str, os.PathLike)):
        items = read_lines(corpus, encoding)
    elif type(corpus).__module__.startswith("tensorflow") and hasattr(corpus, "as_numpy_iterator"):
        items = (_decode(item) for item in corpus.as_numpy_iterator())
    elif isinstance(corpus, (bytes, np.ndarray)) or not hasattr(corpus, "__iter__"):
        raise ValueError(
            "`corpus` must be a text file path, a tf.data.Dataset of strings or an iterable "
            f"of strings or token lists. Received: corpus of type {type(corpus).__name__}"
        )
    else:
        items = corpus
    sentences = []
    for item in items:
        tokens = tokenize(_decode(item)) if isinstance(item, (str, bytes)) else [str(t) for t in item]
        for start in range(0, len(tokens), MAX_SENTENCE_TOKENS):
            sentences.append(tokens[start : start + MAX_SENTENCE_TOKENS])
    return sentences


def _decode(item):
    if isinstance(item, np.ndarray) and item.shape == ():
        item = item.item()
    if isinstance(item, bytes):
        try:
            return item.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"`corpus` contains a string that is not valid UTF-8 ({error.reason}).") from None
    if not isinstance(item, str):
        raise ValueError(f"`corpus` items must be strings or token lists. Received: {item!r}")
    return item


def train_word2vec(
    corpus,
    sg=1,
    vector_size=100,
    window=5,
    negative=5,
    min_count=5,
    epochs=5,
    workers=2,
    seed=0,
    sample=1e-3,
    encoding="utf-8",
    logger=None,
    checkpoint_dir=None,
):
    """Trains Word2Vec on `corpus` and returns its `KeyedVectors`.

    Args:
        corpus: Text file path, `tf.data.Dataset` of strings, or iterable of
            strings / token lists (see `corpus_sentences`).
        sg: 1 for skip-gram, 0 for CBOW.
        vector_size: Dimension of the vectors.
        window: Maximum distance between the centre and a context word.
        negative: Negative samples per positive one (> 0).
        min_count: Words rarer than this are left out of the vocabulary.
        epochs: Passes over the corpus.
        workers: Training threads. Results are reproducible for a given
            `seed` only with `workers=1` (then bit-identical across processes).
        seed: Seed of the initial vectors and the sampling.
        sample: Down-sampling threshold of frequent words.
        encoding: Encoding of a text file corpus.
        logger: An `EpochLogger` to fill (a printing one if `None`).
        checkpoint_dir: Crash-safe training: the model is saved here after
            every epoch (one `train()` call per epoch, with the learning rate
            decaying linearly over all epochs as in a single call), and a
            run that finds a checkpoint continues after its last epoch — with
            `workers=1`, bit-identical to an uninterrupted run. The directory
            is deleted when training completes. A checkpoint that cannot be
            read raises a `ValueError` saying so.

    Raises:
        ValueError: an empty corpus, no word reaching `min_count`, or an
            invalid hyper-parameter (the message names it).
    """
    for name, value in (
        ("vector_size", vector_size),
        ("window", window),
        ("negative", negative),
        ("min_count", min_count),
        ("epochs", epochs),
        ("workers", workers),
    ):
        check_positive_int(name, value)
    if sg not in (0, 1):
        raise ValueError(f"`sg` must be 1 (skip-gram) or 0 (CBOW). Received: sg={sg!r}")
    sentences = corpus_sentences(corpus, encoding=encoding)
    total = sum(len(s) for s in sentences)
    if total == 0:
        raise ValueError(f"`corpus` contains no tokens. Received: corpus={_describe(corpus)}")
    logger = EpochLogger() if logger is None else logger
    model = Word2Vec(
        vector_size=vector_size,
        window=window,
        min_count=min_count,
        sg=sg,
        negative=negative,
        hs=0,
        sample=sample,
        seed=seed,
        workers=workers,
        epochs=epochs,
        compute_loss=True,
    )
    model.build_vocab(sentences)
    if not model.wv.index_to_key:
        raise ValueError(
            f"No word occurs `min_count` times in the corpus ({total} tokens). "
            f"Received: min_count={min_count}"
        )
    if checkpoint_dir is not None:
        return _train_with_checkpoints(model, sentences, epochs, logger, os.fspath(checkpoint_dir))
    model.train(
        sentences,
        total_examples=model.corpus_count,
        total_words=model.corpus_total_words,
        epochs=epochs,
        compute_loss=True,
        callbacks=[logger],
    )
    return model.wv


def _train_with_checkpoints(model, sentences, epochs, logger, directory):
    import json
    import shutil

    meta_path = os.path.join(directory, "progress.json")
    alpha, min_alpha = model.alpha, model.min_alpha
    first = 0
    if os.path.exists(meta_path):
        try:
            with open(meta_path, encoding="utf-8") as f:
                progress = json.load(f)
            first = int(progress["epoch"])
            model = Word2Vec.load(os.path.join(directory, progress["model"]))
        except Exception as error:  # bad JSON, missing/truncated model file...
            raise ValueError(f"The Word2Vec checkpoint in {directory} cannot be read ({type(error).__name__}: "
                             f"{str(error)[:200]}); delete it or rerun with --fresh to start over") from None
        logger.epochs = list(progress["logger_epochs"])
    logger.total_epochs = epochs
    for epoch in range(first, epochs):
        model.train(
            sentences,
            total_examples=model.corpus_count,
            total_words=model.corpus_total_words,
            epochs=1,
            start_alpha=alpha - (alpha - min_alpha) * epoch / epochs,
            end_alpha=alpha - (alpha - min_alpha) * (epoch + 1) / epochs,
            compute_loss=True,
            callbacks=[logger],
        )
        # The model (with its random state) under a new name, then the
        # progress file that points at it: a kill leaves the last pair whole.
        os.makedirs(directory, exist_ok=True)
        name = f"word2vec-{epoch + 1}.model"
        model.save(os.path.join(directory, name))
        tmp = meta_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"epoch": epoch + 1, "model": name, "logger_epochs": logger.epochs}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, meta_path)
        for old in os.listdir(directory):
            if old.startswith("word2vec-") and not old.startswith(name):
                os.remove(os.path.join(directory, old))
    shutil.rmtree(directory, ignore_errors=True)
    return model.wv


def _describe(corpus):
    return repr(os.fspath(corpus)) if isinstance(corpus, (str, os.PathLike)) else type(corpus).__name__


def save_vectors(keyed_vectors, path):
    """Saves vectors: word2vec text format for `.txt`/`.vec`, binary for
    `.bin`, gensim's native format (with `.npy` side files) otherwise."""
    path = os.fspath(path)
    if path.endswith((".txt", ".vec")):
        keyed_vectors.save_word2vec_format(path, binary=False)
    elif path.endswith(".bin"):
        keyed_vectors.save_word2vec_format(path, binary=True)
    else:
        keyed_vectors.save(path)
    return path


def load_vectors(path):
    """Loads vectors written by `save_vectors` (format from the extension)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"Word vectors not found. Received: path={path!r}")
    if path.endswith((".txt", ".vec")):
        return KeyedVectors.load_word2vec_format(path, binary=False)
    if path.endswith(".bin"):
        return KeyedVectors.load_word2vec_format(path, binary=True)
    return KeyedVectors.load(path)


def export_projector(keyed_vectors, directory, limit=None):
    """Writes `vectors.tsv` and `metadata.tsv` for projector.tensorflow.org
    (or TensorBoard's projector), most frequent words first; returns both paths."""
    os.makedirs(directory, exist_ok=True)
    words = keyed_vectors.index_to_key[:limit]
    vectors = keyed_vectors.vectors[: len(words)]
    vectors_path = os.path.join(directory, "vectors.tsv")
    metadata_path = os.path.join(directory, "metadata.tsv")
    np.savetxt(vectors_path, vectors, delimiter="\t", fmt="%.6g")
    with open(metadata_path, "w", encoding="utf-8") as f:
        f.writelines(f"{word}\n" for word in words)
    return vectors_path, metadata_path


def read_vectors(path, argument="vectors"):
    """`load_vectors` for user-given files: a missing, unreadable or
    malformed vectors file raises `kerasrnn.validation.InputError` (a
    `ValueError`) naming `argument` (e.g. `"--vectors"`), the path and what
    is wrong, instead of gensim's own exception."""
    from kerasrnn.validation import InputError

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"`{argument}` must be an existing word-vectors file. Received: {argument}={path!r} "
                         f"({'a directory' if os.path.isdir(path) else 'no such file'})")
    try:
        vectors = load_vectors(path)
    except Exception as error:  # gensim raises ValueError, UnicodeDecodeError, EOFError, pickle errors...
        problem = _text_vectors_problem(path) if path.endswith((".txt", ".vec")) else None
        if problem is not None:
            line, what = problem
            raise InputError(f"`{argument}` {path!r} line {line}: {what} (word2vec text format: a "
                             "'<count> <dimension>' line, then a word and <dimension> numbers per line)") from None
        formats = "word2vec text (.txt/.vec), word2vec binary (.bin) or gensim KeyedVectors (.kv)"
        raise InputError(f"`{argument}` {path!r} cannot be read as {formats} vectors "
                         f"({type(error).__name__}: {str(error)[:200]})") from None
    if len(vectors) == 0:
        raise InputError(f"`{argument}` {path!r} holds no vectors")
    finite = np.isfinite(vectors.vectors).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        where = f"line {row + 2}" if path.endswith((".txt", ".vec")) else f"row {row}"
        raise InputError(f"`{argument}` {path!r} {where}: the vector of {vectors.index_to_key[row]!r} is not finite "
                         f"({int((~finite).sum())} vector(s) hold NaN or infinity)")
    return vectors


def _text_vectors_problem(path):
    """`(line number, what is wrong)` of the first malformed line of a word2vec
    text file, read as gensim reads it (UTF-8, fields split on single spaces),
    or `None` when this finds nothing wrong. Only called once gensim has failed,
    whose own messages name neither the line nor the word."""
    with open(path, "rb") as f:
        header = f.readline()
        fields = header.split()
        if len(fields) != 2 or not all(field.isdigit() for field in fields) or int(fields[1]) == 0:
            shown = header.decode("utf-8", "replace").rstrip()[:80]
            return 1, f"the header must be '<count> <dimension>' (two integers), found {shown!r}"
        count, dimension = int(fields[0]), int(fields[1])
        rows = 0
        for number, raw in enumerate(itertools.islice(f, count), start=2):
            rows += 1
            try:
                parts = raw.decode("utf-8").rstrip().split(" ")
            except UnicodeDecodeError as error:
                return number, f"not valid UTF-8 ({error.reason} at byte {error.start})"
            values = parts[1:]
            if len(values) != dimension:
                return number, (f"{len(values)} number(s) after the word {parts[0][:40]!r}, "
                                f"but the header's dimension is {dimension}")
            for value in values:
                try:
                    float(value)
                except ValueError:
                    return number, f"{value[:40]!r} (in the vector of {parts[0][:40]!r}) is not a number"
        if rows < count:
            return rows + 2, f"the header promises {count:,} vectors but the file ends after {rows:,}"
    return None


def write_loss_summaries(epochs, logdir, name="word2vec"):
    """Writes each epoch record of an `EpochLogger` (`logger.epochs`) as
    TensorBoard scalars under `logdir`: `{name}/loss`, `{name}/words_per_second`
    and `{name}/seconds`, at step = the epoch number. Returns `logdir`.

    Call it once training has ended (a resumed run's logger holds every
    epoch, the earlier process's too), so the event file has each epoch
    exactly once.
    """
    import tensorflow as tf

    writer = tf.summary.create_file_writer(os.fspath(logdir))
    with writer.as_default():
        for record in epochs:
            for key in ("loss", "words_per_second", "seconds"):
                tf.summary.scalar(f"{name}/{key}", float(record[key]), step=int(record["epoch"]))
    writer.flush()
    writer.close()
    return logdir
