"""Scores of a tagger: token accuracy, per-tag precision/recall/F1, a
confusion matrix and (for entity tags) seqeval's strict span F1; and the
most-frequent-tag baseline."""

import collections

import numpy as np

from kerasrnn.validation import InputError
from kerasrnn.validation import check_choice

__all__ = ["evaluate_tags", "most_frequent_tags"]


def most_frequent_tags(train, sentences):
    """The most-frequent-tag baseline: each word gets the tag it has most
    often in `train`; an unseen word the most frequent tag overall. Returns
    one tag tuple per sentence of `sentences`."""
    by_word = collections.defaultdict(collections.Counter)
    overall = collections.Counter()
    for s in train:
        for token, tag in zip(s.tokens, s.tags):
            by_word[token][tag] += 1
            overall[tag] += 1
    default = overall.most_common(1)[0][0]
    best = {word: counts.most_common(1)[0][0] for word, counts in by_word.items()}
    return [tuple(best.get(token, default) for token in s.tokens) for s in sentences]


def evaluate_tags(gold, predicted, scheme, tags=None):
    """Scores of predicted tag sequences against gold ones.

    Args:
        gold, predicted: Lists of tag sequences (strings), the same lengths.
        scheme: `"pos"`, `"iob2"` or `"iobes"` (the last two add seqeval's
            strict span precision/recall/F1 and per-type table; tags outside
            the scheme, such as `<unk>`, count as `O` for spans).
        tags: Tag order of the confusion matrix (default: sorted gold tags).

    Returns:
        A dict: `token_accuracy`, `tokens`, `per_tag` (precision, recall, F1,
        support per tag), `confusion` (`{"tags": [...], "counts": rows gold,
        columns predicted}`), and with an entity scheme `span_precision`,
        `span_recall`, `span_f1`, `per_type`.
    """
    check_choice("scheme", scheme, ("pos", "iob2", "iobes"))
    if len(gold) != len(predicted) or any(len(g) != len(p) for g, p in zip(gold, predicted)):
        raise InputError("`gold` and `predicted` must hold sequences of the same lengths")
    flat_gold = [t for s in gold for t in s]
    flat_predicted = [t for s in predicted for t in s]
    tags = list(tags) if tags is not None else sorted(set(flat_gold))
    index = {t: i for i, t in enumerate(tags)}
    confusion = np.zeros((len(tags), len(tags)), "int64")
    for g, p in zip(flat_gold, flat_predicted):
        if g in index and p in index:
            confusion[index[g], index[p]] += 1
    correct = sum(g == p for g, p in zip(flat_gold, flat_predicted))
    per_tag = {}
    for tag in tags:
        tp = sum(1 for g, p in zip(flat_gold, flat_predicted) if g == p == tag)
        support = sum(1 for g in flat_gold if g == tag)
        guessed = sum(1 for p in flat_predicted if p == tag)
        if support or guessed:
            per_tag[tag] = _prf(tp, guessed, support)
    result = {"tokens": len(flat_gold), "token_accuracy": correct / max(len(flat_gold), 1), "per_tag": per_tag,
              "confusion": {"tags": tags, "counts": confusion.tolist()}}
    if scheme != "pos":
        result.update(_span_scores(gold, predicted, scheme))
    return result


def _prf(tp, guessed, support):
    precision = tp / guessed if guessed else 0.0
    recall = tp / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def _span_scores(gold, predicted, scheme):
    try:
        from seqeval import metrics
        from seqeval.scheme import IOB2
        from seqeval.scheme import IOBES
    except ImportError as error:
        from kerasrnn.data.tagging import MissingTaggingPackage

        raise MissingTaggingPackage("Span F1 needs the `seqeval` package: pip install 'kerasrnn[tagging]'",
                                    name="seqeval") from error
    import warnings

    options = {"mode": "strict", "scheme": IOBES if scheme == "iobes" else IOB2, "zero_division": 0}
    prefixes = ("B-", "I-", "E-", "S-") if scheme == "iobes" else ("B-", "I-")

    def spans_only(tags):
        # A tag outside the scheme (`<unk>`: a gold tag training never saw,
        # or a prediction of it) is no entity, as seqeval needs.
        return [t if t == "O" or (t[:2] in prefixes and len(t) > 2) else "O" for t in tags]

    gold, predicted = [spans_only(s) for s in gold], [spans_only(s) for s in predicted]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns about ill-formed predicted spans; they count as wrong
        report = metrics.classification_report(gold, predicted, output_dict=True, **options)
        scores = {
            "span_precision": float(metrics.precision_score(gold, predicted, **options)),
            "span_recall": float(metrics.recall_score(gold, predicted, **options)),
            "span_f1": float(metrics.f1_score(gold, predicted, **options)),
        }
    scores["per_type"] = {name: {"precision": float(row["precision"]), "recall": float(row["recall"]),
                                 "f1": float(row["f1-score"]), "support": int(row["support"])}
                          for name, row in report.items() if "avg" not in name}
    return scores
