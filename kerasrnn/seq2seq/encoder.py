"""The source side of a sequence-to-sequence model: `Encoder`."""

import keras
from keras import ops

from kerasrnn.data.ids import PAD_ID
from kerasrnn.layers.registry import get_recurrent_layer
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_rate


@keras.saving.register_keras_serializable(package="kerasrnn")
class Encoder(keras.layers.Layer):
    """Token ids → embeddings → stacked (optionally bidirectional) kerasrnn RNN.

    e_t = Embedding(x_t)                  (id 0 is padding, masked)
    h^1 = RNN_1(e), ..., h^L = RNN_L(h^{L-1})
    memory = h^L,  summary = [final states of RNN_L (both directions)]

    Args:
        vocab_size: Number of source token ids (id 0 is padding).
        embedding_dim: Width of the token embeddings.
        units: Units of each recurrent layer (per direction).
        num_layers: Number of stacked recurrent layers.
        bidirectional: Whether each layer reads the source in both directions
            (outputs concatenated, so the memory has `2 * units` features).
        cell: A name of `kerasrnn.layers.CELL_NAMES` (`"lstm"`, `"gru"`, ...): the
            kerasrnn layer used.
        dropout: Dropout rate between layers (training only).

    Call arguments:
        source_ids: int `(batch, Ts)`, 0 for padding.
        training: Whether dropout is active.

    Returns:
        `(memory, memory_mask, summary)`: `(batch, Ts, memory_dim)` outputs of
        the top layer (zero at padded steps), the boolean `(batch, Ts)` mask,
        and `(batch, summary_dim)` — the concatenated final states of the top
        layer, from which a decoder initialises its state.

    Masking: padded steps leave the recurrent states unchanged, so the final
    states are those after the last real token.

    Example:

    >>> encoder = Encoder(20, 8, 16, bidirectional=True)
    >>> memory, mask, summary = encoder(np.array([[4, 5, 0]]))
    >>> memory.shape, summary.shape
    ((1, 3, 32), (1, 64))
    """

    def __init__(self, vocab_size, embedding_dim, units, num_layers=1, bidirectional=False,
                 cell="lstm", dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.units = check_positive_int("units", units)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.bidirectional = bool(bidirectional)
        layer_class = get_recurrent_layer(cell, argument="cell")
        self.cell = cell
        self.dropout = check_rate("dropout", dropout)
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                                                name="embedding")
        self.rnn_layers = []
        for i in range(num_layers):
            layer = layer_class(units, return_sequences=True, return_state=True,
                                name=f"{cell}_{i}")
            if bidirectional:
                layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{i}")
            self.rnn_layers.append(layer)
        self.dropout_layer = keras.layers.Dropout(self.dropout)
        first = self.rnn_layers[0]
        state_size = (first.forward_layer if bidirectional else first).state_size
        states = len(state_size) if isinstance(state_size, (list, tuple)) else 1
        directions = 2 if bidirectional else 1
        self.memory_dim = units * directions
        self.summary_dim = units * directions * states

    def build(self, source_ids_shape):
        if not self.embedding.built:
            self.embedding.build(source_ids_shape)
        features = self.embedding_dim
        for layer in self.rnn_layers:
            if not layer.built:
                layer.build((None, None, features))
            features = self.memory_dim

    def call(self, source_ids, training=False):
        mask = ops.not_equal(source_ids, PAD_ID)
        x = self.embedding(source_ids)
        states = None
        for i, layer in enumerate(self.rnn_layers):
            if i:
                x = self.dropout_layer(x, training=training)
            x, *states = layer(x, mask=mask, training=training)
        memory = x * ops.expand_dims(ops.cast(mask, x.dtype), -1)
        return memory, mask, ops.concatenate(states, axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "num_layers": self.num_layers,
            "bidirectional": self.bidirectional,
            "cell": self.cell,
            "dropout": self.dropout,
        }
