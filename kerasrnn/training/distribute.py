"""`tf.distribute` strategy set-up, and the scoped workaround that lets
Keras's `fit` run under `MultiWorkerMirroredStrategy`."""

import contextlib
import json
import os
import warnings

STRATEGIES = ("none", "mirrored", "multi-worker")

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


def make_strategy(name):
    """The `tf.distribute` strategy called `name`.

    * `none`: the default (single-device) strategy.
    * `mirrored`: `MirroredStrategy` over every local GPU, else every local
      (logical) CPU device; the global batch is split across them.
    * `multi-worker`: `MultiWorkerMirroredStrategy` configured by the
      `TF_CONFIG` environment variable (one process per worker, all started
      with the same command). `fit` applies `multi_worker_fixes` around
      `model.fit` for it; this warns here if the installed Keras is outside
      the versions that workaround was checked on.
    """
    import tensorflow as tf

    check_strategy(name)
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    config = os.environ.get("TF_CONFIG")
    if not config:
        raise ValueError("`--strategy multi-worker` needs the TF_CONFIG environment variable "
                         "(cluster and task of this worker). Received: TF_CONFIG unset")
    try:
        json.loads(config)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON ({error}). Received: TF_CONFIG={config!r}") from None
    _fixes_apply()  # warns early when they will not be applied
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_chief(strategy):
    """Whether this process writes the run's outputs (worker 0 or single)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type in ("chief", None) or (resolver.task_type == "worker" and resolver.task_id == 0)


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
    if strategy is None:
        return False
    import tensorflow as tf

    # The replaced functions check for several workers themselves.
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


@contextlib.contextmanager
def multi_worker_fixes(strategy):
    """Within this context, Keras's TensorFlow trainer can `fit` (and
    `evaluate`) under a multi-worker `MultiWorkerMirroredStrategy`; the
    original functions are back when it exits. Does nothing for any other
    strategy, or for a Keras version outside `MULTI_WORKER_FIXES_CHECKED`
    (then it warns).

    Works around two Keras 3 bugs (keras-team/keras#20585, reported with
    tensorflow/tensorflow#72388), both in
    `keras/src/backend/tensorflow/trainer.py`:

    1. `_maybe_symbolic_build` "reduces" the first input batch across
       workers only to learn its shapes, and the collective reduce of a
       nested `PerReplica` raises `ValueError: Attempt to convert a value
       (PerReplica...)`. Fixed by taking this worker's local batch instead.
    2. `reduce_per_replica` averages scalar logs with `axis=0`, which raises
       `Invalid reduction dimension 0 for input with 0 dimensions`. Fixed by
       averaging over replicas only (`axis=None`) for multi-worker.

    Checked on Keras 3.15.1 with TensorFlow 2.21 (tests/pipelines/test_distributed.py
    also checks that unpatched `fit` still fails there).
    """
    if not _is_multi_worker(strategy) or not _fixes_apply():
        yield
        return
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original_reduce = tf_trainer.reduce_per_replica
    original_build = tf_trainer.TensorFlowTrainer.__dict__["_maybe_symbolic_build"]

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
        if iterator is not None and strategy is not None and tf_trainer._collective_all_reduce_multi_worker(strategy):
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

    tf_trainer.reduce_per_replica = reduce_per_replica
    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    try:
        yield
    finally:
        tf_trainer.reduce_per_replica = original_reduce
        tf_trainer.TensorFlowTrainer._maybe_symbolic_build = original_build
