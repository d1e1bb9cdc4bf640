"""`progress_verbose` and `enable_determinism`."""

import numpy as np
import pytest

from kerasrnn import training


def test_progress_verbose(monkeypatch):
    assert training.progress_verbose("bar") == 1
    assert training.progress_verbose("none") == 0
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    assert training.progress_verbose("auto") == 0
    with pytest.raises(ValueError, match="progress"):
        training.progress_verbose("sometimes")


def test_enable_determinism_seeds_numpy():
    training.enable_determinism(3)
    a = np.random.rand(3)
    training.enable_determinism(3)
    np.testing.assert_array_equal(a, np.random.rand(3))


def test_training_timer_excludes_validation_and_counts_batches():
    import time

    import keras

    from kerasrnn.callbacks import TrainingTimer

    class SlowValidation(keras.callbacks.Callback):
        def on_test_begin(self, logs=None):
            time.sleep(1.0)

    timer = TrainingTimer(examples_per_epoch=8, seen_key="sequences_seen")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.ones((8, 2), "float32")
    start = time.perf_counter()
    history = model.fit(x, x[:, :1], batch_size=4, epochs=2, validation_data=(x, x[:, :1]), verbose=0,
                        callbacks=[timer, SlowValidation()])
    wall = time.perf_counter() - start
    # The 2 x 1 s of validation are not training time.
    assert len(timer.seconds) == 2 and all(s > 0 for s in timer.seconds) and sum(timer.seconds) < wall - 2.0
    assert timer.batches == 4 and timer.batch_seconds > 0
    assert timer.examples_per_second(4) == 3 * 4 / timer.batch_seconds
    assert history.history["sequences_seen"] == [8.0, 16.0]
    with pytest.raises(ValueError, match="examples_per_epoch"):
        TrainingTimer(examples_per_epoch=0)
