"""Linear-chain conditional random field output layer: `CRF` and its loss `CRFLoss`."""

import keras
from keras import initializers
from keras import ops
from keras import regularizers

from kerasrnn import text as crf_ops
from kerasrnn.validation import InputError
from kerasrnn.validation import check_bool


@keras.saving.register_keras_serializable(package="kerasrnn")
class CRF(keras.layers.Layer):
    """A linear-chain CRF over per-step tag scores (Lafferty et al. 2001).

    The layer holds the transition scores `A` (`A[i, j]`: tag `i` followed by
    tag `j`) and, with `use_boundary_transitions`, start and end scores `a`,
    `b`. Given unary potentials `U` (`(batch, T, num_tags)`, e.g. a `Dense`
    over a BiLSTM) a tag sequence `y` of length `n` scores

        s(y) = a[y_0] + sum_{t<n} U[t, y_t] + sum_{1<=t<n} A[y_{t-1}, y_t] + b[y_{n-1}]

    and `p(y) = exp s(y) / Z`. Training minimises `-log p(y)` (`CRFLoss`,
    forward algorithm in log space); prediction takes the best sequence by
    Viterbi. `num_tags` is read from the potentials when the layer is built.

    Training with `fit`: the layer's plain call returns the potentials
    unchanged (with the mask dropped) so that `CRFLoss`, bound to this layer,
    can score them against the gold tags with the layer's transitions. Build
    the decoding model by calling the same layer with `decode=True`, which
    returns Viterbi tags; both models share the weights. Pad gold tags with a
    negative value (e.g. -1): `CRFLoss` takes the steps where `y_true >= 0`
    as each sequence's steps.

    Args:
        use_boundary_transitions: Whether to learn start and end scores.
        transitions_initializer: Initializer of the transition scores (and of
            the start/end scores). Default `"zeros"`.
        transitions_regularizer: Optional regularizer of the transition scores.

    Call arguments:
        potentials: `(batch, T, num_tags)` unary scores.
        mask: Optional boolean `(batch, T)`, true at each sequence's steps
            (a prefix of the row, i.e. right padding). A Keras mask from an
            upstream layer is used when given.
        decode: `False` (default): return `potentials`; `True`: return the
            Viterbi tags.

    Returns:
        `potentials` unchanged, or `(batch, T)` int32 tags (0 at padded
        steps) with `decode=True`.

    Example:

    ```python
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(1000, 32, mask_zero=True)(inputs)
    x = keras.layers.Bidirectional(kerasrnn.layers.LSTM(32, return_sequences=True))(x)
    potentials = keras.layers.Dense(num_tags)(x)
    crf = kerasrnn.layers.CRF()
    model = keras.Model(inputs, crf(potentials))
    model.compile("adam", loss=kerasrnn.layers.CRFLoss(crf))
    model.fit(token_ids, tags_padded_with_minus_one)
    tagger = keras.Model(inputs, crf(potentials, decode=True))
    ```

    Reference:
        Lafferty, McCallum & Pereira, "Conditional Random Fields:
        Probabilistic Models for Segmenting and Labeling Sequence Data",
        ICML 2001. Huang, Xu & Yu, "Bidirectional LSTM-CRF Models for
        Sequence Tagging", 2015.
    """

    def __init__(self, use_boundary_transitions=True, transitions_initializer="zeros",
                 transitions_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.use_boundary_transitions = check_bool("use_boundary_transitions", use_boundary_transitions)
        self.transitions_initializer = initializers.get(transitions_initializer)
        self.transitions_regularizer = regularizers.get(transitions_regularizer)
        self.supports_masking = True

    def build(self, potentials_shape):
        if len(potentials_shape) != 3 or potentials_shape[-1] is None:
            raise InputError(
                "`CRF` expects potentials of shape (batch, steps, num_tags) with a known num_tags. "
                f"Received: potentials.shape={tuple(potentials_shape)}"
            )
        num_tags = potentials_shape[-1]
        self.transitions = self.add_weight(
            shape=(num_tags, num_tags), name="transitions",
            initializer=self.transitions_initializer, regularizer=self.transitions_regularizer,
        )
        if self.use_boundary_transitions:
            self.start_transitions = self.add_weight(
                shape=(num_tags,), name="start_transitions", initializer=self.transitions_initializer
            )
            self.end_transitions = self.add_weight(
                shape=(num_tags,), name="end_transitions", initializer=self.transitions_initializer
            )

    @property
    def num_tags(self):
        return None if not self.built else self.transitions.shape[0]

    def _check(self, potentials, mask):
        """Static shape checks of the potentials and the mask."""
        if len(potentials.shape) != 3 or (self.num_tags is not None and potentials.shape[-1] != self.num_tags):
            raise InputError(
                f"`potentials` must have shape (batch, steps, {self.num_tags}) for this CRF. "
                f"Received: potentials.shape={tuple(potentials.shape)}"
            )
        if mask is None:
            return
        mismatch = any(None not in (m, p) and m != p for m, p in zip(mask.shape, potentials.shape[:2]))
        if len(mask.shape) != 2 or mismatch:
            raise InputError(
                f"`mask` must have shape (batch, steps) = {tuple(potentials.shape[:2])} to match the "
                f"potentials. Received: mask.shape={tuple(mask.shape)}"
            )

    def _lengths(self, potentials, mask):
        if mask is None:
            batch_steps = ops.shape(potentials)[:2]
            return ops.full((batch_steps[0],), batch_steps[1], dtype="int32")
        return ops.sum(ops.cast(mask, "int32"), axis=1)

    def _unary(self, potentials, lengths):
        """The potentials with the start and end scores added to each
        sequence's first and last step."""
        if not self.use_boundary_transitions:
            return potentials
        steps = ops.shape(potentials)[1]
        positions = ops.arange(steps, dtype="int32")[None, :, None]
        first = ops.cast(positions == 0, potentials.dtype)
        last = ops.cast(positions == (lengths[:, None, None] - 1), potentials.dtype)
        start = ops.cast(self.start_transitions, potentials.dtype)
        end = ops.cast(self.end_transitions, potentials.dtype)
        return potentials + first * start + last * end

    def log_likelihood(self, potentials, tags, mask=None):
        """`(batch,)` log p(tags | potentials) (0 for an empty sequence)."""
        potentials = ops.convert_to_tensor(potentials)
        self._check(potentials, mask)
        lengths = self._lengths(potentials, mask)
        unary = self._unary(potentials, lengths)
        transitions = ops.cast(self.transitions, unary.dtype)
        log_likelihood, _ = crf_ops.crf_log_likelihood(unary, tags, lengths, transitions)
        return log_likelihood

    def decode(self, potentials, mask=None):
        """Viterbi: `(tags, best_score)`, `(batch, T)` int32 (0 at padded
        steps) and `(batch,)`."""
        potentials = ops.convert_to_tensor(potentials)
        self._check(potentials, mask)
        lengths = self._lengths(potentials, mask)
        unary = self._unary(potentials, lengths)
        return crf_ops.crf_decode(unary, ops.cast(self.transitions, unary.dtype), lengths)

    def call(self, potentials, mask=None, decode=False):
        if not decode:
            # Checked now rather than when the loss runs.
            self._check(potentials, mask)
            # A new tensor: the input's may carry a Keras mask that would
            # make Keras weight the per-sequence loss per step.
            return ops.copy(potentials)
        tags, _ = self.decode(potentials, mask)
        return tags

    def compute_mask(self, potentials, mask=None):
        # The loss is per sequence; a (batch, steps) mask on the output would
        # make Keras weight it per step.
        return None

    def compute_output_shape(self, potentials_shape, decode=False):
        return tuple(potentials_shape[:2]) if decode else tuple(potentials_shape)

    def compute_output_spec(self, potentials, mask=None, decode=False):
        if decode:
            return keras.KerasTensor(tuple(potentials.shape[:2]), dtype="int32")
        return keras.KerasTensor(tuple(potentials.shape), dtype=potentials.dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "use_boundary_transitions": self.use_boundary_transitions,
            "transitions_initializer": initializers.serialize(self.transitions_initializer),
            "transitions_regularizer": regularizers.serialize(self.transitions_regularizer),
        }


@keras.saving.register_keras_serializable(package="kerasrnn")
class CRFLoss(keras.losses.Loss):
    """Negative log-likelihood of the gold tags under a `CRF` layer.

        loss = mean_b -log p(y_b | U_b)

    `y_pred` is the CRF layer's plain output (the potentials); `y_true` holds
    integer tags, `(batch, T)`, padded with a negative value: the steps where
    `y_true >= 0` are each sequence's steps (a prefix of the row).

    Args:
        crf: The `CRF` layer whose transitions score the sequences.
        reduction: As in `keras.losses.Loss` (default: mean over the batch).
        name: Loss name.

    A compiled model saved to `.keras` keeps the layer's weights; the loss
    refers to a layer object, so after `keras.saving.load_model` compile
    again with `CRFLoss(model.get_layer(crf_name))`.
    """

    def __init__(self, crf=None, reduction="sum_over_batch_size", name="crf_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if crf is not None and not isinstance(crf, CRF):
            raise InputError(f"`crf` must be a kerasrnn.layers.CRF layer. Received: crf={crf!r}")
        self.crf = crf

    def call(self, y_true, y_pred):
        if self.crf is None:
            raise InputError(
                "This CRFLoss is bound to no CRF layer (a loss restored from a saved model): "
                "compile again with CRFLoss(model.get_layer(<the CRF layer's name>))."
            )
        tags = ops.cast(y_true, "int32")
        if len(tags.shape) == 3 and tags.shape[-1] == 1:
            tags = ops.squeeze(tags, -1)
        if len(tags.shape) != 2:
            raise InputError(
                f"`y_true` of CRFLoss must hold integer tags of shape (batch, steps). "
                f"Received: y_true.shape={tuple(y_true.shape)}"
            )
        mask = tags >= 0
        return -self.crf.log_likelihood(y_pred, ops.maximum(tags, 0), mask)

    def get_config(self):
        config = super().get_config()
        config.pop("crf", None)
        return config
