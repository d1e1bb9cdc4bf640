"""`AtomicBackupAndRestore`: the backup callback `fit` adds last."""

import json
import os

import keras

from kerasrnn.training.backup import LEGACY_WEIGHTS
from kerasrnn.training.backup import epoch_weights_name
from kerasrnn.training.backup import seed_states
from kerasrnn.training.backup import write_atomically


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` committed atomically: the weights go to a new file
    named after the epoch, then `training_metadata.json` (epoch, weights
    file, seed-generator states) replaces the previous one, and only then is
    the previous weights file removed, so a kill at any moment leaves a
    consistent backup. Restoring is `resume_epoch`'s job, done before `fit`.
    (Multi-worker: every worker backs up into its own output directory.)

    Args:
        backup_dir: Where the backup is written.
        delete_checkpoint: Delete it when training ends.
    """

    def __init__(self, backup_dir, delete_checkpoint=True):
        super().__init__(backup_dir, save_freq="epoch", delete_checkpoint=delete_checkpoint)

    def on_train_begin(self, logs=None):
        pass  # `resume_epoch` has restored the backup

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        name = epoch_weights_name(self._current_epoch)
        saving = os.path.join(self.backup_dir, "saving.weights.h5")
        self.model.save_weights(saving, overwrite=True)
        os.replace(saving, os.path.join(self.backup_dir, name))
        metadata = {"epoch": self._current_epoch, "batch": self._last_batch_seen, "weights": name,
                    "seed_states": [v.numpy().tolist() for v in seed_states(self.model)]}
        write_atomically(self._training_metadata_path, json.dumps(metadata))
        for old in os.listdir(self.backup_dir):
            if old != name and (old == LEGACY_WEIGHTS or old.startswith("epoch-") and old.endswith(".weights.h5")):
                os.remove(os.path.join(self.backup_dir, old))
