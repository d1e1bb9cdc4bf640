"""Metrics for the algorithmic (NTM) tasks, per sequence.

`y_true` is packed as for `kerasrnn.losses`: target bits, then the
output-phase mask as the last channel (`kerasrnn.losses.pack_targets`);
`y_pred` holds logits.
"""

import keras
from keras import ops

from kerasrnn.losses import bits_per_sequence
from kerasrnn.losses import split_targets

__all__ = [
    "BitErrorsPerSequence",
    "BitsPerSequence",
    "bit_errors_per_sequence",
    "bits_per_sequence",
    "generalisation_report",
    "score_summary",
    "sequence_scores",
]


def bit_errors_per_sequence(y_true, y_pred):
    """Wrong bits of the scored steps, per sequence.

    A bit is predicted 1 where its logit is positive (probability > 0.5);
    with target bits `y` and output mask `m`:

        errors = sum_t m_t * sum_k |[x_tk > 0] - y_tk|

    Args:
        y_true: Packed targets `(batch, steps, bits + 1)`.
        y_pred: Logits `(batch, steps, bits)`.

    Returns:
        `(batch,)` wrong bits per sequence.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    targets, mask = split_targets(y_true)
    predicted = ops.cast(y_pred > 0.0, y_pred.dtype)
    return ops.sum(ops.sum(ops.abs(predicted - targets), axis=-1) * mask, axis=-1)


# Registered as "kerasrnn>BitsPerSequenceMetric": "kerasrnn>BitsPerSequence" is the loss.
@keras.saving.register_keras_serializable(package="kerasrnn", name="BitsPerSequenceMetric")
class BitsPerSequence(keras.metrics.MeanMetricWrapper):
    """Mean over sequences of the scored steps' sigmoid cross-entropy in
    bits (`kerasrnn.losses.bits_per_sequence`):

        bits = (1 / ln 2) * sum_t m_t * sum_k CE(x_tk, y_tk)

    Args:
        name: Metric name (the history key).
        dtype: Metric dtype.

    Example:

    ```python
    model.compile("adam", loss=kerasrnn.losses.BitsPerSequence(),
                  metrics=[kerasrnn.metrics.BitsPerSequence(), kerasrnn.metrics.BitErrorsPerSequence()])
    ```
    """

    def __init__(self, name="bits_per_sequence", dtype=None):
        super().__init__(fn=bits_per_sequence, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="kerasrnn")
class BitErrorsPerSequence(keras.metrics.MeanMetricWrapper):
    """Mean over sequences of the wrong bits of the scored steps
    (`bit_errors_per_sequence`; a bit is predicted 1 where its logit is
    positive):

        errors = sum_t m_t * sum_k |[x_tk > 0] - y_tk|

    Args:
        name: Metric name (the history key).
        dtype: Metric dtype.
    """

    def __init__(self, name="bit_errors_per_sequence", dtype=None):
        super().__init__(fn=bit_errors_per_sequence, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def sequence_scores(model, batch, chunk=64):
    """Per-sequence scores of `model` (logits out) on a task batch dict
    (`kerasrnn.data.tasks`), predicted `chunk` sequences at a time.

    Returns:
        `(bits, errors, probabilities)` as NumPy arrays: `(batch,)` bits per
        sequence, `(batch,)` bit errors per sequence and the `(batch, steps,
        bits)` predicted probabilities.
    """
    import numpy as np

    from kerasrnn.data.tasks.batches import pack

    x, y = pack(batch)
    # `predict` (not `predict_on_batch`, which under a tf.distribute strategy
    # returns one replica's share) gathers every replica's outputs.
    logits = np.asarray(model.predict(x, batch_size=chunk, verbose=0))
    bits = np.asarray(bits_per_sequence(y, logits))
    errors = np.asarray(bit_errors_per_sequence(y, logits))
    return bits, errors, 1.0 / (1.0 + np.exp(-logits))


def score_summary(bits, errors):
    """`{"bits_per_sequence", "bit_errors_per_sequence_mean",
    "bit_errors_per_sequence_median"}` of `sequence_scores`' arrays."""
    import numpy as np

    return {
        "bits_per_sequence": float(np.mean(bits)),
        "bit_errors_per_sequence_mean": float(np.mean(errors)),
        "bit_errors_per_sequence_median": float(np.median(errors)),
    }


def generalisation_report(model, batch_fn, sets, size, seed):
    """How `model` does beyond its training distribution (e.g. on longer
    sequences): `{label: score_summary + {"sequences": size}}` for each
    `label -> options` of `sets`, on `batch_fn(rng, size, **options)` with
    `rng = numpy.random.default_rng(seed)` for each set.

    Example: `generalisation_report(model, copy_batch, {"length 120":
    {"min_length": 120, "max_length": 120}}, 64, seed=7)`.
    """
    import numpy as np

    report = {}
    for label, options in sets.items():
        bits, errors, _ = sequence_scores(model, batch_fn(np.random.default_rng(seed), size, **options))
        report[label] = {**score_summary(bits, errors), "sequences": int(len(errors))}
    return report
