"""The state of an `AttentionWrapper`: `AttentionWrapperState`."""

import collections

import keras


class AttentionWrapperState(
    collections.namedtuple(
        "AttentionWrapperState",
        ("cell_state", "attention", "alignments", "alignment_history", "attention_state"),
    )
):
    """State of an `AttentionWrapper` (the fields of `tfa.seq2seq.AttentionWrapperState`).

    Attributes:
        cell_state: The wrapped cell's state (as its `get_initial_state`
            returns it).
        attention: `(batch, attention_size)`, the attention emitted at the
            previous step (fed to the cell's input at the next).
        alignments: `(batch, max_time)` alignments of the previous step; a
            tuple of them with several mechanisms.
        alignment_history: `()` unless `alignment_history=N`; then `(batch,
            N * max_time)` (tuple with several mechanisms): the alignments of
            the last N steps, oldest first, flattened so that every state is a
            2D tensor. `AttentionWrapper.alignment_history_of(state)` reshapes
            it to `(batch, N, max_time)`.
        attention_state: The mechanisms' states (their previous alignments).

    Inside `keras.layers.RNN` the state travels as the plain list
    `list(state)` (Keras flattens its top level); `AttentionWrapperState(*states)`
    restores the names.
    """

    def clone(self, **kwargs):
        """A copy with the given fields replaced (tfa's `clone`), e.g.
        `state.clone(cell_state=encoder_state)`; shapes must match where static."""
        for name, new in kwargs.items():
            old = getattr(self, name)
            for a, b in zip(keras.tree.flatten(old), keras.tree.flatten(new)):
                if hasattr(a, "shape") and hasattr(b, "shape") and None not in tuple(a.shape) + tuple(b.shape) \
                        and tuple(a.shape) != tuple(b.shape):
                    raise ValueError(
                        f"`{name}` must keep the shape {tuple(a.shape)} of the state it replaces. "
                        f"Received: {name} with shape {tuple(b.shape)}"
                    )
        return self._replace(**kwargs)
