import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERASRNN_QUICK", "1")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _clear_keras_session():
    import keras

    keras.utils.set_random_seed(1234)
    yield
    # Without Keras's full `gc.collect()`: over a worker's whole heap it took
    # seconds per test, a third of the suite; Python's own collector still runs.
    keras.backend.clear_session(free_memory=False)
