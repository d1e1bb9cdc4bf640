"""Metrics for the algorithmic (NTM) tasks, per sequence.

`y_true` is packed as for `kerasrnn.losses`: target bits, then the
output-phase mask as the last channel (`kerasrnn.losses.pack_targets`);
`y_pred` holds logits.
"""

import keras
from keras import ops

from kerasrnn.losses import bits_per_sequence
from kerasrnn.losses import split_targets

__all__ = ["BitErrorsPerSequence", "BitsPerSequence", "bit_errors_per_sequence", "bits_per_sequence"]


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
