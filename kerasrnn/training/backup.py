"""Crash-safe backups of a training run: where they live, how they are
committed, and how a run resumes from one.

`fit` backs up weights, optimizer state, the states of the model's random
seed generators (dropout) and the epoch count into `<output>/backup/` (or
`<output>/backup/<stage>/`) at the end of every epoch. The commit point is
`training_metadata.json`: the weights go to a new file named after the
epoch, then the metadata replaces the previous one, and only then is the
previous weights file removed, so a kill at any moment leaves a consistent
backup.

A backup that cannot be read raises `BackupError` (an `InputError`, so a `ValueError`) naming
the directory, what is wrong and how to start over.
"""

import csv
import json
import os
import shutil

import numpy as np

from kerasrnn.validation import InputError

BACKUP = "backup"
METADATA = "training_metadata.json"
LEGACY_WEIGHTS = "latest.weights.h5"
#: How every `BackupError` message ends.
START_OVER = "delete it, or pass fresh=True (`--fresh` on the command line) to start over"


class BackupError(InputError):
    """A training backup that cannot be used: truncated or garbage files,
    missing pieces, or the weights of another model. The message names the
    backup directory, what is wrong, and how to start over. An `InputError`
    (so a `ValueError`): the `kerasrnn` command reports it in one line."""

    def __init__(self, directory, problem):
        self.directory = directory
        self.problem = problem
        super().__init__(f"The checkpoint directory {directory} {problem}; {START_OVER}")


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


def epoch_weights_name(epoch):
    """File name of the weights backed up after `epoch` (1-based) epochs."""
    return f"epoch-{epoch}.weights.h5"


def best_weights_name(epoch):
    """File name of the early-stopping best weights of `epoch` (1-based)."""
    return f"best-epoch-{epoch}.npz"


def write_atomically(path, text):
    """Writes `text` to `path` through a synced temporary file and a rename."""
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".tmp", path)


def _first_line(error):
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:200]


def save_best_weights(directory, epoch, weights):
    """Writes `weights` (a list of arrays) as `best-epoch-<epoch>.npz`, atomically."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, best_weights_name(epoch))
    with open(path + ".tmp", "wb") as f:
        np.savez(f, *weights)
    os.replace(path + ".tmp", path)


def load_best_weights(directory, epoch):
    """The list of arrays saved by `save_best_weights`; `BackupError` if the
    file is missing, truncated or not an `.npz` archive."""
    path = os.path.join(directory, best_weights_name(epoch))
    try:
        with np.load(path) as saved:
            return [saved[f"arr_{i}"] for i in range(len(saved.files))]
    except Exception as error:  # OSError, zipfile.BadZipFile, ValueError, EOFError, KeyError...
        raise BackupError(directory, f"is incomplete: the best epoch's weights ({best_weights_name(epoch)}) "
                                     f"cannot be read ({type(error).__name__}: {_first_line(error)})") from None


def _uncommitted(directory):
    """Whether `directory` holds only what a run killed before its first
    backup was committed leaves (nothing to resume from)."""
    leftovers = {epoch_weights_name(1), best_weights_name(1), "saving.weights.h5", "history.csv"}
    return all(name in leftovers or name.endswith(".tmp") for name in os.listdir(directory))


def resume_epoch(model, output, fresh=False, stage=None):
    """The epoch training starts from: 0, or the epoch count of a valid
    backup in `backup_dir(output, stage)`, whose weights, optimizer state
    and seed-generator states are then loaded into `model` (built and
    compiled).

    A backup that cannot be read (truncated file, bad JSON, weights of
    another model) raises `BackupError`; `fresh=True` deletes the backup
    first.
    """
    directory = backup_dir(output, stage)
    if fresh and os.path.exists(directory):
        shutil.rmtree(directory)
    if not os.path.exists(directory):
        return 0
    metadata_path = os.path.join(directory, METADATA)
    if not os.path.exists(metadata_path):
        if _uncommitted(directory):
            shutil.rmtree(directory)
            return 0
        raise BackupError(directory, f"is incomplete (it has no {METADATA})")
    try:
        with open(metadata_path, encoding="utf-8") as f:
            metadata = json.load(f)
        epoch = int(metadata["epoch"])
        weights = os.path.join(directory, metadata.get("weights", LEGACY_WEIGHTS))
        states = metadata.get("seed_states") or []
        if epoch < 1:
            raise ValueError(f"epoch {epoch} < 1")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BackupError(directory, f"is corrupt: {METADATA} cannot be read ({_first_line(error)})") from None
    if not os.path.exists(weights):
        raise BackupError(directory, f"is incomplete (needs {os.path.basename(weights)}, named in {METADATA})")
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
        raise BackupError(directory, f"is corrupt or from another model: {os.path.basename(weights)} cannot be "
                                     f"loaded ({_first_line(error)})") from None
    return epoch


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


def write_history(path, history):
    """Writes `{column: [per-epoch values]}` (e.g. a Keras `History.history`)
    as the CSV `read_history` reads: an `epoch` column from 1, then one
    column per key."""
    keys = list(history)
    rows = len(history[keys[0]]) if keys else 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch"] + keys)
        for i in range(rows):
            writer.writerow([i + 1] + [float(history[k][i]) for k in keys])
