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
    with pytest.raises(ValueError, match="it is not valid JSON"):
        training.make_strategy("multi-worker")


def test_read_tf_config_and_global_batch():
    spec = training.read_tf_config('{"cluster": {"chief": ["a:1"], "worker": ["b:2", "c:3"]}, '
                                   '"task": {"type": "worker", "index": 1}}')
    assert (spec.workers, spec.address, spec.peers, spec.is_chief) == (3, "c:3", ["a:1", "b:2"], False)
    assert training.read_tf_config('{"cluster": {"worker": ["b:2"]}, "task": {"type": "worker", "index": 0}}').is_chief
    with pytest.raises(ValueError, match="lists an address twice"):
        training.read_tf_config('{"cluster": {"worker": ["b:2", "b:2"]}, "task": {"type": "worker", "index": 0}}')
    assert training.check_global_batch(6, 3) == 6 and training.check_global_batch(1, 1) == 1
    with pytest.raises(ValueError, match="pass --batch-size 8 or another multiple of 4. Received: --batch-size=7"):
        training.check_global_batch(7, 4)


def test_unreachable_lists_addresses_without_a_listener():
    import socket

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in (listening, closed)]
    closed.close()
    try:
        assert distribute.unreachable(addresses) == addresses[1:]
    finally:
        listening.close()


def _trainer():
    from keras.src.backend.tensorflow import trainer

    return trainer, trainer.reduce_per_replica, trainer.TensorFlowTrainer.__dict__["_maybe_symbolic_build"]


def test_fixes_are_scoped_and_restored(monkeypatch):
    trainer, reduce, build = _trainer()
    with distribute.multi_worker_fixes(None):  # not distributed: nothing replaced
        assert trainer.reduce_per_replica is reduce
    with distribute.multi_worker_fixes(training.make_strategy("none")):  # one replica: nothing replaced
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
