"""The BiLSTM(-CRF) tagger of Huang et al. (2015) and Lample et al. (2016):
vocabularies, encoding, the model, its loss and decoding.

The tagger reads each token twice: its word id (an `Embedding`, optionally
initialised from Word2Vec) and its characters (`CharEncoder`: a character
CNN or BiLSTM per word, so unseen words still get a representation), then a
bidirectional (or forward-only) kerasrnn LSTM and per-step tag scores, with
a softmax or a `kerasrnn.layers.CRF` on top.

Ids: words and characters reserve 0 for padding and 1 for unknown; tags
are indices of `TagVocabulary.tags`, padding `-1` (what `CRFLoss` and the
softmax loss's `ignore_class` skip).
"""

import collections
import dataclasses
import typing

import keras
import numpy as np
from keras import ops

from kerasrnn.validation import InputError
from kerasrnn.validation import check_choice
from kerasrnn.validation import check_positive_int

PAD, UNK = "", "<unk>"
#: The tag given to gold tags of dev/test that training never saw.
UNKNOWN_TAG = "<unk>"
PAD_TAG_ID = -1

__all__ = [
    "PAD_TAG_ID",
    "UNKNOWN_TAG",
    "TagVocabulary",
    "build_tagger",
    "chunk_long_sentences",
    "decode_tags",
    "encode",
    "find_crf",
    "predict_tags",
    "tagger_loss",
]


@dataclasses.dataclass(frozen=True)
class TagVocabulary:
    """Words, characters and tags of a training set.

    Attributes:
        words: `words[0] == ""` (padding), `words[1] == "<unk>"`, then the
            training words seen at least `min_count` times, most frequent first.
        chars: Likewise for characters (every training character).
        tags: The training tags (sorted), then `UNKNOWN_TAG` last.
    """

    words: typing.Tuple[str, ...]
    chars: typing.Tuple[str, ...]
    tags: typing.Tuple[str, ...]

    @classmethod
    def from_sentences(cls, sentences, min_count=1):
        """The vocabulary of training `sentences` (`TaggedSentence`s)."""
        check_positive_int("min_count", min_count)
        words = collections.Counter(token for s in sentences for token in s.tokens)
        chars = collections.Counter(char for s in sentences for token in s.tokens for char in token)
        tags = sorted({tag for s in sentences for tag in s.tags})
        if not tags:
            raise InputError("The training sentences hold no tags")

        def ranked(counter, minimum):
            return tuple(w for w, n in sorted(counter.items(), key=lambda item: (-item[1], item[0])) if n >= minimum)

        return cls(words=(PAD, UNK) + ranked(words, min_count), chars=(PAD, UNK) + ranked(chars, 1),
                   tags=tuple(tags) + (UNKNOWN_TAG,))

    def tag_index(self):
        return {tag: i for i, tag in enumerate(self.tags)}

    def map_unseen_tags(self, sentences):
        """`(sentences, counts)`: tags the vocabulary lacks replaced by
        `UNKNOWN_TAG`, and how often each one occurred."""
        known = set(self.tags)
        counts = collections.Counter(tag for s in sentences for tag in s.tags if tag not in known)
        if not counts:
            return tuple(sentences), {}
        mapped = tuple(type(s)(s.tokens, tuple(t if t in known else UNKNOWN_TAG for t in s.tags)) for s in sentences)
        return mapped, dict(counts)


def chunk_long_sentences(sentences, max_length):
    """`(sentences, count)`: sentences longer than `max_length` tokens cut
    into consecutive pieces of at most `max_length` (nothing dropped), and
    how many were cut."""
    max_length = check_positive_int("max_length", max_length)
    out, cut = [], 0
    for s in sentences:
        if len(s.tokens) <= max_length:
            out.append(s)
            continue
        cut += 1
        for start in range(0, len(s.tokens), max_length):
            out.append(type(s)(s.tokens[start:start + max_length], s.tags[start:start + max_length]))
    return tuple(out), cut


def encode(sentences, vocabulary, max_word_chars):
    """Padded arrays of `sentences`: `({"words": (n, T) int32, "chars": (n, T,
    max_word_chars) int32}, tags (n, T) int32)`, `T` the longest sentence,
    tags padded with -1. Characters past `max_word_chars` are cut."""
    max_word_chars = check_positive_int("max_word_chars", max_word_chars)
    steps = max((len(s.tokens) for s in sentences), default=0)
    if steps == 0:
        raise InputError("No sentence to encode: every sentence is empty")
    words = np.zeros((len(sentences), steps), "int32")
    chars = np.zeros((len(sentences), steps, max_word_chars), "int32")
    tags = np.full((len(sentences), steps), PAD_TAG_ID, "int32")
    word_index = {w: i for i, w in enumerate(vocabulary.words)}
    char_index = {c: i for i, c in enumerate(vocabulary.chars)}
    tag_index = vocabulary.tag_index()
    unknown_tag = tag_index[UNKNOWN_TAG]
    for i, s in enumerate(sentences):
        for t, token in enumerate(s.tokens):
            words[i, t] = word_index.get(token, 1)
            ids = [char_index.get(c, 1) for c in token[:max_word_chars]]
            chars[i, t, :len(ids)] = ids or [1]  # an empty token is one unknown character
        tags[i, :len(s.tags)] = [tag_index.get(tag, unknown_tag) for tag in s.tags]
    return {"words": words, "chars": chars}, tags


def build_tagger(num_words, num_tags, num_chars=None, *, word_dim=100, char_encoder="cnn", char_dim=25,
                 char_units=25, units=100, direction="bi", output_layer="crf", dropout=0.5, word_embedding=None,
                 max_word_chars=None):
    """The tagger: a model from `{"words": (batch, T), "chars": (batch, T,
    C)}` to per-step tag scores (logits; for the CRF, its potentials).
    Compile it with `tagger_loss(model)`; `decode_tags(model, scores, mask)`
    turns scores into tags (argmax, or Viterbi with the CRF).

    Args:
        num_words, num_tags, num_chars: Vocabulary sizes (`num_chars` unused
            with `char_encoder="none"`).
        word_dim: Word embedding size (ignored with `word_embedding`).
        char_encoder: `"cnn"`, `"lstm"` or `"none"`.
        char_dim, char_units: `CharEncoder` sizes.
        units: LSTM units (per direction).
        direction: `"bi"` (Bidirectional) or `"uni"` (forward only).
        output_layer: `"crf"` or `"softmax"`.
        dropout: Dropout on the word features and the LSTM outputs.
        word_embedding: Optional `Embedding` layer (e.g. from
            `kerasrnn.embeddings.word2vec_embedding`, `mask_zero=True`).
        max_word_chars: Static width of the chars input (optional).
    """
    from kerasrnn.layers import CRF
    from kerasrnn.layers import LSTM
    from kerasrnn.layers import CharEncoder

    check_choice("char_encoder", char_encoder, ("cnn", "lstm", "none"))
    check_choice("direction", direction, ("bi", "uni"))
    check_choice("output_layer", output_layer, ("crf", "softmax"))
    words = keras.Input((None,), dtype="int32", name="words")
    chars = keras.Input((None, max_word_chars), dtype="int32", name="chars")
    embedding = word_embedding or keras.layers.Embedding(num_words, word_dim, mask_zero=True, name="word_embedding")
    x = embedding(words)
    if char_encoder != "none":
        char_features = CharEncoder(num_chars, char_dim, char_units, char_encoder, name="char_encoder")(chars)
        x = keras.layers.Concatenate(name="word_features")([x, char_features])
    x = keras.layers.Dropout(dropout)(x)
    lstm = LSTM(units, return_sequences=True, name="lstm")
    x = keras.layers.Bidirectional(lstm, name="bilstm")(x) if direction == "bi" else lstm(x)
    x = keras.layers.Dropout(dropout)(x)
    scores = keras.layers.Dense(num_tags, name="tag_scores")(x)
    if output_layer == "crf":
        scores = CRF(name="crf")(scores)
    return keras.Model({"words": words, "chars": chars}, scores, name="tagger")


def find_crf(model):
    """The model's `kerasrnn.layers.CRF` layer, or `None`."""
    from kerasrnn.layers import CRF

    return next((layer for layer in model.layers if isinstance(layer, CRF)), None)


def tagger_loss(model):
    """The loss of a `build_tagger` model: `CRFLoss` of its CRF layer, or the
    masked softmax cross-entropy (tags -1 ignored)."""
    from kerasrnn.layers import CRFLoss

    crf = find_crf(model)
    if crf is not None:
        return CRFLoss(crf)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=PAD_TAG_ID)


def decode_tags(model, scores, mask):
    """`(batch, T)` int32 tag ids of a `build_tagger` model's `scores`: Viterbi
    through its CRF, else the argmax; 0 where `mask` is false."""
    crf = find_crf(model)
    if crf is not None:
        return crf.decode(scores, mask)[0]
    ids = ops.cast(ops.argmax(scores, axis=-1), "int32")
    return ops.where(mask, ids, ops.zeros_like(ids))


def predict_tags(model, inputs, vocabulary, lengths, batch_size=64):
    """Tag strings of encoded sentences: one tuple per sentence.

    Args:
        model: A `build_tagger` model.
        inputs: `encode`'s inputs dict.
        vocabulary: The `TagVocabulary` the model was trained with.
        lengths: Each sentence's token count.
        batch_size: Sentences per prediction batch.
    """
    crf = find_crf(model)
    if crf is not None:
        # Viterbi inside the compiled predict function (one graph, batched).
        potentials = crf.input  # [potentials, mask] when Keras passed the mask along
        potentials = potentials[0] if isinstance(potentials, (list, tuple)) else potentials
        decoder = keras.Model(model.inputs, crf(potentials, decode=True))
        ids = decoder.predict(inputs, batch_size=batch_size, verbose=0)
    else:
        ids = np.argmax(model.predict(inputs, batch_size=batch_size, verbose=0), axis=-1)
    return [tuple(vocabulary.tags[i] for i in row[:n]) for row, n in zip(np.asarray(ids), lengths)]
