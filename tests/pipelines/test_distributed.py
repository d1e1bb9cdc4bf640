"""Distributed training through the one shared path
(`kerasrnn.training.distributed`, which the runner wraps around every
training pipeline): `--strategy mirrored` on 2 logical CPU devices against
the single-device run for every Keras-trained pipeline, `--strategy
multi-worker` with 2 processes on 127.0.0.1 (identical weights, chief-only
outputs, a worker SIGKILLed and both restarted), `--distribution
data-parallel` on JAX, and the errors of a bad cluster. Every run is a
subprocess with a time limit; the pipelines run at test size through their
own options."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from kerasrnn.pipelines.runner import main
from kerasrnn.training.distribute import free_local_ports
from tests.helpers import read_metrics
from tests.helpers import run_python

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT = 900

CHAR_LM = ("char-lm", "--quick", "--max-chars", "3000", "--units", "8", "--embedding-dim", "4",
           "--sample-length", "5", "--progress", "none")
#: Test-sized runs of every Keras-trained pipeline (word2vec trains with gensim).
TINY = {
    "char-lm": CHAR_LM,
    # Stops early (val_loss rises at epoch 6 of 8; the clipping of a rate this
    # high acts) and writes TensorBoard logs ("{output}": the run's directory).
    "char-lm-stop": (*CHAR_LM, "--epochs", "8", "--patience", "1", "--learning-rate", "0.3",
                     "--logdir", "{output}/tensorboard"),
    "char-lm-tbptt": ("char-lm", "--quick", "--max-chars", "6000", "--tbptt", "--batch-size", "8",
                      "--sequence-length", "16", "--units", "8", "--embedding-dim", "4", "--epochs", "2",
                      "--sample-length", "5"),
    # Each replica draws its own dropout masks: equal to one device without dropout.
    # One variant: the Word2Vec-initialised ones train the same classifier.
    "sentiment": ("sentiment", "--quick", "--variants", "random", "--units", "4", "--dropout", "0"),
    "dates": ("dates", "--quick", "--no-baseline", "--train-size", "64", "--test-size", "8", "--units", "8"),
    "bible-modernize": ("bible-modernize", "--quick", "--train-size", "32", "--test-size", "4", "--units", "8"),
    # The NTM itself (the others train the LSTM baseline); SavedModels under
    # a strategy are written by char-lm, sentiment, the seq2seq pipelines.
    "ntm-copy": ("ntm-copy", "--quick", "--epochs", "1", "--steps-per-epoch", "2", "--jit-compile", "off",
                 "--no-export"),
    "ntm-repeat-copy": ("ntm-repeat-copy", "--quick", "--model", "lstm", "--batch-size", "2", "--epochs", "1",
                        "--steps-per-epoch", "2", "--no-export"),
    "ntm-recall": ("ntm-recall", "--quick", "--model", "lstm", "--epochs", "1", "--steps-per-epoch", "2",
                   "--no-export"),
    "ntm-sort": ("ntm-sort", "--quick", "--model", "lstm", "--epochs", "1", "--steps-per-epoch", "2",
                 "--no-export"),
    "ntm-ngrams": ("ntm-ngrams", "--quick", "--model", "lstm", "--batch-size", "2", "--epochs", "1",
                   "--steps-per-epoch", "2", "--no-export"),
    # The tree model (the sequence baseline is an LSTM as elsewhere).
    "tree-arith": ("tree-arith", "--quick", "--models", "tree-lstm", "--train-size", "64", "--epochs", "1",
                   "--test-depths", "3"),
    "vec2seq": ("vec2seq", "--quick", "--conditioning", "state", "--repeats", "2", "--units", "8"),
}
#: The ntm tasks default to `--jit-compile on`; XLA under `mirrored` on 2
#: logical CPU devices fails ("Trying to access resource .../replica_1 located
#: in device CPU:1 from device CPU:0"), so their mirrored comparisons run
#: without it (before, an earlier run's op determinism made Keras drop XLA
#: silently; docs/distributed.md).
for _name in [n for n in TINY if n.startswith("ntm-")]:
    if "--jit-compile" not in TINY[_name]:
        TINY[_name] = (*TINY[_name], "--jit-compile", "off")
#: Refused under a 2-replica strategy (a batch that does not split, XLA across CPU devices): (argv, what the error says).
REFUSED = {
    "odd-batch": (("char-lm", "--quick", "--batch-size", "3"), "`--batch-size` must be a multiple of the 2 replicas"),
    # The paper's recipe (the task's default; --quick trains batches of 4).
    "ntm-batch-1": (("ntm-repeat-copy", "--quick", "--batch-size", "1"),
                    "a global batch of 1 cannot be split across replicas"),
    # The NTM tasks compile with XLA by default: no XLA collectives across CPU devices.
    "xla-on-cpus": (("ntm-copy", "--quick"), "`--jit-compile` must be off or auto under --strategy mirrored on "
                    "CPU devices (/job:localhost/replica:0/task:0/device:CPU:0, /job:localhost/replica:0/task:0/"
                    "device:CPU:1): TensorFlow's XLA has no collectives across them"),
}


def _forecast_csv(directory):
    path = os.path.join(directory, "series.csv")
    steps = np.arange(240)
    values = np.sin(2 * np.pi * steps / 12) + 0.02 * steps + 0.1 * np.random.RandomState(0).randn(240)
    with open(path, "w") as f:
        f.write("y\n" + "\n".join(f"{v:.6f}" for v in values) + "\n")
    return ("forecast", "--csv", path, "--column", "y", "--period", "12", "--window", "24", "--horizon", "6",
            "--units", "8", "--epochs", "2", "--batch-size", "32", "--no-sarimax")


def _at(argv, output, strategy):
    """The command line of `argv` (a `TINY` entry) run under `strategy`
    into `output`, which also replaces its "{output}"."""
    return [a.replace("{output}", str(output)) for a in argv] + ["--strategy", strategy, "--output", str(output)]


def _floats(metrics, prefix=""):
    """`{path: value}` of the numbers in a metrics tree, timings left out."""
    found = {}
    for key, value in metrics.items():
        path = f"{prefix}/{key}"
        if isinstance(value, dict):
            found.update(_floats(value, path))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and "second" not in key \
                and key != "replicas":  # forecast's own record of the strategy
            found[path] = value
    return found


def assert_same_metrics(actual, expected, rtol=1e-4):
    expected_numbers, actual_numbers = _floats(expected), _floats(actual)
    assert expected_numbers, "no metrics to compare"
    for path, value in expected_numbers.items():
        np.testing.assert_allclose(actual_numbers[path], value, rtol=rtol, atol=1e-7, err_msg=path)


def test_gradient_norm_is_the_dense_gradients_norm():
    """char-lm's `grad_norm` diagnostic (`kerasrnn.callbacks.gradient_norm`)
    agrees between a mirrored and a single-device run: an embedding's
    gradient (`IndexedSlices`, one row per lookup) is densified before its
    norm, as the replicas' summed gradients are. Id 0 looked up twice, with
    embedding 1, kernel (1, 1), bias 0 and target 0: output 2, d loss / d
    output 4, gradients 8 for the embedding row (not two rows of 4), (4, 4)
    for the kernel, 4 for the bias: norm sqrt(64 + 32 + 16)."""
    import keras

    from kerasrnn.callbacks import gradient_norm

    model = keras.Sequential([
        keras.Input((2,), dtype="int32"),
        keras.layers.Embedding(3, 1, embeddings_initializer="ones"),
        keras.layers.Flatten(),
        keras.layers.Dense(1, kernel_initializer="ones"),
    ])
    model.compile("sgd", "mse")
    norm = gradient_norm(model, np.zeros((1, 2), "int32"), np.zeros((1, 1), "float32"))
    assert norm == pytest.approx(np.sqrt(112.0), rel=1e-6)


#: The mirrored comparisons, in groups of one subprocess each (so that
#: `pytest -n` spreads them), with the refused runs.
GROUPS = {
    "char-lm": ["char-lm", "char-lm-stop", "char-lm-tbptt"],
    "seq2seq": ["dates", "bible-modernize"],
    "ntm": ["ntm-copy", "ntm-repeat-copy", "ntm-recall", "ntm-sort", "ntm-ngrams"],
    "others": ["sentiment", "tree-arith", "vec2seq", "forecast"],
}


def _mirrored(directory, runs, refused=None, unsynchronized=False):
    """Runs `runs` (`{name: argv}`) with `--strategy none` and `mirrored` in
    one process with 2 logical CPU devices, and `refused` with `mirrored`
    (with `unsynchronized`, also char-lm --tbptt as on a Keras whose
    variables take no `synchronization`); `(exit codes, CompletedProcess)`."""
    try:
        result = _run_group(directory, runs, refused, unsynchronized)
    except subprocess.TimeoutExpired as error:  # recorded once: the group's other tests fail at once
        result = subprocess.CompletedProcess(error.cmd, -9, "", f"the group's process ran over {TIMEOUT} s")
    lines = [line for line in result.stdout.splitlines() if line.startswith("CODES")]
    return (json.loads(lines[0][6:]) if lines else {}), result  # a failed process fails each test, once


def _run_group(directory, runs, refused, unsynchronized):
    runs = {f"{name}/{strategy}": _at(argv, directory / name / strategy, strategy)
            for name, argv in runs.items() for strategy in ("none", "mirrored")}
    return run_python(
        f"""
        import json
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from kerasrnn import training
        from kerasrnn.pipelines.runner import main

        with training.distributed("mirrored", {str(directory / "probe")!r}) as run:
            batch = tf.data.Dataset.from_tensor_slices(tf.zeros((32, 3))).batch(32)
            local = run.strategy.experimental_local_results(
                next(iter(run.strategy.experimental_distribute_dataset(batch))))
        print("PER_REPLICA", json.dumps([int(t.shape[0]) for t in local]))
        codes = {{}}
        for key, argv in {runs!r}.items():
            codes[key] = main(argv)
        for name, argv in {refused or {}!r}.items():
            codes[name] = main(list(argv) + ["--strategy", "mirrored", "--output", {str(directory)!r} + "/" + name])
        if {unsynchronized!r}:
            # Keras 3.8's Variable takes no `synchronization`: the flag as there.
            from kerasrnn.layers import sequence
            synchronize, sequence._VARIABLES_SYNCHRONIZE = sequence._VARIABLES_SYNCHRONIZE, False
            codes["unsynchronized"] = main(list({TINY["char-lm-tbptt"]!r}) + [
                "--strategy", "mirrored", "--output", {str(directory / "unsynchronized")!r}])
            sequence._VARIABLES_SYNCHRONIZE = synchronize
        print("CODES", json.dumps(codes))
        if {unsynchronized!r}:  # gradient clipping under the strategy (`multi_worker_fixes`), once
            import contextlib, keras, numpy as np
            x = np.random.RandomState(0).randint(0, 5, (8, 4)); y = np.random.RandomState(1).randint(0, 5, (8, 4))
            def trained(strategy, fixed, **clip):
                with strategy.scope():
                    keras.utils.set_random_seed(0)
                    model = keras.Sequential([keras.Input((4,), dtype="int32"), keras.layers.Embedding(5, 3),
                                              keras.layers.Dense(5)])
                    model.compile(keras.optimizers.SGD(0.1, **clip), "sparse_categorical_crossentropy")
                with training.multi_worker_fixes(strategy) if fixed else contextlib.nullcontext():
                    model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), epochs=2, verbose=0)
                return np.concatenate([w.ravel() for w in model.get_weights()])
            mirrored, clipped = training.make_strategy("mirrored"), {{}}
            for clip in ({{"global_clipnorm": 0.1}}, {{"clipnorm": 0.1}}, {{"clipvalue": 0.02}}):
                one = trained(tf.distribute.get_strategy(), False, **clip)
                clipped[str(clip)] = [float(np.abs(trained(mirrored, fixed, **clip) - one).max()) for fixed in (True, False)]
            print("CLIP", json.dumps(clipped))
        """,
        timeout=TIMEOUT, env={"TF_CPP_MIN_LOG_LEVEL": "3"},
    )


# Session-scoped: an xdist worker that leaves this module for another and
# comes back would tear a module-scoped fixture down and run the groups again.
@pytest.fixture(scope="session")
def mirrored_runs(tmp_path_factory):
    """`{group: (directory, exit codes, CompletedProcess)}`, each group run
    on first use."""
    done = {}

    def run(group):
        if group not in done:
            directory = tmp_path_factory.mktemp(f"mirrored-{group}")
            runs = {name: TINY[name] if name != "forecast" else _forecast_csv(str(directory))
                    for name in GROUPS[group]}
            refused = {name: argv for name, (argv, _) in REFUSED.items()} if group == "char-lm" else None
            done[group] = (directory, *_mirrored(directory, runs, refused, unsynchronized=group == "char-lm"))
        return done[group]

    return run


@pytest.mark.xdist_group("mirrored-char-lm")
def test_mirrored_splits_the_global_batch(mirrored_runs):
    _, _, result = mirrored_runs("char-lm")
    per_replica = next(line for line in result.stdout.splitlines() if line.startswith("PER_REPLICA"))
    assert json.loads(per_replica.split(" ", 1)[1]) == [16, 16]  # global batch 32 split in two


@pytest.mark.parametrize("group, name", [
    pytest.param(group, name, marks=pytest.mark.xdist_group(f"mirrored-{group}"))
    for group, names in GROUPS.items() for name in names])
def test_mirrored_run_matches_single_device(mirrored_runs, group, name):
    directory, codes, result = mirrored_runs(group)
    assert codes, result.stderr[-5000:]
    assert codes[f"{name}/none"] == codes[f"{name}/mirrored"] == 0, result.stderr[-5000:]
    single, mirrored = read_metrics(directory / name / "none"), read_metrics(directory / name / "mirrored")
    assert mirrored["distribution"] == {"strategy": "mirrored", "replicas": 2, "chief": True}
    assert "distribution" not in single
    assert_same_metrics(mirrored, single)


def _epoch_losses(logdir):
    """`{"train": [...], "validation": [...]}`: the `epoch_loss` scalars
    Keras's TensorBoard callback wrote under `logdir`, in step order."""
    import tensorflow as tf

    found = {}
    for split in ("train", "validation"):
        values = {}
        for path in sorted((logdir / split).glob("events.out.tfevents.*")):
            for event in tf.compat.v1.train.summary_iterator(str(path)):
                for value in event.summary.value:
                    if value.tag == "epoch_loss":
                        values[event.step] = float(tf.make_ndarray(value.tensor))
        found[split] = [values[step] for step in sorted(values)]
    return found


@pytest.mark.xdist_group("mirrored-char-lm")
def test_early_stopping_and_tensorboard_under_mirrored_as_on_one_device(mirrored_runs):
    """`--patience 1` stops both runs at the same epoch, before the 8 asked,
    with the best epoch's weights; both write one TensorBoard scalar per
    epoch, the same losses as their history."""
    directory, codes, result = mirrored_runs("char-lm")
    assert codes["char-lm-stop/none"] == codes["char-lm-stop/mirrored"] == 0, result.stderr[-5000:]
    single, mirrored = (read_metrics(directory / "char-lm-stop" / s) for s in ("none", "mirrored"))
    assert mirrored["epochs"] == single["epochs"] < 8
    assert mirrored["best_epoch"] == single["best_epoch"] == single["epochs"] - 1  # patience 1
    for strategy, metrics in (("none", single), ("mirrored", mirrored)):
        run = directory / "char-lm-stop" / strategy
        losses = _epoch_losses(run / "tensorboard")
        with open(run / "history.csv") as f:
            history = list(csv.DictReader(f))
        assert len(losses["train"]) == len(losses["validation"]) == len(history) == metrics["epochs"]
        np.testing.assert_allclose(losses["validation"], [float(row["val_loss"]) for row in history], rtol=1e-5)


@pytest.mark.xdist_group("mirrored-char-lm")
def test_gradient_clipping_under_mirrored_clips_the_summed_gradient_as_on_one_device(mirrored_runs):
    """Keras clips each replica's share of the gradient before the shares
    are summed; `multi_worker_fixes` clips the sum as one device does: two
    SGD steps of an Embedding-Dense model (repeated lookups: the embedding's
    gradient rows are `IndexedSlices`) end with one device's weights for
    `global_clipnorm`, `clipnorm` and `clipvalue`, and would not without it.
    char-lm's mirrored runs check it in a recurrent model (`char-lm-stop`
    clips)."""
    _, _, result = mirrored_runs("char-lm")
    line = next((line for line in result.stdout.splitlines() if line.startswith("CLIP")), None)
    assert line, result.stderr[-5000:]
    for clip, (fixed, unfixed) in json.loads(line[5:]).items():
        assert fixed < 1e-6, clip
        assert unfixed > 1e-4, clip  # the upstream behaviour the fix replaces


@pytest.mark.xdist_group("mirrored-char-lm")
def test_stateful_training_is_refused_where_states_cannot_be_per_replica(mirrored_runs):
    """On a Keras whose `keras.Variable` takes no `synchronization` (3.8),
    stateful layers get plain state variables: under 2 replicas they would
    share one copy of the states, so the TBPTT run is refused."""
    _, codes, result = mirrored_runs("char-lm")
    assert codes["unsynchronized"] == 2, result.stderr[-3000:]
    assert ("error: stateful layer 'recurrent' cannot keep its states per replica under a tf.distribute strategy "
            "of 2 replicas with Keras") in result.stderr
    assert "Received: stateful=True, replicas=2" in result.stderr


@pytest.mark.xdist_group("mirrored-char-lm")
@pytest.mark.parametrize("name", list(REFUSED))
def test_mirrored_refuses_what_it_cannot_run_before_writing(mirrored_runs, name):
    directory, codes, result = mirrored_runs("char-lm")
    assert codes.get(name) == 2, result.stderr[-3000:]
    assert REFUSED[name][1] in result.stderr
    assert not os.path.exists(directory / name)  # refused before anything is written


def _tf_config(cluster, index):
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


class Workers:
    """2 worker processes of one command (`argv`, `--output` shared) on
    127.0.0.1; with `script`, of that Python source instead, given `argv`."""

    def __init__(self, argv, output, logs, script=None):
        self.argv, self.output, self.logs, self.script = list(argv), str(output), logs, script
        self.cluster = {"worker": [f"127.0.0.1:{port}" for port in free_local_ports(2)]}
        self.processes = []

    def start(self, tag):
        self.tag = tag
        command = (["-u", "-c", self.script, *self.argv] if self.script else
                   ["-m", "kerasrnn.pipelines", *_at(self.argv, self.output, "multi-worker")])
        for index in range(2):
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT,
                       TF_CONFIG=_tf_config(self.cluster, index))
            with open(self.log(index), "w") as f:
                self.processes.append(subprocess.Popen(
                    [sys.executable, *command], stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT))
        return self

    def log(self, index):
        return self.logs / f"{self.tag}-{index}.log"

    def wait(self, timeout=TIMEOUT):
        """Exit codes and logs (every worker killed if one is still running after `timeout`)."""
        deadline = time.monotonic() + timeout
        try:
            for process in self.processes:
                process.wait(timeout=max(1, deadline - time.monotonic()))
        finally:
            self.kill()
        codes = [p.returncode for p in self.processes]
        self.processes = []
        return codes, [self.log(i).read_text() for i in range(2)]

    def kill(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def _digests(log):
    return [line.rsplit(" ", 1)[1] for line in log.splitlines() if "after training on this worker: sha256" in line]


#: 2 epochs: a worker is killed after the first and the restarted run trains the second.
EPOCHS = 2
MULTI_WORKER = (*CHAR_LM, "--epochs", str(EPOCHS))
#: The full multi-worker matrix (every Keras-trained pipeline on 2 workers of
#: its own, uninterrupted and killed/resumed) runs with `make test-distributed`;
#: `make test` runs every pipeline on one pair of workers and kills char-lm.
FULL_MATRIX = [pytest.mark.slow, pytest.mark.skipif(
    not os.environ.get("KERASRNN_TEST_DISTRIBUTED"),
    reason="full distributed matrix: make test-distributed (KERASRNN_TEST_DISTRIBUTED=1)")]


def _two_workers(argv, directory):
    """An uninterrupted 2-worker run of `argv`: `(output, codes, logs)`."""
    directory.mkdir(exist_ok=True)
    codes, logs = Workers(argv, directory / "run", directory).start("whole").wait()
    return directory / "run", codes, logs


def _check_two_workers(output, codes, logs, epochs=EPOCHS):
    """Both workers ended with the same weights; only the chief wrote `output`."""
    assert codes == [0, 0], "\n".join(log[-3000:] for log in logs)
    digests = [_digests(log) for log in logs]
    assert digests[0] and digests[0] == digests[1]  # the same weights on both workers
    metrics = read_metrics(output)
    assert metrics["distribution"] == {"strategy": "multi-worker", "replicas": 2, "chief": True}
    if "epochs" in metrics and epochs is not None:
        assert metrics["epochs"] == epochs
    # The other worker wrote into its temporary directory, gone at the end.
    assert not os.path.exists(output / ".worker-1")
    assert f"Outputs are in {output}{os.sep}.worker-1" in logs[1]
    return digests[0]


def _backup_epochs(output):
    """`[epochs of worker 0's backups, worker 1's]` once both workers have
    backed up the same epochs, else `None`."""
    found = []
    for root in (output / "backup", output / ".worker-1" / "backup"):
        try:
            found.append([json.loads(path.read_text())["epoch"]
                          for path in sorted(root.rglob("training_metadata.json"))])
        except (OSError, ValueError):
            return None
    return found if found[0] and found[0] == found[1] else None


def _kill_and_resume(argv, directory, reference_output, reference_digests):
    """Kills worker 1 of a 2-worker run of `argv` once both have backed up
    an epoch, checks that worker 0 stops by itself with one clear line,
    restarts both and checks that they resume to the uninterrupted end."""
    output = directory / "run"
    workers = Workers(argv, output, directory).start("killed")
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and not _backup_epochs(output):
        assert all(p.poll() is None for p in workers.processes), "a worker ended before its first backup"
        time.sleep(0.05)
    workers.processes[1].send_signal(signal.SIGKILL)
    killed = time.monotonic()
    workers.processes[1].wait()
    # The survivor notices the lost peer and stops by itself, with one clear line.
    survivor = workers.processes[0]
    survivor.wait(timeout=120)
    assert time.monotonic() - killed < 120
    log = workers.log(0).read_text()
    assert survivor.returncode == 1, log[-3000:]
    assert "error: a worker of the cluster stopped answering" in log and "restart every worker" in log
    workers.processes = []

    codes, logs = workers.start("restarted").wait()
    assert codes == [0, 0], "\n".join(log[-3000:] for log in logs)
    for log in logs:  # "Resuming <stage> from the backup in" for a pipeline that trains in stages
        assert re.search(r"Resuming (\S+ )?from the backup in", log), log[-3000:]
    assert _digests(logs[0]) == _digests(logs[1]) == reference_digests
    assert_same_metrics(read_metrics(output), read_metrics(reference_output), rtol=1e-6)


#: Runs pipelines one after another in one process per worker (one import,
#: one rendezvous): `argv` is a JSON list of `[name, command line]`.
EVERY_PIPELINE = textwrap.dedent("""
    import json, sys, time
    from kerasrnn.pipelines.runner import main
    for name, argv in json.loads(sys.argv[1]):
        print(f"== PIPELINE {name}", flush=True)
        start = time.monotonic()
        code = main(argv)
        print(f"== CODE {name} {code} in {time.monotonic() - start:.1f} s", flush=True)
        if code:
            break  # the peer's collectives time out, and it stops too
""")


def _sections(log):
    """`{name: (exit code or None, its part of the log)}` of an `EVERY_PIPELINE` log."""
    found = {}
    for part in log.split("== PIPELINE ")[1:]:
        name, _, text = part.partition("\n")
        code = re.search(rf"^== CODE {re.escape(name)} (-?\d+) in ", text, re.M)
        found[name] = (int(code.group(1)) if code else None, text)
    return found


@pytest.fixture(scope="session")
def two_workers(tmp_path_factory):
    """Every Keras-trained pipeline on the same 2 worker processes, one after
    another (char-lm first, with 2 epochs: the reference of the kill test):
    `(directory, {name: (argv, codes, logs)})`."""
    directory = tmp_path_factory.mktemp("workers")
    runs = {name: list(MULTI_WORKER if name == "char-lm" else
                       _forecast_csv(str(directory)) if name == "forecast" else TINY[name])
            for name in [*TINY, "forecast"]}
    commands = [[name, _at(argv, directory / name, "multi-worker")] for name, argv in runs.items()]
    codes, logs = Workers([json.dumps(commands)], directory, directory, script=EVERY_PIPELINE).start("every").wait()
    sections = [_sections(log) for log in logs]
    found = {name: (argv, [s.get(name, (None, ""))[0] for s in sections],
                    [s.get(name, (None, ""))[1] for s in sections]) for name, argv in runs.items()}
    # A failed worker process (not a failed pipeline, which each test reports) fails them all.
    assert codes == [0, 0] or any(c != [0, 0] for _, c, _ in found.values()), "\n".join(log[-3000:] for log in logs)
    return directory, found


@pytest.mark.xdist_group("two-workers")
@pytest.mark.parametrize("name", [*TINY, "forecast"])
def test_every_pipeline_on_two_workers_ends_with_identical_weights_and_chief_only_outputs(two_workers, name):
    directory, found = two_workers
    argv, codes, logs = found[name]
    # The epochs asked for (early stopping may end a run sooner).
    epochs = (int(argv[len(argv) - 1 - argv[::-1].index("--epochs") + 1])
              if "--epochs" in argv and "--patience" not in argv else None)
    digests = _check_two_workers(directory / name, codes, logs, epochs=epochs)
    if "--logdir" in argv:  # only the chief's TensorBoard logs remain, one scalar per epoch
        losses = _epoch_losses(directory / name / "tensorboard")
        assert len(losses["train"]) == len(losses["validation"]) == read_metrics(directory / name)["epochs"]
    if name == "char-lm":
        assert len(digests) == 1
        assert sorted(os.listdir(directory / name)) == ["config.json", "export", "history.csv",
                                                        "learning_curves.png", "metrics.json", "model.keras"]


@pytest.mark.xdist_group("two-workers")
def test_worker_killed_mid_run_and_both_restarted_resume_to_the_same_end(two_workers, tmp_path):
    directory, found = two_workers
    _, codes, logs = found["char-lm"]
    assert codes == [0, 0], "\n".join(log[-3000:] for log in logs)
    _kill_and_resume(MULTI_WORKER, tmp_path, directory / "char-lm", _digests(logs[0]))


def _matrix_argv(name, directory):
    argv = _forecast_csv(str(directory)) if name == "forecast" else TINY[name]
    return (*argv, "--epochs", str(EPOCHS))


@pytest.mark.parametrize("name", [pytest.param(name, marks=FULL_MATRIX) for name in [*TINY, "forecast"]])
def test_every_pipeline_on_two_workers_identical_weights_and_kill_resume(name, tmp_path):
    argv = _matrix_argv(name, tmp_path)
    output, codes, logs = _two_workers(argv, tmp_path / "whole")
    digests = _check_two_workers(output, codes, logs)
    (tmp_path / "killed").mkdir()
    _kill_and_resume(argv, tmp_path / "killed", output, digests)


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


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("KERASRNN_TEST_DISTRIBUTED"),
                    reason="full distributed matrix: make test-distributed (KERASRNN_TEST_DISTRIBUTED=1)")
def test_plain_keras_fit_fails_under_multi_worker(tmp_path):
    """Documents the Keras 3.15 / TF 2.21 bug that
    `kerasrnn.training.multi_worker_fixes` works around
    (keras-team/keras#20585): plain `fit` raises."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_local_ports(2)]}
    processes = [subprocess.Popen([sys.executable, "-c", PLAIN_KERAS_FIT], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True,
                                  env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_CONFIG=_tf_config(cluster, i)))
                 for i in range(2)]
    try:
        logs = [p.communicate(timeout=TIMEOUT)[0] for p in processes]
    finally:
        for p in processes:
            p.kill()
    for process, log in zip(processes, logs):
        assert process.returncode != 0 and "FIT OK" not in log
        assert "Attempt to convert a value (PerReplica" in log, log[-3000:]


def test_unreachable_peer_is_an_error_in_seconds_not_a_hang(monkeypatch, capsys, tmp_path):
    # In this process: the rendezvous runs before TensorFlow's multi-worker set-up.
    own, absent = free_local_ports(2)
    monkeypatch.setenv("TF_CONFIG", _tf_config({"worker": [f"127.0.0.1:{own}", f"127.0.0.1:{absent}"]}, 0))
    start = time.monotonic()
    code = main([*CHAR_LM, "--strategy", "multi-worker", "--peer-timeout", "1", "--output", str(tmp_path / "run")])
    assert time.monotonic() - start < 15
    error = capsys.readouterr().err
    assert code == 2, error[-3000:]
    assert f"waited 1 s for the other 1 worker(s) of TF_CONFIG to join; unreachable: 127.0.0.1:{absent}" in error


@pytest.mark.parametrize("tf_config, message", [
    (None, "needs the TF_CONFIG environment variable set to this worker's cluster and task as JSON"),
    ("{cluster", "it is not valid JSON"),
    ('{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 2}}',
     '"task" index 2 is out of range: "cluster" has 2 \'worker\' task(s), indices 0 to 1'),
    ('{"cluster": {"worker": ["127.0.0.1"]}, "task": {"type": "worker", "index": 0}}',
     "'127.0.0.1' in \"cluster\" 'worker' is not a \"host:port\" address"),
    ('{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "chief", "index": 0}}',
     '"task" type \'chief\' is not in "cluster"'),
])
def test_bad_tf_config_is_refused_before_anything_is_written(monkeypatch, capsys, tmp_path, tf_config, message):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    output = tmp_path / "run"
    assert main([*CHAR_LM, "--strategy", "multi-worker", "--output", str(output)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error, error
    assert not output.exists()


@pytest.mark.parametrize("argv, message", [
    (("char-lm", "--batch-size", "5"), "`--batch-size` must be a multiple of the 2 replicas this run trains on "
                                       "(each of the 2 replicas takes an equal share of the global batch): pass "
                                       "--batch-size 6 or another multiple of 2. Received: --batch-size=5"),
    (("ntm-ngrams",), "`--batch-size` must be a multiple of the 2 replicas this run trains on (a global batch of 1 "
                      "cannot be split across replicas): pass --batch-size 2"),
])
def test_multi_worker_batch_must_split_across_workers(monkeypatch, capsys, tmp_path, argv, message):
    monkeypatch.setenv("TF_CONFIG", _tf_config({"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, 1))
    assert main([*argv, "--strategy", "multi-worker", "--output", str(tmp_path / "run")]) == 2
    assert message in capsys.readouterr().err


def test_jax_data_parallel_matches_single_device_and_tensorflow_pipelines_refuse_at_once(tmp_path):
    env = dict(os.environ, KERAS_BACKEND="jax", XLA_FLAGS="--xla_force_host_platform_device_count=2",
               TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
    start = time.monotonic()
    refused = subprocess.run([sys.executable, "-m", "kerasrnn.pipelines", *CHAR_LM, "--distribution", "data-parallel",
                              "--output", str(tmp_path / "refused")], capture_output=True, text=True, timeout=60,
                             env=env, cwd=ROOT)
    assert refused.returncode == 2
    assert time.monotonic() - start < 10  # < 2 s on an idle machine: nothing is imported beyond Keras
    assert "`--distribution` must be none for this pipeline: it runs on TensorFlow only" in refused.stderr
    code = f"""
        import jax, json
        from kerasrnn.pipelines.runner import main
        assert len(jax.devices()) == 2
        for distribution in ("none", "data-parallel"):
            assert main({list(TINY["vec2seq"])!r} + ["--distribution", distribution, "--output",
                        {str(tmp_path)!r} + "/" + distribution]) == 0
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=TIMEOUT, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-5000:]
    parallel = read_metrics(tmp_path / "data-parallel")
    assert parallel["distribution"] == {"strategy": "data-parallel", "replicas": 2, "chief": True}
    assert_same_metrics(parallel, read_metrics(tmp_path / "none"))
