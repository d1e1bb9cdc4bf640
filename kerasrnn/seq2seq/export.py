"""SavedModel export of a trained `Seq2Seq`: strings in, strings out.

`export_translator` writes a SavedModel with two signatures,

* `translate`: greedy search;
* `translate_beam`: beam search (`beam_width`, `length_penalty` and any
  `beam_options` of `beam_search`, e.g. n-gram blocking, fixed at export),

each mapping a `tf.string` batch `(batch,)` to a dict with `translations`
(`tf.string` `(batch,)`), `scores` (`(batch,)`, the best hypothesis's score),
`lengths` (generated tokens, end included) and `truncated` (`tf.bool`
`(batch,)`, see below). Tokenisation, vocabulary lookup (unknown tokens →
OOV), truncation, search and detokenisation all run inside the graph, so the
SavedModel loads with `tf.saved_model.load` where kerasrnn is not installed.
With `replace_unknown=True` (attention models) an `<unk>` output is replaced
by the source token the decoder attended to most (Luong et al. 2015).

Inputs, rule by rule:

* an empty string translates like a source holding only the end token;
* an empty batch (shape `(0,)`) gives outputs with a batch of 0;
* a source longer than `max_source_length` tokens (characters or words, by
  the vocabulary's level) is translated from its first `max_source_length`
  tokens, and its `truncated` output is `True` (the model never saw longer
  sources), so a caller can split it or report it;
* a string that is not valid UTF-8 fails the call with
  `tf.errors.InvalidArgumentError` ("sources must be valid UTF-8 ...")
  naming its batch indices: its bytes cannot be tokenised faithfully, and
  `replace_unknown` would copy them into the output.
"""

import keras
import tensorflow as tf

from kerasrnn.data import translation
from kerasrnn.seq2seq.search import beam_search
from kerasrnn.seq2seq.search import check_beam_options
from kerasrnn.seq2seq.search import greedy_search
from kerasrnn.training.distribute import outside_strategy_scope
from kerasrnn.validation import check_positive_int

STRINGS = tf.TensorSpec([None], tf.string)


def translate_fns(model, source_vocab, target_vocab, max_source_length, max_length,
                  beam_width=4, length_penalty=0.0, replace_unknown=False, beam_options=None):
    """`(greedy_fn, beam_fn, tables)`: string batch → output dict functions.

    The functions use TensorFlow string ops around kerasrnn's searches; the
    returned lookup tables must be tracked by whatever saves them.
    `beam_options`: further `beam_search` arguments (`coverage_penalty`,
    `block_ngram_repeat`, `min_length`, `length_penalty_type`,
    `coverage_penalty_scope`).
    """
    beam_options = check_beam_options(beam_options)
    max_source_length = check_positive_int("max_source_length", max_source_length)
    max_length = check_positive_int("max_length", max_length)
    beam_width = check_positive_int("beam_width", beam_width)
    if replace_unknown and model.decoder.attention is None:
        raise ValueError("`replace_unknown=True` copies through the attention weights; this model "
                         "has no attention. Received: replace_unknown=True")
    source_table = translation.lookup_table(source_vocab.tokens)
    target_tokens = tf.constant(target_vocab.tokens)

    def checked(sources):
        valid = tf.equal(tf.strings.unicode_transcode(sources, "UTF-8", "UTF-8", errors="replace"), sources)
        check = tf.debugging.Assert(
            tf.reduce_all(valid), ["sources must be valid UTF-8; invalid at batch indices", tf.where(~valid)[:, 0]])
        with tf.control_dependencies([check]):
            return tf.identity(sources)

    def source_ids(sources):
        ids = translation.encode(source_table, sources, source_vocab.level,
                                 max_source_length, add_end=True).to_tensor(0)
        # Every source has its end token; only an empty batch has no step.
        return tf.pad(ids, [[0, 0], [0, tf.maximum(1 - tf.shape(ids)[1], 0)]])

    def truncated(sources):
        return translation.tokenize(sources, source_vocab.level).row_lengths() > max_source_length

    def outputs(ids, scores, lengths, sources, attention):
        if replace_unknown:
            tokens = translation.source_tokens(sources, source_vocab.level, max_source_length)
            text = translation.decode(target_tokens, ids, target_vocab.level, tokens, attention)
        else:
            text = translation.decode(target_tokens, ids, target_vocab.level)
        return {
            "translations": text,
            "scores": scores,
            "lengths": lengths,
            "truncated": truncated(sources),
        }

    def greedy(sources):
        sources = checked(sources)
        result = greedy_search(model, source_ids(sources), max_length)
        return outputs(result["ids"], result["scores"], result["lengths"], sources,
                       result["attention"])

    def beam(sources):
        sources = checked(sources)
        result = beam_search(model, source_ids(sources), beam_width, max_length,
                             length_penalty=length_penalty, **beam_options)
        attention = None if result["attention"] is None else result["attention"][:, 0]
        return outputs(result["ids"][:, 0], result["scores"][:, 0], result["lengths"][:, 0], sources,
                       attention)

    return greedy, beam, [source_table]


@outside_strategy_scope()
def export_translator(path, model, source_vocab, target_vocab, max_source_length, max_length,
                      beam_width=4, length_penalty=0.0, replace_unknown=False, beam_options=None):
    """Writes the SavedModel described in this module's docstring to `path`."""
    greedy, beam, tables = translate_fns(model, source_vocab, target_vocab, max_source_length,
                                         max_length, beam_width, length_penalty, replace_unknown,
                                         beam_options)
    archive = keras.export.ExportArchive()
    archive.track(model)
    for table in tables:
        archive.track(table)
    archive.add_endpoint("translate", greedy, input_signature=[STRINGS])
    archive.add_endpoint("translate_beam", beam, input_signature=[STRINGS])
    archive.write_out(path, verbose=False)
    return path
