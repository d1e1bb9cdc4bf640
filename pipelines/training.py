"""Training utilities shared by pipelines: distribution strategy, crash-safe
checkpoint/resume, TensorBoard, progress and a one-line epoch summary.

A pipeline adopts it in four steps::

    training.add_training_arguments(parser)           # in add_arguments
    strategy = training.make_strategy(args.strategy)  # before building
    with strategy.scope():
        model = build(); model.compile(...)
    history = training.fit(model, epoch_batches, steps_per_epoch, args, ...)

Resume contract: `fit` backs up weights, optimizer state and the epoch count
into `<output>/backup/` at the end of every epoch (`BackupAndRestore`, written
atomically). A run killed at any moment and restarted with the same command
continues from the last finished epoch and — because the data order of each
epoch is a function of `(seed, epoch)` only (`epoch_batches`), the model has
no dropout randomness across epochs, and op determinism is on — ends with the
same weights and metrics as an uninterrupted run. The backup is deleted when
training completes; `--fresh` deletes it before starting.
"""

import json
import os
import shutil
import sys

STRATEGIES = ("none", "mirrored", "multi-worker")
BACKUP = "backup"


def add_training_arguments(parser):
    parser.add_argument("--strategy", default="none",
                        help="none | mirrored (all local devices) | multi-worker (TF_CONFIG) (default: none)")
    parser.add_argument("--logdir", default=None, help="write TensorBoard logs here (default: off)")
    parser.add_argument("--fresh", action="store_true",
                        help="delete an existing backup in the run directory and start over")
    parser.add_argument("--progress", choices=("auto", "bar", "none"), default="auto",
                        help="Keras progress bars: auto (only on a terminal), bar, none (default: auto)")


def check_strategy(name):
    if name not in STRATEGIES:
        raise ValueError(f"`--strategy` must be one of {', '.join(STRATEGIES)}. Received: strategy={name!r}")
    return name


def check_arguments(args):
    """Validates the training options before any work is done."""
    check_strategy(args.strategy)
    if getattr(args, "logdir", None):
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None:
            raise ValueError(f"`--logdir` needs the tensorboard package (pip install tensorboard). "
                             f"Received: logdir={args.logdir!r}")


def enable_determinism(seed):
    """Seeds Python, NumPy, Keras and TF, and makes TF ops deterministic."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
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


def _backup_class():
    import keras

    class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
        """`BackupAndRestore` whose files are replaced atomically: the new
        weights and metadata are written under temporary names, then renamed,
        so a kill during a save leaves the previous epoch's backup intact.
        (Multi-worker: every worker backs up into its own `--output`.)"""

        def __init__(self, backup_dir):
            super().__init__(backup_dir, save_freq="epoch", delete_checkpoint=True)

        def _save_model(self):
            os.makedirs(self.backup_dir, exist_ok=True)
            weights_tmp = os.path.join(self.backup_dir, "saving.weights.h5")
            metadata_tmp = self._training_metadata_path + ".tmp"
            self.model.save_weights(weights_tmp, overwrite=True)
            with open(metadata_tmp, "w", encoding="utf-8") as f:
                json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(weights_tmp, self._weights_path)
            os.replace(metadata_tmp, self._training_metadata_path)

    return AtomicBackupAndRestore


def backup_dir(output):
    return os.path.join(output, BACKUP)


def resume_epoch(model, output, fresh=False):
    """The epoch training starts from: 0, or the epoch count of a valid
    backup in `<output>/backup`. A backup that cannot be read (truncated
    file, bad JSON, weights of another model) raises a `ValueError` that
    says so and how to start over (`--fresh`)."""
    directory = backup_dir(output)
    if fresh and os.path.exists(directory):
        shutil.rmtree(directory)
    if not os.path.exists(directory):
        return 0
    metadata = os.path.join(directory, "training_metadata.json")
    weights = os.path.join(directory, "latest.weights.h5")
    hint = "delete it or rerun with --fresh to start over"
    if not os.path.exists(metadata) or not os.path.exists(weights):
        raise ValueError(f"The checkpoint directory {directory} is incomplete (needs latest.weights.h5 and "
                         f"training_metadata.json); {hint}")
    try:
        with open(metadata, encoding="utf-8") as f:
            epoch = int(json.load(f)["epoch"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"The checkpoint directory {directory} is corrupt: training_metadata.json "
                         f"cannot be read ({error}); {hint}") from None
    try:
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(weights)
    except Exception as error:  # h5py OSError, shape/structure ValueError...
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"The checkpoint directory {directory} is corrupt or from another model: "
                         f"latest.weights.h5 cannot be loaded ({first_line[:200]}); {hint}") from None
    return epoch


def progress_verbose(progress):
    if progress == "bar" or (progress == "auto" and sys.stdout.isatty()):
        return 1
    return 0


def fit(model, epoch_batches, steps_per_epoch, epochs, args, validation_data=None, callbacks=(), strategy=None):
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
        callbacks: Extra callbacks.
        strategy: The strategy the model was built under (TensorBoard logs
            of non-chief workers go to `<logdir>/worker-<pid>`).
    """
    import keras

    from kerasrnn.callbacks import EpochSummary

    chief = strategy is None or is_chief(strategy)
    initial_epoch = resume_epoch(model, args.output, fresh=getattr(args, "fresh", False))
    if initial_epoch >= epochs:
        raise ValueError(f"The backup in {backup_dir(args.output)} is at epoch {initial_epoch} but --epochs is "
                         f"{epochs}; rerun with --fresh (or a larger --epochs)")
    if initial_epoch:
        print(f"Resuming from the backup in {backup_dir(args.output)} at epoch {initial_epoch + 1}/{epochs}",
              flush=True)
    history_path = os.path.join(args.output, "history.csv")
    summary = EpochSummary(epochs, history_path, initial_epoch=initial_epoch)
    all_callbacks = [_backup_class()(backup_dir(args.output)), summary, *callbacks]
    if getattr(args, "logdir", None):
        logdir = args.logdir if chief else os.path.join(args.logdir, f"worker-{os.getpid()}")
        all_callbacks.append(keras.callbacks.TensorBoard(log_dir=logdir))
    model.fit(
        epoch_batches(initial_epoch, epochs),
        epochs=epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=steps_per_epoch,
        validation_data=validation_data,
        callbacks=all_callbacks,
        verbose=progress_verbose(getattr(args, "progress", "auto")),
    )
    return read_history(history_path)


def read_history(path):
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    return {key: [float(row[i]) for row in rows] for i, key in enumerate(header) if key != "epoch"}
