"""`fit`: crash-safe, resumable `Model.fit`."""

import os
import shutil
import sys

from kerasrnn.training.backup import backup_dir
from kerasrnn.training.backup import read_history
from kerasrnn.training.backup import resume_epoch
from kerasrnn.training.distribute import agree_on_epoch
from kerasrnn.training.distribute import is_chief
from kerasrnn.training.distribute import is_multi_worker
from kerasrnn.training.distribute import multi_worker_fixes
from kerasrnn.training.distribute import weights_digest
from kerasrnn.training.interrupts import interrupts_noticed

PROGRESS = ("auto", "bar", "none")


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


def progress_verbose(progress):
    """`Model.fit`'s `verbose` for `progress`: "bar" (1), "none" (0) or
    "auto" (1 only when standard output is a terminal)."""
    if progress not in PROGRESS:
        raise ValueError(f"`progress` must be one of {', '.join(PROGRESS)}. Received: progress={progress!r}")
    if progress == "bar" or (progress == "auto" and sys.stdout.isatty()):
        return 1
    return 0


def fit(model, epoch_batches, steps_per_epoch, epochs, *, output, fresh=False, logdir=None, progress="auto",
        validation_data=None, callbacks=(), strategy=None, stage=None, history_path=None, **fit_options):
    """Trains `model` crash-safely; returns the history of the whole run
    (resumed epochs included) as `{metric: [per-epoch values]}`.

    At the end of every epoch the weights, optimizer state, random seed
    states (dropout) and epoch count are committed to `backup_dir(output,
    stage)`. Called again after a crash with the same arguments, `fit`
    continues from the last finished epoch and, the data order of each
    epoch being a function of the epoch only and op determinism on
    (`enable_determinism`), ends with the same weights and history as an
    uninterrupted run. The backup is deleted when training completes
    (unless `stage` is given).

    Args:
        model: A compiled, built Keras model (built under `strategy.scope()`).
        epoch_batches: `epoch_batches(first, last)` returns a `tf.data.Dataset`
            of the batches of epochs `first .. last - 1` in order, exactly
            `steps_per_epoch` per epoch, each epoch's order a function of the
            epoch number (e.g. from `array_epoch_batches`).
        steps_per_epoch: Batches per epoch.
        epochs: Total epochs.
        output: The run directory (backup in `<output>/backup`, history in
            `<output>/history.csv`).
        fresh: Delete an existing backup and start over.
        logdir: Write TensorBoard logs here (`None`: off).
        progress: Keras progress bars: "auto" (on a terminal), "bar", "none".
        validation_data: Passed to `Model.fit`.
        callbacks: Extra callbacks, called before the epoch summary and the
            backup (so values they add to the logs reach history.csv). One
            with a `resume(directory, initial_epoch, history)` method (e.g.
            `ResumableEarlyStopping`) gets its state back through it; if it
            returns True training had already stopped and is not continued.
        strategy: The strategy the model was built under (default: the
            model's). Under `MultiWorkerMirroredStrategy` every worker trains
            with its own `output` (see `distributed`): the workers check that
            their backups are at the same epoch, `multi_worker_fixes` is
            applied around `Model.fit`, TensorBoard logs of a non-chief
            worker go to `<logdir>/worker-<pid>` (unless `distributed` gave
            it its own `logdir`), and each prints a digest of its trained
            weights (`weights_digest`), equal on every worker.
        stage: Name of this model when a run trains several: its backup is
            `<output>/backup/<stage>` and stays after training (a restarted
            run reloads it without training; `remove_backup` ends it), its
            TensorBoard logs go to `<logdir>/<stage>`.
        history_path: The per-epoch CSV (default `<output>/history.csv`).
        **fit_options: More `Model.fit` arguments (`validation_batch_size`).

    Raises:
        BackupError: The backup cannot be read, or is further than `epochs`.
    """
    import keras

    from kerasrnn.callbacks import EpochSummary
    from kerasrnn.training.atomic_backup import AtomicBackupAndRestore
    from kerasrnn.training.backup import BackupError

    verbose = progress_verbose(progress)
    if strategy is None and keras.backend.backend() == "tensorflow":
        strategy = model.distribute_strategy
    chief = strategy is None or is_chief(strategy)
    directory = backup_dir(output, stage)
    initial_epoch = agree_on_epoch(strategy, resume_epoch(model, output, fresh=fresh, stage=stage), directory)
    if initial_epoch > epochs:
        raise BackupError(directory, f"is at epoch {initial_epoch} but --epochs is {epochs} (pass a larger "
                                     "--epochs to continue it)")
    history_path = history_path or os.path.join(output, "history.csv")
    os.makedirs(os.path.dirname(os.path.abspath(history_path)), exist_ok=True)
    history = read_history(history_path, initial_epoch) if initial_epoch else {}
    if initial_epoch and len(history.get("loss", ())) < initial_epoch:
        raise BackupError(directory, f"is at epoch {initial_epoch} but {history_path} has fewer rows "
                                     "(the history of the backed-up epochs is lost)")
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
    # The progress bar (when on) ends its line before the summary prints.
    all_callbacks = [*callbacks, *([keras.callbacks.ProgbarLogger()] if verbose else []), summary]
    if logdir:
        logdir = logdir if stage is None else os.path.join(logdir, stage)
        logdir = logdir if chief else os.path.join(logdir, f"worker-{os.getpid()}")
        all_callbacks.append(keras.callbacks.TensorBoard(log_dir=logdir))
    # Last, so that everything an epoch writes is on disk before it commits.
    all_callbacks.append(AtomicBackupAndRestore(directory, delete_checkpoint=stage is None))
    # A Ctrl-C that Python drops (raised in a garbage-collector callback)
    # still stops training, at the next batch or after the epoch's backup.
    with interrupts_noticed() as interrupt_check, multi_worker_fixes(strategy):
        model.fit(
            epoch_batches(initial_epoch, epochs),
            epochs=epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            validation_data=validation_data,
            callbacks=[*all_callbacks, interrupt_check],
            shuffle=False,  # the order is `epoch_batches`'s
            verbose=verbose,
            **fit_options,
        )
    if is_multi_worker(strategy):
        print(f"Weights of{what or ' the model'} after training on this worker: sha256 {weights_digest(model)}",
              flush=True)
    return read_history(history_path)
