"""Weighted cross-entropy of sequences of logits: `sequence_loss`, `SequenceLoss`
(`tfa.seq2seq`'s, on `keras.ops`)."""

import keras
from keras import ops

from kerasrnn.layers.backend import keras_mask_of
from kerasrnn.validation import check_bool


def _check_flags(average_across_timesteps, average_across_batch, sum_over_timesteps, sum_over_batch):
    flags = {"average_across_timesteps": average_across_timesteps, "average_across_batch": average_across_batch,
             "sum_over_timesteps": sum_over_timesteps, "sum_over_batch": sum_over_batch}
    for name, value in flags.items():
        check_bool(name, value)
    for a, b, why in (
        ("average_across_timesteps", "sum_over_timesteps", ""),
        ("average_across_batch", "sum_over_batch", ""),
        ("average_across_batch", "sum_over_timesteps", " because of ambiguous order"),
        ("sum_over_batch", "average_across_timesteps", " because of ambiguous order"),
    ):
        if flags[a] and flags[b]:
            raise ValueError(f"`{a}` and `{b}` cannot both be True{why}. Received: {a}=True, {b}=True")


def sequence_loss(logits, targets, weights=None, average_across_timesteps=True, average_across_batch=True,
                  sum_over_timesteps=False, sum_over_batch=False, softmax_loss_function=None, name=None):
    """Weighted cross-entropy of a sequence of logits (`tfa.seq2seq.sequence_loss`).

    With `l[b, t]` the cross-entropy of target `t` of sequence `b` and `w` the
    weights (1 for real steps, 0 for padding, when used as a mask):

    average_across_timesteps and average_across_batch:  Σ w l / Σ w            (scalar)
    sum_over_timesteps and sum_over_batch:              Σ w l / #(w ≠ 0)       (scalar)
    only average_across_timesteps:    Σ_t w l / Σ_t w            per sequence (batch,)
    only average_across_batch:        Σ_b w l / Σ_b w            per step     (time,)
    only sum_over_timesteps:          Σ_t w l / #_t(w ≠ 0)       per sequence (batch,)
    only sum_over_batch:              Σ_b w l / #_b(w ≠ 0)       per step     (time,)
    none:                             w l                        (batch, time)

    A division by zero gives 0. Averaging and summing over the same axis, or
    averaging over one axis and summing over the other, is rejected.

    Args:
        logits: `(batch, time, classes)` float logits.
        targets: int `(batch, time)` class ids, or `(batch, time, classes)`
            one-hot (or soft) targets.
        weights: `(batch, time)` float weights; `None` for all ones.
        average_across_timesteps, average_across_batch, sum_over_timesteps,
            sum_over_batch: The reductions above.
        softmax_loss_function: Optional `f(labels=..., logits=...)` replacing
            the softmax cross-entropy; called with flat `(batch * time,)`
            targets and `(batch * time, classes)` logits, returns
            `(batch * time,)` losses.
        name: Ignored; kept for `tfa.seq2seq` signatures.

    Returns:
        A float tensor of rank 0, 1 or 2 (see above).

    Example:

    >>> logits = np.zeros((2, 3, 5), "float32")
    >>> float(sequence_loss(logits, np.zeros((2, 3), "int32"), np.ones((2, 3), "float32")))  # ln 5
    1.6094...
    """
    del name
    _check_flags(average_across_timesteps, average_across_batch, sum_over_timesteps, sum_over_batch)
    logits = ops.convert_to_tensor(logits)
    targets = ops.convert_to_tensor(targets)
    if len(logits.shape) != 3:
        raise ValueError(
            f"`logits` must be a 3D tensor (batch, time, classes). Received: logits with shape {tuple(logits.shape)}"
        )
    if len(targets.shape) not in (2, 3):
        raise ValueError(
            "`targets` must be (batch, time) class ids or (batch, time, classes) one-hot targets. "
            f"Received: targets with shape {tuple(targets.shape)}"
        )
    if weights is None:
        weights = ops.ones(ops.shape(logits)[:2], dtype=logits.dtype)
    weights = ops.cast(ops.convert_to_tensor(weights), logits.dtype)
    if len(weights.shape) != 2:
        raise ValueError(
            f"`weights` must be a 2D tensor (batch, time). Received: weights with shape {tuple(weights.shape)}"
        )
    for name_, tensor in (("targets", targets), ("weights", weights)):
        for a, b in zip(tensor.shape[:2], logits.shape[:2]):
            if a is not None and b is not None and a != b:
                raise ValueError(
                    f"`{name_}` must have the (batch, time) shape {tuple(logits.shape[:2])} of `logits`. "
                    f"Received: {name_} with shape {tuple(tensor.shape)}"
                )
    if softmax_loss_function is not None:
        classes = ops.shape(logits)[-1]
        flat = softmax_loss_function(labels=ops.reshape(targets, (-1,)), logits=ops.reshape(logits, (-1, classes)))
        crossent = ops.reshape(ops.cast(flat, logits.dtype), ops.shape(weights))
    elif len(targets.shape) == 2:
        crossent = ops.sparse_categorical_crossentropy(targets, logits, from_logits=True)
    else:
        crossent = ops.categorical_crossentropy(ops.cast(targets, logits.dtype), logits, from_logits=True)
    crossent = crossent * weights
    nonzero = ops.cast(ops.not_equal(weights, 0), logits.dtype)
    if average_across_timesteps and average_across_batch:
        return ops.divide_no_nan(ops.sum(crossent), ops.sum(weights))
    if sum_over_timesteps and sum_over_batch:
        return ops.divide_no_nan(ops.sum(crossent), ops.sum(nonzero))
    if average_across_timesteps or average_across_batch:
        axis = 0 if average_across_batch else 1
        return ops.divide_no_nan(ops.sum(crossent, axis=axis), ops.sum(weights, axis=axis))
    if sum_over_timesteps or sum_over_batch:
        axis = 0 if sum_over_batch else 1
        return ops.divide_no_nan(ops.sum(crossent, axis=axis), ops.sum(nonzero, axis=axis))
    return crossent


@keras.saving.register_keras_serializable(package="kerasrnn.seq2seq")
class SequenceLoss(keras.losses.Loss):
    """`sequence_loss` as a Keras loss (`tfa.seq2seq.SequenceLoss`).

    `model.compile(loss=SequenceLoss())` with `(batch, time)` target ids and
    `(batch, time, classes)` logits; the per-step weights come from
    `sample_weight` (`(batch, time)`; Keras 3 needs no
    `sample_weight_mode="temporal"`) and from the Keras mask of the logits
    (e.g. a masked decoder's output), both optional. The defaults average
    over the non-zero-weight steps (`sum_over_timesteps` and
    `sum_over_batch`), as in tfa.

    Args:
        average_across_timesteps, average_across_batch, sum_over_timesteps,
            sum_over_batch: The reductions of `sequence_loss`.
        softmax_loss_function: Optional `f(labels=..., logits=...)`.
        name: Name of the loss.

    Example:

    >>> loss = SequenceLoss()
    >>> float(loss(np.zeros((2, 3), "int32"), np.zeros((2, 3, 5), "float32")))  # ln 5
    1.6094...
    """

    def __init__(self, average_across_timesteps=False, average_across_batch=False, sum_over_timesteps=True,
                 sum_over_batch=True, softmax_loss_function=None, name=None, **kwargs):
        _check_flags(average_across_timesteps, average_across_batch, sum_over_timesteps, sum_over_batch)
        kwargs.pop("reduction", None)
        super().__init__(name=name or "sequence_loss", reduction=None, **kwargs)
        self.average_across_timesteps = average_across_timesteps
        self.average_across_batch = average_across_batch
        self.sum_over_timesteps = sum_over_timesteps
        self.sum_over_batch = sum_over_batch
        self.softmax_loss_function = softmax_loss_function

    def __call__(self, y_true, y_pred, sample_weight=None):
        # The reductions are the loss itself, so Keras's own weighting and
        # reduction (Loss.__call__) are bypassed, as in tfa.
        mask = keras_mask_of(y_pred)
        if mask is not None:
            mask = ops.cast(mask, y_pred.dtype)
            sample_weight = mask if sample_weight is None else ops.cast(sample_weight, y_pred.dtype) * mask
        loss = sequence_loss(
            y_pred, y_true, sample_weight,
            average_across_timesteps=self.average_across_timesteps,
            average_across_batch=self.average_across_batch,
            sum_over_timesteps=self.sum_over_timesteps,
            sum_over_batch=self.sum_over_batch,
            softmax_loss_function=self.softmax_loss_function,
        )
        return ops.cast(loss, self.dtype)

    def call(self, y_true, y_pred):
        """Per-step losses `(batch, time)` (no weights, no reduction)."""
        return sequence_loss(y_pred, y_true, None, False, False, False, False, self.softmax_loss_function)

    def get_config(self):
        config = super().get_config()
        config.pop("reduction", None)
        return {
            **config,
            "average_across_timesteps": self.average_across_timesteps,
            "average_across_batch": self.average_across_batch,
            "sum_over_timesteps": self.sum_over_timesteps,
            "sum_over_batch": self.sum_over_batch,
            "softmax_loss_function": None if self.softmax_loss_function is None
            else keras.saving.serialize_keras_object(self.softmax_loss_function),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("softmax_loss_function") is not None:
            config["softmax_loss_function"] = keras.saving.deserialize_keras_object(config["softmax_loss_function"])
        return cls(**config)
