"""Strategy set-up and the scoped multi-worker workaround; importing
`kerasrnn.training` imports neither TensorFlow nor Keras."""

import subprocess
import sys
import warnings

import pytest

from kerasrnn import training
from kerasrnn.training import distribute

ROOT = __import__("os").path.dirname(__import__("os").path.dirname(__import__("os").path.dirname(
    __import__("os").path.abspath(__file__))))


def test_importing_training_needs_neither_tensorflow_nor_keras():
    # Loads the package without `kerasrnn/__init__.py` (which may import Keras).
    code = f"""
import importlib, sys, types
package = types.ModuleType("kerasrnn")
package.__path__ = [{ROOT!r} + "/kerasrnn"]
sys.modules["kerasrnn"] = package
training = importlib.import_module("kerasrnn.training")
assert callable(training.fit) and issubclass(training.BackupError, ValueError)
heavy = sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras"))
print(heavy)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_lazy_keras_names():
    import keras

    assert issubclass(training.ResumableEarlyStopping, keras.callbacks.EarlyStopping)
    assert issubclass(training.AtomicBackupAndRestore, keras.callbacks.BackupAndRestore)
    assert isinstance(training.early_stopping(patience=2), training.ResumableEarlyStopping)
    assert "ResumableEarlyStopping" in dir(training)
    with pytest.raises(AttributeError):
        training.NoSuchThing  # noqa: B018


def test_strategies():
    assert training.STRATEGIES == ("none", "mirrored", "multi-worker")
    assert training.make_strategy("none").num_replicas_in_sync == 1
    with pytest.raises(ValueError, match="`--strategy` must be one of none, mirrored, multi-worker"):
        training.make_strategy("tpu")
    assert training.is_chief(training.make_strategy("none"))


def test_multi_worker_needs_valid_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs the TF_CONFIG environment variable"):
        training.make_strategy("multi-worker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        training.make_strategy("multi-worker")


def _trainer():
    from keras.src.backend.tensorflow import trainer

    return trainer, trainer.reduce_per_replica, trainer.TensorFlowTrainer.__dict__["_maybe_symbolic_build"]


def test_fixes_are_scoped_and_restored(monkeypatch):
    trainer, reduce, build = _trainer()
    with distribute.multi_worker_fixes(None):  # not multi-worker: nothing replaced
        assert trainer.reduce_per_replica is reduce
    monkeypatch.setattr(distribute, "_is_multi_worker", lambda strategy: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with distribute.multi_worker_fixes(object()):
            assert trainer.reduce_per_replica is not reduce
            assert trainer.TensorFlowTrainer.__dict__["_maybe_symbolic_build"] is not build
    assert trainer.reduce_per_replica is reduce
    assert trainer.TensorFlowTrainer.__dict__["_maybe_symbolic_build"] is build
    with pytest.raises(RuntimeError):  # restored after an exception too
        with distribute.multi_worker_fixes(object()):
            raise RuntimeError("fit failed")
    assert trainer.reduce_per_replica is reduce


def test_fixes_skip_unchecked_keras_versions_with_a_warning(monkeypatch):
    trainer, reduce, _ = _trainer()
    monkeypatch.setattr(distribute, "_is_multi_worker", lambda strategy: True)
    monkeypatch.setattr(distribute, "MULTI_WORKER_FIXES_CHECKED", ((3, 0, 0), (3, 0, 1)))
    with pytest.warns(RuntimeWarning, match=r"keras-team/keras#20585"):
        with distribute.multi_worker_fixes(object()):
            assert trainer.reduce_per_replica is reduce
