"""`kerasrnn.training.fit`: a crash mid-run, resumed, gives the same
weights, history, dropout masks and early-stopping decision as an
uninterrupted fit; stages are kept until removed."""

import json
import os
import signal

import keras
import numpy as np
import pytest

from kerasrnn import training
from tests.training.helpers import CrashAtEpoch
from tests.training.helpers import SimulatedCrash
from tests.training.helpers import tiny_data
from tests.training.helpers import tiny_model


def _tiny_fit(output, epochs, val_losses, crash=None):
    """A Dense+Dropout model trained by `training.fit` with early stopping on
    a scripted `val_loss` (patience 2); returns `(history, weights)`."""
    model = tiny_model(seed=7, dropout=True)
    x, y = tiny_data()
    script = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(val_loss=val_losses[epoch]))
    stopping = training.early_stopping(monitor="val_loss", patience=2, restore_best_weights=True)
    callbacks = [script, stopping] + ([CrashAtEpoch(crash)] if crash is not None else [])
    epoch_batches, steps = training.array_epoch_batches((x, y), 8, seed=1)
    history = training.fit(model, epoch_batches, steps, epochs, output=str(output), progress="none",
                           callbacks=callbacks)
    return history, model.get_weights()


# Best at epoch 4 (1-based), then 2 epochs without improvement: early
# stopping ends training after epoch 6 and restores epoch 4's weights.
VAL_LOSSES = [5.0, 3.0, 4.0, 2.0, 2.5, 2.6, 2.7, 2.8]


@pytest.fixture(scope="module")
def uninterrupted_fit(tmp_path_factory):
    history, weights = _tiny_fit(tmp_path_factory.mktemp("uninterrupted"), 8, VAL_LOSSES)
    assert len(history["loss"]) == 6
    return history, weights


@pytest.mark.parametrize("crash, committed, best", [(3, 3, 2), (5, 5, 4), ("end", 6, 4)])
def test_fit_resumes_weights_dropout_and_early_stopping_exactly(tmp_path, uninterrupted_fit, crash, committed, best):
    # Crashes after the best epoch so far (its weights must come from the
    # backup), while waiting, and after the decision to stop.
    reference, reference_weights = uninterrupted_fit
    with pytest.raises(SimulatedCrash):
        _tiny_fit(tmp_path / "resumed", 8, VAL_LOSSES, crash=crash)
    backup = tmp_path / "resumed" / "backup"
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == committed
    assert f"best-epoch-{best}.npz" in os.listdir(backup)
    resumed, resumed_weights = _tiny_fit(tmp_path / "resumed", 8, VAL_LOSSES)
    assert resumed == {**reference, "seconds": resumed["seconds"]}
    for a, b in zip(resumed_weights, reference_weights):
        np.testing.assert_array_equal(a, b)
    assert not backup.exists()


def _stage_model():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    m.compile("sgd", "mse")
    return m


def test_fit_stage_kept_until_removed_and_epochs_check(tmp_path, capsys):
    x = np.ones((4, 2), "float32")
    epoch_batches, steps = training.array_epoch_batches((x, x[:, :1]), 2, seed=0)
    options = dict(output=str(tmp_path), progress="none", stage="a", history_path=str(tmp_path / "a.csv"))

    first = _stage_model()
    history = training.fit(first, epoch_batches, steps, 2, **options)
    assert json.loads((tmp_path / "backup" / "a" / "training_metadata.json").read_text())["epoch"] == 2
    again = _stage_model()
    assert training.fit(again, epoch_batches, steps, 2, **options) == history
    assert "Training a already finished" in capsys.readouterr().out
    for a, b in zip(again.get_weights(), first.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(training.BackupError, match="is at epoch 2 but --epochs is 1 .*fresh=True"):
        training.fit(_stage_model(), epoch_batches, steps, 1, **options)
    # fresh=True starts over instead.
    assert len(training.fit(_stage_model(), epoch_batches, steps, 1, fresh=True, **options)["loss"]) == 1
    training.remove_backup(str(tmp_path))
    assert not (tmp_path / "backup").exists()


def test_fit_takes_keyword_options_only(tmp_path):
    x = np.ones((4, 2), "float32")
    epoch_batches, steps = training.array_epoch_batches((x, x[:, :1]), 2, seed=0)
    with pytest.raises(TypeError):
        training.fit(_stage_model(), epoch_batches, steps, 1, str(tmp_path))  # output is keyword-only
    with pytest.raises(ValueError, match="`progress` must be one of"):
        training.fit(_stage_model(), epoch_batches, steps, 1, output=str(tmp_path), progress="loud")


def test_logdir_gets_tensorboard_logs(tmp_path):
    pytest.importorskip("tensorboard")
    x = np.ones((4, 2), "float32")
    epoch_batches, steps = training.array_epoch_batches((x, x[:, :1]), 2, seed=0)
    training.fit(_stage_model(), epoch_batches, steps, 1, output=str(tmp_path / "run"), progress="none",
                 logdir=str(tmp_path / "logs"))
    assert any(files for _, _, files in os.walk(tmp_path / "logs"))
    assert (tmp_path / "run" / "history.csv").exists() and not (tmp_path / "run" / "backup").exists()


class _DroppedInterrupt:
    """Sends this process a SIGINT from its `__del__`, where Python drops the
    `KeyboardInterrupt` the handler raises, as it does in the garbage
    collector's callbacks (which JAX and TensorFlow register)."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(100_000):  # the handler runs here, inside __del__
            pass


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped interrupt
def test_a_ctrl_c_python_drops_still_stops_training_after_the_epochs_backup(tmp_path):
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as from a terminal
    try:
        _DroppedInterrupt()  # the premise: Python drops it, nothing is raised here
        model = tiny_model()
        epoch_batches, steps = training.array_epoch_batches(tiny_data(), 8, seed=0)
        drop = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epoch == 1 and _DroppedInterrupt())
        with pytest.raises(KeyboardInterrupt):
            training.fit(model, epoch_batches, steps, 6, output=str(tmp_path), progress="none", callbacks=[drop])
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    finally:
        signal.signal(signal.SIGINT, previous)
    with open(tmp_path / "backup" / "training_metadata.json") as f:
        assert json.load(f)["epoch"] == 2  # epoch 2 ended and was backed up, then training stopped
    with open(tmp_path / "history.csv") as f:
        assert len(f.read().strip().splitlines()) == 1 + 2
