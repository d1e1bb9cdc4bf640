"""Training utilities shared by pipelines: distribution strategy, crash-safe
checkpoint/resume, TensorBoard, progress and a one-line epoch summary.

A pipeline adopts it in four steps::

    training.add_training_arguments(parser)           # in add_arguments
    strategy = training.make_strategy(args.strategy)  # before building
    with strategy.scope():
        model = build(); model.compile(...)
    history = training.fit(model, epoch_batches, steps_per_epoch, epochs, args, ...)

Resume contract: `fit` backs up weights, optimizer state, the states of the
model's random seed generators (dropout) and the epoch count into
`<output>/backup/` at the end of every epoch (committed atomically by
`training_metadata.json`). A run killed at any moment and restarted with the
same command continues from the last finished epoch and — because the data
order of each epoch is a function of `(seed, epoch)` only (`epoch_batches`,
e.g. from `array_epoch_batches`) and op determinism is on — ends with the
same weights and metrics as an uninterrupted run. The backup is deleted when
training completes; `--fresh` deletes it before starting.

Pipelines that train several models in one run give each a `stage` name:
its backup is `<output>/backup/<stage>/` and is kept, complete, after the
stage finishes, so a restarted run reloads finished stages instead of
training them again; `remove_backup` deletes everything at the end of the
run. `ResumableEarlyStopping` is an `EarlyStopping` whose state (best value,
wait, best weights) survives a resume.
"""

import csv
import json
import math
import os
import shutil
import sys

import numpy as np

STRATEGIES = ("none", "mirrored", "multi-worker")
BACKUP = "backup"
METADATA = "training_metadata.json"
LEGACY_WEIGHTS = "latest.weights.h5"
#: `--jit-compile` values and what `model.compile(jit_compile=...)` gets.
JIT_COMPILE = {"auto": "auto", "on": True, "off": False}


def add_training_arguments(parser, strategies=STRATEGIES, jit_compile="auto"):
    """Adds `--strategy`, `--logdir`, `--fresh`, `--progress` and `--jit-compile`.

    `strategies` are the values this pipeline supports; `check_arguments`
    rejects the others with a clear error. `jit_compile` is the pipeline's
    default for `--jit-compile` (see `jit_compile`)."""
    if tuple(strategies) == STRATEGIES:
        help_text = "none | mirrored (all local devices) | multi-worker (TF_CONFIG) (default: none)"
    else:
        help_text = f"{' | '.join(strategies)}: this pipeline supports only these (default: none)"
    parser.add_argument("--strategy", default="none", help=help_text)
    parser.add_argument("--logdir", default=None, help="write TensorBoard logs here (default: off)")
    add_fresh_argument(parser)
    parser.add_argument("--progress", choices=("auto", "bar", "none"), default="auto",
                        help="Keras progress bars: auto (only on a terminal), bar, none (default: auto)")
    parser.add_argument("--jit-compile", choices=JIT_COMPILE, default=jit_compile,
                        help="XLA-compile the training step: on, off, or auto (Keras's choice, which is off "
                             "on a machine without a GPU) (default: %(default)s)")


def jit_compile(args):
    """The `jit_compile` argument of `model.compile` for `--jit-compile`."""
    return JIT_COMPILE[getattr(args, "jit_compile", "auto")]


def add_fresh_argument(parser):
    """`--fresh`: delete the run directory's backup and start over."""
    parser.add_argument("--fresh", action="store_true",
                        help="delete an existing backup in the run directory and start over")


def check_strategy(name):
    if name not in STRATEGIES:
        raise ValueError(f"`--strategy` must be one of {', '.join(STRATEGIES)}. Received: strategy={name!r}")
    return name


def check_arguments(args, strategies=STRATEGIES):
    """Validates the training options before any work is done; `strategies`
    as passed to `add_training_arguments`."""
    check_strategy(args.strategy)
    if args.strategy not in strategies:
        raise ValueError(f"`--strategy {args.strategy}` is not supported by this pipeline (supported: "
                         f"{', '.join(strategies)}). Received: strategy={args.strategy!r}")
    if getattr(args, "logdir", None):
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None:
            raise ValueError(f"`--logdir` needs the tensorboard package (pip install tensorboard). "
                             f"Received: logdir={args.logdir!r}")
def enable_determinism(seed, jit_compile="auto"):
    """Seeds Python, NumPy, Keras and TF, and makes TF ops deterministic.

    With `jit_compile=True` TF's op determinism is left off: Keras turns XLA
    off for a model while it is on. XLA's CPU code has no nondeterministic
    kernels for these models: the resume tests (tests/test_pipeline_resume.py)
    check that a killed and resumed XLA run ends with the same metrics as an
    uninterrupted one.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if jit_compile is not True:
        tf.config.experimental.enable_op_determinism()


def make_strategy(name):
    """The `tf.distribute` strategy for `--strategy NAME`.

    * `none`: the default (single-device) strategy.
    * `mirrored`: `MirroredStrategy` over every local GPU, else every local
      (logical) CPU device; the global batch is split across them.
    * `multi-worker`: `MultiWorkerMirroredStrategy` configured by the
      `TF_CONFIG` environment variable (one process per worker, all started
      with the same command). Keras 3.15's `fit` needs two small fixes for
      this strategy (keras-team/keras#20585), applied by `patch_keras_for_multi_worker`.
    """
    import tensorflow as tf

    check_strategy(name)
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    config = os.environ.get("TF_CONFIG")
    if not config:
        raise ValueError("`--strategy multi-worker` needs the TF_CONFIG environment variable "
                         "(cluster and task of this worker). Received: TF_CONFIG unset")
    try:
        json.loads(config)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}). Received: TF_CONFIG={config!r}") from None
    patch_keras_for_multi_worker()
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief(strategy):
    """Whether this process writes the run's outputs (worker 0 or single)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type in ("chief", None) or (resolver.task_type == "worker" and resolver.task_id == 0)


_PATCHED = False


def patch_keras_for_multi_worker():
    """Works around two Keras 3 bugs that make `fit` fail under
    `MultiWorkerMirroredStrategy` (keras-team/keras#20585,
    tensorflow/tensorflow#72388), both in `keras/src/backend/tensorflow/trainer.py`:

    1. `_maybe_symbolic_build` "reduces" the first input batch across workers
       only to learn its shapes, and the collective reduce of a nested
       `PerReplica` raises `ValueError: Attempt to convert a value
       (PerReplica...)`. Fixed by taking this worker's local batch instead.
    2. `reduce_per_replica` averages scalar logs with `axis=0`, which raises
       `Invalid reduction dimension 0 for input with 0 dimensions`. Fixed by
       averaging over replicas only (`axis=None`) for multi-worker.
    """
    global _PATCHED
    if _PATCHED:
        return
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original_reduce = tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if tf_trainer._collective_all_reduce_multi_worker(strategy) and reduction in ("auto", "mean"):
            def mean(value):
                if isinstance(value, tf.distribute.DistributedValues):
                    return strategy.reduce("MEAN", value, axis=None)
                return value

            return tree.map_structure(mean, values)
        return original_reduce(values, strategy, reduction)

    original_build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is not None and strategy is not None and tf_trainer._collective_all_reduce_multi_worker(strategy):
            for _, _, it in iterator:
                batch = next(it)
                data_batch = tree.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0]
                    if isinstance(v, tf.distribute.DistributedValues) else v,
                    batch,
                )
                break
            return original_build(self, data_batch=data_batch)
        return original_build(self, iterator=iterator, data_batch=data_batch)

    tf_trainer.reduce_per_replica = reduce_per_replica
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    _PATCHED = True


def backup_dir(output, stage=None):
    """`<output>/backup`, or `<output>/backup/<stage>` for one stage of a run."""
    directory = os.path.join(output, BACKUP)
    return directory if stage is None else os.path.join(directory, stage)


def remove_backup(output):
    """Deletes every backup of the run (at its end, once all stages are done)."""
    shutil.rmtree(backup_dir(output), ignore_errors=True)


def seed_states(model):
    """The state variables of the model's random seed generators (dropout
    masks...): part of `model.variables` but not of `model.weights`, so
    `save_weights` does not keep them; the backup does."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in weights and v.name == "seed_generator_state"]


def _write_atomically(path, text):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".tmp", path)


def _epoch_weights(epoch):
    return f"epoch-{epoch}.weights.h5"


def _best_weights(epoch):
    return f"best-epoch-{epoch}.npz"


def _backup_class():
    import keras

    class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
        """`BackupAndRestore` committed atomically: the weights go to a new
        file named after the epoch, then `training_metadata.json` (epoch,
        weights file, seed-generator states) replaces the previous one, and
        only then is the previous weights file removed, so a kill at any
        moment leaves a consistent backup. Restoring is `resume_epoch`'s job,
        done before `fit`. (Multi-worker: every worker backs up into its own
        `--output`.)"""

        def __init__(self, backup_dir, delete_checkpoint=True):
            super().__init__(backup_dir, save_freq="epoch", delete_checkpoint=delete_checkpoint)

        def on_train_begin(self, logs=None):
            pass  # `resume_epoch` has restored the backup

        def _save_model(self):
            os.makedirs(self.backup_dir, exist_ok=True)
            name = _epoch_weights(self._current_epoch)
            saving = os.path.join(self.backup_dir, "saving.weights.h5")
            self.model.save_weights(saving, overwrite=True)
            os.replace(saving, os.path.join(self.backup_dir, name))
            metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen, "weights": name,
                        "seed_states": [v.numpy().tolist() for v in seed_states(self.model)]}
            _write_atomically(self._training_metadata_path, json.dumps(metadata))
            for old in os.listdir(self.backup_dir):
                if old != name and (old == LEGACY_WEIGHTS or old.startswith("epoch-") and old.endswith(".weights.h5")):
                    os.remove(os.path.join(self.backup_dir, old))

    return AtomicBackupAndRestore


def _uncommitted(directory):
    """Whether `directory` holds only what a run killed before its first
    backup was committed leaves (nothing to resume from)."""
    leftovers = {_epoch_weights(1), _best_weights(1), "saving.weights.h5", "history.csv"}
    return all(name in leftovers or name.endswith(".tmp") for name in os.listdir(directory))


def resume_epoch(model, output, fresh=False, stage=None):
    """The epoch training starts from: 0, or the epoch count of a valid
    backup in `backup_dir(output, stage)`, whose weights, optimizer state
    and seed-generator states are then loaded into `model` (built and
    compiled). A backup that cannot be read (truncated file, bad JSON,
    weights of another model) raises a `ValueError` that says so and how to
    start over (`--fresh`); `fresh` deletes the backup first."""
    directory = backup_dir(output, stage)
    if fresh and os.path.exists(directory):
        shutil.rmtree(directory)
    if not os.path.exists(directory):
        return 0
    metadata_path = os.path.join(directory, METADATA)
    hint = "delete it or rerun with --fresh to start over"
    if not os.path.exists(metadata_path):
        if _uncommitted(directory):
            shutil.rmtree(directory)
            return 0
        raise ValueError(f"The checkpoint directory {directory} is incomplete (it has no {METADATA}); {hint}")
    try:
        with open(metadata_path, encoding="utf-8") as f:
            metadata = json.load(f)
        epoch = int(metadata["epoch"])
        weights = os.path.join(directory, metadata.get("weights", LEGACY_WEIGHTS))
        states = metadata.get("seed_states") or []
        if epoch < 1:
            raise ValueError(f"epoch {epoch} < 1")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"The checkpoint directory {directory} is corrupt: {METADATA} cannot be read "
                         f"({error}); {hint}") from None
    if not os.path.exists(weights):
        raise ValueError(f"The checkpoint directory {directory} is incomplete (needs {os.path.basename(weights)}, "
                         f"named in {METADATA}); {hint}")
    if not model.built:
        raise ValueError(f"The model {model.name} must be built before a backup can be loaded into it")
    try:
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(weights)
        variables = seed_states(model)
        if len(states) != len(variables):
            raise ValueError(f"{len(states)} random seed states saved, the model has {len(variables)}")
        for variable, state in zip(variables, states):
            variable.assign(np.asarray(state, dtype=variable.dtype))
    except Exception as error:  # h5py OSError, shape/structure ValueError...
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"The checkpoint directory {directory} is corrupt or from another model: "
                         f"{os.path.basename(weights)} cannot be loaded ({first_line[:200]}); {hint}") from None
    return epoch


def early_stopping(**kwargs):
    """A `keras.callbacks.EarlyStopping(**kwargs)` whose state survives a
    resume of `fit`: `fit` calls its `resume`, which replays the monitored
    values of the epochs already trained (from history.csv) through the
    same rule, so `best`, `wait` and a decision to stop are what an
    uninterrupted run would have; with `restore_best_weights` the best
    epoch's weights are also kept in the backup directory
    (`best-epoch-K.npz`) and reloaded. Resumed, it stops at the same epoch
    and restores the same weights as an uninterrupted run."""
    import keras

    class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
        directory = None
        _resumed = False

        def resume(self, directory, initial_epoch, history):
            """Restores the state after `initial_epoch` epochs whose logs
            are `history` (`{name: [values]}`); returns whether training
            had already stopped."""
            self.directory, self._resumed = directory, True
            super().on_train_begin()
            restore, self.restore_best_weights = self.restore_best_weights, False
            try:
                for epoch in range(initial_epoch):
                    super().on_epoch_end(epoch, {key: values[epoch] for key, values in history.items()})
            finally:
                self.restore_best_weights = restore
                self.model.stop_training = False
            if initial_epoch and restore and self.best is not None:
                path = os.path.join(directory, _best_weights(self.best_epoch + 1))
                try:
                    with np.load(path) as saved:
                        self.best_weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]
                except (OSError, ValueError) as error:
                    raise ValueError(f"The checkpoint directory {directory} is incomplete: the best epoch's "
                                     f"weights cannot be read ({error}); delete it or rerun with --fresh "
                                     "to start over") from None
            return self.stopped_epoch > 0

        def on_train_begin(self, logs=None):
            if not self._resumed:  # else `resume` has set the state
                super().on_train_begin(logs)
            self._resumed = False

        def on_epoch_begin(self, epoch, logs=None):
            # Every epoch before this one is committed: older best weights are stale.
            if self.directory and os.path.isdir(self.directory):
                keep = _best_weights(self.best_epoch + 1)
                for name in os.listdir(self.directory):
                    if name.startswith("best-epoch-") and name != keep:
                        os.remove(os.path.join(self.directory, name))

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            if self.directory and self.restore_best_weights and self.best_epoch == epoch:
                os.makedirs(self.directory, exist_ok=True)
                path = os.path.join(self.directory, _best_weights(epoch + 1))
                with open(path + ".tmp", "wb") as f:
                    np.savez(f, *self.best_weights)
                os.replace(path + ".tmp", path)

    return ResumableEarlyStopping(**kwargs)


def progress_verbose(progress):
    if progress == "bar" or (progress == "auto" and sys.stdout.isatty()):
        return 1
    return 0


def fit(model, epoch_batches, steps_per_epoch, epochs, args, validation_data=None, callbacks=(), strategy=None,
        stage=None, history_path=None, **fit_options):
    """Trains `model` crash-safely; returns the history of the whole run
    (resumed epochs included) as `{metric: [per-epoch values]}`.

    Args:
        model: A compiled, built Keras model (built under `strategy.scope()`).
        epoch_batches: `epoch_batches(first, last)` returns a `tf.data.Dataset`
            of the batches of epochs `first .. last - 1` in order, exactly
            `steps_per_epoch` per epoch, each epoch's order a function of the
            epoch number (so a resumed run sees the data it would have seen).
        steps_per_epoch: Batches per epoch.
        epochs: Total epochs.
        args: Parsed options (`output`, `fresh`, `logdir`, `progress`).
        validation_data: Passed to `fit`.
        callbacks: Extra callbacks, called before the epoch summary and the
            backup (so values they add to the logs reach history.csv). One
            with a `resume(directory, initial_epoch, history)` method (e.g.
            `early_stopping`) gets its state back through it; if it returns
            True training had already stopped and is not continued.
        strategy: The strategy the model was built under (TensorBoard logs
            of non-chief workers go to `<logdir>/worker-<pid>`).
        stage: Name of this model when a run trains several: its backup is
            `<output>/backup/<stage>` and stays after training (a restarted
            run reloads it without training; `remove_backup` ends it), its
            TensorBoard logs go to `<logdir>/<stage>`.
        history_path: The per-epoch CSV (default `<output>/history.csv`).
        **fit_options: More `Model.fit` arguments (`validation_batch_size`).
    """
    import keras

    from kerasrnn.callbacks import EpochSummary

    chief = strategy is None or is_chief(strategy)
    directory = backup_dir(args.output, stage)
    initial_epoch = resume_epoch(model, args.output, fresh=getattr(args, "fresh", False), stage=stage)
    if initial_epoch > epochs:
        raise ValueError(f"The backup in {directory} is at epoch {initial_epoch} but --epochs is "
                         f"{epochs}; rerun with --fresh (or a larger --epochs)")
    history_path = history_path or os.path.join(args.output, "history.csv")
    os.makedirs(os.path.dirname(os.path.abspath(history_path)), exist_ok=True)
    history = read_history(history_path, initial_epoch) if initial_epoch else {}
    if initial_epoch and len(history.get("loss", ())) < initial_epoch:
        raise ValueError(f"{history_path} has fewer rows than the {initial_epoch} epochs of the backup in "
                         f"{directory}; rerun with --fresh to start over")
    summary = EpochSummary(epochs, history_path, initial_epoch=initial_epoch)
    stopped = False
    for callback in callbacks:
        if hasattr(callback, "resume"):
            callback.set_model(model)
            stopped = callback.resume(directory, initial_epoch, history) or stopped
    what = "" if stage is None else f" {stage}"
    if initial_epoch >= epochs or stopped:
        print(f"Training{what} already finished in the backup in {directory} (epoch {initial_epoch}/{epochs}); "
              "using it", flush=True)
        summary.set_model(model)
        summary.on_train_begin()  # history.csv: the backed-up epochs
        for callback in callbacks:
            if hasattr(callback, "resume"):
                callback.on_train_end()
        if stage is None:
            shutil.rmtree(directory, ignore_errors=True)
        return read_history(history_path)
    if initial_epoch:
        print(f"Resuming{what} from the backup in {directory} at epoch {initial_epoch + 1}/{epochs}", flush=True)
    verbose = progress_verbose(getattr(args, "progress", "auto"))
    # The progress bar (when on) ends its line before the summary prints.
    all_callbacks = [*callbacks, *([keras.callbacks.ProgbarLogger()] if verbose else []), summary]
    if getattr(args, "logdir", None):
        logdir = args.logdir if stage is None else os.path.join(args.logdir, stage)
        logdir = logdir if chief else os.path.join(logdir, f"worker-{os.getpid()}")
        all_callbacks.append(keras.callbacks.TensorBoard(log_dir=logdir))
    # Last, so that everything an epoch writes is on disk before it commits.
    all_callbacks.append(_backup_class()(directory, delete_checkpoint=stage is None))
    model.fit(
        epoch_batches(initial_epoch, epochs),
        epochs=epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=steps_per_epoch,
        validation_data=validation_data,
        callbacks=all_callbacks,
        shuffle=False,  # the order is `epoch_batches`'s
        verbose=verbose,
        **fit_options,
    )
    return read_history(history_path)


def array_epoch_batches(data, batch_size, seed, transform=None):
    """`(epoch_batches, steps_per_epoch)` for `fit` from in-memory arrays.

    `data` is an array or a nested structure (tuple, dict) of arrays with the
    same first dimension, e.g. `(inputs, targets)`. Epoch `e` visits the
    examples in the order `epoch_order(n, seed, e)`, in batches of
    `batch_size` (the last one smaller) with the structure of `data`, each
    passed through `transform` when given.
    """
    import tensorflow as tf

    tensors = tf.nest.map_structure(tf.convert_to_tensor, data)
    n = int(tf.nest.flatten(tensors)[0].shape[0])

    def epoch_batches(first, last):
        orders = np.stack([epoch_order(n, seed, epoch) for epoch in range(first, last)]).astype("int64")
        batches = tf.data.Dataset.from_tensor_slices(orders).flat_map(
            lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
        batches = batches.map(lambda index: tf.nest.map_structure(lambda t: tf.gather(t, index), tensors))
        if transform is not None:
            batches = batches.map(transform)
        return batches.prefetch(2)

    return epoch_batches, math.ceil(n / batch_size)


def epoch_order(n, seed, epoch):
    """The order in which epoch `epoch` visits `n` examples: a function of
    `(seed, epoch)` only."""
    return np.random.RandomState([seed, epoch]).permutation(n)


def read_history(path, epochs=None):
    """`{column: [per-epoch values]}` of a history CSV (its first `epochs` rows)."""
    if not os.path.exists(path):
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return {}
    header, rows = rows[0], [row for row in rows[1:] if row]
    if epochs is not None:
        rows = [row for row in rows if int(row[0]) <= epochs]
    return {key: [float(row[i]) for row in rows] for i, key in enumerate(header) if key != "epoch"}
