"""Training callbacks: state resets for stateful (TBPTT) training, a
gradient-norm history, a training timer, and a one-line epoch summary that
also appends to a crash-safe `history.csv`."""

import csv
import math
import os
import sys
import time
import weakref

import keras
import numpy as np

from kerasrnn.validation import check_positive_int


def stateful_layers(model):
    """The layers of `model` (searched recursively) that carry state across
    batches: `stateful=True` layers with a `reset_state()` method."""
    found, stack, seen = [], [model], set()
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if layer is not model and getattr(layer, "stateful", False) and hasattr(layer, "reset_state"):
            found.append(layer)
        stack.extend(reversed(getattr(layer, "layers", []) or []))
        for attribute in ("layer", "forward_layer", "backward_layer"):  # wrappers
            inner = getattr(layer, attribute, None)
            if isinstance(inner, keras.layers.Layer):
                stack.append(inner)
    return found


class ResetStatesCallback(keras.callbacks.Callback):
    """Resets the states of every stateful layer of the model (to zeros) at
    the start of each training epoch and around each evaluation and
    prediction, so an epoch of a `tbptt_dataset` starts from a blank state
    and validation neither sees nor disturbs the training streams.

    Args:
        every_n_batches: Also reset after this many training batches (e.g.
            at document boundaries of a fixed layout); `None` never.
    """

    def __init__(self, every_n_batches=None):
        super().__init__()
        if every_n_batches is not None:
            every_n_batches = check_positive_int("every_n_batches", every_n_batches)
        self.every_n_batches = every_n_batches
        self.resets = 0

    def reset(self):
        for layer in stateful_layers(self.model):
            layer.reset_state()
        self.resets += 1

    def on_epoch_begin(self, epoch, logs=None):
        self.reset()

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_batches and (batch + 1) % self.every_n_batches == 0:
            self.reset()

    def on_test_begin(self, logs=None):
        self.reset()

    def on_test_end(self, logs=None):
        self.reset()

    def on_predict_begin(self, logs=None):
        self.reset()


class GradientNormHistory(keras.callbacks.Callback):
    """Records the global L2 norm of the gradients, averaged per epoch.

    Keras's `fit` does not expose gradients to callbacks, so at the end of
    each epoch this computes the gradient of the compiled loss on a fixed
    `probe` batch `(x, y)` with the current weights (`gradient_norm`, on any
    backend) and adds it to the logs as `grad_norm` (so it reaches `History`,
    CSV and TensorBoard). `norms` keeps the values.
    """

    def __init__(self, probe):
        super().__init__()
        self.probe = probe
        self.norms = []

    def on_epoch_end(self, epoch, logs=None):
        x, y = self.probe
        norm = gradient_norm(self.model, x, y)
        self.norms.append(norm)
        if logs is not None:
            logs["grad_norm"] = norm


def gradient_norm(model, x, y):
    """The global L2 norm of the gradient of `model`'s compiled loss on
    `(x, y)` with respect to its trainable weights, in inference mode, with
    the current weights; works on the TensorFlow, JAX and PyTorch backends.
    Returns a Python float (0.0 when no weight gets a gradient)."""
    backend = keras.backend.backend()
    variables = model.trainable_variables
    if backend != "tensorflow":
        # A probe taken from a `tf.data` pipeline holds TensorFlow tensors.
        x, y = keras.tree.map_structure(np.asarray, (x, y))

    def loss_of(predictions):
        return model.compute_loss(x=x, y=y, y_pred=predictions)

    if backend == "tensorflow":
        import tensorflow as tf

        strategy = tf.distribute.get_strategy()
        if strategy.num_replicas_in_sync > 1 and tf.distribute.in_cross_replica_context():
            gradients = _distributed_gradients(strategy, model, variables, x, y)
        else:
            with tf.GradientTape() as tape:
                loss = loss_of(model(x, training=False))
            gradients = tape.gradient(loss, variables)
        # An embedding's gradient comes as `IndexedSlices`, one row per
        # lookup: an id looked up twice has two rows, whose squares would be
        # summed instead of the square of their sum. The dense gradient's norm
        # (as on the other backends, and as the replicas' summed gradients).
        gradients = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in gradients]
    elif backend == "jax":
        import jax

        # Every other variable the loss reads or assigns (the compiled loss's
        # per-output trackers, seed generators) is mapped to its current
        # value: what the call assigns stays in the scope.
        others = [(v, v.value) for v in model.non_trainable_variables + model.metrics_variables]

        def loss_fn(values):
            with keras.StatelessScope(state_mapping=list(zip(variables, values)) + others):
                return loss_of(model(x, training=False))

        gradients = jax.grad(loss_fn)([v.value for v in variables])
    elif backend == "torch":
        import torch

        with torch.enable_grad():
            loss = loss_of(model(x, training=False))
            gradients = torch.autograd.grad(loss, [v.value for v in variables], allow_unused=True)
    else:
        raise NotImplementedError(
            f"gradient_norm supports the tensorflow, jax and torch backends. Received: backend={backend!r}"
        )
    squares = [float(keras.ops.sum(keras.ops.square(g))) for g in gradients if g is not None]
    return math.sqrt(sum(squares))


def _distributed_gradients(strategy, model, variables, x, y):
    """The gradients of the loss on `(x, y)` under a `tf.distribute`
    strategy: the batch split across the replicas as in training (a stateful
    model holds one replica's share of the streams), each replica's gradient
    of its mean loss weighted by its share of the batch, summed."""
    import tensorflow as tf

    total = int(keras.tree.flatten(y)[0].shape[0])
    batch = next(iter(strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors((x, y)))))
    key = (strategy, total)
    if key not in _DISTRIBUTED_GRADIENTS.setdefault(model, {}):  # traced once per model, strategy and batch
        model_ref = weakref.ref(model)  # the cache entry must not keep its own key alive

        def replica_gradients(x, y):
            model = model_ref()
            with tf.GradientTape() as tape:
                loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=False))
            # Keras divides each replica's loss by the number of replicas.
            share = tf.cast(tf.shape(keras.tree.flatten(y)[0])[0] * strategy.num_replicas_in_sync, "float32") / total
            return [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) * tf.cast(share, g.dtype)
                    for v, g in zip(variables, tape.gradient(loss, variables))]

        def summed(batch):  # in a graph: collectives run eagerly are slow (TensorFlow warns)
            return [strategy.reduce("SUM", g, axis=None) for g in strategy.run(replica_gradients, args=batch)]

        _DISTRIBUTED_GRADIENTS[model][key] = tf.function(summed, autograph=False)
    return _DISTRIBUTED_GRADIENTS[model][key](batch)


#: `_distributed_gradients`' traced functions: `{model: {(strategy, batch): function}}`.
_DISTRIBUTED_GRADIENTS = weakref.WeakKeyDictionary()


class TrainingTimer(keras.callbacks.Callback):
    """Times training, validation excluded, per epoch and per batch.

    After `fit`:

    * `seconds`: each epoch's training time (from the epoch's start to its
      end or to the start of its validation, whichever comes first);
    * `batch_seconds`: the summed time of every training batch but the
      first of the run (which includes tracing and compilation), and
      `batches`: how many batches ran, the first included, so the steady
      throughput is `(batches - 1) * batch_size / batch_seconds`
      (`examples_per_second(batch_size)`).

    Only this process's epochs are timed: a resumed run times the epochs it
    trains. With `examples_per_epoch`, each epoch also logs `examples_seen`
    (or the name given as `seen_key`): the examples of the whole run at its
    end, `(epoch + 1) * examples_per_epoch`, so it lands in history.csv.

    Args:
        examples_per_epoch: Examples per epoch (e.g. `steps_per_epoch *
            batch_size`) for the `seen_key` log entry; `None`: not logged.
        seen_key: The log entry's name (default `"examples_seen"`).

    Example:

    ```python
    timer = TrainingTimer()
    model.fit(x, y, epochs=3, validation_split=0.1, callbacks=[timer])
    print(sum(timer.seconds), timer.examples_per_second(batch_size=32))
    ```
    """

    def __init__(self, examples_per_epoch=None, seen_key="examples_seen"):
        super().__init__()
        if examples_per_epoch is not None:
            examples_per_epoch = check_positive_int("examples_per_epoch", examples_per_epoch)
        self.examples_per_epoch = examples_per_epoch
        self.seen_key = seen_key
        self.seconds = []
        self.batch_seconds, self.batches = 0.0, 0
        self._epoch_start = self._batch_start = None

    def on_train_begin(self, logs=None):
        self.seconds = []
        self.batch_seconds, self.batches = 0.0, 0
        self._epoch_start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def _stop_epoch(self):
        if self._epoch_start is not None:
            self.seconds.append(time.perf_counter() - self._epoch_start)
            self._epoch_start = None

    def on_train_batch_begin(self, batch, logs=None):
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.batches and self._batch_start is not None:
            self.batch_seconds += time.perf_counter() - self._batch_start
        self.batches += 1

    def on_test_begin(self, logs=None):
        self._stop_epoch()

    def on_epoch_end(self, epoch, logs=None):
        self._stop_epoch()
        if self.examples_per_epoch is not None and logs is not None:
            logs[self.seen_key] = float((epoch + 1) * self.examples_per_epoch)

    def examples_per_second(self, batch_size):
        """Steady training throughput: examples per second over every batch
        but the first (0.0 before two batches have run)."""
        if self.batches < 2 or self.batch_seconds <= 0:
            return 0.0
        return (self.batches - 1) * batch_size / self.batch_seconds


class EpochSummary(keras.callbacks.Callback):
    """Prints one line per epoch (`epoch 3/20  loss 0.0123  val_loss ...
    2.1s`) and appends the epoch's logs to a CSV file as soon as it ends.

    The CSV survives a crash: when training resumes at `initial_epoch`
    (e.g. after `BackupAndRestore`), rows of epochs `>= initial_epoch` are
    dropped first, so the file ends up with one row per epoch of the whole
    run, like an uninterrupted one.

    Args:
        epochs: Total number of epochs (for the `k/N` display).
        path: CSV path (`None`: print only).
        initial_epoch: Zero-based epoch training starts from.
        stream: Where to print (default `sys.stdout`); `None` is silent.
    """

    def __init__(self, epochs, path=None, initial_epoch=0, stream="stdout"):
        super().__init__()
        self.epochs = epochs
        self.path = path
        self.initial_epoch = initial_epoch
        self.stream = sys.stdout if stream == "stdout" else stream
        self.rows = []
        self._start = None

    def on_train_begin(self, logs=None):
        if self.path is None:
            return
        kept, header = [], None
        if os.path.exists(self.path) and self.initial_epoch > 0:
            with open(self.path, newline="", encoding="utf-8") as f:
                reader = list(csv.reader(f))
            if reader:
                header = reader[0]
                kept = [row for row in reader[1:] if row and int(row[0]) <= self.initial_epoch]
        self.rows = kept
        self._header = header
        self._write()

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        seconds = time.perf_counter() - (self._start or time.perf_counter())
        if self.stream is not None:
            parts = [f"epoch {epoch + 1}/{self.epochs}"]
            parts += [f"{key} {_fmt(value)}" for key, value in sorted(logs.items(), key=_log_order)]
            parts.append(f"{seconds:.1f}s")
            print("  ".join(parts), file=self.stream, flush=True)
        if self.path is None:
            return
        keys = [key for key, _ in sorted(logs.items(), key=_log_order)]
        if self._header is None:
            self._header = ["epoch"] + keys + ["seconds"]
        row = [str(epoch + 1)] + [repr(float(logs.get(k, math.nan))) for k in self._header[1:-1]]
        self.rows.append(row + [f"{seconds:.3f}"])
        self._write()

    def _write(self):
        if self.path is None or self._header is None:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(self._header)
            writer.writerows(self.rows)
        os.replace(tmp, self.path)


def _log_order(item):
    key = item[0]
    return (key.startswith("val_"), key == "learning_rate", key)


def _fmt(value):
    value = float(np.asarray(value))
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"
