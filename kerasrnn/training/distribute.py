"""`tf.distribute` strategy set-up for the one shared training path:
`distributed` (the strategy, its scope, the multi-worker workaround, the
worker's output directory), checks of `TF_CONFIG`, the global batch and the
peers, and the scoped workaround that lets Keras's `fit` run under
`MultiWorkerMirroredStrategy`."""

import contextlib
import dataclasses
import json
import os
import shutil
import socket
import time
import warnings
import weakref

from kerasrnn.validation import ArgumentError
from kerasrnn.validation import InputError

STRATEGIES = ("none", "mirrored", "multi-worker")

#: Seconds a multi-worker process waits for its peers to join the cluster
#: before it exits with an error (`--peer-timeout`).
PEER_TIMEOUT = 20.0
#: Seconds one collective operation (an all-reduce of a training step) may
#: wait for the peers once training runs, before it fails: longer than
#: `PEER_TIMEOUT`, since a peer may still be compiling its step.
COLLECTIVE_TIMEOUT = 120.0

#: Keras versions the multi-worker workaround was checked on (with
#: tests/pipelines/test_distributed.py): it replaces two private functions of
#: `keras/src/backend/tensorflow/trainer.py`, so outside this range it is not
#: applied. Widen the range after running that test on another version.
MULTI_WORKER_FIXES_CHECKED = ((3, 15, 1), (3, 15, 1))
UPSTREAM_ISSUE = "keras-team/keras#20585"


def check_strategy(name):
    """`name` if it is one of `STRATEGIES`, else a `ValueError`."""
    if name not in STRATEGIES:
        raise ValueError(f"`--strategy` must be one of {', '.join(STRATEGIES)}. Received: strategy={name!r}")
    return name


class WorkerLostError(RuntimeError):
    """A multi-worker run lost a peer (killed, or its machine gone): the
    collective operations of this worker failed. The message says how to
    resume."""


@dataclasses.dataclass(frozen=True)
class ClusterSpec:
    """A validated `TF_CONFIG`: the cluster (`{task type: ["host:port",
    ...]}`), this process's task type and index."""

    cluster: dict
    task_type: str
    task_index: int

    @property
    def workers(self):
        """Number of processes in the cluster."""
        return sum(len(addresses) for addresses in self.cluster.values())

    @property
    def address(self):
        return self.cluster[self.task_type][self.task_index]

    @property
    def peers(self):
        """The addresses of the other processes."""
        return [a for kind, addresses in self.cluster.items() for i, a in enumerate(addresses)
                if (kind, i) != (self.task_type, self.task_index)]

    @property
    def is_chief(self):
        """Whether this process writes the run's outputs: the `chief` task,
        or worker 0 when there is no chief."""
        if "chief" in self.cluster:
            return self.task_type == "chief"
        return self.task_type == "worker" and self.task_index == 0


def _tf_config_error(problem, text):
    return InputError(f"`--strategy multi-worker` needs the TF_CONFIG environment variable set to this worker's "
                      "cluster and task as JSON, e.g. "
                      '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
                      f'"index": 0}}}}: {problem}. Received: TF_CONFIG={text!r}')


def read_tf_config(text=None):
    """The `ClusterSpec` of `text` (default: the `TF_CONFIG` environment
    variable); an `InputError` naming the problem when it is unset, not
    JSON, has no cluster of `"host:port"` addresses, or a task whose type or
    index is not in the cluster."""
    text = os.environ.get("TF_CONFIG") if text is None else text
    if not text:
        raise _tf_config_error("it is unset", text)
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise _tf_config_error(f"it is not valid JSON ({error})", text) from None
    if not isinstance(config, dict):
        raise _tf_config_error("it is not a JSON object", text)
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise _tf_config_error('"cluster" must map task types to lists of "host:port" addresses', text)
    for kind, addresses in cluster.items():
        if kind not in ("chief", "worker"):
            raise _tf_config_error(f'task type {kind!r} of "cluster" is not "chief" or "worker"', text)
        if not isinstance(addresses, list) or not addresses:
            raise _tf_config_error(f'"cluster" {kind!r} must be a non-empty list of "host:port" addresses', text)
        for address in addresses:
            host, _, port = str(address).rpartition(":") if isinstance(address, str) else ("", "", "")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise _tf_config_error(f'{address!r} in "cluster" {kind!r} is not a "host:port" address', text)
    if len(cluster.get("chief", [])) > 1:
        raise _tf_config_error('"cluster" has more than one "chief"', text)
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise _tf_config_error('"task" must give this process\'s "type" and "index"', text)
    kind, index = task["type"], task["index"]
    if kind not in cluster:
        raise _tf_config_error(f'"task" type {kind!r} is not in "cluster" ({", ".join(cluster)})', text)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(cluster[kind]):
        raise _tf_config_error(f'"task" index {index!r} is out of range: "cluster" has {len(cluster[kind])} '
                               f'{kind!r} task(s), indices 0 to {len(cluster[kind]) - 1}', text)
    all_addresses = [a for addresses in cluster.values() for a in addresses]
    if len(set(all_addresses)) != len(all_addresses):
        raise _tf_config_error('"cluster" lists an address twice', text)
    return ClusterSpec(cluster, kind, index)


def free_local_ports(count):
    """`count` TCP ports on 127.0.0.1 that were free a moment ago: the
    addresses of workers launched on one machine (`TF_CONFIG`'s cluster)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def check_global_batch(batch_size, replicas, argument="--batch-size"):
    """A global batch that splits evenly across `replicas`; else an
    `InputError` saying why (every replica computes the same share)."""
    if replicas > 1 and (batch_size < replicas or batch_size % replicas):
        why = ("a global batch of 1 cannot be split across replicas" if batch_size == 1 else
               f"each of the {replicas} replicas takes an equal share of the global batch")
        raise InputError(f"`{argument}` must be a multiple of the {replicas} replicas this run trains on ({why}): "
                         f"pass {argument} {replicas * max(1, -(-batch_size // replicas))} or another multiple "
                         f"of {replicas}. Received: {argument}={batch_size}")
    return batch_size


def unreachable(addresses, timeout=1.0):
    """The `"host:port"` addresses of `addresses` that accept no TCP
    connection within `timeout` seconds each."""
    missing = []
    for address in addresses:
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                pass
        except OSError:
            missing.append(address)
    return missing


def wait_for_peers(spec, timeout=PEER_TIMEOUT, poll=0.2):
    """Waits until every peer of `spec` accepts TCP connections, while this
    process accepts them on its own port; an `InputError` naming the
    unreachable peers after `timeout` seconds.

    `MultiWorkerMirroredStrategy()` waits for absent peers forever, deaf to
    signals; this rendezvous runs first, in Python. A peer is reachable when
    it waits here too (this listener) or has gone on to start TensorFlow's
    server on its port; the listener is closed before TensorFlow needs the
    port.
    """
    _, _, port = spec.address.rpartition(":")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("", int(port)))
    except OSError as error:
        listener.close()
        raise InputError(f"This worker's address {spec.address} (TF_CONFIG task {spec.task_type} {spec.task_index}) "
                         f"cannot be listened on: {error}. Give it a free port in TF_CONFIG") from None
    listener.listen(16)
    deadline = time.monotonic() + timeout
    missing = list(spec.peers)
    try:
        while missing:
            missing = unreachable(missing, timeout=min(1.0, max(0.05, deadline - time.monotonic())))
            if missing and time.monotonic() >= deadline:
                raise InputError(
                    f"worker {spec.task_type}:{spec.task_index} ({spec.address}) waited {timeout:g} s for the other "
                    f"{spec.workers - 1} worker(s) of TF_CONFIG to join; unreachable: {', '.join(missing)}. Start "
                    "every worker with the same command and its own TF_CONFIG task (docs/distributed.md), check the "
                    "addresses and firewalls, or raise --peer-timeout when workers start far apart")
            if missing:
                time.sleep(poll)
    finally:
        listener.close()


def make_strategy(name, peer_timeout=PEER_TIMEOUT, collective_timeout=COLLECTIVE_TIMEOUT):
    """The `tf.distribute` strategy called `name`.

    * `none`: the default (single-device) strategy.
    * `mirrored`: `MirroredStrategy` over every local GPU, else every local
      (logical) CPU device; the global batch is split across them.
    * `multi-worker`: `MultiWorkerMirroredStrategy` configured by the
      `TF_CONFIG` environment variable (one process per worker, all started
      with the same command; `read_tf_config` checks it first). It is
      created once every peer has joined (`wait_for_peers`: an `InputError`
      naming the unreachable peers after `peer_timeout` seconds, where
      TensorFlow would wait forever, deaf to signals). Once training runs, a collective operation that
      waits longer than `collective_timeout` seconds for a peer (one that
      died) fails instead of hanging. `fit` applies `multi_worker_fixes`
      around `model.fit`; this warns here if the installed Keras is outside
      the versions that workaround was checked on.
    """
    import tensorflow as tf

    check_strategy(name)
    if name == "none":
        return tf.distribute.get_strategy()
    if name in _STRATEGIES_MADE:
        # One per process: collective instances of a second strategy over the
        # same devices clash with the first's ("Shape mismatch in the
        # collective instance"), and TensorFlow allows one multi-worker set-up.
        return _STRATEGIES_MADE[name]
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        strategy = tf.distribute.MirroredStrategy([d.name for d in devices])
        _STRATEGIES_MADE[name] = strategy
        return strategy
    spec = read_tf_config()
    _fixes_apply()  # warns early when they will not be applied
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=collective_timeout)

    wait_for_peers(spec, peer_timeout)
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    _STRATEGIES_MADE[name] = strategy
    return strategy


_STRATEGIES_MADE = {}


def is_chief(strategy):
    """Whether this process writes the run's outputs (worker 0, the chief,
    or a single process)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type in ("chief", None) or (resolver.task_type == "worker" and resolver.task_id == 0
                                                     and "chief" not in resolver.cluster_spec().as_dict())


def num_replicas():
    """Replicas the current `tf.distribute` strategy trains on (1 outside
    one, and on the JAX and PyTorch backends): a per-replica batch is the
    global batch divided by it."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return int(tf.distribute.get_strategy().num_replicas_in_sync)


def is_multi_worker(strategy):
    """Whether `strategy` is a `MultiWorkerMirroredStrategy` over several
    processes."""
    if strategy is None:
        return False
    import tensorflow as tf

    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and getattr(strategy.extended, "_num_workers", 1) > 1)


@dataclasses.dataclass
class Distribution:
    """What `distributed` sets up for one process of a run.

    Attributes:
        strategy: The `tf.distribute` strategy (`None` for `none` on a
            backend other than TensorFlow).
        name: Its `STRATEGIES` name.
        replicas: Replicas in sync (global batch / per-replica batch).
        chief: Whether this process writes the run's outputs.
        output: Where this process writes: the run directory for the chief;
            for another worker its own temporary directory
            `<output>/.worker-<task>` (its backup lives there, so a killed
            worker resumes too), removed when the run ends.
        logdir: TensorBoard directory of this process (a non-chief's is in
            its temporary directory).
    """

    strategy: object
    name: str
    replicas: int
    chief: bool
    output: str
    logdir: object


def worker_output(output, spec):
    """The directory a non-chief worker of `spec` writes to, inside `output`."""
    return os.path.join(output, f".{spec.task_type}-{spec.task_index}")


@contextlib.contextmanager
def distributed(name, output, *, logdir=None, batch_size=None, peer_timeout=PEER_TIMEOUT, jit_compile=None):
    """The one set-up of a training run under the strategy called `name`:
    yields a `Distribution` with the block running in `strategy.scope()`
    (every model built and compiled in it is distributed) and, under
    multi-worker, `multi_worker_fixes` (so `fit`, `evaluate` and `predict`
    work in Keras 3).

    `batch_size` (the global batch) must split evenly across the replicas
    (`check_global_batch`). `jit_compile=True` (the models will compile
    their steps with XLA) is refused when the replicas are CPU devices:
    TensorFlow's XLA has no collectives across them, so the first step
    would fail. Only the chief writes to `output` and `logdir`;
    another worker gets its own temporary directory inside `output`, as
    TensorFlow recommends, removed when the block ends without an error
    (a killed worker keeps its backup there and resumes from it). `none` on
    a backend other than TensorFlow imports no TensorFlow.

    Example:

        with training.distributed("mirrored", "runs/mine", batch_size=64) as run:
            model = build(); model.compile(...)
            training.fit(model, epoch_batches, steps, 10, output=run.output, logdir=run.logdir)
    """
    check_strategy(name)
    import keras

    if name == "none" and keras.backend.backend() != "tensorflow":
        yield Distribution(None, name, 1, True, output, logdir)
        return
    import tensorflow as tf

    strategy = make_strategy(name, peer_timeout)
    replicas = int(strategy.num_replicas_in_sync)
    if batch_size is not None:
        check_global_batch(batch_size, replicas)
    devices = list(strategy.extended.worker_devices) if jit_compile is True and replicas > 1 else []
    if any("CPU" in device.upper() for device in devices):
        raise ArgumentError("--jit-compile", "on", f"off or auto under --strategy {name} on CPU devices "
                            f"({', '.join(devices)}): TensorFlow's XLA has no collectives across them, so "
                            "the first distributed step would fail")
    chief = is_chief(strategy)
    if not chief:
        output = worker_output(output, read_tf_config())
        logdir = None if logdir is None else os.path.join(output, "tensorboard")
    scope = strategy.scope()
    scope.__enter__()
    _SCOPES.append([strategy, scope])
    try:
        with multi_worker_fixes(strategy):
            yield Distribution(strategy, name, replicas, chief, output, logdir)
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError) as error:
        if not is_multi_worker(strategy):
            raise
        first = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise WorkerLostError(
            f"a worker of the cluster stopped answering ({type(error).__name__}: {first}); this worker stops too. "
            "Every finished epoch is backed up: restart every worker with the same command to resume") from None
    finally:
        try:
            _SCOPES.pop()[1].__exit__(None, None, None)
        except IndexError:  # `keras.backend.clear_session()` in the block emptied TensorFlow's scope stack
            pass
    if not chief:
        shutil.rmtree(output, ignore_errors=True)


#: `[strategy, scope]` of the `distributed` blocks running (innermost last).
_SCOPES = []


@contextlib.contextmanager
def outside_strategy_scope():
    """Leaves the strategy scope of the innermost `distributed` block for
    the duration of the block: for saving and loading SavedModels (a
    function traced or a SavedModel loaded inside the scope runs only in a
    replica context), which TensorFlow does for distributed variables
    outside the scope. Does nothing outside `distributed`."""
    if not _SCOPES:
        yield
        return
    entry = _SCOPES[-1]
    entry[1].__exit__(None, None, None)
    try:
        yield
    finally:
        entry[1] = entry[0].scope()
        entry[1].__enter__()


def data_parallel(batch_size=None):
    """Sets Keras's distribution to `keras.distribution.DataParallel` over
    every local device (JAX backend): each batch is split across them and
    the weights are replicated. `batch_size` (the global batch) must split
    evenly (`check_global_batch`). Returns the number of devices."""
    import keras

    if keras.backend.backend() != "jax":
        raise InputError("`--distribution data-parallel` uses keras.distribution, which kerasrnn runs on the JAX "
                         f"backend (KERAS_BACKEND=jax). Received: backend={keras.backend.backend()!r}")
    devices = keras.distribution.list_devices()
    if batch_size is not None:
        check_global_batch(batch_size, len(devices))
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return len(devices)


def agree_on_epoch(strategy, epoch, directory):
    """Checks that every worker resumes from the same epoch (each reads its
    own backup): a worker killed between the moments the workers commit
    the same epoch leaves them one epoch apart. Returns `epoch`; raises
    `BackupError` naming the epochs otherwise."""
    if not is_multi_worker(strategy):
        return epoch
    import tensorflow as tf

    from kerasrnn.training.backup import BackupError

    if strategy not in _GATHER_EPOCH:  # one trace per strategy, not one per call
        strategy_ref = weakref.ref(strategy)  # the cache entry must not keep its own key alive

        def gather(value):
            return strategy_ref().gather(strategy_ref().run(lambda v: v[None], args=(value,)), axis=0)

        _GATHER_EPOCH[strategy] = tf.function(gather, autograph=False)
    with strategy.scope():
        gathered = _GATHER_EPOCH[strategy](tf.constant(epoch, tf.int64)).numpy().tolist()
    if len(set(gathered)) > 1:
        raise BackupError(directory, f"is at epoch {epoch} on this worker but the workers' backups are at epochs "
                                     f"{gathered} (a worker was killed while they were committing the same epoch): "
                                     "restart every worker with --fresh")
    return epoch


def _scaled(gradient, numerator, denominator):
    """`gradient * numerator / denominator` as `tf.clip_by_norm` computes it,
    for a tensor or `IndexedSlices` (kept so)."""
    import tensorflow as tf

    if isinstance(gradient, tf.IndexedSlices):
        return tf.IndexedSlices(gradient.values * numerator / denominator, gradient.indices, gradient.dense_shape)
    return gradient * numerator / denominator


#: `agree_on_epoch`'s traced gather, per strategy.
_GATHER_EPOCH = weakref.WeakKeyDictionary()


def weights_digest(model):
    """A short SHA-256 of the model's weights (values, shapes and dtypes):
    equal on every worker of a run whose replicas are in sync."""
    import hashlib

    import numpy as np

    digest = hashlib.sha256()
    for value in model.get_weights():
        value = np.ascontiguousarray(value)
        digest.update(f"{value.dtype}{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:16]


def _keras_version():
    import keras

    parts = []
    for part in keras.__version__.split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit()) if not part.isdigit() else part
        parts.append(int(digits or 0))
    return tuple(parts + [0] * (3 - len(parts)))


def _fixes_apply():
    """Whether the installed Keras is one the workaround was checked on; if
    not, warns (once per call site) that multi-worker `fit` may fail."""
    low, high = MULTI_WORKER_FIXES_CHECKED
    version = _keras_version()
    if low <= version <= high:
        return True
    import keras

    warnings.warn(
        f"kerasrnn's multi-worker workaround for {UPSTREAM_ISSUE} was checked on Keras "
        f"{'.'.join(map(str, low))}-{'.'.join(map(str, high))}, not on the installed {keras.__version__}: "
        "it is not applied, and `fit` under MultiWorkerMirroredStrategy may fail if the bug is still there",
        RuntimeWarning,
        stacklevel=3,
    )
    return False


def _is_multi_worker(strategy):
    """Whether `strategy` replicates over several devices or workers (the
    replaced functions check for several workers themselves)."""
    if strategy is None:
        return False
    return int(getattr(strategy, "num_replicas_in_sync", 1)) > 1


@contextlib.contextmanager
def multi_worker_fixes(strategy):
    """Within this context, Keras's TensorFlow trainer can `fit`,
    `evaluate` and `predict` under a `MirroredStrategy` whose first batch
    splits unevenly and under a multi-worker `MultiWorkerMirroredStrategy`;
    the original functions are back when it exits. Does nothing for a
    single-replica strategy, or for a Keras version outside
    `MULTI_WORKER_FIXES_CHECKED` (then it warns).

    Works around two Keras 3 bugs (keras-team/keras#20585, reported with
    tensorflow/tensorflow#72388), both in
    `keras/src/backend/tensorflow/trainer.py`:

    1. `_maybe_symbolic_build` "reduces" the first input batch across
       replicas only to learn its shapes: across workers the collective
       reduce of a nested `PerReplica` raises `ValueError: Attempt to
       convert a value (PerReplica...)`, and across local devices a batch
       split unevenly (9 examples on 2 replicas) raises `Inputs to
       operation AddN ... must have the same size and shape`. Fixed by
       taking the first replica's local batch instead.
    2. `reduce_per_replica` averages scalar logs with `axis=0`, which raises
       `Invalid reduction dimension 0 for input with 0 dimensions`. Fixed by
       averaging over replicas only (`axis=None`) for multi-worker.
    3. The optimizer clips (`clipnorm`, `global_clipnorm`, `clipvalue`) each
       replica's share of the gradient before the shares are summed, so
       clipping acts on another gradient than on one device (with 2
       replicas, `global_clipnorm=1` lets steps of norm 2 through). Fixed by
       summing the shares first (one more all-reduce per step, only when
       clipping is on) and changing each replica's share as one device
       changes the sum: scaled by the sum's clipping factor (by norm), or
       moved by its part of the sum's clipping (by value).

    Checked on Keras 3.15.1 with TensorFlow 2.21 (tests/pipelines/test_distributed.py
    also checks that unpatched `fit` still fails there).
    """
    if not _is_multi_worker(strategy) or not _fixes_apply():
        yield
        return
    import tensorflow as tf
    from keras.src import tree
    from keras.src import ops
    from keras.src.backend.tensorflow import trainer as tf_trainer
    from keras.src.optimizers import base_optimizer

    original_reduce = tf_trainer.reduce_per_replica
    original_build = tf_trainer.TensorFlowTrainer.__dict__["_maybe_symbolic_build"]
    original_clip = base_optimizer.BaseOptimizer.__dict__["_clip_gradients"]

    def reduce_per_replica(values, strategy, reduction):
        if tf_trainer._collective_all_reduce_multi_worker(strategy) and reduction in ("auto", "mean"):
            def mean(value):
                if isinstance(value, tf.distribute.DistributedValues):
                    return strategy.reduce("MEAN", value, axis=None)
                return value

            return tree.map_structure(mean, values)
        return original_reduce(values, strategy, reduction)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is not None and strategy is not None and strategy.num_replicas_in_sync > 1:
            for _, _, it in iterator:
                batch = next(it)
                data_batch = tree.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0]
                    if isinstance(v, tf.distribute.DistributedValues) else v,
                    batch,
                )
                break
            return original_build(self, data_batch=data_batch)
        return original_build(self, iterator=iterator, data_batch=data_batch)

    def _clip_gradients(self, grads):
        context = tf.distribute.get_replica_context()
        clipping = any((getattr(self, name, None) or 0) > 0 for name in ("clipnorm", "global_clipnorm", "clipvalue"))
        if not clipping or context is None or context.num_replicas_in_sync == 1:
            return original_clip(self, grads)
        present = [i for i, g in enumerate(grads) if g is not None]
        # An embedding's gradient (`IndexedSlices`, a row per lookup) is
        # all-reduced by gathering every replica's rows: the rows one device
        # has. The shares keep the types one device's clipping gives.
        summed = context.all_reduce(tf.distribute.ReduceOp.SUM, [grads[i] for i in present])
        clipped = list(grads)
        if (self.clipnorm or 0) > 0:  # tf.clip_by_norm of each variable's sum
            for i, whole in zip(present, summed):
                norm = tf.norm(whole.values if isinstance(whole, tf.IndexedSlices) else whole)
                clipped[i] = _scaled(grads[i], self.clipnorm, tf.maximum(norm, self.clipnorm))
        elif (self.global_clipnorm or 0) > 0:  # base_optimizer.clip_by_global_norm of the sum
            norm = base_optimizer.global_norm(summed)
            scale = self.global_clipnorm * ops.minimum(1.0 / norm, 1.0 / self.global_clipnorm) + (norm - norm)
            for i in present:
                clipped[i] = grads[i] * scale
        else:  # element-wise: a replica's rows are one device's rows; a dense share moves by its part
            for i, whole, kept in zip(present, summed, original_clip(self, summed)):
                if isinstance(grads[i], tf.IndexedSlices):
                    clipped[i] = original_clip(self, [grads[i]])[0]
                else:
                    clipped[i] = grads[i] + (kept - whole) / tf.cast(context.num_replicas_in_sync, whole.dtype)
        return clipped

    tf_trainer.reduce_per_replica = reduce_per_replica
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    base_optimizer.BaseOptimizer._clip_gradients = _clip_gradients
    try:
        yield
    finally:
        tf_trainer.reduce_per_replica = original_reduce
        tf_trainer.TensorFlowTrainer._maybe_symbolic_build = original_build
        base_optimizer.BaseOptimizer._clip_gradients = original_clip
