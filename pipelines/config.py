"""Options declared once: a pipeline's `Config` dataclass is its defaults,
its `--quick` variant, its command line, its validation and its config.json.

A pipeline declares::

    @dataclasses.dataclass
    class Config(TrainingConfig):
        units: int = option(256, "recurrent units", quick=32, check=check_positive_int)
        cell: str = option("lstm", "recurrent layer", choices=("lstm", "gru"))

`resolve` turns defaults, the `--quick` values, a replayed config.json and the
options given on the command line (in that order) into one validated
`Config`; `add_arguments` generates the argparse options from the fields
(`units` → `--units`, a `bool` → `--name/--no-name`, a tuple → a
comma-separated list). Options that only steer the command (`--config`,
`--verbose`) are not fields.
"""

import argparse
import dataclasses
import os
import typing

from kerasrnn.training import distribute as training_distribute
from kerasrnn.validation import ArgumentError
from kerasrnn.validation import InputError
from kerasrnn.validation import check_int
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number

_MISSING = dataclasses.MISSING


def option(default, help, *, quick=_MISSING, choices=None, check=None, metavar=None):
    """A config field: its default, help text, `--quick` value, allowed
    values (`choices`, also for each element of a tuple) and a `check(name,
    value)` that raises `ValueError` for a bad value."""
    metadata = {"help": help, "quick": quick, "choices": choices, "check": check, "metavar": metavar}
    if isinstance(default, (list, dict, set)):
        raise TypeError("Use a tuple for a sequence default")
    return dataclasses.field(default=default, metadata=metadata)


# Checks beyond `kerasrnn.validation`'s; each is `check(name, value)`.

def existing_file(name, value):
    """`value` names a file that exists."""
    if not os.path.isfile(value):
        raise InputError(f"`{name}` must be an existing file. Received: {name}={value!r} "
                         f"({'a directory' if os.path.isdir(value) else 'no such file'})")


def check_seed(name, value):
    """A seed NumPy, Python and TensorFlow all accept."""
    check_int(name, value, minimum=0, maximum=2**32 - 1)


def each(check):
    """Applies `check` to every element of a tuple option."""
    def check_each(name, values):
        for value in values:
            check(name, value)
    return check_each


def not_empty(name, values):
    """A list option with at least one element."""
    if len(values) == 0:
        raise ArgumentError(name, ",".join(map(str, values)), "a non-empty comma-separated list")


@dataclasses.dataclass
class RunConfig:
    """Options of every pipeline."""

    output: typing.Optional[str] = option(None, "run directory (default: runs/NAME)", metavar="DIR")
    seed: int = option(0, "random seed", check=check_seed)
    quick: bool = option(False, "tiny budget, for tests and smoke runs; explicit options override it")

    #: Values of `--strategy` this pipeline supports (`TrainingConfig`: all).
    STRATEGIES = ("none",)
    #: The Keras backends this pipeline runs on (`KERAS_BACKEND`), and why
    #: not the others; the runner refuses another backend before anything
    #: is written.
    BACKENDS = ("tensorflow", "jax", "torch")
    BACKENDS_BECAUSE = None

    def validate(self):
        """Checks between options; a subclass extends it (raise
        `kerasrnn.validation.ArgumentError` naming the option)."""

    def requirements(self):
        """`{importable package: kerasrnn extra}` this run needs beyond the
        core install, checked before anything is written."""
        return {}

    def backends(self):
        """`(backends, why)`: the Keras backends this run works on and, when
        that is not all of them, why (`None` otherwise)."""
        return self.BACKENDS, self.BACKENDS_BECAUSE


@dataclasses.dataclass
class TrainingConfig(RunConfig):
    """Options of every pipeline that trains a Keras model with
    `kerasrnn.training.fit`. The runner runs such a pipeline inside
    `kerasrnn.training.distributed`, so every one trains under `--strategy`
    (models built in its `strategy.scope()`, `--batch-size` the global batch,
    only the chief writing the run directory) or `--distribution` on JAX."""

    STRATEGIES = training_distribute.STRATEGIES
    #: Values of `--distribution` (`keras.distribution`, JAX backend).
    DISTRIBUTIONS = ("none", "data-parallel")

    epochs: int = option(10, "training epochs", quick=1, check=check_positive_int)
    batch_size: int = option(32, "batch size", check=check_positive_int)
    strategy: str = option("none", "tf.distribute strategy (TensorFlow backend): none; mirrored (all local "
                           "devices) or multi-worker (one process per worker, cluster in TF_CONFIG; see "
                           "docs/distributed.md); --batch-size is the global batch")
    distribution: str = option("none", "keras.distribution (JAX backend): none, or data-parallel over every "
                               "local device; --batch-size is the global batch", choices=DISTRIBUTIONS)
    peer_timeout: float = option(training_distribute.PEER_TIMEOUT, "--strategy multi-worker: seconds to wait for "
                                 "the other workers to join before exiting with an error",
                                 check=check_positive_number)
    logdir: typing.Optional[str] = option(None, "write TensorBoard logs here (default: off)", metavar="DIR")
    fresh: bool = option(False, "delete an existing backup in the run directory and start over")
    progress: str = option("auto", "Keras progress bars: auto (only on a terminal), bar, none",
                           choices=("auto", "bar", "none"))
    jit_compile: str = option("auto", "XLA-compile the training step: on, off, or auto (Keras's choice: off "
                              "without a GPU)", choices=("auto", "on", "off"))

    def validate(self):
        super().validate()
        if self.strategy not in self.STRATEGIES:
            supported = ", ".join(self.STRATEGIES)
            raise ArgumentError("--strategy", self.strategy, f"one of {supported} for this pipeline")
        if self.strategy != "none" and self.distribution != "none":
            raise ArgumentError("--distribution", self.distribution, "none with --strategy (one of them "
                                "distributes: --strategy on TensorFlow, --distribution on JAX)")
        if self.distribution != "none" and "jax" not in type(self).BACKENDS:
            raise ArgumentError("--distribution", self.distribution,
                                f"none for this pipeline: it runs on TensorFlow only ({self.BACKENDS_BECAUSE}); "
                                "distribute it with --strategy mirrored or multi-worker")
        if self.strategy == "multi-worker":
            spec = training_distribute.read_tf_config()
            training_distribute.check_global_batch(self.batch_size, spec.workers)

    def requirements(self):
        return {"tensorboard": "tensorboard"} if self.logdir else {}

    def backends(self):
        backends, why = super().backends()
        if self.strategy != "none":
            return ("tensorflow",), "`--strategy` distributes training with tf.distribute"
        if self.distribution != "none":
            return ("jax",), "`--distribution` distributes training with keras.distribution, here on JAX"
        return backends, why

    @property
    def jit(self):
        """`model.compile(jit_compile=...)` for `--jit-compile`."""
        return {"auto": "auto", "on": True, "off": False}[self.jit_compile]


def fields(config_class):
    """`[(field, type)]` of a config class, types resolved."""
    hints = typing.get_type_hints(config_class)
    return [(field, hints[field.name]) for field in dataclasses.fields(config_class)]


def _base_type(annotation):
    """`(scalar type, is_tuple)` of `int`, `Optional[int]`, `tuple[int, ...]`."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Union:
        annotation = next(a for a in args if a is not type(None))
        args = typing.get_args(annotation)
    if typing.get_origin(annotation) is tuple:
        return args[0], True
    return annotation, False


def _parse_scalar(kind, name, text):
    if kind is str:
        return text
    try:
        return kind(text)
    except ValueError:
        raise ArgumentError(_flag(name), text, "an integer" if kind is int else "a number") from None


def _flag(name):
    return "--" + name.replace("_", "-")


def add_arguments(parser, config_class, name="NAME"):
    """Adds one option per field, in groups: the pipeline's own, training,
    run. Their defaults are `SUPPRESS`, so `resolve` knows which were given."""
    shared = {field.name: "run options" for field in dataclasses.fields(RunConfig)}
    shared.update({field.name: "training options" for field in dataclasses.fields(TrainingConfig)
                   if field.name not in shared})
    groups = {}
    for title in (f"{name} options", "training options", "run options"):
        groups[title] = parser.add_argument_group(title)
    for field, annotation in fields(config_class):
        kind, is_tuple = _base_type(annotation)
        meta = field.metadata
        help_text = meta["help"].replace("NAME", name)
        if field.default is not None and field.name != "quick" and kind is not bool:
            shown = ",".join(map(str, field.default)) if is_tuple else field.default
            if isinstance(shown, str) and (not shown or shown != shown.strip()):
                shown = repr(shown)
            help_text += f" (default: {shown}"
            if meta["quick"] is not _MISSING:
                quick = meta["quick"]
                help_text += f"; quick: {','.join(map(str, quick)) if is_tuple else quick}"
            help_text += ")"
        help_text = help_text.replace("%", "%%")
        metavar = meta["metavar"]
        choices = config_class.STRATEGIES if field.name == "strategy" else meta["choices"]
        if metavar is None and choices:
            metavar = "{" + ",".join(map(str, choices)) + "}"
        if metavar is None:
            metavar = {int: "N", float: "X"}.get(kind, "TEXT")
        if is_tuple:
            metavar += "[,...]"
        common = {"dest": field.name, "default": argparse.SUPPRESS, "help": help_text}
        group = groups[shared.get(field.name, f"{name} options")]
        if kind is bool:
            group.add_argument(_flag(field.name), action=argparse.BooleanOptionalAction, **common)
        else:
            group.add_argument(_flag(field.name), metavar=metavar, **common)
    return groups


def _convert(field, annotation, value, from_text):
    """`value` (command-line text, or a config.json value) as the field's type."""
    kind, is_tuple = _base_type(annotation)
    name = field.name
    if value is None:
        return None
    if kind is bool:
        if not isinstance(value, bool):
            raise ArgumentError(_flag(name), value, "true or false")
        return value
    if is_tuple:
        items = [item.strip() for item in value.split(",") if item.strip()] if from_text else value
        if not isinstance(items, (list, tuple)):
            raise ArgumentError(_flag(name), value, "a list")
        return tuple(_parse_scalar(kind, name, item) if isinstance(item, str) else item for item in items)
    if from_text:
        return _parse_scalar(kind, name, value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ArgumentError(_flag(name), value, f"of type {kind.__name__}")
    return value


def resolve(config_class, given, replayed=None):
    """The run's config: defaults, then the `--quick` values (when `quick` is
    given or replayed), then `replayed` (a config.json's values), then the
    options `given` on the command line; every field checked, then
    `validate()`. Raises `InputError` naming the option and value."""
    replayed = dict(replayed or {})
    given = dict(given)
    known = {field.name for field in dataclasses.fields(config_class)}
    unknown = sorted(set(replayed) - known - {"pipeline", "kerasrnn_version"})
    if unknown:
        raise InputError(f"`--config` has options this pipeline does not know: {', '.join(unknown)}. "
                         f"Received: config keys {unknown}")
    quick = given.get("quick", replayed.get("quick", False))
    values = {}
    for field, annotation in fields(config_class):
        name = field.name
        if name in given:
            value = _convert(field, annotation, given[name], from_text=isinstance(given[name], str))
        elif name in replayed:
            value = _convert(field, annotation, replayed[name], from_text=False)
        elif quick and field.metadata["quick"] is not _MISSING:
            value = field.metadata["quick"]
        else:
            value = field.default
        choices = field.metadata["choices"]
        if choices is not None:
            for item in value if isinstance(value, tuple) else (value,):
                if item is not None and item not in choices:
                    raise ArgumentError(_flag(name), item, f"one of {', '.join(map(str, choices))}")
        if field.metadata["check"] is not None and value is not None:
            field.metadata["check"](_flag(name), value)
        values[name] = value
    config = config_class(**values)
    config.validate()
    return config


def to_json(config):
    """The config as JSON-ready values (tuples as lists)."""
    return {key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(config).items()}
