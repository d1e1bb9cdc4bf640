"""A trained tagger as a SavedModel from token strings to tag strings.

The SavedModel needs only TensorFlow to load and run (no kerasrnn, no Keras
custom objects): the vocabularies are lookup tables in the graph, and the
decoding (Viterbi through the CRF's transitions, or the argmax) is traced
into it.
"""

import numpy as np
import tensorflow as tf

from kerasrnn.export import write_saved_model
from kerasrnn.tagging.tagger import decode_tags

__all__ = ["StringTagger"]


def _table(keys, name):
    """A string -> id table: `keys[i]` -> i for i >= 2; anything else 1
    (unknown). Ids 0 (padding) and 1 (unknown) are not looked up."""
    keys = list(keys[2:])
    initializer = tf.lookup.KeyValueTensorInitializer(
        tf.constant(keys, tf.string), tf.range(2, len(keys) + 2, dtype=tf.int32))
    return tf.lookup.StaticHashTable(initializer, default_value=1, name=name)


class StringTagger(tf.Module):
    """Token strings in, tag strings out.

    Signatures of the saved module:

    * `tag(tokens: tf.string[batch, T]) -> tf.string[batch, T]`: a batch of
      token lists padded with `""` (padding gets tag `""`); also
      `serving_default`;
    * `tag_ragged(tokens: tf.RaggedTensor of tf.string [batch, None])`: the
      same for a ragged batch, returning a ragged batch of tags (a function of
      the loaded object, not a serving signature).

    A token's characters past `max_word_chars` are ignored, as in training.

    Args:
        model: A `kerasrnn.tagging.build_tagger` model (inputs `words`,
            `chars`; outputs tag scores).
        vocabulary: Its `kerasrnn.tagging.TagVocabulary`.
        max_word_chars: The width of its chars input.
        name: Module name.

    Example:

    >>> StringTagger(model, vocabulary, 20).save("export")
    >>> tf.saved_model.load("export").tag(tf.constant([["Hello", "world", ""]]))
    """

    def __init__(self, model, vocabulary, max_word_chars, name=None):
        super().__init__(name=name)
        self.model = model
        self.max_word_chars = int(max_word_chars)
        self._words = _table(vocabulary.words, "words")
        self._chars = _table(vocabulary.chars, "chars")
        self._tags = tf.constant(list(vocabulary.tags), tf.string)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="tokens")], autograph=False)
    def tag(self, tokens):
        mask = tf.not_equal(tokens, "")
        words = tf.where(mask, self._words.lookup(tokens), 0)
        chars = tf.strings.unicode_split(tokens, "UTF-8")
        char_ids = tf.ragged.map_flat_values(self._chars.lookup, chars)
        shape = tf.concat([tf.shape(tokens), [self.max_word_chars]], axis=0)
        char_ids = char_ids.to_tensor(0, shape=shape)
        scores = self.model({"words": words, "chars": char_ids}, training=False)
        ids = decode_tags(self.model, scores, mask)
        return tf.where(mask, tf.gather(self._tags, ids), "")

    @tf.function(input_signature=[tf.RaggedTensorSpec([None, None], tf.string, ragged_rank=1)], autograph=False)
    def tag_ragged(self, tokens):
        tags = self.tag(tokens.to_tensor(""))
        return tf.RaggedTensor.from_tensor(tags, lengths=tokens.row_lengths())

    def save(self, export_dir, overwrite=True):
        """Writes the SavedModel (`tag` is also `serving_default`)."""
        write_saved_model(self, export_dir, {"serving_default": self.tag, "tag": self.tag}, overwrite)
        return export_dir


def check_export(export_dir, sentences, expected):
    """Loads the SavedModel and tags `sentences` (token tuples) padded and
    ragged; returns how many tags differ from `expected` (tag tuples)."""
    loaded = tf.saved_model.load(export_dir)
    width = max(len(s) for s in sentences)
    padded = np.array([list(s) + [""] * (width - len(s)) for s in sentences], dtype=object)
    served = loaded.tag(tf.constant(padded)).numpy()
    ragged = loaded.tag_ragged(tf.ragged.constant([list(s) for s in sentences])).to_list()
    differences = 0
    for row, ragged_row, tags in zip(served, ragged, expected):
        got = [t.decode("utf-8") for t in row[:len(tags)]]
        differences += sum(g != e for g, e in zip(got, tags))
        differences += sum(g.decode("utf-8") != e for g, e in zip(ragged_row, tags))
    return differences
