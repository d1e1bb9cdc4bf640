"""`ResumableEarlyStopping`: early stopping whose state survives a resume."""

import os

import keras

from kerasrnn.training.backup import best_weights_name
from kerasrnn.training.backup import load_best_weights
from kerasrnn.training.backup import save_best_weights


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """A `keras.callbacks.EarlyStopping` whose state survives a resume of
    `kerasrnn.training.fit`.

    `fit` calls its `resume`, which replays the monitored values of the
    epochs already trained (from history.csv) through the same rule, so
    `best`, `wait` and a decision to stop are what an uninterrupted run
    would have; with `restore_best_weights` the best epoch's weights are
    also kept in the backup directory (`best-epoch-K.npz`) and reloaded.
    Resumed, it stops at the same epoch and restores the same weights as an
    uninterrupted run. Takes `EarlyStopping`'s arguments.

    Example:

    ```python
    stopping = ResumableEarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    training.fit(model, epoch_batches, steps, 20, output="runs/x", callbacks=[stopping])
    ```
    """

    directory = None
    _resumed = False

    def resume(self, directory, initial_epoch, history):
        """Restores the state after `initial_epoch` epochs whose logs are
        `history` (`{name: [values]}`), the backup being in `directory`;
        returns whether training had already stopped. Raises
        `kerasrnn.training.BackupError` if the best weights cannot be read."""
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
            self.best_weights = load_best_weights(directory, self.best_epoch + 1)
        return self.stopped_epoch > 0

    def on_train_begin(self, logs=None):
        if not self._resumed:  # else `resume` has set the state
            super().on_train_begin(logs)
        self._resumed = False

    def on_epoch_begin(self, epoch, logs=None):
        # Every epoch before this one is committed: older best weights are stale.
        if self.directory and os.path.isdir(self.directory):
            keep = best_weights_name(self.best_epoch + 1)
            for name in os.listdir(self.directory):
                if name.startswith("best-epoch-") and name != keep:
                    os.remove(os.path.join(self.directory, name))

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.directory and self.restore_best_weights and self.best_epoch == epoch:
            save_best_weights(self.directory, epoch + 1, self.best_weights)

