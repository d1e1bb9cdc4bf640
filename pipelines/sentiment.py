"""sentiment: many-to-one text classification, random vs Word2Vec embeddings.

A kerasrnn `Bidirectional(LSTM)` (or GRU) reads `TextVectorization` ids
through an `Embedding` with `mask_zero=True` and a sigmoid gives P(positive).
The same model is trained with three embeddings, on the same split and from
the same recurrent-layer initial weights:

* `random`: uniform initial embeddings, trained;
* `frozen`: Word2Vec vectors (gensim, same tokenizer), not trained;
* `finetuned`: Word2Vec vectors, trained.

Several `--seeds` (each a new split, new Word2Vec and new initial weights,
shared by the three variants) give per-variant mean ± std of validation
accuracy and paired differences, so one can say honestly whether Word2Vec
helps.

Data: `--dataset polarity` (default, offline): the 200 labelled movie-review
sentences shipped in gensim (pang_lee_polarity.cor, cp1252), Word2Vec trained
on the training sentences plus gensim's Lee news corpus; `--csv FILE`:
columns `text,label` (label 0/1 or neg/pos); `--dataset imdb`:
`tfds.load("imdb_reviews")` when prepared in `--data-dir` (checked first, so a
missing dataset fails in well under a second; `--download` lets
tensorflow-datasets download it where there is network).

Run directory: config.json, metrics.json, history.csv (loss, accuracy,
val_loss, val_accuracy per epoch for every variant and seed),
val_accuracy.png, model.keras (string in, probability out; needs kerasrnn)
and export/ (SavedModel: `serve(tf.string[batch]) -> float32[batch, 1]`,
loadable with TensorFlow alone).

Training is crash-safe (`kerasrnn.training`): every (variant, seed) model
is a stage with its own backup; kill a run and rerun the same command, and
the models already trained are reloaded, the interrupted one resumes from its
last finished epoch (batch order and dropout masks are functions of the seed
and the epoch), and the run ends as an uninterrupted one would.
"""

import csv
import io
import os

import numpy as np

from kerasrnn import training
from kerasrnn.pipelines import cli_training
from kerasrnn.pipelines.common import budget_settings
from kerasrnn.pipelines.common import positive
from kerasrnn.pipelines.common import write_history

DESCRIPTION = "Bi-LSTM/GRU sentiment (many-to-one): random vs Word2Vec frozen/fine-tuned embeddings over seeds"

VARIANTS = ("random", "frozen", "finetuned")
#: `--strategy` values: this pipeline is not distributed.
STRATEGIES = ("none",)
DEFAULTS = {
    "epochs": 10,
    "batch_size": 16,
    "units": 32,
    "embedding_dim": 100,
    "max_tokens": 20000,
    "sequence_length": 64,
    "w2v_epochs": 20,
    "seeds": "0,1,2,3,4",
    "limit": None,
}
QUICK = {
    "epochs": 1,
    "batch_size": 32,
    "units": 8,
    "embedding_dim": 16,
    "max_tokens": 2000,
    "sequence_length": 32,
    "w2v_epochs": 1,
    "seeds": "0",
    "limit": 256,
}
#: IMDB reviews average ~230 words: a longer default window than for sentences.
IMDB_SEQUENCE_LENGTH = 256
#: Labels accepted in a `--csv` file.
LABELS = {"0": 0, "1": 1, "neg": 0, "pos": 1, "negative": 0, "positive": 1, "false": 0, "true": 1}


def add_arguments(parser):
    parser.add_argument("--dataset", choices=("polarity", "imdb"), default="polarity",
                        help="polarity: gensim's 200 labelled sentences (offline); imdb: tfds imdb_reviews "
                        "if prepared in --data-dir (default: polarity)")
    parser.add_argument("--csv", default=None, metavar="FILE", help="labelled data instead: CSV with text,label columns")
    parser.add_argument("--encoding", default="utf-8", help="encoding of --csv (default: %(default)s)")
    parser.add_argument("--data-dir", default=None, help="tensorflow-datasets data_dir for --dataset imdb")
    parser.add_argument("--download", action="store_true",
                        help="let tensorflow-datasets download imdb_reviews (needs network; without it tfds retries for minutes)")
    parser.add_argument("--limit", type=int, default=None, help="use at most N training and N validation examples of imdb")
    parser.add_argument("--validation-fraction", type=float, default=0.25,
                        help="held-out fraction of polarity/--csv, stratified (default: %(default)s)")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds, one run per variant each (default: 0,1,2,3,4; quick: 0)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="subset of %(default)s")
    parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm", help="recurrent layer (default: lstm)")
    parser.add_argument("--units", type=int, default=None, help="units per direction (default: 32; quick: 8)")
    parser.add_argument("--embedding-dim", type=int, default=None, help="embedding / Word2Vec size (default: 100; quick: 16)")
    parser.add_argument("--max-tokens", type=int, default=None, help="vocabulary size (default: 20000)")
    parser.add_argument("--sequence-length", type=int, default=None,
                        help="tokens per text, padded/cut (default: 64; imdb: 256; quick: 32)")
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="Adam learning rate (default: %(default)s)")
    parser.add_argument("--w2v-epochs", type=int, default=None, help="Word2Vec epochs (default: 20; quick: 1)")
    parser.add_argument("--w2v-corpus", choices=("train", "train+lee"), default=None,
                        help="Word2Vec text: the training texts, optionally plus gensim's Lee news corpus "
                        "(default: train+lee for polarity, train otherwise)")
    parser.add_argument("--vectors", default=None, metavar="FILE",
                        help="use these pretrained vectors (.txt/.vec/.bin word2vec format or gensim .kv) instead of training")
    cli_training.add_training_arguments(parser, STRATEGIES)


def resolve_settings(args):
    cli_training.check_arguments(args, STRATEGIES)
    settings = budget_settings(args, QUICK, DEFAULTS)
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    if args.batch_size is not None:
        settings["batch_size"] = args.batch_size
    for key in ("epochs", "batch_size", "units", "embedding_dim", "max_tokens", "sequence_length", "w2v_epochs", "limit"):
        positive(key.replace("_", "-"), settings[key])
    try:
        settings["seeds"] = [int(s) for s in str(settings["seeds"]).split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"`--seeds` must be comma-separated integers. Received: seeds={settings['seeds']!r}") from None
    if not settings["seeds"] or len(set(settings["seeds"])) != len(settings["seeds"]):
        raise ValueError(f"`--seeds` must list distinct integers. Received: seeds={args.seeds!r}")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if not variants or any(v not in VARIANTS for v in variants):
        raise ValueError(f"`--variants` must be a subset of {','.join(VARIANTS)}. Received: variants={args.variants!r}")
    settings["variants"] = variants
    if not 0.0 < args.validation_fraction < 1.0:
        raise ValueError(
            f"`--validation-fraction` must be in (0, 1). Received: validation_fraction={args.validation_fraction!r}"
        )
    if args.csv is not None and args.dataset == "imdb":
        raise ValueError("Pass either `--csv FILE` or `--dataset imdb`, not both.")
    source = "csv" if args.csv else args.dataset
    settings["source"] = source
    if source == "imdb" and args.sequence_length is None and not args.quick:
        settings["sequence_length"] = IMDB_SEQUENCE_LENGTH
    settings["w2v_corpus"] = args.w2v_corpus or ("train+lee" if source == "polarity" else "train")
    if args.quick and args.w2v_corpus is None:
        settings["w2v_corpus"] = "train"
    return settings


# ----------------------------------------------------------------------------- data


def read_polarity():
    """gensim's pang_lee_polarity.cor (`kerasrnn.data.corpora.polarity`):
    `(texts, labels)`, 100 neg + 100 pos."""
    from kerasrnn.data import corpora

    corpus = corpora.polarity()
    return list(corpus.documents), np.asarray(corpus.labels, dtype="float32")


def read_csv(path, encoding="utf-8"):
    """`(texts, labels)` from a CSV file with a header naming `text` and `label`."""
    from kerasrnn.embeddings import read_lines

    lines = read_lines(path, encoding=encoding)
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    if not reader.fieldnames or "text" not in reader.fieldnames or "label" not in reader.fieldnames:
        raise ValueError(
            f"`--csv` needs a header with `text` and `label` columns. Received: csv={path!r} "
            f"with columns {reader.fieldnames!r}"
        )
    texts, labels = [], []
    for row_no, row in enumerate(reader, 2):
        label = str(row["label"]).strip().lower()
        if label not in LABELS:
            raise ValueError(
                f"`--csv` {path!r} line {row_no}: label must be one of {sorted(LABELS)}. Received: label={row['label']!r}"
            )
        texts.append(row["text"] or "")
        labels.append(LABELS[label])
    if len(set(labels)) < 2:
        raise ValueError(f"`--csv` {path!r} must contain both labels (found {sorted(set(labels))}).")
    return texts, np.asarray(labels, dtype="float32")


def imdb_data_dir(data_dir):
    return os.path.expanduser(data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets")


def load_imdb(data_dir=None, download=False, limit=None):
    """`((train_texts, train_labels), (test_texts, test_labels))` of imdb_reviews.

    Without `download`, the data must already be prepared in `data_dir`;
    otherwise this fails at once (tensorflow-datasets would retry the
    download for minutes when there is no network).
    """
    import tensorflow_datasets as tfds

    where = imdb_data_dir(data_dir)
    try:
        train, test = tfds.load(
            "imdb_reviews", split=["train", "test"], data_dir=where, download=download, as_supervised=True
        )
    except AssertionError:
        raise FileNotFoundError(
            f"`--dataset imdb`: tensorflow-datasets' imdb_reviews is not prepared in data_dir={where!r} "
            "(and downloading is off). On a machine with internet run\n"
            f"  python -c \"import tensorflow_datasets as tfds; tfds.builder('imdb_reviews', "
            f"data_dir='{where}').download_and_prepare()\"\n"
            "and copy that directory here (then pass --data-dir), or add --download where there is network. "
            "The default --dataset polarity needs no download."
        ) from None
    return _materialize(train, limit), _materialize(test, limit)


def _materialize(dataset, limit):
    if limit:
        dataset = dataset.shuffle(50000, seed=0).take(limit)
    texts, labels = [], []
    for text, label in dataset.as_numpy_iterator():
        texts.append(text.decode("utf-8", errors="replace"))
        labels.append(int(label))
    return texts, np.asarray(labels, dtype="float32")


def stratified_split(labels, fraction, seed):
    """Train / validation indices, the same class balance in both."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n_val = max(1, int(round(len(idx) * fraction)))
        val.extend(idx[:n_val])
        train.extend(idx[n_val:])
    return rng.permutation(train), rng.permutation(val)


# ----------------------------------------------------------------------------- model


def build_classifier(vocabulary_size, embedding, units, cell):
    """ids `(batch, T)` -> P(positive) `(batch, 1)`."""
    import keras

    from kerasrnn.layers import GRU
    from kerasrnn.layers import LSTM

    recurrent = (LSTM if cell == "lstm" else GRU)(units)
    ids = keras.Input(shape=(None,), dtype="int64", name="ids")
    x = embedding(ids)
    x = keras.layers.Bidirectional(recurrent, name="bidirectional")(x)
    x = keras.layers.Dropout(0.3)(x)
    prob = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
    return keras.Model(ids, prob, name="sentiment_classifier")


def make_embedding(variant, vocabulary_size, dim, seed, vectorize=None, keyed_vectors=None):
    import keras

    from kerasrnn.embeddings import word2vec_embedding

    if variant == "random":
        return keras.layers.Embedding(
            vocabulary_size,
            dim,
            embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed),
            mask_zero=True,
            name="embedding",
        )
    if keyed_vectors.vector_size != dim:
        raise ValueError(
            f"`--embedding-dim` ({dim}) differs from the vectors' size ({keyed_vectors.vector_size}). "
            f"Received: embedding_dim={dim}"
        )
    return word2vec_embedding(
        keyed_vectors, vectorize, trainable=(variant == "finetuned"), mask_zero=True, oov="random", seed=seed,
        vectors_in_config=False, name="embedding",
    )


def string_model(vectorize, classifier):
    """text `(batch,)` string -> P(positive) `(batch, 1)`."""
    import keras

    text = keras.Input(shape=(), dtype="string", name="text")
    return keras.Model(text, classifier(vectorize(text)), name="sentiment")


# ----------------------------------------------------------------------------- run


def run(args):
    settings = resolve_settings(args)
    import keras

    from kerasrnn import embeddings

    data = _load_data(args, settings)
    training.enable_determinism(args.seed, cli_training.jit_compile(args))
    curves = {v: [] for v in settings["variants"]}
    history_columns, runs, coverages, w2v_info = {}, {}, [], {}
    keep = None
    for seed in settings["seeds"]:
        (train_texts, y_train), (val_texts, y_val) = data(seed)
        vectorize = embeddings.text_vectorization(
            max_tokens=settings["max_tokens"], output_sequence_length=settings["sequence_length"]
        )
        vectorize.adapt(np.array(train_texts, dtype=object), batch_size=256)
        vocabulary_size = vectorize.vocabulary_size()
        x_train = vectorize(np.array(train_texts, dtype=object)).numpy()
        x_val = vectorize(np.array(val_texts, dtype=object)).numpy()
        kv = None
        if any(v != "random" for v in settings["variants"]):
            kv, w2v_info = _word2vec(args, settings, train_texts, seed)
        print(f"\n== seed {seed}: {len(train_texts)} train / {len(val_texts)} validation texts, "
              f"vocabulary {vocabulary_size}")
        for variant in settings["variants"]:
            keras.utils.set_random_seed(seed)
            embedding = make_embedding(variant, vocabulary_size, settings["embedding_dim"], seed, vectorize, kv)
            if variant == next((v for v in settings["variants"] if v != "random"), None):  # once per seed
                coverage = embedding.word2vec_initializer.coverage
                coverages.append(coverage["fraction"])
                print(f"Word2Vec covers {coverage['found']:,} of {coverage['words']:,} vocabulary words "
                      f"({coverage['fraction']:.1%}); the rest and [UNK] start random")
            model = build_classifier(vocabulary_size, embedding, settings["units"], args.cell)
            model.compile(
                optimizer=keras.optimizers.Adam(args.learning_rate), loss="binary_crossentropy", metrics=["accuracy"],
                jit_compile=cli_training.jit_compile(args),
            )
            print(f"-- {variant} embeddings, seed {seed}")
            # The same batch order (a function of the seed and the epoch) for every variant.
            epoch_batches, steps = training.array_epoch_batches((x_train, y_train), settings["batch_size"], seed)
            stage = f"{variant}_seed{seed}"
            history = training.fit(
                model, epoch_batches, steps, settings["epochs"], validation_data=(x_val, y_val),
                output=args.output, fresh=args.fresh, logdir=args.logdir, progress=args.progress,
                stage=stage, history_path=os.path.join(training.backup_dir(args.output, stage), "history.csv"),
                validation_batch_size=settings["batch_size"],
            )
            history.pop("seconds", None)
            curves[variant].append([float(a) for a in history["val_accuracy"]])
            runs.setdefault(variant, {})[seed] = history
            for key, values in history.items():
                history_columns[f"{variant}_seed{seed}_{key}"] = values
            if seed == settings["seeds"][0]:
                keep = keep or {}
                keep[variant] = (vectorize, model, val_texts)

    out = args.output
    write_history(os.path.join(out, "history.csv"), history_columns)
    from kerasrnn.embeddings.plots import plot_curves

    plot_curves(curves, os.path.join(out, "val_accuracy.png"), ylabel="validation accuracy",
                title=f"{settings['source']}: Bi-{args.cell.upper()} validation accuracy per epoch")
    summary = _summarize(curves, settings)
    best = max(settings["variants"], key=lambda v: summary["variants"][v]["final_val_accuracy"]["mean"])
    export = _export(out, *keep[best])
    export["variant"] = best
    training.remove_backup(out)  # every model is trained
    _print_summary(summary)
    return {
        "dataset": settings["source"],
        "cell": args.cell,
        "settings": settings,
        "train_examples": len(x_train),
        "validation_examples": len(x_val),
        "word2vec": {**w2v_info, "vocabulary_coverage_mean": float(np.mean(coverages)) if coverages else None},
        **summary,
        "export": export,
    }


def _load_data(args, settings):
    """Returns `data(seed) -> ((train_texts, y), (val_texts, y))`."""
    if settings["source"] == "imdb":
        train, test = load_imdb(args.data_dir, args.download, settings["limit"])
        return lambda seed: (train, test)
    texts, labels = read_csv(args.csv, args.encoding) if settings["source"] == "csv" else read_polarity()
    texts = np.array(texts, dtype=object)

    def data(seed):
        train, val = stratified_split(labels, args.validation_fraction, seed)
        return (list(texts[train]), labels[train]), (list(texts[val]), labels[val])

    return data


_W2V_CACHE = {}


def _word2vec(args, settings, train_texts, seed):
    """Vectors for one seed: `--vectors FILE`, or Word2Vec on the training texts
    (plus Lee) with the shared tokenizer. Returns `(keyed_vectors, info)`."""
    from kerasrnn import embeddings
    from kerasrnn.data import corpora

    if args.vectors:
        if "file" not in _W2V_CACHE:
            _W2V_CACHE["file"] = embeddings.load_vectors(args.vectors)
        kv = _W2V_CACHE["file"]
        if kv.vector_size != settings["embedding_dim"]:
            raise ValueError(
                f"`--embedding-dim` ({settings['embedding_dim']}) differs from the size of the vectors in "
                f"{args.vectors!r} ({kv.vector_size}). Received: embedding_dim={settings['embedding_dim']}"
            )
        return kv, {"source": args.vectors, "vocabulary": len(kv), "vector_size": kv.vector_size}
    sentences = embeddings.corpus_sentences(train_texts)
    if settings["w2v_corpus"] == "train+lee":
        sentences += embeddings.corpus_sentences(list(corpora.lee().documents))
        sentences += embeddings.corpus_sentences(list(corpora.lee("evaluation").documents))
    logger = embeddings.EpochLogger(log=None)
    kv = embeddings.train_word2vec(
        sentences, sg=1, vector_size=settings["embedding_dim"], window=5, negative=5, min_count=2,
        epochs=settings["w2v_epochs"], workers=1, seed=seed, logger=logger,  # one worker: reproducible
    )
    words_per_second = float(np.mean([e["words_per_second"] for e in logger.epochs]))
    print(f"Word2Vec ({settings['w2v_corpus']}, seed {seed}): {sum(map(len, sentences)):,} tokens, "
          f"{len(kv):,} words, {words_per_second:,.0f} words/s, last epoch loss {logger.epochs[-1]['loss']:,.0f}")
    return kv, {
        "source": settings["w2v_corpus"],
        "tokens": sum(map(len, sentences)),
        "vocabulary": len(kv),
        "vector_size": kv.vector_size,
        "epochs": logger.epochs,
    }


def _stats(values):
    values = np.asarray(values, dtype="float64")
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
            "per_seed": values.tolist()}


def _summarize(curves, settings):
    variants = {}
    for variant, runs in curves.items():
        variants[variant] = {
            "val_accuracy_per_epoch_mean": np.mean(runs, axis=0).tolist(),
            "final_val_accuracy": _stats([r[-1] for r in runs]),
            "best_val_accuracy": _stats([max(r) for r in runs]),
        }
    comparisons = {}
    if "random" in curves:
        for variant in curves:
            if variant == "random":
                continue
            diff = np.array([a[-1] - b[-1] for a, b in zip(curves[variant], curves["random"])])
            n = len(diff)
            sem = diff.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
            clear = bool(n > 1 and sem > 0 and abs(diff.mean()) > 2 * sem) or bool(n > 1 and sem == 0 and diff.mean() != 0)
            comparisons[f"{variant}_minus_random"] = {
                **_stats(diff),
                "wins": int((diff > 0).sum()),
                "ties": int((diff == 0).sum()),
                "losses": int((diff < 0).sum()),
                "verdict": (
                    ("helps" if diff.mean() > 0 else "hurts") + f" (|mean| > 2 standard errors over {n} seeds)"
                    if clear
                    else f"no clear difference over {n} seed(s) (|mean| <= 2 standard errors, or one seed)"
                ),
            }
    return {"variants": variants, "comparisons": comparisons}


def _print_summary(summary):
    print("\nFinal validation accuracy (mean ± std over seeds):")
    for variant, v in summary["variants"].items():
        f = v["final_val_accuracy"]
        print(f"  {variant:<10} {f['mean']:.3f} ± {f['std']:.3f}   per seed {[round(x, 3) for x in f['per_seed']]}")
    for name, c in summary["comparisons"].items():
        print(f"  {name}: {c['mean']:+.3f} ± {c['std']:.3f} (wins {c['wins']}, losses {c['losses']}): {c['verdict']}")


def _export(out, vectorize, classifier, val_texts):
    """Saves the string -> probability model (.keras) and a SavedModel; checks
    the served function against `predict`."""
    import tensorflow as tf

    model = string_model(vectorize, classifier)
    sample = np.array(val_texts[:8], dtype=object)
    expected = model.predict(sample, verbose=0)
    model.save(os.path.join(out, "model.keras"))
    export_dir = os.path.join(out, "export")
    model.export(export_dir, verbose=False)
    loaded = tf.saved_model.load(export_dir)
    served = loaded.serve(tf.constant([str(t) for t in sample])).numpy()
    return {
        "keras": "model.keras",
        "saved_model": "export",
        "signature": "serve(text: tf.string[batch]) -> float32[batch, 1] = P(positive)",
        "check_max_abs_diff": float(np.max(np.abs(served - expected))),
    }
