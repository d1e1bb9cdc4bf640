"""Intrinsic evaluation of word vectors: analogies, word similarity, neighbours.

The two benchmark files ship with gensim: `questions-words.txt` (Mikolov et
al.'s 19,544 analogy questions in 14 sections) and `wordsim353.tsv`
(353 word pairs with human similarity scores). The functions follow gensim's
`evaluate_word_analogies` / `evaluate_word_pairs` (case-insensitive, words
restricted to the `restrict_vocab` most frequent, questions with unknown
words skipped) but score all analogy questions with a few matrix products
and return plain dicts.
"""

import numpy as np
from gensim.test.utils import datapath
from scipy import stats

#: The benchmark files shipped in gensim's test data.
ANALOGIES_PATH = datapath("questions-words.txt")
WORDSIM353_PATH = datapath("wordsim353.tsv")


def _upper_vocab(keyed_vectors, restrict_vocab):
    """Upper-cased word -> index of its most frequent case variant."""
    keys = keyed_vectors.index_to_key[:restrict_vocab]
    return {key.upper(): i for i, key in reversed(list(enumerate(keys)))}


def _normed(keyed_vectors, restrict_vocab):
    vectors = np.asarray(keyed_vectors.vectors[:restrict_vocab], dtype="float32")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, np.finfo("float32").tiny)


def read_analogies(path=ANALOGIES_PATH):
    """Returns `[(section, (a, b, c, expected)), ...]` from an analogy file."""
    questions, section = [], None
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if line.startswith(": "):
                section = line[2:].strip()
                continue
            words = line.split()
            if not words:
                continue
            if section is None:
                raise ValueError(f"Missing section header before line {line_no} of {path!r}")
            if len(words) == 4:
                questions.append((section, tuple(words)))
    return questions


def analogy_accuracy(keyed_vectors, path=ANALOGIES_PATH, restrict_vocab=300000, batch_size=1024):
    """Accuracy on analogy questions `a : b :: c : d` (3CosAdd, as gensim).

    The answer is the word, among the `restrict_vocab` most frequent, whose
    unit vector is closest in cosine to `mean(û_b, û_c, -û_a)`, excluding
    `a`, `b` and `c`. Words are compared upper-cased.

    Returns:
        Dict with `accuracy` (over answered questions), `correct`,
        `answered`, `skipped` (questions with an unknown word), `questions`,
        and `sections`: `{name: {"correct", "answered", "accuracy"}}`.
    """
    questions = read_analogies(path)
    vocab = _upper_vocab(keyed_vectors, restrict_vocab)
    upper_keys = [k.upper() for k in keyed_vectors.index_to_key[:restrict_vocab]]
    rows, names = [], []
    for section, words in questions:
        words = [w.upper() for w in words]
        if all(w in vocab for w in words):
            rows.append([vocab[w] for w in words])
            names.append(section)
    sections = {}
    for section, _ in questions:
        sections.setdefault(section, {"correct": 0, "answered": 0})
    correct_total = 0
    if rows:
        normed = _normed(keyed_vectors, restrict_vocab)
        rows = np.asarray(rows)
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            a, b, c, expected = (batch[:, i] for i in range(4))
            query = (normed[b] + normed[c] - normed[a]) / 3.0
            query /= np.maximum(np.linalg.norm(query, axis=1, keepdims=True), np.finfo("float32").tiny)
            scores = query @ normed.T
            scores[np.arange(len(batch))[:, None], batch[:, :3]] = -np.inf
            predicted = _first_allowed(scores, batch, upper_keys)
            hits = predicted == expected
            correct_total += int(hits.sum())
            for name, hit in zip(names[start : start + batch_size], hits):
                sections[name]["answered"] += 1
                sections[name]["correct"] += int(hit)
    for counts in sections.values():
        counts["accuracy"] = counts["correct"] / counts["answered"] if counts["answered"] else 0.0
    answered = len(rows)
    return {
        "accuracy": correct_total / answered if answered else 0.0,
        "correct": correct_total,
        "answered": answered,
        "skipped": len(questions) - answered,
        "questions": len(questions),
        "sections": sections,
    }


def _first_allowed(scores, batch, upper_keys, topn=5):
    """Best-scoring index whose upper-cased word is not a question word
    (gensim looks at the top 5 results for this; so do we)."""
    best = np.argmax(scores, axis=1)
    for row in np.flatnonzero([upper_keys[i] in {upper_keys[j] for j in q[:3]} for i, q in zip(best, batch)]):
        ignore = {upper_keys[j] for j in batch[row, :3]}
        top = np.argsort(-scores[row])[:topn]
        allowed = [i for i in top if upper_keys[i] not in ignore]
        best[row] = allowed[0] if allowed else top[-1]
    return best


def read_word_pairs(path=WORDSIM353_PATH, delimiter="\t"):
    """Returns `[(word1, word2, score), ...]`, skipping `#` comment lines."""
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split(delimiter)
            if len(parts) != 3:
                raise ValueError(f"Line {line_no} of {path!r} is not `word1{delimiter}word2{delimiter}score`")
            pairs.append((parts[0], parts[1], float(parts[2])))
    return pairs


def word_similarity(keyed_vectors, path=WORDSIM353_PATH, restrict_vocab=300000, delimiter="\t"):
    """Spearman and Pearson correlation of cosine similarity with human scores.

    Pairs with a word outside the `restrict_vocab` most frequent are skipped.

    Returns:
        Dict with `spearman`, `spearman_pvalue`, `pearson`, `pairs` (scored),
        `skipped` and `oov_ratio` (percent skipped, as gensim).
    """
    vocab = _upper_vocab(keyed_vectors, restrict_vocab)
    pairs = read_word_pairs(path, delimiter)
    known = [(vocab[a.upper()], vocab[b.upper()], s) for a, b, s in pairs if a.upper() in vocab and b.upper() in vocab]
    result = {"pairs": len(known), "skipped": len(pairs) - len(known)}
    result["oov_ratio"] = 100.0 * result["skipped"] / len(pairs) if pairs else 0.0
    if len(known) < 3:
        return {**result, "spearman": float("nan"), "spearman_pvalue": float("nan"), "pearson": float("nan")}
    normed = _normed(keyed_vectors, restrict_vocab)
    i, j, gold = (np.asarray(column) for column in zip(*known))
    cosine = np.sum(normed[i] * normed[j], axis=1)
    spearman = stats.spearmanr(gold, cosine)
    pearson = stats.pearsonr(gold, cosine)
    return {
        **result,
        "spearman": float(spearman.statistic),
        "spearman_pvalue": float(spearman.pvalue),
        "pearson": float(pearson.statistic),
    }


def nearest_neighbours(keyed_vectors, words, topn=5):
    """`{word: [(neighbour, cosine), ...]}` by cosine; unknown words map to `None`."""
    result = {}
    for word in words:
        if word in keyed_vectors.key_to_index:
            result[word] = [(w, float(s)) for w, s in keyed_vectors.most_similar(word, topn=topn)]
        else:
            result[word] = None
    return result
