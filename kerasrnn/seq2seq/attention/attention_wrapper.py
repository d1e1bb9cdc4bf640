"""Attention around any recurrent cell: `AttentionWrapper`."""

import keras
from keras import ops
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

from kerasrnn.seq2seq.attention.attention_mechanism import AttentionMechanism
from kerasrnn.seq2seq.attention.attention_wrapper_state import AttentionWrapperState
from kerasrnn.validation import ArgumentError
from kerasrnn.validation import check_bool
from kerasrnn.validation import is_int


def _default_cell_input_fn(inputs, attention):
    return ops.concatenate([inputs, ops.cast(attention, inputs.dtype)], axis=-1)


def compute_attention(attention_mechanism, cell_output, attention_state, attention_layer, training=None):
    """One mechanism's `(attention, alignments, next_attention_state)`:
    alignments from the mechanism, context = alignments · values, attention =
    `attention_layer([cell_output; context])` (the context without a layer).
    The default `attention_fn` of `AttentionWrapper`."""
    alignments, next_attention_state = attention_mechanism([cell_output, attention_state], training=training)
    values = attention_mechanism.values
    context = ops.squeeze(ops.matmul(ops.expand_dims(ops.cast(alignments, values.dtype), 1), values), 1)
    if attention_layer is not None:
        attention = attention_layer(ops.concatenate([ops.cast(cell_output, context.dtype), context], axis=-1))
    else:
        attention = context
    return attention, alignments, next_attention_state


def _serialize(obj):
    if obj is None:
        return None
    if isinstance(obj, (list, tuple)):
        return [keras.saving.serialize_keras_object(o) for o in obj]
    return keras.saving.serialize_keras_object(obj)


def _deserialize(obj):
    """Objects as given; configs (dicts, as from `get_config`) deserialized."""
    if isinstance(obj, (list, tuple)):
        return [_deserialize(o) for o in obj]
    return keras.saving.deserialize_keras_object(obj) if isinstance(obj, dict) else obj


@keras.saving.register_keras_serializable(package="kerasrnn.seq2seq")
class AttentionWrapper(keras.layers.Layer, DropoutRNNCell):
    """Wraps any recurrent cell with one or more attention mechanisms
    (`tfa.seq2seq.AttentionWrapper` for Keras 3).

    One step, with `x_t` the input and `a_{t-1}` the previous attention:

    h_t, s_t = cell(cell_input_fn(x_t, a_{t-1}), s_{t-1})    (default: [x_t; a_{t-1}], input feeding)
    α_t^i = mechanism_i(h_t, α_{t-1}^i)                        (alignments over memory i)
    c_t^i = α_t^i · values_i                                   (context)
    a_t = [W_1 [h_t; c_t^1]; ...; W_m [h_t; c_t^m]]            (W_i: attention layers, no bias;
                                                                 a_t = [c_t^1; ...] without them)
    output_t = a_t  (h_t with `output_attention=False`)

    A Keras RNN cell (`call(inputs, states, training)`, `state_size`,
    `output_size`, `get_initial_state(batch_size)`), so it runs inside
    `keras.layers.RNN` (teacher forcing) and inside step-by-step decoders.
    The mechanisms' memories must be set (`memory=` or `setup_memory`)
    before the first step; for beam search, tile the memory (and the cell's
    initial state) with `tile_batch` first, as with tfa.

    The state is an `AttentionWrapperState` (a named tuple of tensors).
    Differences from tfa, forced by Keras 3's fixed-shape loops:
    `keras.layers.RNN` passes it to `call` as a plain list of its fields,
    and `alignment_history` is a number of steps N, not `True`: the state
    keeps the last N alignments in a `(batch, N * max_time)` tensor (see
    `alignment_history_of`) instead of a growing `TensorArray`.

    Args:
        cell: The recurrent cell to wrap (a Keras or kerasrnn cell).
        attention_mechanism: An `AttentionMechanism` (`BahdanauAttention`,
            `LuongAttention`, `BahdanauMonotonicAttention`,
            `LuongMonotonicAttention`) or a list of them.
        attention_layer_size: `None` (the attention is the context), a
            positive integer, or a list of them (one per mechanism): the
            width of each attention layer `W_i`.
        alignment_history: `False`, or the number of steps whose alignments
            the state keeps (e.g. the target length, or a decoder's
            `maximum_iterations`), for plots.
        cell_input_fn: `(inputs, attention) -> cell_inputs`; default
            concatenation (input feeding).
        output_attention: Whether to output the attention (Luong style;
            default) or the cell's output (Bahdanau style).
        initial_cell_state: Optional cell state that `get_initial_state`
            uses instead of the cell's zeros (a tensor structure; not saved
            in the config).
        attention_layer: Instead of `attention_layer_size`, a layer (or one
            per mechanism) mapping `[h_t; c_t]` to the attention.
        attention_fn: Optional `(mechanism, cell_output, attention_state,
            attention_layer) -> (attention, alignments, next_attention_state)`
            replacing `compute_attention`.
        **kwargs: Keras layer arguments (`name`, `dtype`).

    Call arguments:
        inputs: `(batch, input_dim)`, one step's input.
        states: An `AttentionWrapperState` or the list of its fields.
        training: Passed to the cell and the mechanisms.

    Returns:
        `(output, next_state)`, `next_state` in the container it came in
        (named tuple or list).

    Example:

    >>> memory = np.random.rand(2, 5, 6).astype("float32")
    >>> mechanism = LuongAttention(8, memory=memory, memory_sequence_length=[5, 3])
    >>> wrapper = AttentionWrapper(keras.layers.LSTMCell(8), mechanism, attention_layer_size=4,
    ...                            alignment_history=3)
    >>> rnn = keras.layers.RNN(wrapper, return_sequences=True, return_state=True)
    >>> outputs, *state = rnn(np.ones((2, 3, 7), "float32"))
    >>> tuple(outputs.shape), tuple(wrapper.alignment_history_of(state).shape)
    ((2, 3, 4), (2, 3, 5))

    Reference:
        Luong, Pham & Manning, "Effective Approaches to Attention-based Neural
        Machine Translation", EMNLP 2015 (input feeding, attention layer).
    """

    def __init__(self, cell, attention_mechanism, attention_layer_size=None, alignment_history=False,
                 cell_input_fn=None, output_attention=True, initial_cell_state=None, name=None,
                 attention_layer=None, attention_fn=None, **kwargs):
        super().__init__(name=name, **kwargs)
        cell = _deserialize(cell)
        missing = [a for a in ("call", "state_size", "output_size") if not hasattr(cell, a)]
        if missing:
            raise ArgumentError(
                "cell", cell, "a recurrent cell with `call`, `state_size` and `output_size` "
                f"(e.g. keras.layers.LSTMCell); it has no {', '.join(f'`{m}`' for m in missing)}"
            )
        self.cell = cell
        self._is_multi = isinstance(attention_mechanism, (list, tuple))
        mechanisms = _deserialize(list(attention_mechanism) if self._is_multi else [attention_mechanism])
        if not mechanisms or not all(isinstance(m, AttentionMechanism) for m in mechanisms):
            raise ArgumentError(
                "attention_mechanism", attention_mechanism,
                "an AttentionMechanism (e.g. LuongAttention) or a non-empty list of them",
            )
        self.attention_mechanisms = mechanisms
        if attention_layer_size is not None and attention_layer is not None:
            raise ValueError(
                "Pass at most one of `attention_layer_size` and `attention_layer`. Received: "
                f"attention_layer_size={attention_layer_size!r}, attention_layer={attention_layer!r}"
            )
        self.attention_layer_size = attention_layer_size
        self._custom_attention_layers = attention_layer is not None
        if attention_layer_size is not None:
            sizes = list(attention_layer_size) if isinstance(attention_layer_size, (list, tuple)) \
                else [attention_layer_size]
            if len(sizes) != len(mechanisms) or not all(is_int(s) and s > 0 for s in sizes):
                raise ArgumentError(
                    "attention_layer_size", attention_layer_size,
                    f"a positive integer per attention mechanism ({len(mechanisms)} "
                    f"mechanism{'s' if len(mechanisms) > 1 else ''}: "
                    f"{'a list of that length' if self._is_multi else 'one integer'})",
                )
            self.attention_layers = [
                keras.layers.Dense(int(s), use_bias=False, name=f"attention_layer_{i}", dtype=self.dtype_policy)
                for i, s in enumerate(sizes)
            ]
        elif attention_layer is not None:
            layers = _deserialize(list(attention_layer) if isinstance(attention_layer, (list, tuple))
                                  else [attention_layer])
            if len(layers) != len(mechanisms):
                raise ArgumentError(
                    "attention_layer", attention_layer,
                    f"one layer per attention mechanism ({len(mechanisms)})",
                )
            self.attention_layers = layers
        else:
            self.attention_layers = None
        if alignment_history is True or not (alignment_history is False or (is_int(alignment_history)
                                                                             and alignment_history > 0)):
            raise ArgumentError(
                "alignment_history", alignment_history,
                "False or the number of steps to keep, a positive integer (Keras 3 states have "
                "fixed shapes, so `True` - tfa's growing TensorArray - has no equivalent: pass e.g. "
                "the target length or the decoder's maximum_iterations)",
            )
        self.alignment_history = alignment_history if alignment_history is False else int(alignment_history)
        self.cell_input_fn = _deserialize(cell_input_fn)
        self.output_attention = check_bool("output_attention", output_attention)
        self.initial_cell_state = initial_cell_state
        self.attention_fn = _deserialize(attention_fn)

    # -- sizes ---------------------------------------------------------------
    def _item_or_tuple(self, items):
        items = tuple(items)
        return items if self._is_multi else items[0]

    def _check_memories(self):
        for mechanism in self.attention_mechanisms:
            mechanism.check_memory()

    def _cell_output_size(self):
        size = self.cell.output_size
        return size if is_int(size) else keras.tree.flatten(size)[-1]

    def _memory_depths(self):
        return [m.values.shape[-1] if m.memory_initialized else getattr(m, "_memory_depth", None)
                for m in self.attention_mechanisms]

    def _attention_size(self, depths):
        sizes = []
        for i, depth in enumerate(depths):
            if self.attention_layers is None:
                sizes.append(depth)
            elif isinstance(self.attention_layer_size, (list, tuple)):
                sizes.append(self.attention_layer_size[i])
            elif self.attention_layer_size is not None:
                sizes.append(self.attention_layer_size)
            elif depth is None:
                sizes.append(None)
            else:
                shape = self.attention_layers[i].compute_output_shape((None, self._cell_output_size() + depth))
                sizes.append(shape[-1])
        return None if None in sizes else int(sum(sizes))

    @property
    def attention_size(self):
        """Width of the attention (the sum over mechanisms); `None` while it
        depends on a memory not set yet."""
        return self._attention_size(self._memory_depths())

    @property
    def output_size(self):
        return self.attention_size if self.output_attention else self.cell.output_size

    @property
    def state_size(self):
        """An `AttentionWrapperState` of sizes (`None` for those that depend on
        a memory not set yet)."""
        lengths = [m.alignments_size for m in self.attention_mechanisms]
        return AttentionWrapperState(
            cell_state=self.cell.state_size,
            attention=self.attention_size,
            alignments=self._item_or_tuple(lengths),
            alignment_history=self._item_or_tuple(
                (None if t is None else self.alignment_history * t) if self.alignment_history else ()
                for t in lengths
            ),
            attention_state=self._item_or_tuple(m.state_size for m in self.attention_mechanisms),
        )

    # -- build ---------------------------------------------------------------
    def build(self, input_shape):
        self._check_memories()
        self._build(tuple(input_shape), self._memory_depths())

    def _build(self, input_shape, depths):
        attention_size = self._attention_size(depths)
        if self.cell_input_fn is None:
            cell_input_shape = input_shape[:-1] + (input_shape[-1] + attention_size,)
        else:
            # The width of a user's cell input, from a one-row example.
            example = self.cell_input_fn(ops.zeros((1,) + tuple(input_shape[1:]), dtype=self.compute_dtype),
                                         ops.zeros((1, attention_size), dtype=self.compute_dtype))
            cell_input_shape = (input_shape[0],) + tuple(example.shape[1:])
        if isinstance(self.cell, keras.layers.Layer) and not self.cell.built:
            self.cell.build(cell_input_shape)
        query_depth = self._cell_output_size()
        for i, (mechanism, depth) in enumerate(zip(self.attention_mechanisms, depths)):
            mechanism.build_for(query_depth=query_depth, memory_depth=depth)
            if self.attention_layers is not None and not self.attention_layers[i].built:
                self.attention_layers[i].build((input_shape[0], query_depth + depth))
        self._build_input_shape = input_shape
        self._build_depths = list(depths)
        self._cell_input_width = cell_input_shape[-1]

    def get_build_config(self):
        if not self.built:
            return None
        return {"input_shape": list(self._build_input_shape), "memory_depths": self._build_depths}

    def build_from_config(self, config):
        # Without a memory: the depths it had when saved size the weights.
        self._build(tuple(config["input_shape"]), config["memory_depths"])
        self.built = True

    # keras.layers.RNN primes the dropout masks of the cell it drives before
    # its loop (so that JAX's scan draws no random numbers) and resets them
    # after; pass that on to the wrapped cell, whose input is wider.
    def get_dropout_mask(self, step_input):
        if isinstance(self.cell, DropoutRNNCell):
            batch, dtype = ops.shape(step_input)[0], step_input.dtype
            self.cell.get_dropout_mask(ops.ones((batch, self._cell_input_width), dtype=dtype))
            state_width = keras.tree.flatten(self.cell.state_size)[0]
            self.cell.get_recurrent_dropout_mask(ops.ones((batch, state_width), dtype=dtype))

    def get_recurrent_dropout_mask(self, step_input):
        return None

    def reset_dropout_mask(self):
        if isinstance(self.cell, DropoutRNNCell):
            self.cell.reset_dropout_mask()
            self.cell.reset_recurrent_dropout_mask()

    def reset_recurrent_dropout_mask(self):
        self.reset_dropout_mask()

    # -- state ---------------------------------------------------------------
    def get_initial_state(self, batch_size=None, dtype=None, inputs=None):
        """The initial `AttentionWrapperState`: the cell's initial state (or
        `initial_cell_state`), zero attention, the mechanisms' initial
        alignments, an all-zero alignment history.

        Args:
            batch_size: The batch size; for beam search `batch * beam_width`,
                matching the tiled memory.
            dtype: The states' dtype (default: the layer's compute dtype).
            inputs: Alternatively, a tensor whose first axis is the batch.
        """
        if inputs is not None:
            batch_size = ops.shape(inputs)[0]
        if batch_size is None:
            raise ValueError("`get_initial_state` needs `batch_size` (or `inputs`). Received: batch_size=None")
        self._check_memories()
        for mechanism in self.attention_mechanisms:
            memory_batch = mechanism.values.shape[0]
            if is_int(batch_size) and memory_batch is not None and batch_size != memory_batch:
                raise ArgumentError(
                    "batch_size", batch_size,
                    f"the batch size of the attention memory ({memory_batch}); for beam search, tile the "
                    "memory with tile_batch(memory, beam_width) and pass batch_size * beam_width",
                )
        dtype = dtype or self.compute_dtype
        if self.initial_cell_state is not None:
            cell_state = self.initial_cell_state
        elif hasattr(self.cell, "get_initial_state"):
            cell_state = self.cell.get_initial_state(batch_size=batch_size)
        else:
            sizes = self.cell.state_size
            cell_state = [ops.zeros((batch_size, s), dtype=dtype) for s in (sizes if isinstance(sizes, (list, tuple))
                                                                            else [sizes])]
        alignments = [m.initial_alignments(batch_size, dtype) for m in self.attention_mechanisms]
        history = [
            ops.zeros((batch_size, self.alignment_history * ops.shape(a)[1]), dtype=dtype) if self.alignment_history
            else () for a in alignments
        ]
        return AttentionWrapperState(
            cell_state=cell_state,
            attention=ops.zeros((batch_size, self.attention_size), dtype=dtype),
            alignments=self._item_or_tuple(alignments),
            alignment_history=self._item_or_tuple(history),
            attention_state=self._item_or_tuple(
                m.initial_state(batch_size, dtype) for m in self.attention_mechanisms),
        )

    def alignment_history_of(self, state):
        """The alignment history of `state` (an `AttentionWrapperState` or the
        list of its fields, e.g. `keras.layers.RNN(..., return_state=True)`'s
        states) as `(batch, N, max_time)` (a tuple with several mechanisms),
        oldest step first; rows before the first step are zero."""
        if not self.alignment_history:
            raise ValueError("This AttentionWrapper keeps no alignment history: construct it with "
                             "alignment_history=N (the number of steps to keep).")
        state = AttentionWrapperState(*state)
        histories = state.alignment_history if self._is_multi else (state.alignment_history,)
        return self._item_or_tuple(
            ops.reshape(h, (ops.shape(h)[0], self.alignment_history, ops.shape(m.values)[1]))
            for h, m in zip(histories, self.attention_mechanisms)
        )

    # -- step ----------------------------------------------------------------
    def call(self, inputs, states, training=None):
        as_list = not isinstance(states, AttentionWrapperState)
        if len(states) != len(AttentionWrapperState._fields):
            raise ValueError(
                "`states` must be an AttentionWrapperState or the list of its 5 fields "
                f"(cell_state, attention, alignments, alignment_history, attention_state). "
                f"Received: {len(states)} states"
            )
        state = AttentionWrapperState(*states)
        cell_input_fn = self.cell_input_fn or _default_cell_input_fn
        cell_inputs = cell_input_fn(inputs, state.attention)
        cell_kwargs = {}
        if isinstance(self.cell, keras.layers.Layer) and self.cell._call_has_training_arg:
            cell_kwargs["training"] = training
        cell_output, next_cell_state = self.cell(cell_inputs, state.cell_state, **cell_kwargs)
        next_cell_state = keras.tree.pack_sequence_as(state.cell_state, keras.tree.flatten(next_cell_state))
        for mechanism in self.attention_mechanisms:
            memory_batch, query_batch = mechanism.values.shape[0], cell_output.shape[0]
            if memory_batch is not None and query_batch is not None and memory_batch != query_batch:
                raise ValueError(
                    f"The batch size of the cell output ({query_batch}) differs from the attention memory's "
                    f"({memory_batch}) in {mechanism.name!r}. For beam search, tile the memory with "
                    "tile_batch(memory, beam_width) before setup_memory."
                )

        def per_mechanism(field):
            return list(field) if self._is_multi else [field]

        attentions, all_alignments, attention_states, histories = [], [], [], []
        for i, (mechanism, previous_state, previous_history) in enumerate(zip(
                self.attention_mechanisms, per_mechanism(state.attention_state),
                per_mechanism(state.alignment_history))):
            layer = self.attention_layers[i] if self.attention_layers is not None else None
            if self.attention_fn is not None:
                attention, alignments, next_attention_state = self.attention_fn(
                    mechanism, cell_output, previous_state, layer)
            else:
                attention, alignments, next_attention_state = compute_attention(
                    mechanism, cell_output, previous_state, layer, training=training)
            if self.alignment_history:
                # Drop the oldest step, append this one (fixed shape for XLA / scan).
                length = ops.shape(alignments)[1]
                previous_history = ops.concatenate(
                    [previous_history[:, length:], ops.cast(alignments, previous_history.dtype)], axis=-1)
            attentions.append(attention)
            all_alignments.append(alignments)
            attention_states.append(next_attention_state)
            histories.append(previous_history)
        attention = ops.concatenate(attentions, axis=-1)
        next_state = AttentionWrapperState(
            cell_state=next_cell_state,
            attention=attention,
            alignments=self._item_or_tuple(all_alignments),
            alignment_history=self._item_or_tuple(histories),
            attention_state=self._item_or_tuple(attention_states),
        )
        output = attention if self.output_attention else cell_output
        return output, (list(next_state) if as_list else next_state)

    def get_config(self):
        config = {
            **super().get_config(),
            "cell": _serialize(self.cell),
            "attention_mechanism": _serialize(
                self.attention_mechanisms if self._is_multi else self.attention_mechanisms[0]),
            "attention_layer_size": self.attention_layer_size,
            "alignment_history": self.alignment_history,
            "cell_input_fn": _serialize(self.cell_input_fn),
            "output_attention": self.output_attention,
            "attention_fn": _serialize(self.attention_fn),
        }
        if self._custom_attention_layers:
            config["attention_layer"] = _serialize(
                self.attention_layers if len(self.attention_layers) > 1 or self._is_multi
                else self.attention_layers[0])
        return config
