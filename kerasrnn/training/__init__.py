"""Resumable training: crash-safe `fit` with backups, resumable early
stopping, epoch-ordered batching and `tf.distribute` strategy set-up.

A training script adopts it in three steps::

    from kerasrnn import training

    # "none", "mirrored" or "multi-worker" (TF_CONFIG); 32 is the global batch
    with training.distributed("none", "runs/mine", batch_size=32) as run:
        model = build(); model.compile(...)
        epoch_batches, steps = training.array_epoch_batches((x, y), batch_size=32, seed=0)
        history = training.fit(model, epoch_batches, steps, epochs=20, output=run.output,
                               callbacks=[training.early_stopping(monitor="val_loss", patience=3,
                                                                  restore_best_weights=True)],
                               validation_data=(x_val, y_val))

`distributed` is the one set-up of a distributed run (the `kerasrnn`
command runs every training pipeline in it): models built in its block are
mirrored across the replicas, batches are the global batch, and only the
chief writes to the run directory (docs/distributed.md).

Resume contract: `fit` backs up weights, optimizer state, the states of the
model's random seed generators (dropout) and the epoch count into
`<output>/backup/` at the end of every epoch (committed atomically by
`training_metadata.json`). A run killed at any moment and restarted with the
same arguments continues from the last finished epoch and — because the data
order of each epoch is a function of `(seed, epoch)` only (`epoch_batches`,
e.g. from `array_epoch_batches`) and op determinism is on
(`enable_determinism`) — ends with the same weights and metrics as an
uninterrupted run. The backup is deleted when training completes;
`fresh=True` deletes it before starting. A backup that cannot be read raises
`BackupError`.

Runs that train several models give each a `stage` name: its backup is
`<output>/backup/<stage>/` and is kept, complete, after the stage finishes,
so a restarted run reloads finished stages instead of training them again;
`remove_backup` deletes everything at the end of the run.

Importing this package does not import TensorFlow or Keras; the Keras
callback classes (`ResumableEarlyStopping`, `AtomicBackupAndRestore`) are
loaded on first access.
"""

from kerasrnn.training.backup import BACKUP
from kerasrnn.training.backup import METADATA
from kerasrnn.training.backup import BackupError
from kerasrnn.training.backup import backup_dir
from kerasrnn.training.backup import read_history
from kerasrnn.training.backup import write_history
from kerasrnn.training.backup import remove_backup
from kerasrnn.training.backup import resume_epoch
from kerasrnn.training.backup import seed_states
from kerasrnn.training.batching import array_epoch_batches
from kerasrnn.training.batching import epoch_order
from kerasrnn.training.distribute import STRATEGIES
from kerasrnn.training.distribute import ClusterSpec
from kerasrnn.training.distribute import Distribution
from kerasrnn.training.distribute import WorkerLostError
from kerasrnn.training.distribute import check_global_batch
from kerasrnn.training.distribute import check_strategy
from kerasrnn.training.distribute import data_parallel
from kerasrnn.training.distribute import distributed
from kerasrnn.training.distribute import is_chief
from kerasrnn.training.distribute import make_strategy
from kerasrnn.training.distribute import multi_worker_fixes
from kerasrnn.training.distribute import num_replicas
from kerasrnn.training.distribute import outside_strategy_scope
from kerasrnn.training.distribute import read_tf_config
from kerasrnn.training.distribute import weights_digest
from kerasrnn.training.fitting import enable_determinism
from kerasrnn.training.fitting import fit
from kerasrnn.training.fitting import progress_verbose

_LAZY = {
    "ResumableEarlyStopping": "kerasrnn.training.stopping",
    "AtomicBackupAndRestore": "kerasrnn.training.atomic_backup",
}

__all__ = [
    "AtomicBackupAndRestore",
    "BACKUP",
    "BackupError",
    "ClusterSpec",
    "Distribution",
    "METADATA",
    "ResumableEarlyStopping",
    "STRATEGIES",
    "WorkerLostError",
    "array_epoch_batches",
    "backup_dir",
    "check_global_batch",
    "check_strategy",
    "data_parallel",
    "distributed",
    "early_stopping",
    "enable_determinism",
    "epoch_order",
    "fit",
    "is_chief",
    "make_strategy",
    "multi_worker_fixes",
    "num_replicas",
    "outside_strategy_scope",
    "progress_verbose",
    "read_tf_config",
    "read_history",
    "write_history",
    "remove_backup",
    "resume_epoch",
    "seed_states",
    "weights_digest",
]


def early_stopping(**kwargs):
    """A `ResumableEarlyStopping(**kwargs)`: a `keras.callbacks.EarlyStopping`
    whose state (best value, wait, best weights) survives a resume of `fit`."""
    from kerasrnn.training.stopping import ResumableEarlyStopping

    return ResumableEarlyStopping(**kwargs)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
