"""--strategy mirrored (2 logical CPU devices) and multi-worker (2 processes
on 127.0.0.1), each in subprocesses with time limits."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np

from tests.helpers import run_python

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT = 300


def _quick(tmp_path):
    """A tiny forecasting run on a seasonal CSV series (seconds per run)."""
    path = tmp_path / "series.csv"
    steps = np.arange(240)
    values = np.sin(2 * np.pi * steps / 12) + 0.02 * steps + 0.1 * np.random.RandomState(0).randn(240)
    path.write_text("y\n" + "\n".join(f"{v:.6f}" for v in values) + "\n")
    return ["forecast", "--csv", str(path), "--column", "y", "--period", "12", "--window", "24", "--horizon", "6",
            "--units", "8", "--epochs", "3", "--batch-size", "32", "--no-sarimax"]


def test_mirrored_splits_batch_and_matches_single_device(tmp_path):
    quick = _quick(tmp_path)
    result = run_python(
        f"""
        import json, sys
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from kerasrnn import training
        from kerasrnn.pipelines.__main__ import main

        strategy = training.make_strategy("mirrored")
        batch = tf.data.Dataset.from_tensor_slices(tf.zeros((32, 3))).batch(32)
        local = strategy.experimental_local_results(next(iter(strategy.experimental_distribute_dataset(batch))))
        print("PER_REPLICA", json.dumps([int(t.shape[0]) for t in local]))
        for name in ("none", "mirrored"):
            assert main({quick!r} + ["--strategy", name, "--output", {str(tmp_path)!r} + "/" + name]) == 0
        """,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    per_replica = next(line for line in result.stdout.splitlines() if line.startswith("PER_REPLICA"))
    assert json.loads(per_replica.split(" ", 1)[1]) == [16, 16]  # global batch 32 split in two
    single = json.loads((tmp_path / "none" / "metrics.json").read_text())
    mirrored = json.loads((tmp_path / "mirrored" / "metrics.json").read_text())
    assert (single["replicas"], mirrored["replicas"]) == (1, 2)
    for key in ("final_loss", "final_val_loss", "model_mae", "model_rmse"):
        np.testing.assert_allclose(mirrored[key], single[key], rtol=1e-4, err_msg=key)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run_workers(argv_for, tmp_path, name):
    """Starts 2 workers (`argv_for(index)`), waits (bounded), returns logs."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    processes, logs = [], []
    for index in range(2):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                   TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        log = tmp_path / f"{name}-{index}.log"
        logs.append(log)
        with open(log, "w") as f:
            processes.append(subprocess.Popen(argv_for(index), stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT))
    try:
        for process in processes:
            process.wait(timeout=TIMEOUT)
    finally:
        for process in processes:  # a worker whose peer died would wait forever
            if process.poll() is None:
                process.kill()
                process.wait()
    return [p.returncode for p in processes], [log.read_text() for log in logs]


PLAIN_KERAS_FIT = textwrap.dedent("""
    import numpy as np, tensorflow as tf, keras
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
    data = tf.data.Dataset.from_tensor_slices((np.ones((8, 4), "float32"), np.ones((8, 1), "float32"))).batch(4)
    model.fit(data, epochs=1, verbose=0)
    print("FIT OK")
""")


def test_plain_keras_fit_fails_under_multi_worker(tmp_path):
    """Documents the Keras 3.15 / TF 2.21 bug that
    `kerasrnn.training.multi_worker_fixes` works around
    (keras-team/keras#20585): plain `fit` raises."""
    codes, logs = _run_workers(lambda i: [sys.executable, "-c", PLAIN_KERAS_FIT], tmp_path, "plain")
    for code, log in zip(codes, logs):
        assert code != 0 and "FIT OK" not in log
        assert "Attempt to convert a value (PerReplica" in log, log[-3000:]


def test_multi_worker_pipeline_workers_end_identical(tmp_path):
    quick = _quick(tmp_path)

    def argv(index):
        return [sys.executable, "-m", "kerasrnn.pipelines", *quick, "--strategy", "multi-worker",
                "--output", str(tmp_path / f"worker{index}")]

    codes, logs = _run_workers(argv, tmp_path, "worker")
    for code, log in zip(codes, logs):
        assert code == 0, log[-3000:]
    metrics = [json.loads((tmp_path / f"worker{i}" / "metrics.json").read_text()) for i in range(2)]
    assert metrics[0]["replicas"] == metrics[1]["replicas"] == 2
    for key in ("final_loss", "model_mae", "model_rmse"):
        assert metrics[0][key] == metrics[1][key], key

    import keras

    import kerasrnn  # noqa: F401 (registers the layers for load_model)

    weights = [keras.models.load_model(tmp_path / f"worker{i}" / "model.keras").get_weights() for i in range(2)]
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
