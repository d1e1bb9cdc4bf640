"""Character-level text as tf.data: vocabulary, encoding, splits, windows.

The transforms are small functions that return `dataset -> dataset`
callables, to be chained with `tf.data.Dataset.apply`:

>>> text = "hello world"
>>> vocabulary = build_vocabulary(text)
>>> table = lookup_table(vocabulary)
>>> train, validation = split_tail(0.25)
>>> examples = (
...     tf.data.Dataset.from_tensors(text)
...     .apply(encode_chars(table))          # string -> int64 ids
...     .apply(train)                        # first 75% of the ids
...     .apply(windows(4 + 1, shift=4))      # overlapping by one id
...     .apply(next_char_targets())          # (ids[:-1], ids[1:])
... )

Id 0 (`UNKNOWN_CHAR_ID`) is reserved for characters outside the vocabulary
(`UNKNOWN_CHAR`), so a model can read any text; ids `1..len(vocabulary) - 1`
are the characters of the training text in code-point order. This layout is
the character language model's own: it has no padding, start or end ids, and
differs from the token vocabularies of `kerasrnn.data.translation`, whose
reserved ids (`OOV_ID` = 3 among them) are defined in `kerasrnn.data.ids`.
"""

import tensorflow as tf

from kerasrnn.validation import InputError
from kerasrnn.validation import check_fraction
from kerasrnn.validation import check_positive_int

#: Vocabulary entry of id 0, which every unknown character maps to (U+FFFD,
#: the Unicode replacement character).
UNKNOWN_CHAR = "\ufffd"
#: Id of `UNKNOWN_CHAR`: every character outside the vocabulary maps to it.
UNKNOWN_CHAR_ID = 0


def read_text(path, argument="text"):
    """Reads a whole UTF-8 text file; clear errors for missing, empty or
    non-UTF-8 files.

    Args:
        path: File path.
        argument: Name used in error messages (e.g. the command-line option).

    Returns:
        The file's text (`str`). A leading byte-order mark is dropped.

    Raises:
        FileNotFoundError: `path` does not exist.
        kerasrnn.validation.InputError: `path` is a directory, unreadable,
            empty, or not UTF-8 (a `ValueError`).
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"`{argument}`: no such file: {path!r}") from None
    except OSError as error:
        raise InputError(f"`{argument}`: cannot read {path!r}: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"`{argument}`: {path!r} is not UTF-8 text: byte 0x{data[error.start]:02x} at "
            f"offset {error.start} is invalid in UTF-8 ({error.reason}). Convert the file "
            "to UTF-8 first, e.g. `iconv -f cp1252 -t utf-8 IN > OUT`."
        ) from None
    if not text:
        raise InputError(f"`{argument}`: {path!r} is empty.")
    return text


def build_vocabulary(text):
    """The characters of `text`, in code-point order, after `UNKNOWN_CHAR`.

    Args:
        text: A non-empty `str`.

    Returns:
        A list of one-character strings; entry 0 is `UNKNOWN_CHAR`.
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"`text` must be a non-empty string. Received: {type(text).__name__} "
                         f"of length {len(text) if isinstance(text, str) else 'n/a'}")
    return [UNKNOWN_CHAR] + sorted(set(text) - {UNKNOWN_CHAR})


def check_vocabulary(vocabulary):
    """Raises a clear `ValueError` unless `vocabulary` is a list of distinct
    one-character strings starting with `UNKNOWN_CHAR`."""
    vocabulary = list(vocabulary)
    if len(vocabulary) < 2 or vocabulary[0] != UNKNOWN_CHAR:
        raise ValueError(
            f"`vocabulary` must start with UNKNOWN_CHAR ({UNKNOWN_CHAR!r}) followed by at least one "
            f"character. Received: {vocabulary[:5]!r}..."
        )
    bad = [c for c in vocabulary[1:] if not isinstance(c, str) or len(c) != 1]
    if bad:
        raise ValueError(f"`vocabulary` entries must be single characters. Received: {bad[:5]!r}")
    if len(set(vocabulary)) != len(vocabulary):
        raise ValueError("`vocabulary` entries must be distinct.")
    return vocabulary


def lookup_table(vocabulary):
    """A `tf.lookup.StaticHashTable` from character to int64 id; unknown
    characters (and `UNKNOWN_CHAR`) map to `UNKNOWN_CHAR_ID`."""
    vocabulary = check_vocabulary(vocabulary)
    keys = tf.constant(vocabulary[1:], dtype=tf.string)
    values = tf.range(1, len(vocabulary), dtype=tf.int64)
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(keys, values), default_value=UNKNOWN_CHAR_ID
    )


def chars_to_ids(text, table):
    """Ids (int64, shape `(n,)`) of the UTF-8 characters of a scalar string."""
    return table.lookup(tf.strings.unicode_split(text, "UTF-8"))


def ids_to_text(ids, vocabulary):
    """Joins the characters of `ids` (`vocabulary` a list or string tensor)."""
    return tf.strings.reduce_join(tf.gather(vocabulary, ids), axis=-1)


def encode_chars(table):
    """Transform: scalar strings -> int64 character ids (one 1-D tensor each)."""

    def apply(dataset):
        return dataset.map(lambda text: chars_to_ids(text, table))

    return apply


def split_tail(validation_fraction):
    """Two transforms, `(train, validation)`, that keep the head and the tail
    of each 1-D element: the last `floor(n * validation_fraction)` items go
    to validation, the rest to training (so validation is held out from the
    end of the text).
    """
    validation_fraction = check_fraction("validation_fraction", validation_fraction)

    def boundary(ids):
        n = tf.shape(ids, out_type=tf.int64)[0]
        held_out = tf.cast(tf.floor(tf.cast(n, tf.float64) * validation_fraction), tf.int64)
        return n - held_out

    def train(dataset):
        return dataset.map(lambda ids: ids[: boundary(ids)])

    def validation(dataset):
        return dataset.map(lambda ids: ids[boundary(ids):])

    return train, validation


def split_sizes(length, validation_fraction):
    """`(train, validation)` lengths that `split_tail` gives a sequence of
    `length` items (for checks and progress estimates in Python)."""
    held_out = int(length * validation_fraction)
    return length - held_out, held_out


def windows(size, shift=None):
    """Transform: each 1-D element -> its windows of `size` items, starting
    every `shift` items (default `size`); a short tail is dropped, and an
    element shorter than `size` gives no window.
    """
    size = check_positive_int("size", size)
    shift = size if shift is None else check_positive_int("shift", shift)

    def apply(dataset):
        return dataset.flat_map(
            lambda ids: tf.data.Dataset.from_tensor_slices(tf.signal.frame(ids, size, shift))
        )

    return apply


def count_windows(length, size, shift=None):
    """How many windows `windows(size, shift)` makes of `length` items."""
    shift = size if shift is None else shift
    return 0 if length < size else (length - size) // shift + 1


def next_char_targets():
    """Transform: window `w` -> `(w[:-1], w[1:])`, the inputs and the
    next-character targets of a language model."""

    def apply(dataset):
        return dataset.map(lambda w: (w[:-1], w[1:]))

    return apply




def language_model_batches(text, vocabulary, sequence_length, validation_fraction, batch_size, seed):
    """`(epoch_batches, steps_per_epoch, validation)` of a character language
    model, for `kerasrnn.training.fit`.

    The text (its last `validation_fraction` held out) is cut into windows of
    `sequence_length + 1` characters overlapping by one, giving `(ids, next
    ids)` pairs of int32. The training windows are held in memory and each
    epoch visits them in an order that is a function of `(seed, epoch)` only
    (`kerasrnn.training.array_epoch_batches`), so a resumed run sees the
    batches an uninterrupted one would; `validation` is a batched dataset in
    text order.
    """
    from kerasrnn.training import array_epoch_batches

    table = lookup_table(vocabulary)
    train_part, validation_part = split_tail(validation_fraction)
    encoded = tf.data.Dataset.from_tensors(text).apply(encode_chars(table)).cache()
    sizes = split_sizes(len(text), validation_fraction)

    def examples(part, size):
        # flat_map hides the number of windows from Keras; state it.
        count = count_windows(size, sequence_length + 1, sequence_length)
        return (
            encoded.apply(part)
            .apply(windows(sequence_length + 1, shift=sequence_length))
            .apply(tf.data.experimental.assert_cardinality(count))
            .apply(next_char_targets())
            .map(lambda x, y: (tf.cast(x, tf.int32), tf.cast(y, tf.int32)))
            .cache()
        )

    count = count_windows(sizes[0], sequence_length + 1, sequence_length)
    inputs, targets = next(iter(examples(train_part, sizes[0]).batch(count)))  # all windows at once
    epoch_batches, steps = array_epoch_batches((inputs.numpy(), targets.numpy()), batch_size, seed)
    validation = examples(validation_part, sizes[1]).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    return epoch_batches, steps, validation


def tbptt_language_model_datasets(text, vocabulary, train_chars, sequence_length, batch_size):
    """`(train, validation)` of a character language model as consecutive
    stateful batches (`kerasrnn.data.tbptt.tbptt_dataset`): the first
    `train_chars` characters and the rest, each cut into `batch_size`
    streams read `sequence_length` characters at a time."""
    import numpy as np

    from kerasrnn.data.tbptt import tbptt_dataset

    index = {char: i for i, char in enumerate(vocabulary)}
    ids = np.array([index.get(char, UNKNOWN_CHAR_ID) for char in text], dtype="int32")
    return (
        tbptt_dataset(ids[:train_chars], batch_size, sequence_length),
        tbptt_dataset(ids[train_chars:], batch_size, sequence_length),
    )


def unigram_bits_per_char(train_text, validation_text):
    """Cross-entropy in bits per character of `validation_text` under the
    add-one-smoothed character frequencies of `train_text`: the baseline a
    character language model has to beat."""
    import collections
    import math

    counts = collections.Counter(train_text)
    total = len(train_text) + len(set(validation_text) | set(counts))
    bits = sum(-math.log2((counts[c] + 1) / total) for c in validation_text)
    return bits / len(validation_text)
