"""Losses for the algorithmic (NTM) tasks, measured per sequence.

Targets are *packed*: the last channel of `y_true` is the output-phase mask
(1 where a step is scored, 0 elsewhere) and the channels before it are the
target bits, `y_true = concat([targets, output_mask[..., None]], axis=-1)`
(`pack_targets`). `y_pred` holds logits, one per target bit. Padding steps
carry mask 0, so they change neither the loss nor its gradients.
"""

import math

import keras
from keras import ops

#: ln 2: nats per bit.
LN2 = math.log(2.0)


def pack_targets(targets, output_mask):
    """`concat([targets, output_mask[..., None]], axis=-1)`: the packed
    `y_true` of this module's losses and of `kerasrnn.metrics`.

    Args:
        targets: `(batch, steps, bits)` target bits.
        output_mask: `(batch, steps)`: 1 where a step is scored.
    """
    targets = ops.convert_to_tensor(targets)
    mask = ops.cast(ops.convert_to_tensor(output_mask), targets.dtype)
    return ops.concatenate([targets, ops.expand_dims(mask, -1)], axis=-1)


def split_targets(y_true):
    """`(targets, output_mask)` of a packed `y_true` (see `pack_targets`)."""
    return y_true[..., :-1], y_true[..., -1]


def bits_per_sequence(y_true, y_pred):
    """Sigmoid cross-entropy of the scored steps, in bits, per sequence.

    With logits `x`, target bits `y` and output mask `m`:

        bits = (1 / ln 2) * sum_t m_t * sum_k [softplus(-|x_tk|) + max(x_tk, 0) - x_tk * y_tk]

    (the numerically stable form of `-y log sigmoid(x) - (1 - y) log(1 - sigmoid(x))`).

    Args:
        y_true: Packed targets `(batch, steps, bits + 1)` (`pack_targets`).
        y_pred: Logits `(batch, steps, bits)`.

    Returns:
        `(batch,)` bits per sequence.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    targets, mask = split_targets(y_true)
    x = y_pred
    cross_entropy = ops.softplus(-ops.abs(x)) + ops.relu(x) - x * targets
    return ops.sum(ops.sum(cross_entropy, axis=-1) * mask, axis=-1) / LN2


@keras.saving.register_keras_serializable(package="kerasrnn")
class BitsPerSequence(keras.losses.Loss):
    """Sigmoid cross-entropy of the scored steps in bits per sequence,
    averaged over the batch (`bits_per_sequence`):

        loss = mean_b (1 / ln 2) * sum_t m_bt * sum_k CE(x_btk, y_btk)

    `y_true` is packed (`pack_targets`: target bits, then the output mask as
    the last channel); `y_pred` holds logits.

    Args:
        reduction: As in `keras.losses.Loss` (default: mean over the batch).
        name: Loss name.
        dtype: Loss dtype.

    Example:

    ```python
    model.compile("adam", loss=kerasrnn.losses.BitsPerSequence(),
                  metrics=[kerasrnn.metrics.BitErrorsPerSequence()])
    model.fit(inputs, pack_targets(targets, output_mask))
    ```

    Reference: Graves, Wayne & Danihelka (2014), Neural Turing Machines
    (cost in bits per sequence).
    """

    def __init__(self, reduction="sum_over_batch_size", name="bits_per_sequence", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return bits_per_sequence(y_true, y_pred)

    def get_config(self):
        config = super().get_config()  # name, reduction
        config["dtype"] = self.dtype
        return config
