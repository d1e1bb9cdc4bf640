"""The target side of a sequence-to-sequence model: `Decoder`."""

import keras
from keras import ops

from kerasrnn.ops import scan
from kerasrnn.validation import check_positive_int


def _deserialize(obj):
    if obj is None or isinstance(obj, keras.layers.Layer):
        return obj
    return keras.saving.deserialize_keras_object(obj)


@keras.saving.register_keras_serializable(package="kerasrnn")
class Decoder(keras.layers.Layer):
    """Embedding → kerasrnn cell with attention and input feeding → logits.

    One step, with `y_{t-1}` the previous target token and `h̃_{t-1}` the
    previous attentional state (Luong et al. 2015, "input feeding"):

    x_t = [Embedding(y_{t-1}); h̃_{t-1}]       (just the embedding without
                                              input feeding or attention)
    h_t, s_t = cell(x_t, s_{t-1})
    c_t, a_t = attention(h_t, memory)          (context and alignment)
    h̃_t = tanh(W_c [h_t; c_t])
    logits_t = W_o h̃_t + b_o                  (W_o h_t + b_o without attention)

With `copy_attention=True` (the pointer-generator of See et al. 2017) the
step also copies source tokens: the attention weights over the source
positions are a distribution over the source's token ids, mixed with the
vocabulary distribution by a learned gate,

    p_gen = σ(w_g [h̃_t; c_t; x_t] + b_g)
    P(y) = p_gen softmax(logits_t)[y] + (1 - p_gen) Σ_{j: source_j = y} a_t[j]

and the step returns `log P` (log-probabilities work wherever logits do:
their softmax is the same distribution, so losses with `from_logits=True`
and every search function apply unchanged). Copying needs source and target
ids from one shared vocabulary, and the source ids at every step
(`source_ids=`; `Seq2Seq` passes them).

    The initial cell states are `tanh(W_s summary + b_s)` of the encoder's
    summary; `h̃_0 = 0`. Without attention the summary is the only path from
    the source to the decoder (the "context vector only" model of Cho et al.
    2014 / Sutskever et al. 2014).

    Args:
        vocab_size: Number of target token ids.
        embedding_dim: Width of the target embeddings.
        cell: A kerasrnn cell (`LSTMCell`, `GRUCell`, `SimpleRNNCell`, or any
            cell with `call(inputs, states, training)`, `state_size`,
            `output_size`); weights are created by this layer.
        attention: Optional attention layer (`BahdanauAttention`,
            `LuongAttention`) queried with `h_t`; `None` for no attention.
        input_feeding: Whether to feed `h̃_{t-1}` into the cell (attention
            only).
        copy_attention: Whether to mix copying of source tokens into the
            output distribution (needs `attention`; source and target share
            one vocabulary of `vocab_size` ids).

    Call arguments (teacher forcing):
        target_ids: int `(batch, Tt)`, the shifted target (start token first).
        memory: Encoder outputs `(batch, Ts, memory_dim)`.
        memory_mask: Boolean `(batch, Ts)`.
        summary: Encoder summary `(batch, summary_dim)`.
        training: Whether the cell's dropout is active.
        return_alignments: Also return the `(batch, Tt, Ts)` alignments.
        source_ids: int `(batch, Ts)` source ids (needed with
            `copy_attention`, ignored otherwise).

    Returns:
        Logits `(batch, Tt, vocab_size)` (log-probabilities with
        `copy_attention`), and alignments when asked.

    Single steps for search: `initial_state(summary)`,
    `process_memory(memory)` (cached across steps) and `step(...)`.

    Example:

    >>> decoder = Decoder(20, 8, kerasrnn.layers.GRUCell(16),
    ...                   attention=LuongAttention("general"))
    >>> logits = decoder(np.ones((2, 4)), np.zeros((2, 5, 16)),
    ...                  np.ones((2, 5), bool), np.zeros((2, 16)))
    >>> logits.shape
    (2, 4, 20)

    Reference:
        Luong, Pham & Manning, "Effective Approaches to Attention-based Neural
        Machine Translation", EMNLP 2015.
    """

    def __init__(self, vocab_size, embedding_dim, cell, attention=None, input_feeding=True,
                 copy_attention=False, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.cell = _deserialize(cell)
        self.attention = _deserialize(attention)
        self.input_feeding = bool(input_feeding) and self.attention is not None
        self.copy_attention = bool(copy_attention)
        if self.copy_attention and self.attention is None:
            raise ValueError("`copy_attention=True` copies through the attention weights and needs an "
                             "`attention` layer. Received: attention=None")
        self.units = self.cell.output_size
        self.state_sizes = list(self.cell.state_size) if isinstance(
            self.cell.state_size, (list, tuple)) else [self.cell.state_size]
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")
        self.bridge = keras.layers.Dense(sum(self.state_sizes), activation="tanh", name="bridge")
        self.attention_projection = None
        if self.attention is not None:
            self.attention_projection = keras.layers.Dense(
                self.units, activation="tanh", use_bias=False, name="attention_projection"
            )
        self.output_layer = keras.layers.Dense(vocab_size, name="output")
        self.copy_gate = None
        if self.copy_attention:
            self.copy_gate = keras.layers.Dense(1, name="copy_gate")

    def build(self, target_ids_shape, memory_shape=None, memory_mask_shape=None,
              summary_shape=None, source_ids_shape=None):
        if memory_shape is None or summary_shape is None:
            raise ValueError("`Decoder.build` needs `memory_shape` and `summary_shape`.")
        input_dim = self.embedding_dim + (self.units if self.input_feeding else 0)
        builds = [
            (self.embedding, (target_ids_shape,)),
            (self.bridge, ((None, summary_shape[-1]),)),
            (self.cell, ((None, input_dim),)),
            (self.output_layer, ((None, self.units),)),
        ]
        if self.attention is not None:
            builds += [
                (self.attention, ((None, self.units), (None, None, memory_shape[-1]))),
                (self.attention_projection, ((None, self.units + memory_shape[-1]),)),
            ]
        if self.copy_gate is not None:
            gate_dim = self.units + memory_shape[-1] + self.embedding_dim
            builds.append((self.copy_gate, ((None, gate_dim),)))
        for layer, shapes in builds:
            if not layer.built:  # deserialised sublayers arrive built
                layer.build(*shapes)

    def initial_state(self, summary):
        """Decoder states `[cell states..., h̃_0]` from the encoder summary."""
        states = list(ops.split(self.bridge(summary), _split_points(self.state_sizes), axis=-1))
        if self.attention is not None:
            states.append(ops.zeros((ops.shape(summary)[0], self.units), dtype=summary.dtype))
        return states

    def process_memory(self, memory):
        """The query-independent part of the attention score (or `None`)."""
        return None if self.attention is None else self.attention.process_memory(memory)

    def step(self, token_ids, states, memory, memory_mask, processed_memory=None,
             training=False, source_ids=None):
        """One decoding step from `(batch,)` previous tokens.

        Returns `(logits, new_states, alignment)`; `alignment` is
        `(batch, Ts)`, or `None` without attention. With `copy_attention`,
        `source_ids` are required and `logits` are log-probabilities.
        """
        self._check_source_ids(source_ids)
        return self._step(self.embedding(token_ids), states, memory, memory_mask,
                          processed_memory, training, source_ids)

    def _check_source_ids(self, source_ids):
        if self.copy_attention and source_ids is None:
            raise ValueError("A decoder with `copy_attention=True` needs the `source_ids` it copies "
                             "from. Received: source_ids=None")

    def _step(self, embedded, states, memory, memory_mask, processed_memory, training,
              source_ids=None):
        states = list(states)
        if self.attention is None:
            output, cell_states = self.cell.call(embedded, states, training=training)
            return self.output_layer(output), list(cell_states), None
        return self._attention_step(embedded, states, memory, memory_mask, processed_memory,
                                    training, source_ids)

    def _copy_log_probs(self, logits, attentional, context, embedded, alignment, source_ids):
        """`log(p_gen softmax(logits) + (1 - p_gen) copy)`, in float32."""
        gate = self.copy_gate(ops.concatenate([attentional, context, embedded], axis=-1))
        p_gen = ops.sigmoid(ops.cast(gate, "float32"))
        p_vocab = ops.softmax(ops.cast(logits, "float32"), axis=-1)
        source_ids = ops.cast(source_ids, "int32")
        batch, source_length = ops.shape(source_ids)[0], ops.shape(source_ids)[1]
        rows = ops.broadcast_to(ops.arange(batch, dtype="int32")[:, None], (batch, source_length))
        indices = ops.stack([ops.reshape(rows, (-1,)), ops.reshape(source_ids, (-1,))], axis=1)
        # Repeated source tokens add up (scatter sums duplicate indices).
        p_copy = ops.scatter(indices, ops.reshape(ops.cast(alignment, "float32"), (-1,)),
                             (batch, self.vocab_size))
        mixed = p_gen * p_vocab + (1.0 - p_gen) * p_copy
        return ops.log(ops.maximum(mixed, 1e-12))

    def _attention_step(self, embedded, states, memory, memory_mask, processed_memory,
                        training, source_ids=None):
        cell_states, previous = states[:-1], states[-1]
        x = ops.concatenate([embedded, previous], axis=-1) if self.input_feeding else embedded
        h, cell_states = self.cell.call(x, cell_states, training=training)
        context, alignment = self.attention.call(
            h, memory, value_mask=memory_mask, processed_memory=processed_memory
        )
        attentional = self.attention_projection(ops.concatenate([h, context], axis=-1))
        logits = self.output_layer(attentional)
        if self.copy_attention:
            logits = self._copy_log_probs(logits, attentional, context, embedded, alignment,
                                          source_ids)
        return logits, list(cell_states) + [attentional], alignment

    def call(self, target_ids, memory, memory_mask, summary, training=False,
             return_alignments=False, source_ids=None):
        self._check_source_ids(source_ids)
        embedded = ops.moveaxis(self.embedding(target_ids), 1, 0)  # time-major
        processed = self.process_memory(memory)

        def f(states, x_t):
            logits, new_states, alignment = self._step(
                x_t, states, memory, memory_mask, processed, training, source_ids
            )
            y = (logits, alignment) if return_alignments and alignment is not None else logits
            return tuple(new_states), y

        _, ys = scan(f, tuple(self.initial_state(summary)), embedded)
        if return_alignments:
            if self.attention is None:
                raise ValueError("`return_alignments=True` needs a decoder with attention.")
            logits, alignments = ys
            return ops.moveaxis(logits, 0, 1), ops.moveaxis(alignments, 0, 1)
        return ops.moveaxis(ys, 0, 1)

    def compute_output_shape(self, target_ids_shape, *args, **kwargs):
        return tuple(target_ids_shape) + (self.vocab_size,)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "embedding_dim": self.embedding_dim,
            "cell": keras.saving.serialize_keras_object(self.cell),
            "attention": None if self.attention is None
            else keras.saving.serialize_keras_object(self.attention),
            "input_feeding": self.input_feeding,
            "copy_attention": self.copy_attention,
        }


def _split_points(sizes):
    points, total = [], 0
    for size in sizes[:-1]:
        total += size
        points.append(total)
    return points if points else 1
