"""Evaluating a trained `Seq2Seq`: batched decoding, exact match, BLEU and
chrF, attention heat maps, and a check that an exported translator agrees
with the model in memory.

Example:

    search = BatchedSearch(model, max_length=12)              # greedy
    ids, attention = search(test_source_ids)
    outputs = decode_strings(target_vocab, ids)
    hits = exact_match(outputs, test_targets)
    table = accuracy_by_length([len(s) for s in test_sources], hits)
"""

import os

import numpy as np
import tensorflow as tf

from kerasrnn.data import translation
from kerasrnn.seq2seq.search import beam_search
from kerasrnn.seq2seq.search import check_beam_options
from kerasrnn.seq2seq.search import greedy_search
from kerasrnn.training.distribute import outside_strategy_scope


class BatchedSearch:
    """Greedy (default) or beam decoding of id arrays in batches, through one
    traced graph.

    Args:
        model: A trained `Seq2Seq`.
        max_length: Most tokens generated (end included).
        beam_width: `None` for greedy search, else the beam width (the best
            hypothesis of each beam is kept).
        length_penalty: GNMT length penalty alpha of beam search.
        beam_options: Further `beam_search` arguments (`coverage_penalty`,
            `block_ngram_repeat`, `min_length`, `length_penalty_type`,
            `coverage_penalty_scope`).

    Call arguments:
        source_ids: `(n, source_length)` int array (0-padded, end token
            included, as `translation.encode_pairs` gives).
        batch_size: Sources decoded per call of the graph.

    Returns `(ids, attention)`: `(n, max_length)` output ids and, for an
    attention model, a list of `(max_length, source_length)` weight arrays
    (empty otherwise).
    """

    def __init__(self, model, max_length, beam_width=None, length_penalty=0.0, beam_options=None):
        self.max_length = max_length
        beam_options = check_beam_options(beam_options)

        def search(x):
            if beam_width is None:
                return greedy_search(model, x, max_length)
            result = beam_search(model, x, beam_width, max_length, length_penalty=length_penalty, **beam_options)
            return {k: (v[:, 0] if v is not None else None) for k, v in result.items()}

        # The search loops are `keras.ops.while_loop`s (no Python control flow
        # on tensors to convert), and one trace serves every batch size.
        self.fn = tf.function(search, autograph=False, reduce_retracing=True)

    def __call__(self, source_ids, batch_size=256):
        ids, attention = [], []
        for start in range(0, len(source_ids), batch_size):
            out = self.fn(tf.constant(source_ids[start:start + batch_size]))
            ids.append(out["ids"].numpy())
            if out["attention"] is not None:
                attention.extend(out["attention"].numpy())
        return np.concatenate(ids), attention


def decode_strings(vocab, ids, sources=None, attention=None, max_source_length=None):
    """Output strings of id rows (up to the end token). With `sources` and
    `attention` (from `BatchedSearch`), `<unk>` outputs become the source
    token attended to most, as an exported translator with
    `replace_unknown=True` does."""
    if sources is None:
        return [s.decode("utf-8") for s in vocab.decode(ids)]
    tokens = translation.source_tokens(sources, vocab.level, max_source_length)
    return [s.decode("utf-8") for s in vocab.decode(ids, tokens, np.asarray(attention))]


def exact_match(predictions, targets):
    """Float array: 1.0 where a prediction equals its target string."""
    return np.array([p == t for p, t in zip(predictions, targets)], dtype=float)


def accuracy_by_length(lengths, hits):
    """`{length: {"accuracy", "count"}}` of `hits` (e.g. `exact_match`'s)
    grouped by the input `lengths`, in increasing length."""
    lengths, hits = np.asarray(lengths), np.asarray(hits, dtype=float)
    table = {}
    for length in sorted(set(lengths.tolist())):
        mask = lengths == length
        table[int(length)] = {"accuracy": float(hits[mask].mean()), "count": int(mask.sum())}
    return table


class CorpusScores:
    """Corpus BLEU and chrF (sacrebleu, default settings) against one
    reference per sentence.

    Args:
        references: The reference strings.

    Call arguments:
        hypotheses: One output string per reference.

    Returns `{"bleu": float, "chrf": float}` (0-100). `signatures` gives
    sacrebleu's signature strings, which state the settings used.

    Raises `ModuleNotFoundError` naming `pip install 'kerasrnn[corpora]'`
    when sacrebleu is missing.
    """

    def __init__(self, references):
        try:
            import sacrebleu
        except ModuleNotFoundError as error:
            raise ModuleNotFoundError("BLEU and chrF need the sacrebleu package: "
                                      "pip install 'kerasrnn[corpora]'") from error
        self.references = list(references)
        self.bleu = sacrebleu.metrics.BLEU()
        self.chrf = sacrebleu.metrics.CHRF()

    def __call__(self, hypotheses):
        hypotheses = list(hypotheses)
        return {
            "bleu": self.bleu.corpus_score(hypotheses, [self.references]).score,
            "chrf": self.chrf.corpus_score(hypotheses, [self.references]).score,
        }

    @property
    def signatures(self):
        """sacrebleu's signatures of the BLEU and chrF settings."""
        return [str(self.bleu.get_signature()), str(self.chrf.get_signature())]


def attention_heatmaps(directory, prefix, sources, source_vocab, target_vocab, source_ids, ids,
                       attention, count=4):
    """Writes `<prefix>_<i>.png` heat maps of the first `count` examples'
    attention (from `BatchedSearch`) into `directory`; returns the file
    names. Rows are the outputs up to the end token, columns the source
    tokens kept and the end token."""
    from kerasrnn.seq2seq.plots import plot_attention

    names = []
    for i in range(min(count, len(attention))):
        tokens = [t.decode("utf-8") for t in translation.tokenize([sources[i]], source_vocab.level)[0].numpy()]
        source_length = int(np.sum(source_ids[i] != 0))  # tokens kept + end
        tokens = tokens[: source_length - 1] + ["</s>"]
        row = ids[i]
        ended = row == translation.END_ID
        output_length = int(np.argmax(ended)) + 1 if ended.any() else len(row)
        target_tokens = [target_vocab.tokens[t] for t in row[:output_length]]
        path = os.path.join(directory, f"{prefix}_{i}.png")
        plot_attention(attention[i][:output_length, :source_length], tokens, target_tokens, path,
                       title=sources[i][:80])
        names.append(os.path.basename(path))
    return names


@outside_strategy_scope()
def export_agreement(export_dir, sources, greedy, beam=None):
    """Fractions of `sources` for which the translator exported to
    `export_dir` (`kerasrnn.seq2seq.export.export_translator`), reloaded
    with TensorFlow alone, reproduces the in-process `greedy` (and `beam`)
    outputs: `{"export_greedy_agreement", "export_beam_agreement"}`."""
    loaded = tf.saved_model.load(export_dir)

    def agreement(signature, expected):
        got = [s.decode("utf-8") for s in signature(tf.constant(sources))["translations"].numpy()]
        return float(np.mean([a == b for a, b in zip(got, expected)]))

    result = {"export_greedy_agreement": agreement(loaded.translate, greedy)}
    if beam is not None:
        result["export_beam_agreement"] = agreement(loaded.translate_beam, beam)
    return result
