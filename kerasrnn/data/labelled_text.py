"""Labelled texts for binary classification: a user's CSV file, tensorflow-
datasets' IMDB reviews, and a stratified train/validation split.

Each reader returns `(texts, labels)`: a list of strings and a float32 NumPy
array of 0/1 labels. (gensim's labelled polarity sentences are
`kerasrnn.data.corpora.polarity`.) A file or data set the user has to fix
raises `kerasrnn.validation.InputError` naming it.
"""

import csv
import io
import os

import numpy as np

from kerasrnn.validation import InputError

#: Labels accepted in a CSV file (case-insensitive) and their class.
LABELS = {"0": 0, "1": 1, "neg": 0, "pos": 1, "negative": 0, "positive": 1, "false": 0, "true": 1}


def read_labelled_csv(path, encoding="utf-8", argument="--csv"):
    """`(texts, labels)` from a CSV file whose header names `text` and
    `label` columns (labels: any key of `LABELS`); both classes must occur.
    Errors name `argument`, the file and, for a bad label, its line."""
    from kerasrnn.embeddings.tokenize import read_lines

    try:
        lines = read_lines(path, encoding=encoding)
    except FileNotFoundError:
        raise InputError(f"`{argument}` file not found. Received: {argument}={path!r}") from None
    except ValueError as error:  # not valid in `encoding`
        raise InputError(str(error)) from None
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    if not reader.fieldnames or "text" not in reader.fieldnames or "label" not in reader.fieldnames:
        raise InputError(f"`{argument}` needs a header with `text` and `label` columns. Received: "
                         f"{argument}={path!r} with columns {reader.fieldnames!r}")
    texts, labels = [], []
    for line, row in enumerate(reader, 2):
        label = str(row["label"]).strip().lower()
        if label not in LABELS:
            raise InputError(f"`{argument}` {path!r} line {line}: label must be one of {sorted(LABELS)}. "
                             f"Received: label={row['label']!r}")
        texts.append(row["text"] or "")
        labels.append(LABELS[label])
    if len(set(labels)) < 2:
        raise InputError(f"`{argument}` {path!r} must contain both labels (found {sorted(set(labels))}).")
    return texts, np.asarray(labels, dtype="float32")


def stratified_split(labels, fraction, seed):
    """`(train, validation)` index arrays holding out `fraction` of each
    class (at least one example), shuffled by `seed`."""
    rng = np.random.default_rng(seed)
    train, validation = [], []
    for label in np.unique(labels):
        indices = rng.permutation(np.flatnonzero(labels == label))
        held_out = max(1, int(round(len(indices) * fraction)))
        validation.extend(indices[:held_out])
        train.extend(indices[held_out:])
    return rng.permutation(train), rng.permutation(validation)


def tfds_data_dir(data_dir=None):
    """`data_dir`, else `$TFDS_DATA_DIR`, else `~/tensorflow_datasets`."""
    return os.path.expanduser(data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets")


def load_imdb(data_dir=None, download=False, limit=None):
    """`((train_texts, train_labels), (test_texts, test_labels))` of
    tensorflow-datasets' imdb_reviews; `limit` keeps that many examples of
    each split (a fixed shuffle).

    Without `download` the data must already be prepared in `data_dir`;
    otherwise this raises `InputError` at once, saying how to prepare it
    (tensorflow-datasets would retry the download for minutes without a
    network).
    """
    import tensorflow_datasets as tfds

    where = tfds_data_dir(data_dir)
    try:
        train, test = tfds.load("imdb_reviews", split=["train", "test"], data_dir=where, download=download,
                                as_supervised=True)
    except AssertionError:
        raise InputError(
            f"`--dataset imdb`: tensorflow-datasets' imdb_reviews is not prepared in data_dir={where!r} "
            "(and downloading is off). On a machine with internet run "
            f"`python -c \"import tensorflow_datasets as tfds; tfds.builder('imdb_reviews', "
            f"data_dir='{where}').download_and_prepare()\"` and copy that directory here (then pass "
            "--data-dir), or add --download where there is network. The default --dataset polarity needs "
            "no download."
        ) from None
    return _materialize(train, limit), _materialize(test, limit)


def _materialize(dataset, limit):
    if limit:
        dataset = dataset.shuffle(50000, seed=0).take(limit)
    texts, labels = [], []
    for text, label in dataset.as_numpy_iterator():
        texts.append(text.decode("utf-8", errors="replace"))
        labels.append(int(label))
    return texts, np.asarray(labels, dtype="float32")
