"""Base class of the `tfa.seq2seq`-style attention mechanisms: `AttentionMechanism`.

A mechanism holds a *memory* (usually the encoder outputs) and, queried with
a decoder output and its previous state, returns alignments over the memory:

    values = memory ⊙ mask                 (padded positions zeroed)
    keys = memory_layer(values)            (once per memory, `setup_memory`)
    score_j = score(query, keys_j)         (subclass)
    alignments = probability_fn(score, previous_alignments)   (masked)

The context `alignments · values` is formed by `AttentionWrapper`.
"""

import keras
from keras import ops

from kerasrnn.layers.attention_base import masked_softmax
from kerasrnn.layers.backend import keras_mask_of
from kerasrnn.validation import check_choice

PROBABILITY_FNS = ("softmax", "hardmax")


def hardmax(logits, name=None):
    """One-hot vectors at the maximum of the last axis (`tfa.seq2seq.hardmax`).

    Args:
        logits: `(..., depth)` tensor.
        name: Ignored; kept for `tfa.seq2seq` signatures.

    Returns:
        A tensor like `logits`, 1 at the argmax of each row and 0 elsewhere.
    """
    del name
    logits = ops.convert_to_tensor(logits)
    return ops.one_hot(ops.argmax(logits, axis=-1), logits.shape[-1], dtype=logits.dtype)


def masked_hardmax(scores, mask=None):
    """`hardmax` over the positions where `mask` is true (all-zero rows where
    every position is masked)."""
    if mask is None:
        return hardmax(scores)
    mask = ops.cast(mask, "bool")
    lowest = ops.cast(ops.min(scores) - 1.0, scores.dtype)
    one_hot = hardmax(ops.where(mask, scores, lowest))
    return one_hot * ops.cast(mask, one_hot.dtype)


def _shape(x):
    return tuple(x.shape)


class AttentionMechanism(keras.layers.Layer):
    """Base class: memory set-up, memory masks, initial alignments.

    Subclasses implement `build_weights()` (the weights that do not depend on
    shapes) and `score(query)` -> `(batch, max_time)`, and may override
    `probability(score, state, training)` (default: the masked softmax or
    hardmax named by `probability_fn`) and `initial_alignments`.

    The memory is set by the constructor (`memory=`) or later, e.g. once per
    batch inside a model's `call`, by `setup_memory(memory,
    memory_sequence_length=None, memory_mask=None)` or by calling the layer
    with `setup_memory=True` (which picks up the Keras mask of `memory`).
    Queried as `mechanism([query, state])` it returns `(alignments,
    next_state)`, both `(batch, max_time)`.

    Args:
        memory: Optional `(batch, max_time, depth)` tensor to query.
        memory_sequence_length: Optional int `(batch,)` lengths of `memory`;
            positions past them get zero weight and are zeroed in `values`.
        query_layer: Optional layer applied to the query (e.g. a `Dense`).
        memory_layer: Optional layer applied to the memory to form `keys`.
        probability_fn: `"softmax"` or `"hardmax"` (subclasses may add more).
        **kwargs: Keras layer arguments (`name`, `dtype`).
    """

    def __init__(self, memory=None, memory_sequence_length=None, query_layer=None,
                 memory_layer=None, probability_fn="softmax", **kwargs):
        super().__init__(**kwargs)
        self.query_layer = _deserialize_layer(query_layer)
        self.memory_layer = _deserialize_layer(memory_layer)
        self.probability_fn = probability_fn
        self.values = None
        self.keys = None
        self.memory_mask = None
        self.supports_masking = True
        if memory is not None:
            self.setup_memory(memory, memory_sequence_length=memory_sequence_length)
        elif memory_sequence_length is not None:
            raise ValueError(
                "`memory_sequence_length` needs a `memory`. "
                f"Received: memory=None, memory_sequence_length={memory_sequence_length!r}"
            )

    # -- memory ------------------------------------------------------------
    @property
    def memory_initialized(self):
        """Whether a memory has been set."""
        return self.values is not None

    @property
    def batch_size(self):
        """The memory's batch size (static where known)."""
        self.check_memory()
        return self.values.shape[0] if self.values.shape[0] is not None else ops.shape(self.values)[0]

    @property
    def alignments_size(self):
        """The memory's `max_time` (`None` before `setup_memory` or when dynamic)."""
        return None if self.values is None else self.values.shape[1]

    @property
    def state_size(self):
        return self.alignments_size

    def setup_memory(self, memory, memory_sequence_length=None, memory_mask=None):
        """Sets the memory to query (and its mask), computing `values` and `keys`.

        `keys` is computed here, once per memory: after changing the weights
        (`set_weights`, loading), set the memory again.

        Args:
            memory: `(batch, max_time, depth)` tensor.
            memory_sequence_length: Optional int `(batch,)` valid lengths.
            memory_mask: Optional boolean `(batch, max_time)`, false at padding.
                Without either, the Keras mask carried by `memory` (e.g. from
                an `Embedding(mask_zero=True)` → RNN encoder) is used.
        """
        memory = ops.convert_to_tensor(memory)
        if len(memory.shape) != 3:
            raise ValueError(
                "`memory` must be a 3D tensor (batch, max_time, depth). "
                f"Received: memory with shape {_shape(memory)}"
            )
        if memory_sequence_length is not None and memory_mask is not None:
            raise ValueError(
                "Pass at most one of `memory_sequence_length` and `memory_mask`. "
                f"Received: memory_sequence_length={memory_sequence_length!r}, memory_mask={memory_mask!r}"
            )
        if memory_sequence_length is None and memory_mask is None:
            memory_mask = keras_mask_of(memory)
        if memory_sequence_length is not None:
            lengths = ops.convert_to_tensor(memory_sequence_length)
            if len(lengths.shape) != 1 or not _compatible(lengths.shape[0], memory.shape[0]):
                raise ValueError(
                    f"`memory_sequence_length` must have shape (batch,) = ({memory.shape[0]},) like "
                    f"`memory`. Received: memory_sequence_length with shape {_shape(lengths)}"
                )
            positions = ops.arange(ops.shape(memory)[1], dtype="int32")
            memory_mask = ops.expand_dims(positions, 0) < ops.expand_dims(ops.cast(lengths, "int32"), 1)
        if memory_mask is not None:
            memory_mask = ops.cast(ops.convert_to_tensor(memory_mask), "bool")
            if len(memory_mask.shape) != 2 or not all(
                _compatible(a, b) for a, b in zip(memory_mask.shape, memory.shape[:2])
            ):
                raise ValueError(
                    f"`memory_mask` must have shape (batch, max_time) = {_shape(memory)[:2]} like "
                    f"`memory`. Received: memory_mask with shape {_shape(memory_mask)}"
                )
        values = ops.cast(memory, self.compute_dtype)
        if memory_mask is not None:
            values = values * ops.cast(ops.expand_dims(memory_mask, -1), values.dtype)
        self.build_for(memory_depth=values.shape[-1])
        self.values = values
        self.memory_mask = memory_mask
        if self.memory_layer is None:
            self.keys = values
        else:
            with keras.name_scope(self.name):
                self.keys = self.memory_layer(values)

    def check_memory(self):
        """Raises a `ValueError` naming the mechanism if no memory is set."""
        if self.values is None:
            raise ValueError(
                f"The attention mechanism {self.name!r} has no memory: pass `memory=` to its "
                "constructor or call `setup_memory(memory)` before querying it."
            )

    # -- weights -----------------------------------------------------------
    def build(self, input_shape=None):
        """Creates the mechanism's own weights; builds `query_layer` when the
        query shape is known (`input_shape = [query_shape, state_shape]`)."""
        query_depth = None
        if isinstance(input_shape, (list, tuple)) and input_shape and isinstance(input_shape[0], (list, tuple)):
            query_depth = input_shape[0][-1]
        self.build_for(query_depth=query_depth)

    def build_for(self, query_depth=None, memory_depth=None):
        """Creates every weight whose shape is known: the mechanism's own,
        `query_layer` for queries `query_depth` wide, `memory_layer` for a
        memory `memory_depth` deep. Safe to call again."""
        if not getattr(self, "_weights_built", False):
            self.build_weights()
            self._weights_built = True
            self.built = True
        if query_depth is not None:
            self._query_depth = int(query_depth)
            if self.query_layer is not None and not self.query_layer.built:
                with keras.name_scope(self.name):
                    self.query_layer.build((None, int(query_depth)))
        if memory_depth is not None:
            self._memory_depth = int(memory_depth)
            if self.memory_layer is not None and not self.memory_layer.built:
                with keras.name_scope(self.name):
                    self.memory_layer.build((None, None, int(memory_depth)))

    def get_build_config(self):
        depths = {"query_depth": getattr(self, "_query_depth", None),
                  "memory_depth": getattr(self, "_memory_depth", None)}
        return depths if self.built else None

    def build_from_config(self, config):
        self.build_for(**config)

    def build_weights(self):
        """Creates the weights that do not depend on any shape (none here)."""

    # -- queries -----------------------------------------------------------
    def call(self, inputs, mask=None, setup_memory=False, training=None):
        """`setup_memory=True`: `inputs` is the memory (or `[memory,
        memory_sequence_length]`), `mask` its optional mask; returns `values`.
        Otherwise `inputs` is `[query, state]` (a third item, tfa's processed
        memory, is ignored); returns `(alignments, next_state)`."""
        if setup_memory:
            if isinstance(inputs, (list, tuple)):
                memory, lengths = inputs[0], (inputs[1] if len(inputs) > 1 else None)
            else:
                memory, lengths = inputs, None
            self.setup_memory(memory, memory_sequence_length=lengths, memory_mask=None if lengths is not None else mask)
            return self.values
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError(
                "`inputs` must be `[query, state]` (the previous alignments). "
                f"Received: inputs={inputs!r}"
            )
        return self.calculate_attention(inputs[0], inputs[1], training=training)

    def calculate_attention(self, query, state, training=None):
        """`(alignments, next_state)` of a `(batch, query_depth)` query."""
        self.check_memory()
        query = ops.convert_to_tensor(query)
        if len(query.shape) != 2:
            raise ValueError(
                f"`query` must be a 2D tensor (batch, depth). Received: query with shape {_shape(query)}"
            )
        if not _compatible(query.shape[0], self.values.shape[0]):
            raise ValueError(
                f"The query's batch size ({query.shape[0]}) differs from the memory's "
                f"({self.values.shape[0]}) in {self.name!r}. For beam search, tile the memory with "
                "`tile_batch(memory, beam_width)` before `setup_memory`."
            )
        query = ops.cast(query, self.compute_dtype)
        if self.query_layer is not None:
            query = self.query_layer(query)
        if state is None:
            state = self.initial_state(ops.shape(query)[0], self.compute_dtype)
        alignments = self.probability(self.score(query), ops.cast(state, self.compute_dtype), training)
        return alignments, alignments

    def score(self, processed_query):
        """`(batch, max_time)` scores of the (processed) query against `keys`."""
        raise NotImplementedError

    def probability(self, score, state, training=None):
        """Alignments from scores, padded positions at zero."""
        if self.probability_fn == "hardmax":
            return masked_hardmax(score, self.memory_mask)
        return masked_softmax(score, self.memory_mask)

    def compute_mask(self, inputs, mask=None):
        return None

    # -- initial state -----------------------------------------------------
    def initial_alignments(self, batch_size, dtype=None):
        """All-zero `(batch_size, max_time)` alignments."""
        self.check_memory()
        return ops.zeros((batch_size, ops.shape(self.values)[1]), dtype=dtype or self.compute_dtype)

    def initial_state(self, batch_size, dtype=None):
        """The mechanism's initial state: `initial_alignments`."""
        return self.initial_alignments(batch_size, dtype)

    def get_config(self):
        config = {**super().get_config(), "probability_fn": self.probability_fn}
        for name in ("query_layer", "memory_layer"):
            layer = getattr(self, name)
            config[name] = None if layer is None else keras.saving.serialize_keras_object(layer)
        return config


def _deserialize_layer(layer):
    if layer is None or isinstance(layer, keras.layers.Layer):
        return layer
    return keras.saving.deserialize_keras_object(layer)


def _compatible(a, b):
    return a is None or b is None or a == b


def check_probability_fn(probability_fn):
    """`"softmax"` or `"hardmax"`, as a tfa mechanism's `probability_fn`."""
    return check_choice("probability_fn", probability_fn, PROBABILITY_FNS)


def check_query_depth(mechanism, query, units):
    """Luong scores need a query as wide as the keys."""
    # A plain ValueError: Keras re-raises errors from `call` by their type and
    # one message, which ArgumentError's signature does not take.
    if query.shape[-1] is not None and query.shape[-1] != units:
        raise ValueError(
            f"`units` must be the depth of the query ({query.shape[-1]}) for {type(mechanism).__name__}, "
            f"whose score is a dot product of the query with the keys. Received: units={units}"
        )
