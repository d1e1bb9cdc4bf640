"""What the five NTM pipelines share: their options (`NTMConfig`, which each
task's `Config` subclasses with the paper's settings for it) and the recipe
`run_task(config, task)`: train on the task's generator, evaluate on held-out
and longer sequences, plot, export.

Training is crash-safe (`kerasrnn.training`): kill a run and rerun the same
command to resume from the last finished epoch; each epoch's sequences are a
function of `(--seed, epoch)`, so a resumed run ends as an uninterrupted one.
"""

import dataclasses
import os
import typing

from kerasrnn.pipelines.config import TrainingConfig
from kerasrnn.pipelines.config import option
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number

#: The learning rate of each `--optimizer` when `--learning-rate` is not given.
LEARNING_RATES = {"adam": 1e-3, "rmsprop": 1e-4}


def check_lr_schedule(name, value):
    """`auto`, `none` or EPOCH:LR pairs (`parse_epoch_schedule`)."""
    from kerasrnn.training.schedules import parse_epoch_schedule

    if value not in ("auto", "none"):
        parse_epoch_schedule(value, argument=name)


@dataclasses.dataclass
class NTMConfig(TrainingConfig):
    """Options of the NTM pipelines. Values that default to another option's
    (`--learning-rate` to the optimizer's, `--lr-schedule auto` to the task's
    schedule) are resolved on construction, so config.json records them."""

    model: str = option("ntm", "NTM, or the stacked-LSTM baseline", choices=("ntm", "lstm"))
    controller: str = option("lstm", "NTM controller", choices=("lstm", "dense"))
    units: int = option(100, "NTM controller size", quick=16, check=check_positive_int)
    memory_size: int = option(128, "NTM memory rows N", quick=32, check=check_positive_int)
    memory_width: int = option(20, "NTM memory width M", quick=8, check=check_positive_int)
    read_heads: int = option(1, "NTM read heads", check=check_positive_int)
    write_heads: int = option(1, "NTM write heads", check=check_positive_int)
    memory_init: str = option("constant", "NTM initial memory", choices=("constant", "learned", "random"))
    lstm_units: int = option(256, "LSTM baseline units per layer", quick=16, check=check_positive_int)
    lstm_layers: int = option(3, "LSTM baseline layers", quick=1, check=check_positive_int)
    optimizer: str = option("adam", "adam, or rmsprop (rho 0.95, momentum 0.9: the paper's)",
                            choices=tuple(LEARNING_RATES))
    learning_rate: typing.Optional[float] = option(
        None, "learning rate (default: 1e-3 with adam, 1e-4 with rmsprop)", check=check_positive_number)
    clip_norm: float = option(50.0, "global gradient-norm clipping", check=check_positive_number)
    lr_schedule: typing.Optional[str] = option(
        "auto", "learning-rate drops: EPOCH:LR[,EPOCH:LR...] trains with LR after EPOCH epochs (e.g. "
        "60:3e-4,100:1e-4; resumed runs follow it too); none; or auto: the task's schedule, with the default "
        "--optimizer and --learning-rate only", metavar="SCHEDULE", check=check_lr_schedule)
    steps_per_epoch: int = option(100, "training batches per epoch", quick=3, check=check_positive_int)
    eval_size: int = option(640, "held-out sequences (a tenth, at least 4, per longer-sequence set)", quick=8,
                            check=check_positive_int)
    export: bool = option(True, "export a SavedModel of the trained model")
    epochs: int = option(10, "training epochs", quick=2, check=check_positive_int)
    batch_size: int = option(16, "sequences per update", quick=4, check=check_positive_int)
    # XLA measured 2-3x faster NTM training steps on CPU (benchmarks/ntm_speed.py).
    jit_compile: str = option("on", "XLA-compile the training step: on, off, or auto (Keras's choice: off "
                              "without a GPU)", choices=("auto", "on", "off"))

    # The paper's recipes (`ntm-repeat-copy`, `ntm-ngrams`) train one sequence
    # per update: distributed, a global batch of 1 is refused (it cannot be
    # split across replicas); pass --batch-size >= the replicas.
    #: The schedule `--lr-schedule auto` means with the default optimizer and rate.
    TASK_LR_SCHEDULE = None

    def __post_init__(self):
        default_optimizer = type(self).__dataclass_fields__["optimizer"].default
        if self.lr_schedule == "auto":
            task_recipe = self.learning_rate is None and self.optimizer == default_optimizer
            self.lr_schedule = self.TASK_LR_SCHEDULE if task_recipe else None
        elif self.lr_schedule == "none":
            self.lr_schedule = None
        if self.learning_rate is None:
            self.learning_rate = LEARNING_RATES[self.optimizer]

    def backends(self):
        backends, why = super().backends()
        if self.export and "torch" in backends:
            backends = tuple(b for b in backends if b != "torch")
            why = "Keras's torch backend cannot export the model; --no-export runs there"
        return backends, why


def task_default(name, value, help=None):
    """`NTMConfig`'s field `name` with another default (same `--quick` value
    and checks; the same help unless `help` is given), for a task's `Config`."""
    metadata = dict(NTMConfig.__dataclass_fields__[name].metadata)
    if help is not None:
        metadata["help"] = help
    return dataclasses.field(default=value, metadata=metadata)


@dataclasses.dataclass
class Task:
    """One algorithmic task: its generator, the options of its training
    distribution (and of `--quick`'s), and its longer-sequence test sets."""

    name: str
    batch_fn: typing.Callable
    train_options: dict
    quick_options: dict
    #: Generalisation sets: label -> batch options (evaluated after training).
    generalisation: dict = dataclasses.field(default_factory=dict)
    quick_generalisation: dict = dataclasses.field(default_factory=dict)
    #: Extra evaluation: `fn(batch, probabilities) -> dict` of metrics.
    extra_metrics: typing.Optional[typing.Callable] = None


def build_model(config, input_dim, output_dim, return_weightings=False):
    """NTM (`kerasrnn.models.ntm_model`) or stacked-LSTM baseline, then a Dense of logits."""
    from kerasrnn import models

    if config.model == "ntm":
        return models.ntm_model(
            input_dim, output_dim, units=config.units, memory_size=config.memory_size,
            memory_width=config.memory_width, read_heads=config.read_heads, write_heads=config.write_heads,
            controller=config.controller, memory_init=config.memory_init, return_weightings=return_weightings,
            name="ntm_model",
        )
    return models.stacked_lstm_model(input_dim, output_dim, units=config.lstm_units, layers=config.lstm_layers,
                                     name="lstm_model")


def make_optimizer(config):
    """Adam, or the paper's RMSprop, with global-norm gradient clipping."""
    import keras

    if config.optimizer == "adam":
        return keras.optimizers.Adam(config.learning_rate, global_clipnorm=config.clip_norm)
    return keras.optimizers.RMSprop(config.learning_rate, rho=0.95, momentum=0.9, global_clipnorm=config.clip_norm)


def run_task(config, task):
    """Trains, evaluates, plots and exports one NTM task; returns metrics."""
    import keras
    import numpy as np

    from kerasrnn import metrics as metrics_lib
    from kerasrnn import training
    from kerasrnn.callbacks import TrainingTimer
    from kerasrnn.data.tasks.batches import longest_sequence
    from kerasrnn.data.tasks.batches import pack
    from kerasrnn.data.tasks.batches import task_epoch_batches
    from kerasrnn.losses import BitsPerSequence
    from kerasrnn.memory.plots import plot_ntm_run
    from kerasrnn.pipelines.common import write_json
    from kerasrnn.plots import plot_curves
    from kerasrnn.training.schedules import epoch_schedule_callback
    from kerasrnn.training.schedules import parse_epoch_schedule

    options = task.quick_options if config.quick else task.train_options
    generalisation = task.quick_generalisation if config.quick else task.generalisation
    out, seed = config.output, config.seed

    training.enable_determinism(seed, config.jit)
    epoch_batches = task_epoch_batches(task.batch_fn, options, config.batch_size, config.steps_per_epoch, seed)
    valid = task.batch_fn(np.random.default_rng(seed + 1_000_003), config.eval_size, **options)
    input_dim, output_dim = valid["inputs"].shape[-1], valid["targets"].shape[-1]

    model = build_model(config, input_dim, output_dim)
    model.compile(
        optimizer=make_optimizer(config),
        loss=BitsPerSequence(),
        metrics=[metrics_lib.BitsPerSequence(), metrics_lib.BitErrorsPerSequence()],
        jit_compile=config.jit,
    )
    model.summary()
    # Logs `sequences_seen` (the x axis of the learning curves) every epoch.
    throughput = TrainingTimer(config.batch_size * config.steps_per_epoch, seen_key="sequences_seen")
    callbacks = [throughput]
    schedule = parse_epoch_schedule(config.lr_schedule, argument="--lr-schedule")
    if schedule:
        callbacks.append(epoch_schedule_callback(schedule, config.learning_rate))
    hist = training.fit(
        model, epoch_batches, config.steps_per_epoch, config.epochs,
        output=out, fresh=config.fresh, logdir=config.logdir, progress=config.progress,
        validation_data=pack(valid), callbacks=callbacks, validation_batch_size=min(config.eval_size, 128),
    )
    seen = [int(n) for n in hist["sequences_seen"]]
    plot_curves(
        {
            "train bits/seq": hist["bits_per_sequence"],
            "held-out bits/seq": hist["val_bits_per_sequence"],
            "held-out bit errors/seq": hist["val_bit_errors_per_sequence"],
        },
        os.path.join(out, "learning_curves.png"),
        x=seen, xlabel="training sequences", ylabel="per sequence", title=f"{task.name}: {config.model}", logy=True,
    )

    bits, errors, probabilities = metrics_lib.sequence_scores(model, valid)
    metrics = {
        "task": task.name,
        "model": config.model,
        "parameters": int(model.count_params()),
        # Whether the training step really ran under XLA (Keras turns it off
        # silently for models it deems unsupported).
        "xla": bool(model.jit_compile),
        "training_sequences": int(seen[-1]),
        "training_seconds_after_first_batch": round(throughput.batch_seconds, 2),
        "sequences_per_second": round(throughput.examples_per_second(config.batch_size), 2),
        "heldout_sequences": int(config.eval_size),
        **metrics_lib.score_summary(bits, errors),
    }
    if task.extra_metrics is not None:
        metrics.update(task.extra_metrics(valid, probabilities))

    report = metrics_lib.generalisation_report(model, task.batch_fn, generalisation,
                                               max(config.eval_size // 10, 4), seed + 7)
    if report:
        metrics["generalisation"] = report
        write_json(os.path.join(out, "generalisation.json"), report)
        plot_curves(
            {"bit errors/seq (mean)": [scores["bit_errors_per_sequence_mean"] for scores in report.values()]},
            os.path.join(out, "generalisation.png"),
            x=list(report), xlabel="test set", ylabel="bit errors per sequence",
            title=f"{task.name}: {config.model}, generalisation",
        )

    if config.model == "ntm":
        # Memory use on one training-distribution and one longest-test sequence.
        probe_model = build_model(config, input_dim, output_dim, return_weightings=True)
        probe_model.set_weights(model.get_weights())
        cases = {"train": options}
        if generalisation:
            cases[list(generalisation)[-1]] = list(generalisation.values())[-1]
        for label, case in cases.items():
            # The longest of 8 sequences, to show as much of the procedure as possible.
            batch = longest_sequence(task.batch_fn(np.random.default_rng(seed + 11), 8, **case))
            path = os.path.join(out, f"heatmap_{label}.png".replace(" ", "_").replace("=", ""))
            plot_ntm_run(path, probe_model, batch, title=f"{task.name} ({label}), memory rows in use")

    if config.export:
        with training.outside_strategy_scope():  # SavedModels are written outside it
            model.export(os.path.join(out, "export"), verbose=False)
        metrics["export"] = os.path.join(out, "export")
    model.save(os.path.join(out, "model.keras"))
    keras.backend.clear_session()
    return metrics
