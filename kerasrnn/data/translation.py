"""Vocabularies and tf.data batches for sequence-to-sequence (translation) tasks.

Tokenisation, lookup and detokenisation are TensorFlow string ops, so the same
code prepares the training data and runs inside an exported SavedModel.

Every vocabulary starts with the reserved tokens of `kerasrnn.data.ids`
(`PAD_ID`, `START_ID`, `END_ID`, `OOV_ID`: 0 padding, 1 start, 2 end, 3
out-of-vocabulary); unknown characters or words map to `OOV_ID`.

A source is encoded as its first `max_length` tokens followed by the end token
(longer sources are truncated); a target as `[start] + tokens` (decoder input)
and `tokens + [end]` (decoder output).
"""

import collections

import numpy as np
import tensorflow as tf

# The reserved tokens and ids are defined once, in kerasrnn.data.ids; they are
# re-exported here (`translation.END_ID`, `translation.OOV`, ...) for callers.
from kerasrnn.data.ids import END  # noqa: F401
from kerasrnn.data.ids import END_ID
from kerasrnn.data.ids import OOV  # noqa: F401
from kerasrnn.data.ids import OOV_ID
from kerasrnn.data.ids import PAD  # noqa: F401
from kerasrnn.data.ids import PAD_ID  # noqa: F401
from kerasrnn.data.ids import RESERVED_TOKENS as RESERVED
from kerasrnn.data.ids import START  # noqa: F401
from kerasrnn.data.ids import START_ID
from kerasrnn.validation import check_choice

LEVELS = ("char", "word")

# Words: runs of letters/digits/apostrophes; every other non-space character
# is its own token.
_PUNCTUATION = r"([^\w\s'’])"


def tokenize(strings, level):
    """`tf.string` `(batch,)` → `tf.RaggedTensor` of tokens `(batch, None)`."""
    strings = tf.convert_to_tensor(strings, tf.string)
    if level == "char":
        return tf.strings.unicode_split(strings, "UTF-8")
    spaced = tf.strings.regex_replace(strings, _PUNCTUATION, r" \1 ")
    return tf.strings.split(spaced)


def detokenize(tokens, level):
    """`tf.RaggedTensor` of tokens → `tf.string` `(batch,)`."""
    if level == "char":
        return tf.strings.reduce_join(tokens, axis=-1)
    text = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
    text = tf.strings.regex_replace(text, r" ([.,;:!?)\]}”’])", r"\1")
    return tf.strings.regex_replace(text, r"([(\[{“‘]) ", r"\1")


class Vocabulary:
    """Tokens ↔ ids at character or word level, with the reserved ids first.

    Args:
        tokens: The non-reserved tokens, most frequent first.
        level: `"char"` or `"word"`.
    """

    def __init__(self, tokens, level):
        check_choice("level", level, LEVELS)
        tokens = [t for t in tokens if t not in RESERVED]
        self.tokens = list(RESERVED) + tokens
        self.level = level
        self._table = None

    @classmethod
    def build(cls, texts, level, max_size=None, min_count=1):
        """The `max_size` most frequent tokens (seen `min_count` times) of `texts`."""
        counts = collections.Counter()
        for row in tokenize(list(texts), level).to_list():
            counts.update(t.decode("utf-8") for t in row)
        ranked = sorted((t for t, c in counts.items() if c >= min_count),
                        key=lambda t: (-counts[t], t))
        if max_size is not None:
            ranked = ranked[: max(0, max_size - len(RESERVED))]
        return cls(ranked, level)

    def __len__(self):
        return len(self.tokens)

    @property
    def table(self):
        if self._table is None:
            self._table = lookup_table(self.tokens)
        return self._table

    def encode(self, strings, max_length=None, add_start=False, add_end=False):
        """Strings → ragged int32 ids (truncated to `max_length` tokens first)."""
        return encode(self.table, strings, self.level, max_length, add_start, add_end)

    def decode(self, ids, source_tokens=None, attention=None):
        """int ids `(batch, length)` → strings, stopping at the end id (see
        `decode` for the optional unknown-word replacement)."""
        return decode(tf.constant(self.tokens), ids, self.level, source_tokens, attention).numpy()

    def get_config(self):
        return {"tokens": self.tokens[len(RESERVED):], "level": self.level}


def lookup_table(tokens):
    """A token → id hash table; unknown tokens map to `OOV_ID`."""
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(tokens), tf.range(len(tokens), dtype=tf.int64)
        ),
        default_value=OOV_ID,
    )


def encode(table, strings, level, max_length=None, add_start=False, add_end=False):
    """Strings → ragged int32 ids through `table` (`lookup_table`): split
    into words or characters by `level`, cut to `max_length` tokens, then
    `START_ID`/`END_ID` added when asked; unknown tokens become `OOV_ID`."""
    tokens = tokenize(strings, level)
    if max_length is not None:
        tokens = tokens[:, :max_length]
    ids = tf.cast(tf.ragged.map_flat_values(table.lookup, tokens), tf.int32)
    batch = ids.nrows()
    if add_start:
        ids = tf.concat([tf.fill([batch, 1], START_ID), ids], axis=1)
    if add_end:
        ids = tf.concat([ids, tf.fill([batch, 1], END_ID)], axis=1)
    return ids


def decode(token_strings, ids, level, source_tokens=None, attention=None):
    """ids `(batch, length)` → `tf.string` `(batch,)`: tokens before the first
    end id, with padding, start and end dropped (OOV shows as `<unk>`).

    Unknown-word replacement (Luong et al. 2015, "Addressing the Rare Word
    Problem"): with `source_tokens` (`tf.string` `(batch, source_length)`,
    padded with `""`) and the `(batch, length, source_length)` `attention` of
    the search, each OOV output becomes the source token it attended to most
    (it stays `<unk>` when that position holds no token, e.g. the end token).
    """
    ids = tf.cast(ids, tf.int32)
    before_end = tf.math.cumsum(tf.cast(tf.equal(ids, END_ID), tf.int32), axis=1, exclusive=True) == 0
    keep = tf.logical_and(before_end, ids >= OOV_ID)
    tokens = tf.gather(token_strings, ids)
    if (source_tokens is None) != (attention is None):
        raise ValueError("Unknown-word replacement needs both `source_tokens` and `attention`. "
                         f"Received: source_tokens={'set' if source_tokens is not None else None}, "
                         f"attention={'set' if attention is not None else None}")
    if source_tokens is not None:
        source_tokens = tf.convert_to_tensor(source_tokens, tf.string)
        width = tf.shape(attention)[-1]
        pad = tf.maximum(width - tf.shape(source_tokens)[1], 0)
        source_tokens = tf.pad(source_tokens[:, :width], [[0, 0], [0, pad]], constant_values="")
        position = tf.argmax(attention, axis=-1, output_type=tf.int32)
        copied = tf.gather(source_tokens, position, batch_dims=1)
        replace = tf.logical_and(tf.equal(ids, OOV_ID), tf.not_equal(copied, ""))
        tokens = tf.where(replace, copied, tokens)
    return detokenize(tf.ragged.boolean_mask(tokens, keep), level)


def source_tokens(strings, level, max_length=None):
    """`tf.string` `(batch, tokens)` of the (truncated) sources, `""`-padded:
    the `source_tokens` of `decode`'s unknown-word replacement."""
    tokens = tokenize(strings, level)
    if max_length is not None:
        tokens = tokens[:, :max_length]
    return tokens.to_tensor("")


def encode_pairs(sources, targets, source_vocab, target_vocab, max_source_length=None,
                 max_target_length=None):
    """NumPy arrays `(source_ids, target_in_ids, target_out_ids)`, 0-padded."""
    source = source_vocab.encode(sources, max_source_length, add_end=True)
    target = target_vocab.encode(targets, max_target_length)
    target_in = tf.concat([tf.fill([target.nrows(), 1], START_ID), target], axis=1)
    target_out = tf.concat([target, tf.fill([target.nrows(), 1], END_ID)], axis=1)
    return tuple(x.to_tensor(0).numpy().astype(np.int32) for x in (source, target_in, target_out))


def make_dataset(source_ids, target_in_ids, target_out_ids, batch_size, shuffle=False, seed=0):
    """`tf.data` batches `((source_ids, target_in_ids), target_out_ids)`.

    Padding columns that are all zero within a batch are trimmed, so batches of
    short sentences run short loops.
    """
    ds = tf.data.Dataset.from_tensor_slices(((source_ids, target_in_ids), target_out_ids))
    if shuffle:
        ds = ds.shuffle(len(source_ids), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).map(_trim, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def _trim(inputs, target_out):
    source, target_in = inputs
    source_len = tf.reduce_max(tf.reduce_sum(tf.cast(source != 0, tf.int32), axis=1))
    target_len = tf.reduce_max(tf.reduce_sum(tf.cast(target_out != 0, tf.int32), axis=1))
    return (source[:, :source_len], target_in[:, :target_len]), target_out[:, :target_len]
