"""Deep recurrent networks: `DeepRNNCell` (one step of a stack) and `DeepRNN`.

Depth in the three places of Pascanu et al. (2014) — input-to-hidden,
hidden-to-hidden (deep transition) and hidden-to-output — plus stacking with
the skip connections of Graves (2013) and residual connections, composed from
any kerasrnn cells.
"""

import keras
from keras import ops
from keras import tree
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

from kerasrnn.layers.cell import RecurrentCell
from kerasrnn.layers.cell import get_activation
from kerasrnn.layers.sequence import SequenceInputChecks
from kerasrnn.ops import rnn
from kerasrnn.validation import check_bool
from kerasrnn.validation import check_positive_int_tuple


def _sizes(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _deserialize_cells(cells):
    if not isinstance(cells, (list, tuple)) or not cells:
        raise ValueError(f"`cells` must be a non-empty list of RNN cells. Received: cells={cells!r}")
    cells = [keras.saving.deserialize_keras_object(c) if isinstance(c, dict) else c for c in cells]
    for i, cell in enumerate(cells):
        if not (hasattr(cell, "state_size") and hasattr(cell, "output_size") and callable(cell)):
            raise ValueError(
                "`cells` must hold RNN cells (with `call`, `state_size` and `output_size`). "
                f"Received: cells[{i}]={cell!r}"
            )
    if len({id(c) for c in cells}) != len(cells):
        raise ValueError("`cells` must not hold the same cell object twice (weights would be shared)")
    return cells


@keras.saving.register_keras_serializable(package="kerasrnn")
class DeepRNNCell(keras.layers.Layer, DropoutRNNCell):
    """One time step of a deep RNN built from a stack of cells.

    With input x_t, cells l = 1..L (each with its own states S^l), and
    MLP(·) a stack of `Dense(units, mlp_activation)` layers:

        x̃_t     = MLP_in(x_t)                         (deep input, `input_units`)
        u_t^1   = x̃_t
        u_t^l   = r_t^{l-1}  or  [r_t^{l-1}; x̃_t]     (`input_skip`, l > 1)
        o_t^l, S_t^l = cell_l(u_t^l, S_{t-1}^l)
        h_t^l   = MLP_tr^l(o_t^l)                     (deep transition, `transition_units`)
        r_t^l   = h_t^l + r_t^{l-1}  or  h_t^l         (`residual`, l > 1)
        y_t     = MLP_out(r_t^L  or  [r_t^1; ...; r_t^L])   (`output_skip`)

    With a deep transition the last MLP layer maps back to the cell's width
    and h_t^l replaces the cell's first state, so the next step reads it:
    h_t = f_k(... f_1(x_t, h_{t-1})), the DT-RNN of Pascanu et al.
    (`transition_units` lists the hidden widths f_1 .. f_{k-1} add.)
    `input_skip` and `output_skip` are the skip connections of Graves (2013)
    from the input to every layer and from every layer to the output.

    States are the cells' states, flattened in order: `state_size` is
    `[*cell_1.state_size, *cell_2.state_size, ...]`.

    Args:
        cells: Non-empty list of RNN cells (kerasrnn or Keras cells, or their
            serialized configs), bottom to top.
        input_skip: Feed x̃_t to every layer, not only the first.
        output_skip: Output every layer's r_t^l concatenated.
        residual: Add each layer's input r_t^{l-1} to its output (l > 1;
            the cells from the second on must have the width of the one below).
        input_units: Widths of MLP_in (deep input-to-hidden). Default `()`.
        transition_units: Widths of the hidden layers of each MLP_tr^l (deep
            transition); `()` (default) for none. Needs cells whose first
            state is their output (SimpleRNN, GRU, LSTM).
        output_units: Widths of MLP_out (deep hidden-to-output). Default `()`.
        mlp_activation: Activation of every MLP layer. Default `"tanh"`.

    Call arguments:
        inputs: `(batch, features)` tensor.
        states: Flat list of the cells' states.
        training: Passed to the cells (dropout).

    Example:

    >>> cell = DeepRNNCell([LSTMCell(8), GRUCell(8)], input_skip=True, output_skip=True)
    >>> keras.layers.RNN(cell)(np.zeros((2, 5, 3))).shape
    (2, 16)

    Reference:
        Pascanu, Gulcehre, Cho & Bengio, "How to Construct Deep Recurrent
        Neural Networks", ICLR 2014; Graves, "Generating Sequences With
        Recurrent Neural Networks", arXiv:1308.0850, 2013; Wu et al.,
        "Google's Neural Machine Translation System", 2016 (residuals).
    """

    def __init__(
        self,
        cells,
        input_skip=False,
        output_skip=False,
        residual=False,
        input_units=(),
        transition_units=(),
        output_units=(),
        mlp_activation="tanh",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.cells = _deserialize_cells(cells)
        self.input_skip = check_bool("input_skip", input_skip)
        self.output_skip = check_bool("output_skip", output_skip)
        self.residual = check_bool("residual", residual)
        self.input_units = check_positive_int_tuple("input_units", input_units)
        self.transition_units = check_positive_int_tuple("transition_units", transition_units)
        self.output_units = check_positive_int_tuple("output_units", output_units)
        self.mlp_activation = get_activation(mlp_activation, "mlp_activation")
        self._mlp_activation_config = keras.activations.serialize(self.mlp_activation)
        widths = [c.output_size for c in self.cells]
        if self.residual:
            for l in range(1, len(widths)):
                if widths[l] != widths[l - 1]:
                    raise ValueError(
                        "`residual=True` needs every cell above the first to have the width of the cell "
                        f"below. Received: cells[{l}].output_size={widths[l]}, "
                        f"cells[{l - 1}].output_size={widths[l - 1]}"
                    )
        if self.transition_units:
            for l, cell in enumerate(self.cells):
                if _sizes(cell.state_size)[0] != cell.output_size:
                    raise ValueError(
                        "`transition_units` needs cells whose first state is their output. "
                        f"Received: cells[{l}] with state_size={cell.state_size}, output_size={cell.output_size}"
                    )
        self._state_counts = [len(_sizes(c.state_size)) for c in self.cells]
        self.state_size = [s for c in self.cells for s in _sizes(c.state_size)]
        top = sum(widths) if self.output_skip else widths[-1]
        self.output_size = self.output_units[-1] if self.output_units else top

        def mlp(units, name):
            return [keras.layers.Dense(u, activation=self.mlp_activation, name=f"{name}_{i}") for i, u in enumerate(units)]

        self.input_mlp = mlp(self.input_units, "input_mlp")
        # One flat list of every layer's transition MLP: Keras before 3.15
        # does not save the weights of layers held in nested lists (a
        # `.keras` round trip reinitialised them; checked on 3.8 to 3.14).
        transitions = [mlp(self.transition_units + (w,), f"transition_mlp_{l}") if self.transition_units else []
                       for l, w in enumerate(widths)]
        self.transition_layers = [layer for block in transitions for layer in block]
        self._transition_bounds = [0]
        for block in transitions:
            self._transition_bounds.append(self._transition_bounds[-1] + len(block))
        self.output_mlp = mlp(self.output_units, "output_mlp")

    def build(self, input_shape):
        width = input_shape[-1]
        for layer in self.input_mlp:
            layer.build((None, width))
            width = layer.units
        x_width, below = width, None
        for l, cell in enumerate(self.cells):
            in_width = x_width if l == 0 else below + (x_width if self.input_skip else 0)
            if not cell.built:
                cell.build((None, in_width))
            w = cell.output_size
            for layer in self.transition_mlp(l):
                layer.build((None, w))
                w = layer.units
            below = cell.output_size
        w = sum(c.output_size for c in self.cells) if self.output_skip else below
        for layer in self.output_mlp:
            layer.build((None, w))
            w = layer.units
        self._input_widths = self._layer_input_widths(x_width)

    def transition_mlp(self, l):
        """The Dense layers of layer `l`'s deep transition (empty without one)."""
        return self.transition_layers[self._transition_bounds[l]:self._transition_bounds[l + 1]]

    def _layer_input_widths(self, x_width):
        widths = [x_width]
        for cell in self.cells[:-1]:
            widths.append(cell.output_size + (x_width if self.input_skip else 0))
        return widths

    # -- pieces shared with DeepRNN's layer-by-layer path -------------------

    def apply_input_mlp(self, x):
        for layer in self.input_mlp:
            x = layer(x)
        return x

    def layer_input(self, l, below, x):
        """u^l from the layer below's r^{l-1} and the (deep) input x̃."""
        if l == 0:
            return x
        return ops.concatenate([below, x], axis=-1) if self.input_skip else below

    def transition(self, l, output, states):
        """Deep transition of layer `l`; returns `(h, states)`."""
        mlp = self.transition_mlp(l)
        if not mlp:
            return output, states
        for layer in mlp:
            output = layer(output)
        return output, [output] + list(states[1:])

    def combine(self, l, h, below):
        return h + below if self.residual and l > 0 else h

    def apply_output(self, rs):
        y = ops.concatenate(rs, axis=-1) if self.output_skip else rs[-1]
        for layer in self.output_mlp:
            y = layer(y)
        return y

    def split_states(self, states):
        states, out, start = list(states), [], 0
        for count in self._state_counts:
            out.append(states[start : start + count])
            start += count
        return out

    # -- the step ------------------------------------------------------------

    def call(self, inputs, states, training=False):
        states = list(states) if tree.is_nested(states) else [states]
        x = self.apply_input_mlp(inputs)
        below, rs, new_states = None, [], []
        for l, (cell, cell_states) in enumerate(zip(self.cells, self.split_states(states))):
            u = self.layer_input(l, below, x)
            single = not isinstance(cell.state_size, (list, tuple))
            output, s = cell(u, cell_states[0] if single else cell_states, training=training)
            s = list(s) if tree.is_nested(s) else [s]
            h, s = self.transition(l, output, s)
            below = self.combine(l, h, below)
            rs.append(below)
            new_states.extend(s)
        return self.apply_output(rs), new_states

    def get_initial_state(self, batch_size=None):
        states = []
        for cell in self.cells:
            if hasattr(cell, "get_initial_state"):
                s = cell.get_initial_state(batch_size=batch_size)
                states.extend(s if tree.is_nested(s) else [s])
            else:
                states.extend(ops.zeros((batch_size, d), dtype=self.compute_dtype) for d in _sizes(cell.state_size))
        return states

    # keras.layers.RNN primes and resets the dropout masks of the cell it
    # drives; pass that on to the stacked cells (each with its own input width).
    def get_dropout_mask(self, step_input):
        batch = ops.shape(step_input)[0]
        for cell, width in zip(self.cells, getattr(self, "_input_widths", [])):
            if isinstance(cell, DropoutRNNCell):
                cell.get_dropout_mask(ops.ones((batch, width), dtype=step_input.dtype))
                cell.get_recurrent_dropout_mask(ops.ones((batch, cell.output_size), dtype=step_input.dtype))

    def get_recurrent_dropout_mask(self, step_input):
        return None

    def reset_dropout_mask(self):
        for cell in self.cells:
            if isinstance(cell, DropoutRNNCell):
                cell.reset_dropout_mask()
                cell.reset_recurrent_dropout_mask()

    def reset_recurrent_dropout_mask(self):
        self.reset_dropout_mask()

    def get_config(self):
        config = {
            "cells": [keras.saving.serialize_keras_object(c) for c in self.cells],
            "input_skip": self.input_skip,
            "output_skip": self.output_skip,
            "residual": self.residual,
            "input_units": list(self.input_units),
            "transition_units": list(self.transition_units),
            "output_units": list(self.output_units),
            "mlp_activation": self._mlp_activation_config,
        }
        return {**super().get_config(), **config}


_CELL_ARGS = ("cells", "input_skip", "output_skip", "residual", "input_units", "transition_units",
              "output_units", "mlp_activation")


@keras.saving.register_keras_serializable(package="kerasrnn")
class DeepRNN(SequenceInputChecks, keras.layers.RNN):
    """A deep RNN over sequences: `keras.layers.RNN` around a `DeepRNNCell`.

    Computes the equations of `DeepRNNCell` at every step. With
    `fast_path=True` (default) and kerasrnn cells (`RecurrentCell`s), it runs
    layer by layer instead: each layer's input projection for all steps is
    one matrix product, then a loop of `recurrent_step` (+ deep transition);
    this gives the same numbers as the step-by-step loop (`fast_path=False`),
    because layer l at step t depends only on layer l-1 at step t and on
    itself at step t-1.

    Args:
        cells, input_skip, output_skip, residual, input_units,
        transition_units, output_units, mlp_activation: As for `DeepRNNCell`.
        return_sequences, return_state, go_backwards, stateful, unroll,
        zero_output_for_mask: As for `keras.layers.RNN`.
        fast_path: Layer-by-layer loops for kerasrnn cells (default `True`).

    Call arguments:
        sequences: `(batch, timesteps, features)`.
        initial_state: Optional flat list of the cells' states.
        mask: Optional boolean `(batch, timesteps)`; masked steps keep all
            states and repeat the previous output.
        training: Whether dropout is active.

    Output shape: `(batch, output_size)` or, with `return_sequences=True`,
    `(batch, timesteps, output_size)`; then the flat states with
    `return_state=True`. Works inside `keras.layers.Bidirectional`.

    Example:

    >>> layer = DeepRNN([LSTMCell(8), LSTMCell(8), LSTMCell(8)], residual=True,
    ...                 input_skip=True, return_sequences=True)
    >>> layer(np.zeros((2, 5, 3))).shape
    (2, 5, 8)

    Reference:
        Pascanu et al., 2014; Graves, 2013 (see `DeepRNNCell`).
    """

    def __init__(
        self,
        cells,
        input_skip=False,
        output_skip=False,
        residual=False,
        input_units=(),
        transition_units=(),
        output_units=(),
        mlp_activation="tanh",
        fast_path=True,
        **kwargs,
    ):
        kwargs.pop("cell", None)
        cell = DeepRNNCell(
            cells,
            input_skip=input_skip,
            output_skip=output_skip,
            residual=residual,
            input_units=input_units,
            transition_units=transition_units,
            output_units=output_units,
            mlp_activation=mlp_activation,
            dtype=kwargs.get("dtype"),
            name="deep_rnn_cell",
        )
        super().__init__(cell, **kwargs)
        self.fast_path = check_bool("fast_path", fast_path)

    def uses_fast_path(self):
        # A cell with zoneout runs its own step (`cell.call`), which applies it.
        return self.fast_path and all(
            isinstance(c, RecurrentCell) and not c.has_zoneout for c in self.cell.cells
        )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if tree.is_nested(mask):
            mask = mask[0]
        if not self.uses_fast_path():
            return super().inner_loop(sequences, initial_state, mask=mask, training=training)
        cell = self.cell
        x = ops.transpose(sequences, (1, 0, 2))
        if mask is not None:
            mask = ops.moveaxis(ops.cast(mask, "bool"), 1, 0)
        if self.go_backwards:
            x = ops.flip(x, axis=0)
            mask = None if mask is None else ops.flip(mask, axis=0)
        x = cell.apply_input_mlp(x)
        below, rs, final_states = None, [], []
        for l, (c, states) in enumerate(zip(cell.cells, cell.split_states(initial_state))):
            u = cell.layer_input(l, below, x)
            dropout_mask, recurrent_mask = c.step_dropout_masks(u[0], states, training)
            if dropout_mask is not None:
                dropout_mask = tree.map_structure(lambda m: ops.expand_dims(m, 0), dropout_mask)
            projected = c.input_projection(u, dropout_mask)

            def step(projected_t, states, l=l, c=c, recurrent_mask=recurrent_mask):
                output, new_states = c.recurrent_step(projected_t, list(states), recurrent_mask)
                return cell.transition(l, output, new_states)

            _, h, states = rnn(
                step, projected, states, mask=mask, return_sequences=True,
                unroll=True if self.unroll else 1, time_major=True,
                initial_output=ops.zeros((ops.shape(x)[1], c.output_size), dtype=projected.dtype),
            )
            below = cell.combine(l, h, below)
            rs.append(below)
            final_states.extend(states)
        y = cell.apply_output(rs)
        if mask is not None:
            # Masked steps repeat the previous output (all layers held their
            # states and outputs); before the first valid step, and with
            # `zero_output_for_mask`, they are zeros as in the step loop.
            m = ops.expand_dims(mask, -1)
            keep = (ops.cumsum(ops.cast(m, "int32"), axis=0) > 0)
            if self.zero_output_for_mask:
                keep = m
            y = ops.where(keep, y, ops.zeros_like(y))
        last_output = y[-1]
        if not self.return_sequences:
            y = ops.expand_dims(last_output, 0)
        return last_output, ops.moveaxis(y, 0, 1), final_states

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        config.update({k: cell_config[k] for k in _CELL_ARGS})
        config["fast_path"] = self.fast_path
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
