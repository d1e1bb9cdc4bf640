"""What the NTM pipelines share: model, loss and metrics in bits, training, reports.

A task pipeline describes itself with a `TaskSpec` (its batch function, the
options of its training distribution, a quick variant, its generalisation
sets) and calls `run_task(args, spec)`.

Targets are packed with the output-phase mask as one more channel, so the
loss and metrics see which steps are scored: `y = [targets, output_mask]`.

Training is crash-safe (`kerasrnn.training`): kill it and rerun the same
command to resume from the last finished epoch. The task generators are
infinite, so each epoch draws its batches from its own generator seeded
with `(--seed, epoch)` (`epoch_batches_fn`): a resumed run trains on the
same sequences as an uninterrupted one and ends with the same metrics.
"""

import dataclasses
import os

import numpy as np

from kerasrnn import training
from kerasrnn.pipelines import cli_training
from kerasrnn.pipelines.common import positive
from kerasrnn.pipelines.common import write_json

#: `--strategy` values: the NTM pipelines are not distributed.
STRATEGIES = ("none",)


@dataclasses.dataclass
class TaskSpec:
    """How one algorithmic task is trained and evaluated."""

    name: str
    batch_fn: object
    train_options: dict
    quick_options: dict
    #: Generalisation sets: label -> batch options (evaluated after training).
    generalisation: dict = dataclasses.field(default_factory=dict)
    quick_generalisation: dict = dataclasses.field(default_factory=dict)
    #: NTM defaults (paper table) and LSTM baseline sizes.
    ntm: dict = dataclasses.field(default_factory=dict)
    lstm: dict = dataclasses.field(default_factory=dict)
    #: Default `--optimizer` ("adam" or "rmsprop"); the learning rate defaults
    #: to `learning_rate` with Adam and `RMSPROP_LEARNING_RATE` with RMSprop.
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    #: Default `--lr-schedule`, used with the default optimizer and rate only.
    lr_schedule: str = None
    steps_per_epoch: int = 100
    epochs: int = 10
    batch_size: int = 16
    #: Extra evaluation: `fn(batch, probabilities) -> dict` of metrics.
    extra_metrics: object = None


#: NTM sizes and options of every task unless its `TaskSpec.ntm` says otherwise.
NTM_DEFAULTS = dict(units=100, memory_size=128, memory_width=20, read_heads=1, write_heads=1, controller="lstm",
                    memory_init="constant")
#: `--optimizer rmsprop`'s default learning rate (the paper's).
RMSPROP_LEARNING_RATE = 1e-4


def add_ntm_arguments(parser, spec):
    """The NTM options; `spec`'s defaults appear in their help."""
    ntm = {**NTM_DEFAULTS, **spec.ntm}
    parser.add_argument("--model", choices=("ntm", "lstm"), default="ntm", help="NTM or LSTM baseline (default: ntm)")
    parser.add_argument("--controller", choices=("lstm", "dense"), default=None, help="NTM controller")
    parser.add_argument("--units", type=int, default=None, help="NTM controller size")
    parser.add_argument("--memory-size", type=int, default=None, help=f"memory rows N (default {ntm['memory_size']})")
    parser.add_argument("--memory-width", type=int, default=None, help=f"memory width M (default {ntm['memory_width']})")
    parser.add_argument("--read-heads", type=int, default=None)
    parser.add_argument("--write-heads", type=int, default=None)
    parser.add_argument("--memory-init", choices=("constant", "learned", "random"), default=None,
                        help=f"initial memory (default: {ntm['memory_init']})")
    parser.add_argument("--lstm-units", type=int, default=None, help="LSTM baseline units per layer")
    parser.add_argument("--lstm-layers", type=int, default=None, help="LSTM baseline layers")
    parser.add_argument("--optimizer", choices=("adam", "rmsprop"), default=None,
                        help=f"adam (lr {spec.learning_rate:g}) or rmsprop (lr {RMSPROP_LEARNING_RATE:g}, momentum 0.9); "
                             f"default: {spec.optimizer}")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--clip-norm", type=float, default=50.0, help="global-norm gradient clip (default 50)")
    parser.add_argument("--lr-schedule", default=None, metavar="EPOCH:LR[,EPOCH:LR...]",
                        help="learning-rate drops: after EPOCH epochs train with LR (e.g. 60:3e-4,100:1e-4); "
                             "a function of the epoch, so resumed runs follow it too (default: "
                             f"{spec.lr_schedule or 'none'}, with the default optimizer and rate only)")
    parser.add_argument("--steps-per-epoch", type=int, default=None)
    parser.add_argument("--eval-size", type=int, default=None, help="held-out sequences per evaluation set")
    parser.add_argument("--no-export", action="store_true", help="skip the SavedModel export")
    # XLA measured 2-3x faster NTM training steps on CPU (benchmarks/ntm_speed.py).
    cli_training.add_training_arguments(parser, STRATEGIES, jit_compile="on")


def pack(batch):
    """`(inputs, [targets, output_mask])` for Keras from a task batch dict."""
    return batch["inputs"], np.concatenate([batch["targets"], batch["output_mask"][..., None]], axis=-1)


#: Training batches are padded at the end to a multiple of this many steps,
#: so XLA compiles one program per bucket rather than per sequence length
#: (at batch size 1, about 100 lengths took minutes of compiling).
TIME_BUCKET = 16


def pad_time(x, y, multiple=TIME_BUCKET):
    """Pads packed `(x, y)` with zero steps to a multiple of `multiple` steps.

    Padding comes after every sequence's end and its output mask (the last
    channel of `y`) is 0, so the loss, the metrics and the gradients are
    those of the unpadded batch.
    """
    extra = -x.shape[1] % multiple
    if not extra:
        return x, y
    widths = ((0, 0), (0, extra), (0, 0))
    return np.pad(x, widths), np.pad(y, widths)


def _resolve(args, spec):
    cli_training.check_arguments(args, STRATEGIES)
    args.batch_size = args.batch_size or (4 if args.quick else spec.batch_size)
    args.epochs = args.epochs or (2 if args.quick else spec.epochs)
    args.steps_per_epoch = positive("steps-per-epoch", args.steps_per_epoch) or (3 if args.quick else spec.steps_per_epoch)
    args.eval_size = positive("eval-size", args.eval_size) or (8 if args.quick else 640)
    ntm = {**NTM_DEFAULTS, **spec.ntm}
    if args.quick:
        ntm.update(units=16, memory_size=32, memory_width=8)
    for key, value in ntm.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    lstm = dict(lstm_units=256, lstm_layers=3)
    lstm.update(spec.lstm)
    if args.quick:
        lstm.update(lstm_units=16, lstm_layers=1)
    for key, value in lstm.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for name in ("units", "memory_size", "memory_width", "read_heads", "write_heads", "lstm_units", "lstm_layers"):
        positive(name.replace("_", "-"), getattr(args, name))
    args.optimizer = args.optimizer or spec.optimizer
    if args.lr_schedule is None and args.learning_rate is None and args.optimizer == spec.optimizer:
        args.lr_schedule = spec.lr_schedule
    if args.learning_rate is None:
        args.learning_rate = spec.learning_rate if args.optimizer == "adam" else RMSPROP_LEARNING_RATE
    if not args.learning_rate > 0:
        raise ValueError(f"`--learning-rate` must be positive. Received: learning_rate={args.learning_rate!r}")
    if not args.clip_norm > 0:
        raise ValueError(f"`--clip-norm` must be positive. Received: clip_norm={args.clip_norm!r}")
    parse_lr_schedule(args.lr_schedule)


def parse_lr_schedule(text):
    """`"60:3e-4,100:1e-4"` -> `[(60, 3e-4), (100, 1e-4)]`: after `EPOCH`
    epochs the learning rate is `LR`. Epochs must increase, rates be
    positive; anything else is a `ValueError` naming `--lr-schedule`."""
    if text is None:
        return []
    steps = []
    for part in str(text).split(","):
        try:
            epoch, rate = part.split(":")
            epoch, rate = int(epoch), float(rate)
        except ValueError:
            epoch, rate = None, None
        if epoch is None or epoch < 1 or not rate > 0 or (steps and epoch <= steps[-1][0]):
            raise ValueError(
                "`--lr-schedule` must be EPOCH:LR pairs with increasing positive epochs and positive rates, "
                f"separated by commas (e.g. 60:3e-4,100:1e-4). Received: lr_schedule={text!r}"
            )
        steps.append((epoch, rate))
    return steps


def lr_schedule_callback(schedule, base_rate):
    """A Keras callback setting the learning rate at each epoch's start from
    `parse_lr_schedule`'s pairs (`base_rate` before the first drop)."""
    import keras

    def rate(epoch, _):
        current = base_rate
        for start, value in schedule:
            if epoch >= start:
                current = value
        return current

    return keras.callbacks.LearningRateScheduler(rate)


def build_model(args, input_dim, output_dim, return_weightings=False):
    """NTM (`kerasrnn.models.ntm_model`) or stacked-LSTM baseline, then a Dense of logits."""
    from kerasrnn import models

    if args.model == "ntm":
        return models.ntm_model(
            input_dim, output_dim, units=args.units, memory_size=args.memory_size, memory_width=args.memory_width,
            read_heads=args.read_heads, write_heads=args.write_heads, controller=args.controller,
            memory_init=args.memory_init, return_weightings=return_weightings, name="ntm_model",
        )
    return models.stacked_lstm_model(input_dim, output_dim, units=args.lstm_units, layers=args.lstm_layers,
                                     name="lstm_model")


def make_optimizer(args):
    import keras

    if args.optimizer == "adam":
        return keras.optimizers.Adam(args.learning_rate, global_clipnorm=args.clip_norm)
    return keras.optimizers.RMSprop(args.learning_rate, rho=0.95, momentum=0.9, global_clipnorm=args.clip_norm)


def per_sequence(model, batch, chunk=64):
    """Per-sequence bits and bit errors (NumPy) of `model` on a task batch."""
    from kerasrnn.losses import bits_per_sequence
    from kerasrnn.metrics import bit_errors_per_sequence

    x, y = pack(batch)
    logits = np.concatenate([model.predict_on_batch(x[i : i + chunk]) for i in range(0, len(x), chunk)])
    bits = np.asarray(bits_per_sequence(y, logits))
    errors = np.asarray(bit_errors_per_sequence(y, logits))
    return bits, errors, 1.0 / (1.0 + np.exp(-logits))


def epoch_batches_fn(spec, options, batch_size, steps_per_epoch, seed):
    """`epoch_batches(first, last)` for `training.fit`: epoch `e` is
    `steps_per_epoch` packed batches of `spec.batch_fn` drawn from
    `numpy.random.default_rng([seed, e])`, a function of `(seed, epoch)`
    only, so a resumed run trains on the sequences an uninterrupted one
    would. Batches are padded to a multiple of `TIME_BUCKET` steps
    (`pad_time`)."""
    import tensorflow as tf

    x, y = pack(spec.batch_fn(np.random.default_rng(0), 1, **options))
    signature = tuple(tf.TensorSpec((None, None, a.shape[-1]), tf.as_dtype(a.dtype)) for a in (x, y))

    def epoch_batches(first, last):
        def generate():
            for epoch in range(first, last):
                rng = np.random.default_rng([seed, epoch])
                for _ in range(steps_per_epoch):
                    yield pad_time(*pack(spec.batch_fn(rng, batch_size, **options)))

        return tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(2)

    return epoch_batches


def run_task(args, spec):
    """Trains, evaluates, plots and exports one NTM task; returns metrics."""
    import keras

    from kerasrnn import metrics as metrics_lib
    from kerasrnn.callbacks import TrainingTimer
    from kerasrnn.losses import BitsPerSequence
    from kerasrnn.memory.plots import plot_curves
    from kerasrnn.memory.plots import plot_ntm_heatmaps

    _resolve(args, spec)
    options = spec.quick_options if args.quick else spec.train_options
    generalisation = spec.quick_generalisation if args.quick else spec.generalisation
    out = args.output
    # Rewrite config.json with the resolved defaults (sizes, optimizer, budget).
    config = dict(sorted(vars(args).items()), pipeline=f"ntm-{spec.name}")
    write_json(os.path.join(out, "config.json"), config)

    training.enable_determinism(args.seed, cli_training.jit_compile(args))
    epoch_batches = epoch_batches_fn(spec, options, args.batch_size, args.steps_per_epoch, args.seed)
    eval_rng = np.random.default_rng(args.seed + 1_000_003)
    valid = spec.batch_fn(eval_rng, args.eval_size, **options)
    probe = spec.batch_fn(np.random.default_rng(0), 1, **options)
    input_dim, output_dim = probe["inputs"].shape[-1], probe["targets"].shape[-1]

    model = build_model(args, input_dim, output_dim)
    model.compile(
        optimizer=make_optimizer(args),
        loss=BitsPerSequence(),
        metrics=[metrics_lib.BitsPerSequence(), metrics_lib.BitErrorsPerSequence()],
        jit_compile=cli_training.jit_compile(args),
    )
    model.summary()
    # Logs `sequences_seen` (the x axis of the learning curves) every epoch.
    throughput = TrainingTimer(args.batch_size * args.steps_per_epoch, seen_key="sequences_seen")
    schedule = parse_lr_schedule(args.lr_schedule)
    valid_x, valid_y = pack(valid)
    hist = training.fit(
        model, epoch_batches, args.steps_per_epoch, args.epochs,
        output=args.output, fresh=args.fresh, logdir=args.logdir, progress=args.progress,
        validation_data=(valid_x, valid_y),
        callbacks=[throughput] + ([lr_schedule_callback(schedule, args.learning_rate)] if schedule else []),
        validation_batch_size=min(args.eval_size, 128),
    )
    seen = [int(n) for n in hist["sequences_seen"]]
    plot_curves(
        {
            "train bits/seq": hist["bits_per_sequence"],
            "held-out bits/seq": hist["val_bits_per_sequence"],
            "held-out bit errors/seq": hist["val_bit_errors_per_sequence"],
        },
        os.path.join(out, "learning_curves.png"),
        x=seen,
        xlabel="training sequences",
        ylabel="per sequence",
        title=f"{spec.name}: {args.model}",
        logy=True,
    )

    bits, errors, probs = per_sequence(model, valid)
    metrics = {
        "task": spec.name,
        "model": args.model,
        "parameters": int(model.count_params()),
        # Whether the training step really ran under XLA (Keras turns it off
        # silently for models it deems unsupported).
        "xla": bool(model.jit_compile),
        "training_sequences": int(seen[-1]),
        "training_seconds_after_first_batch": round(throughput.batch_seconds, 2),
        "sequences_per_second": round(throughput.examples_per_second(args.batch_size), 2),
        "heldout_sequences": int(args.eval_size),
        "bits_per_sequence": float(bits.mean()),
        "bit_errors_per_sequence_mean": float(errors.mean()),
        "bit_errors_per_sequence_median": float(np.median(errors)),
    }
    if spec.extra_metrics is not None:
        metrics.update(spec.extra_metrics(valid, probs))

    report = {}
    for label, gen_options in generalisation.items():
        batch = spec.batch_fn(np.random.default_rng(args.seed + 7), max(args.eval_size // 10, 4), **gen_options)
        g_bits, g_errors, _ = per_sequence(model, batch)
        report[label] = {
            "bits_per_sequence": float(g_bits.mean()),
            "bit_errors_per_sequence_mean": float(g_errors.mean()),
            "bit_errors_per_sequence_median": float(np.median(g_errors)),
            "sequences": int(len(g_errors)),
        }
    if report:
        metrics["generalisation"] = report
        write_json(os.path.join(out, "generalisation.json"), report)
        labels = list(report)
        plot_curves(
            {"bit errors/seq (mean)": [report[k]["bit_errors_per_sequence_mean"] for k in labels]},
            os.path.join(out, "generalisation.png"),
            x=labels,
            xlabel="test set",
            ylabel="bit errors per sequence",
            title=f"{spec.name}: {args.model}, generalisation",
        )

    _heatmaps(args, model, spec, options, generalisation, input_dim, output_dim, plot_ntm_heatmaps)

    if not args.no_export:
        model.export(os.path.join(out, "export"), verbose=False)
        metrics["export"] = os.path.join(out, "export")
    model.save(os.path.join(out, "model.keras"))
    keras.backend.clear_session()
    return metrics


def _heatmaps(args, model, spec, options, generalisation, input_dim, output_dim, plot):
    """Heat maps of one training-distribution and one longest-test sequence."""
    if args.model != "ntm":
        return
    probe_model = build_model(args, input_dim, output_dim, return_weightings=True)
    probe_model.set_weights(model.get_weights())
    cell = probe_model.get_layer("ntm").cell
    cases = {"train": options}
    if generalisation:
        cases[list(generalisation)[-1]] = list(generalisation.values())[-1]
    for label, case in cases.items():
        # The longest of 8 sequences, to show as much of the procedure as possible.
        batch = spec.batch_fn(np.random.default_rng(args.seed + 11), 8, **case)
        longest = int(np.argmax(batch["sequence_mask"].sum(axis=1)))
        batch = {k: v[longest : longest + 1] for k, v in batch.items()}
        logits, features = probe_model.predict_on_batch(batch["inputs"])
        parts = cell.split_output(np.asarray(features))
        steps = int(batch["sequence_mask"][0].sum())
        plot(
            os.path.join(args.output, f"heatmap_{label}.png".replace(" ", "_").replace("=", "")),
            batch["inputs"][0, :steps],
            batch["targets"][0, :steps] * batch["output_mask"][0, :steps, None],
            (1.0 / (1.0 + np.exp(-np.asarray(logits)[0, :steps]))) * batch["output_mask"][0, :steps, None],
            np.asarray(parts["read_weightings"])[0, :steps],
            np.asarray(parts["write_weightings"])[0, :steps],
            title=f"{spec.name} ({label}), memory rows in use",
        )
