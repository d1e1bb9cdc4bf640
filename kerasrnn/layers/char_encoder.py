"""Word vectors from characters: `CharEncoder`."""

import keras
from keras import ops

from kerasrnn.validation import check_choice
from kerasrnn.validation import check_positive_int


@keras.saving.register_keras_serializable(package="kerasrnn")
class CharEncoder(keras.layers.Layer):
    """One vector per word from its characters.

    `"cnn"` (Ma & Hovy 2016): character embeddings, a `Conv1D` of `units`
    filters (window `kernel_size`) and a max over the word's characters.
    `"lstm"` (Lample et al. 2016): a bidirectional kerasrnn LSTM over the
    characters; the word's vector is both directions' last states.

    Args:
        num_chars: Size of the character vocabulary (id 0: padding).
        char_dim: Character embedding size.
        units: Filters (cnn) or units per direction (lstm).
        encoder: `"cnn"` or `"lstm"`.
        kernel_size: Convolution window of `"cnn"`.

    Call arguments:
        chars: `(batch, T, max_word_chars)` int character ids.

    Returns:
        `(batch, T, units)` (cnn) or `(batch, T, 2 * units)` (lstm); zeros for
        padding words (no characters).
    """

    def __init__(self, num_chars, char_dim=25, units=25, encoder="cnn", kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.num_chars = check_positive_int("num_chars", num_chars)
        self.char_dim = check_positive_int("char_dim", char_dim)
        self.units = check_positive_int("units", units)
        self.encoder = check_choice("encoder", encoder, ("cnn", "lstm"))
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        self.embedding = keras.layers.Embedding(num_chars, char_dim, mask_zero=encoder == "lstm",
                                                name="char_embedding")
        if encoder == "cnn":
            self.conv = keras.layers.Conv1D(units, kernel_size, padding="same", activation="tanh", name="char_conv")
        else:
            from kerasrnn.layers import LSTM

            self.rnn = keras.layers.Bidirectional(LSTM(units), name="char_bilstm")

    def build(self, chars_shape):
        width = chars_shape[-1]
        self.embedding.build((None, width))
        if self.encoder == "cnn":
            self.conv.build((None, width, self.char_dim))
        else:
            self.rnn.build((None, width, self.char_dim))

    def call(self, chars):
        chars = ops.cast(chars, "int32")
        shape = ops.shape(chars)
        flat = ops.reshape(chars, (-1, shape[2]))
        present = ops.cast(flat > 0, self.compute_dtype)  # (words, chars)
        x = self.embedding(flat)
        if self.encoder == "cnn":
            h = self.conv(x)
            # Max over the word's characters only; padding words give 0.
            h = ops.where(present[..., None] > 0, h, ops.full_like(h, -2.0))
            h = ops.max(h, axis=1)
            h = h * ops.cast(ops.max(present, axis=1, keepdims=True) > 0, h.dtype)
        else:
            h = self.rnn(x, mask=flat > 0)
        return ops.reshape(h, (shape[0], shape[1], h.shape[-1]))

    def compute_output_shape(self, chars_shape):
        width = self.units if self.encoder == "cnn" else 2 * self.units
        return tuple(chars_shape[:2]) + (width,)

    def get_config(self):
        return {**super().get_config(), "num_chars": self.num_chars, "char_dim": self.char_dim,
                "units": self.units, "encoder": self.encoder, "kernel_size": self.kernel_size}
