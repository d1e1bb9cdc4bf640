"""Backups that cannot be read raise `BackupError` (a `ValueError`) naming
the directory, what is wrong and how to start over — for every kind of
backup file, truncated or garbage."""

import json
import os

import numpy as np
import pytest

from kerasrnn import training
from tests.training.helpers import CrashAtEpoch
from tests.training.helpers import SimulatedCrash
from tests.training.helpers import tiny_data
from tests.training.helpers import tiny_model

START_OVER = "delete it, or pass fresh=True (`--fresh` on the command line) to start over"


def _fit(output, crash=None, epochs=4):
    model = tiny_model(dropout=True)
    x, y = tiny_data(16)
    epoch_batches, steps = training.array_epoch_batches((x, y), 8, seed=1)
    val = iter([3.0, 2.0, 2.5, 2.6, 2.7])
    script = __import__("keras").callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: logs.update(val_loss=next(val)))
    stopping = training.early_stopping(monitor="val_loss", patience=5, restore_best_weights=True)
    callbacks = [script, stopping] + ([CrashAtEpoch(crash)] if crash is not None else [])
    return training.fit(model, epoch_batches, steps, epochs, output=str(output), progress="none",
                        callbacks=callbacks)


@pytest.fixture
def crashed(tmp_path):
    """A run crashed at the start of epoch 4 (3 committed, best epoch 2)."""
    with pytest.raises(SimulatedCrash):
        _fit(tmp_path, crash=3)
    backup = tmp_path / "backup"
    assert {"training_metadata.json", "epoch-3.weights.h5", "best-epoch-2.npz"} <= set(os.listdir(backup))
    return tmp_path, backup


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _damage(path, damage, garbage):
    """Truncates `path`, replaces it by `garbage`, or empties it."""
    if damage == "truncated":
        _truncate(path)
    else:
        path.write_bytes(garbage if damage == "garbage" else b"")


def _assert_backup_error(output, backup, problem):
    with pytest.raises(training.BackupError) as info:
        _fit(output)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message.startswith(f"The checkpoint directory {backup} ") and problem in message, message
    assert message.endswith(START_OVER) and info.value.directory == str(backup)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_bad_best_weights_npz(crashed, damage):
    output, backup = crashed
    path = backup / "best-epoch-2.npz"
    _damage(path, damage, garbage=b"not a zip file at all" * 10)
    _assert_backup_error(output, backup, "the best epoch's weights (best-epoch-2.npz) cannot be read")


def test_missing_best_weights_npz(crashed):
    output, backup = crashed
    (backup / "best-epoch-2.npz").unlink()
    _assert_backup_error(output, backup, "best-epoch-2.npz")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_bad_weights_h5(crashed, damage):
    output, backup = crashed
    path = backup / "epoch-3.weights.h5"
    _damage(path, damage, garbage=os.urandom(4096))
    _assert_backup_error(output, backup, "is corrupt or from another model: epoch-3.weights.h5 cannot be loaded")


def test_missing_weights_h5(crashed):
    output, backup = crashed
    (backup / "epoch-3.weights.h5").unlink()
    _assert_backup_error(output, backup, "is incomplete (needs epoch-3.weights.h5, named in training_metadata.json)")


@pytest.mark.parametrize("text", ['{"epoch": 3, "weights": "epoch-3.weights.h5"', "", "[]", '{"epoch": 0}',
                                  '{"weights": "epoch-3.weights.h5"}', '{"epoch": "three"}'])
def test_bad_metadata_json(crashed, text):
    output, backup = crashed
    (backup / "training_metadata.json").write_text(text)
    _assert_backup_error(output, backup, "is corrupt: training_metadata.json cannot be read")


def test_truncated_metadata_json(crashed):
    output, backup = crashed
    _truncate(backup / "training_metadata.json")
    _assert_backup_error(output, backup, "is corrupt: training_metadata.json cannot be read")


def test_wrong_seed_state_count(crashed):
    output, backup = crashed
    metadata = json.loads((backup / "training_metadata.json").read_text())
    metadata["seed_states"] = metadata["seed_states"] * 2
    (backup / "training_metadata.json").write_text(json.dumps(metadata))
    _assert_backup_error(output, backup, "random seed states saved")


def test_truncated_history_csv(crashed):
    output, backup = crashed
    lines = (output / "history.csv").read_text().splitlines()
    (output / "history.csv").write_text("\n".join(lines[:2]) + "\n")  # header + 1 of 3 epochs
    _assert_backup_error(output, backup, "has fewer rows")


def test_no_metadata_but_weights_is_incomplete(crashed):
    output, backup = crashed
    (backup / "training_metadata.json").unlink()
    _assert_backup_error(output, backup, "is incomplete (it has no training_metadata.json)")


def test_uncommitted_first_epoch_is_discarded(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "saving.weights.h5").write_bytes(b"partial")
    (backup / "training_metadata.json.tmp").write_text("{")
    assert training.resume_epoch(tiny_model(), str(tmp_path)) == 0
    assert not backup.exists()


def test_fresh_deletes_a_bad_backup_and_starts_over(crashed):
    output, backup = crashed
    _truncate(backup / "best-epoch-2.npz")
    model = tiny_model()
    assert training.resume_epoch(model, str(output), fresh=True) == 0
    assert not backup.exists()


def test_resume_needs_a_built_model(crashed):
    output, _ = crashed
    import keras

    with pytest.raises(ValueError, match="must be built"):
        training.resume_epoch(keras.Sequential([keras.layers.Dense(1)]), str(output))


def test_backup_paths_and_history(tmp_path):
    assert training.backup_dir("out") == os.path.join("out", "backup")
    assert training.backup_dir("out", "a") == os.path.join("out", "backup", "a")
    path = tmp_path / "h.csv"
    assert training.read_history(str(path)) == {}
    path.write_text("epoch,loss,val_loss\n1,0.5,0.6\n2,0.25,0.3\n")
    assert training.read_history(str(path)) == {"loss": [0.5, 0.25], "val_loss": [0.6, 0.3]}
    assert training.read_history(str(path), 1) == {"loss": [0.5], "val_loss": [0.6]}


def test_seed_states_are_the_dropout_generators_only():
    model = tiny_model(dropout=True)
    states = training.seed_states(model)
    assert len(states) == 1 and states[0].name == "seed_generator_state"
    assert not training.seed_states(tiny_model(dropout=False))
    assert np.asarray(states[0]).shape == (2,)
