"""sentiment: many-to-one text classification, random vs Word2Vec embeddings.

A kerasrnn `Bidirectional(LSTM)` (or GRU) reads tokenized text and a sigmoid
gives P(positive). The same model is trained with three embeddings
(`--variants`), on the same split and from the same initial weights:
`random` (trained from uniform vectors), `frozen` (Word2Vec vectors, not
trained) and `finetuned` (Word2Vec vectors, trained). Word2Vec is trained
with gensim on the training texts (`--w2v-corpus train+lee` adds gensim's
Lee news corpus), or read from `--vectors FILE`. Several `--seeds` (each a
new split, new Word2Vec and new initial weights) give each variant's mean ±
std validation accuracy and paired differences against `random`.

Data: `--dataset polarity` (default, offline: gensim's 200 labelled movie-
review sentences), `--csv FILE` (columns `text,label`, label 0/1 or
neg/pos), or `--dataset imdb` (tensorflow-datasets' imdb_reviews, prepared
in `--data-dir`, or `--download` where there is network).

Training is crash-safe: rerun the same command after a crash and the models
already trained are reloaded and the interrupted one resumes.

Run directory: config.json, metrics.json, history.csv (every variant and
seed), val_accuracy.png, model.keras (string in, probability out) and
export/ (SavedModel: `serve(tf.string[batch]) -> float32[batch, 1]`).

Example: kerasrnn sentiment --quick
"""

import dataclasses
import os
import typing

from kerasrnn.pipelines.config import TrainingConfig
from kerasrnn.pipelines.config import check_seed
from kerasrnn.pipelines.config import each
from kerasrnn.pipelines.config import existing_file
from kerasrnn.pipelines.config import not_empty
from kerasrnn.pipelines.config import option
from kerasrnn.validation import ArgumentError
from kerasrnn.validation import check_fraction
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number
from kerasrnn.validation import check_rate

DESCRIPTION = "Bi-LSTM/GRU sentiment (many-to-one): random vs Word2Vec frozen/fine-tuned embeddings over seeds"

VARIANTS = ("random", "frozen", "finetuned")


def _seeds(name, values):
    not_empty(name, values)
    each(check_seed)(name, values)
    if len(set(values)) != len(values):
        raise ArgumentError(name, ",".join(map(str, values)), "distinct seeds")


@dataclasses.dataclass
class Config(TrainingConfig):
    """sentiment's options."""

    BACKENDS = ("tensorflow",)
    BACKENDS_BECAUSE = "its string-to-score export traces the model with tf.function"

    dataset: str = option("polarity", "polarity: gensim's 200 labelled sentences (offline); imdb: "
                          "tensorflow-datasets' imdb_reviews, prepared in --data-dir", choices=("polarity", "imdb"))
    csv: typing.Optional[str] = option(None, "labelled data instead: a CSV file with text,label columns",
                                       metavar="FILE", check=existing_file)
    encoding: str = option("utf-8", "encoding of --csv")
    data_dir: typing.Optional[str] = option(None, "tensorflow-datasets data_dir for --dataset imdb "
                                            "(default: $TFDS_DATA_DIR or ~/tensorflow_datasets)", metavar="DIR")
    download: bool = option(False, "let tensorflow-datasets download imdb_reviews (needs network)")
    limit: typing.Optional[int] = option(None, "use at most N training and N validation examples of imdb "
                                         "(default: all)", quick=256, check=check_positive_int)
    validation_fraction: float = option(0.25, "held-out fraction of polarity/--csv, stratified",
                                        check=check_fraction)
    seeds: typing.Tuple[int, ...] = option((0, 1, 2, 3, 4), "seeds, one run of each variant per seed",
                                           quick=(0,), check=_seeds)
    variants: typing.Tuple[str, ...] = option(VARIANTS, "embeddings to compare", choices=VARIANTS, check=not_empty)
    cell: str = option("lstm", "recurrent layer",
                       choices=("lstm", "gru", "lnlstm", "mingru", "minlstm", "lru", "rglru", "hawk"))
    units: int = option(32, "units per direction", quick=8, check=check_positive_int)
    dropout: float = option(0.3, "dropout rate before the output unit (distributed, each replica draws its own "
                            "masks: the run matches a single-device one only with 0)", check=check_rate)
    embedding_dim: int = option(100, "embedding and Word2Vec size", quick=16, check=check_positive_int)
    max_tokens: int = option(20000, "vocabulary size", quick=2000, check=check_positive_int)
    sequence_length: typing.Optional[int] = option(None, "tokens per text, padded or cut (default: 64; "
                                                   "256 for imdb)", quick=32, check=check_positive_int)
    learning_rate: float = option(3e-3, "Adam learning rate", check=check_positive_number)
    w2v_epochs: int = option(20, "Word2Vec epochs", quick=1, check=check_positive_int)
    w2v_corpus: typing.Optional[str] = option(None, "Word2Vec text: the training texts, optionally with "
                                              "gensim's Lee news corpus (default: train+lee for polarity, "
                                              "train otherwise)", quick="train", choices=("train", "train+lee"))
    vectors: typing.Optional[str] = option(None, "use these pretrained vectors (word2vec .txt/.vec/.bin or "
                                           "gensim .kv) instead of training Word2Vec", metavar="FILE",
                                           check=existing_file)
    epochs: int = option(10, "training epochs", quick=1, check=check_positive_int)
    batch_size: int = option(16, "batch size", quick=32, check=check_positive_int)

    def validate(self):
        super().validate()
        if self.csv is not None and self.dataset == "imdb":
            raise ArgumentError("--dataset", "imdb", "left out with --csv (pass one of them)")
        if self.sequence_length is None:
            self.sequence_length = 256 if self.source == "imdb" else 64  # IMDB reviews average ~230 words
        if self.w2v_corpus is None:
            self.w2v_corpus = "train+lee" if self.source == "polarity" else "train"

    @property
    def source(self):
        """Where the labelled texts come from: polarity, imdb or csv."""
        return "csv" if self.csv is not None else self.dataset


def load_data(config):
    """`data(seed) -> ((train_texts, y), (validation_texts, y))`: a new
    stratified split per seed (imdb: its fixed train and test splits)."""
    import numpy as np

    from kerasrnn.data import corpora
    from kerasrnn.data import labelled_text

    if config.source == "imdb":
        train, test = labelled_text.load_imdb(config.data_dir, config.download, config.limit)
        return lambda seed: (train, test)
    if config.source == "csv":
        texts, labels = labelled_text.read_labelled_csv(config.csv, config.encoding)
    else:
        polarity = corpora.polarity()
        texts, labels = polarity.documents, np.asarray(polarity.labels, dtype="float32")
    texts = np.array(texts, dtype=object)

    def data(seed):
        train, validation = labelled_text.stratified_split(labels, config.validation_fraction, seed)
        return (list(texts[train]), labels[train]), (list(texts[validation]), labels[validation])

    return data


def word2vec(config, train_texts, seed):
    """`(keyed_vectors, info)`: Word2Vec trained on this seed's training texts
    (plus Lee) with the shared tokenizer."""
    import numpy as np

    from kerasrnn import embeddings
    from kerasrnn.data import corpora

    sentences = embeddings.corpus_sentences(train_texts)
    if config.w2v_corpus == "train+lee":
        for part in ("background", "evaluation"):
            sentences += embeddings.corpus_sentences(list(corpora.lee(part).documents))
    logger = embeddings.EpochLogger(log=None)
    kv = embeddings.train_word2vec(
        sentences, sg=1, vector_size=config.embedding_dim, window=5, negative=5, min_count=2,
        epochs=config.w2v_epochs, workers=1, seed=seed, logger=logger,  # one worker: reproducible
    )
    tokens = sum(map(len, sentences))
    words_per_second = float(np.mean([e["words_per_second"] for e in logger.epochs]))
    print(f"Word2Vec ({config.w2v_corpus}, seed {seed}): {tokens:,} tokens, {len(kv):,} words, "
          f"{words_per_second:,.0f} words/s, last epoch loss {logger.epochs[-1]['loss']:,.0f}")
    return kv, {"source": config.w2v_corpus, "tokens": tokens, "vocabulary": len(kv),
                "vector_size": kv.vector_size, "epochs": logger.epochs}


def read_vectors(config):
    """`(keyed_vectors, info)` of `--vectors`, whose size must be `--embedding-dim`."""
    from kerasrnn import embeddings
    from kerasrnn.validation import InputError

    kv = embeddings.read_vectors(config.vectors, argument="--vectors")
    if kv.vector_size != config.embedding_dim:
        raise InputError(f"`--embedding-dim` ({config.embedding_dim}) differs from the size of the vectors in "
                         f"{config.vectors!r} ({kv.vector_size}). Received: --embedding-dim={config.embedding_dim}")
    return kv, {"source": config.vectors, "vocabulary": len(kv), "vector_size": kv.vector_size}


def check_vectors_cover(config, kv, vocabulary):
    """`--vectors` must know some words of the training texts: with none, the
    frozen and finetuned models would train on random rows and end near
    chance without a word of why. Checked before any model trains."""
    from kerasrnn.validation import InputError

    words = [w for w in vocabulary if w not in ("", "[UNK]")]
    if not any(w in kv.key_to_index for w in words):
        def preview(tokens):
            return ", ".join(repr(t) for t in tokens[:5]) + (", ..." if len(tokens) > 5 else "")

        raise InputError(
            f"`--vectors` {config.vectors!r} has a vector for none of the {len(words):,} words of the training "
            f"texts (they are e.g. {preview(words)}; the vectors' words are e.g. {preview(kv.index_to_key)}): "
            "use vectors of the same language, tokenized like the data (lower-case, punctuation apart), or "
            "--variants random")


def run(config):
    import keras
    import numpy as np

    from kerasrnn import embeddings
    from kerasrnn import training
    from kerasrnn.embeddings.plots import plot_curves
    from kerasrnn.training import write_history
    from kerasrnn.seed_comparison import format_summary
    from kerasrnn.seed_comparison import summarize_variants
    from kerasrnn.text_classifier import bidirectional_classifier
    from kerasrnn.text_classifier import export_string_classifier
    from kerasrnn.text_classifier import random_embedding
    from kerasrnn.text_classifier import string_classifier

    data = load_data(config)
    pretrained = read_vectors(config) if config.vectors else None
    training.enable_determinism(config.seed, config.jit)
    pretrained_variants = [v for v in config.variants if v != "random"]
    curves, history_columns, coverages, w2v_info, best_models = {v: [] for v in config.variants}, {}, [], {}, {}
    for seed in config.seeds:
        (train_texts, y_train), (val_texts, y_val) = data(seed)
        vectorize = embeddings.text_vectorization(max_tokens=config.max_tokens,
                                                  output_sequence_length=config.sequence_length)
        vectorize.adapt(np.array(train_texts, dtype=object), batch_size=256)
        vocabulary_size = vectorize.vocabulary_size()
        x_train = vectorize(np.array(train_texts, dtype=object)).numpy()
        x_val = vectorize(np.array(val_texts, dtype=object)).numpy()
        kv = None
        if pretrained_variants:
            if pretrained:
                check_vectors_cover(config, pretrained[0], vectorize.get_vocabulary())
            kv, w2v_info = pretrained or word2vec(config, train_texts, seed)
        print(f"\n== seed {seed}: {len(train_texts)} train / {len(val_texts)} validation texts, "
              f"vocabulary {vocabulary_size}")
        for variant in config.variants:
            keras.utils.set_random_seed(seed)
            if variant == "random":
                embedding = random_embedding(vocabulary_size, config.embedding_dim, seed)
            else:
                embedding = embeddings.word2vec_embedding(
                    kv, vectorize, trainable=variant == "finetuned", mask_zero=True, oov="random", seed=seed,
                    vectors_in_config=False, name="embedding",
                    # Word2Vec trained here leaves out the rare words (min_count 2): its low
                    # coverage is expected and printed below; --vectors' is warned about.
                    min_coverage=0.5 if pretrained else None)
            if pretrained_variants and variant == pretrained_variants[0]:  # once per seed
                coverage = embedding.word2vec_initializer.coverage
                coverages.append(coverage["fraction"])
                print(f"Word2Vec covers {coverage['found']:,} of {coverage['words']:,} vocabulary words "
                      f"({coverage['fraction']:.1%}); the rest and [UNK] start random")
            model = bidirectional_classifier(embedding, config.units, config.cell, dropout=config.dropout)
            model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="binary_crossentropy",
                          metrics=["accuracy"], jit_compile=config.jit)
            print(f"-- {variant} embeddings, seed {seed}")
            # The same batch order (a function of the seed and the epoch) for every variant.
            epoch_batches, steps = training.array_epoch_batches((x_train, y_train), config.batch_size, seed)
            stage = f"{variant}_seed{seed}"
            history = training.fit(
                model, epoch_batches, steps, config.epochs, validation_data=(x_val, y_val),
                output=config.output, fresh=config.fresh, logdir=config.logdir, progress=config.progress,
                stage=stage, history_path=os.path.join(training.backup_dir(config.output, stage), "history.csv"),
                validation_batch_size=config.batch_size,
            )
            history.pop("seconds", None)
            curves[variant].append([float(a) for a in history["val_accuracy"]])
            history_columns.update({f"{stage}_{key}": values for key, values in history.items()})
            if seed == config.seeds[0]:
                best_models[variant] = (vectorize, model, val_texts)

    output = config.output
    write_history(os.path.join(output, "history.csv"), history_columns)
    plot_curves(curves, os.path.join(output, "val_accuracy.png"), ylabel="validation accuracy",
                title=f"{config.source}: Bi-{config.cell.upper()} validation accuracy per epoch")
    summary = summarize_variants(curves)
    best = max(config.variants, key=lambda v: summary["variants"][v]["final_val_accuracy"]["mean"])
    vectorize, classifier, val_texts = best_models[best]
    export = export_string_classifier(string_classifier(vectorize, classifier), output, val_texts[:8])
    export["variant"] = best
    training.remove_backup(output)  # every model is trained
    print("\n" + "\n".join(format_summary(summary)))
    return {
        "dataset": config.source,
        "cell": config.cell,
        "train_examples": len(x_train),
        "validation_examples": len(x_val),
        "word2vec": {**w2v_info, "vocabulary_coverage_mean": float(np.mean(coverages)) if coverages else None},
        **summary,
        "export": export,
    }
