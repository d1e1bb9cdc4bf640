"""What the training tests share: a scripted crash, a tiny model."""

import keras
import numpy as np


class SimulatedCrash(Exception):
    """Raised inside `fit` to stand for a crash."""


class CrashAtEpoch(keras.callbacks.Callback):
    """Raises when epoch `epoch` (0-based) begins, every earlier epoch being
    backed up; `epoch="end"`: when training ends, before the backup is
    deleted."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise SimulatedCrash(f"crash at epoch {epoch + 1}")

    def on_train_end(self, logs=None):
        if self.epoch == "end":
            raise SimulatedCrash("crash after the last epoch")


def tiny_model(seed=0, dropout=False):
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((3,)), keras.layers.Dense(8)]
    layers += [keras.layers.Dropout(0.5)] if dropout else []
    model = keras.Sequential(layers + [keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    return model


def tiny_data(n=40):
    x = np.random.RandomState(0).randn(n, 3).astype("float32")
    return x, x.sum(axis=1, keepdims=True)
