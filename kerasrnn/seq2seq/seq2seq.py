"""Encoder–decoder model trained with teacher forcing: `Seq2Seq`."""

import keras
from keras import ops

from kerasrnn.data.ids import PAD_ID
from kerasrnn.seq2seq.decoder import Decoder
from kerasrnn.seq2seq.encoder import Encoder


def _deserialize(obj):
    if isinstance(obj, keras.layers.Layer):
        return obj
    return keras.saving.deserialize_keras_object(obj)


@keras.saving.register_keras_serializable(package="kerasrnn")
class Seq2Seq(keras.Model):
    """An `Encoder` and a `Decoder` composed into one trainable model.

    Training uses teacher forcing: the decoder reads the shifted target
    (`target_in = [start, y_1, ..., y_n]`) and predicts
    `target_out = [y_1, ..., y_n, end]`; id 0 is padding. Compile with
    `keras.losses.SparseCategoricalCrossentropy(from_logits=True,
    ignore_class=0)` and `MaskedTokenAccuracy()` so padding counts in neither.

    Search (see `kerasrnn.seq2seq.search`) uses `encode` once per batch and
    `decode_step` once per generated token.

    Args:
        encoder: An `Encoder`.
        decoder: A `Decoder`.

    Call arguments:
        inputs: `(source_ids, target_in_ids)`, int `(batch, Ts)` and
            `(batch, Tt)`.
        training: Whether dropout is active.

    Returns:
        Logits `(batch, Tt, target_vocab_size)`.

    Example:

    >>> model = Seq2Seq(Encoder(20, 8, 16), Decoder(
    ...     30, 8, kerasrnn.layers.LSTMCell(16), attention=BahdanauAttention(8)))
    >>> model((np.ones((2, 5)), np.ones((2, 4)))).shape
    (2, 4, 30)
    """

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = _deserialize(encoder)
        self.decoder = _deserialize(decoder)
        if not isinstance(self.encoder, Encoder) or not isinstance(self.decoder, Decoder):
            raise ValueError(
                "`encoder` and `decoder` must be a kerasrnn `Encoder` and `Decoder`. "
                f"Received: encoder={encoder!r}, decoder={decoder!r}"
            )
        if self.decoder.copy_attention and self.encoder.vocab_size != self.decoder.vocab_size:
            raise ValueError(
                "A decoder with `copy_attention=True` copies source ids as target ids, so encoder and "
                "decoder must share one vocabulary. Received: encoder vocab_size="
                f"{self.encoder.vocab_size}, decoder vocab_size={self.decoder.vocab_size}"
            )

    def build(self, input_shape):
        source_shape, target_shape = input_shape
        if not self.encoder.built:
            self.encoder.build(source_shape)
        if not self.decoder.built:
            self.decoder.build(
                target_shape,
                (None, None, self.encoder.memory_dim),
                (None, None),
                (None, self.encoder.summary_dim),
            )

    def call(self, inputs, training=False):
        source_ids, target_in_ids = inputs
        memory, mask, summary = self.encoder(source_ids, training=training)
        if self.decoder.copy_attention:
            return self.decoder(target_in_ids, memory, mask, summary, training=training,
                                source_ids=source_ids)
        return self.decoder(target_in_ids, memory, mask, summary, training=training)

    def encode(self, source_ids, training=False):
        """Runs the encoder once; returns `(encoded, initial_states)`.

        `encoded` is a dict (`memory`, `memory_mask`, `processed_memory`, and
        `source_ids` with `copy_attention`) for
        `decode_step`; `initial_states` the decoder's first states.
        """
        memory, mask, summary = self.encoder(source_ids, training=training)
        encoded = {
            "memory": memory,
            "memory_mask": mask,
            "processed_memory": self.decoder.process_memory(memory),
        }
        if self.decoder.copy_attention:
            encoded["source_ids"] = ops.cast(source_ids, "int32")
        return encoded, self.decoder.initial_state(summary)

    def decode_step(self, token_ids, states, encoded):
        """One decoder step: `(logits, new_states, alignment)`."""
        return self.decoder.step(token_ids, states, **encoded)

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="kerasrnn")
class MaskedTokenAccuracy(keras.metrics.Metric):
    """Token accuracy over non-padding targets (`y_true != pad_id`).

    Args:
        pad_id: Target id that marks padding (default `PAD_ID`, 0).
    """

    def __init__(self, pad_id=PAD_ID, name="accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pad_id = int(pad_id)
        self.correct = self.add_variable(shape=(), name="correct", initializer="zeros")
        self.total = self.add_variable(shape=(), name="total", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        valid = ops.cast(ops.not_equal(y_true, self.pad_id), self.dtype)
        hit = ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, -1), "int32"), y_true), self.dtype)
        self.correct.assign_add(ops.sum(hit * valid))
        self.total.assign_add(ops.sum(valid))

    def result(self):
        return ops.divide_no_nan(self.correct, self.total)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "pad_id": self.pad_id}
