"""`RecurrentCell`: the base class of kerasrnn's recurrent cells.

A cell computes one step and splits it in two, so that a sequence layer can
hoist the input side out of the time loop:

* `input_projection(x)`: `x @ kernel + input_bias`, for one step `(batch, D)`
  or for a whole sequence `(batch, T, D)` in a single matrix product;
* `recurrent_step(projected_x_t, states)`: the rest of the step.

`call(inputs, states)` composes the two, so a cell also works one step at a
time inside `keras.layers.RNN`. `kerasrnn.layers.sequence.RecurrentLayer`
drives a cell with the fused path (one input GEMM for all steps, then a lean
loop of `recurrent_step`).
"""

import keras
from keras import activations
from keras import constraints
from keras import initializers
from keras import ops
from keras import regularizers
from keras import tree

# keras.layers.RNN resets the cached dropout masks of cells that derive from
# this mixin, so kerasrnn cells use it too (it holds no recurrent maths).
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

from kerasrnn.layers.zoneout import check_zoneout_rates
from kerasrnn.layers.zoneout import zoneout
from kerasrnn.validation import ArgumentError
from kerasrnn.validation import check_choice
from kerasrnn.validation import check_int
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_rate

__all__ = ["RecurrentCell", "get_activation"]

_SERIALIZED = {
    "initializer": initializers,
    "regularizer": regularizers,
    "constraint": constraints,
}


def get_activation(identifier, name):
    """`keras.activations.get` with an error that names the argument."""
    try:
        return activations.get(identifier)
    except (ValueError, TypeError) as error:
        raise ArgumentError(
            name, identifier, "the name of a Keras activation or a callable"
        ) from error


def _serialize(value, kind):
    return _SERIALIZED[kind].serialize(value)


def _split_masks(mask, parts):
    return mask if isinstance(mask, (list, tuple)) else [mask] * parts


class RecurrentCell(keras.layers.Layer, DropoutRNNCell):
    """Base class of kerasrnn's cells: weights, dropout, config, step split.

    Subclasses set `gates` (number of `units`-wide blocks in the kernels) and
    implement `recurrent_step`. Arguments are those of the Keras cells.
    """

    gates = 1
    #: Whether the seed generator is created before the initializers (as
    #: Keras's `SimpleRNNCell` does) or after them (`LSTMCell`, `GRUCell`).
    _seed_generator_first = False
    #: Names of constructor arguments holding activations / initializers /
    #: regularizers / constraints, serialized in `get_config`.
    _activation_args = ("activation",)

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        implementation = kwargs.pop("implementation", 2)
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        # Keras's SeedGenerator takes only Python integers.
        self.seed = None if seed is None else check_int("seed", seed)
        # Initializers and seed generators created without a seed each draw
        # one from Python's global `random` on construction; they are created
        # in the order Keras's own cell creates them, so that under one
        # `keras.utils.set_random_seed` a model built with this cell starts
        # from the same weights as one built with Keras's.
        if self._seed_generator_first:
            self.seed_generator = keras.random.SeedGenerator(seed=self.seed)
        self.activation = get_activation(activation, "activation")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = check_rate("dropout", dropout)
        self.recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        # 0 is the legacy value Keras still accepts; it computes as 2 does.
        implementation = check_choice("implementation", implementation, (0, 1, 2))
        # Keras switches to per-gate dropout masks (implementation 1) when
        # recurrent dropout is on; the same masks are drawn here, in the same
        # order, so that equal seeds give equal numbers.
        self.implementation = 1 if self.recurrent_dropout else int(implementation)
        if self.implementation == 1 and self.gates > 1:
            self.dropout_mask_count = self.gates
        if not self._seed_generator_first:
            self.seed_generator = keras.random.SeedGenerator(seed=self.seed)
        self.state_size = [self.units] * len(self.state_names)
        self.output_size = self.units

    #: Zoneout rate of each state; empty (no zoneout) unless a subclass takes
    #: a `zoneout` argument (`LSTMCell`, `GRUCell`).
    zoneout_rates = ()

    #: One name per state tensor, in order.
    state_names = ("h",)
    #: A step's output is its new `h` (the first state).
    output_is_state = True

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                "The last (feature) axis of the inputs must be defined. "
                f"Received: input_shape={input_shape}"
            )
        width = self.gates * self.units
        self.kernel = self.add_weight(
            shape=(input_dim, width),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self.bias_shape(),
                name="bias",
                initializer=self.make_bias_initializer(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        self.build_extra_weights()

    def bias_shape(self):
        return (self.gates * self.units,)

    def make_bias_initializer(self):
        return self.bias_initializer

    def build_extra_weights(self):
        """Hook for weights beyond kernel, recurrent kernel and bias."""

    @property
    def input_bias(self):
        return self.bias

    def input_projection(self, inputs, dropout_mask=None):
        """`inputs @ kernel + input_bias`; `inputs` is `(..., input_dim)`.

        `dropout_mask` is `None`, one mask, or one mask per gate (Keras's
        implementation 1), each broadcastable to `inputs`.
        """
        if dropout_mask is None:
            z = ops.matmul(inputs, self.kernel)
        elif isinstance(dropout_mask, (list, tuple)):
            kernels = ops.split(self.kernel, self.gates, axis=1)
            z = ops.concatenate(
                [ops.matmul(inputs * m, k) for m, k in zip(dropout_mask, kernels)], axis=-1
            )
        else:
            z = ops.matmul(inputs * dropout_mask, self.kernel)
        if self.use_bias:
            z = z + self.input_bias
        return z

    def input_projection_blocks(self, inputs, dropout_mask=None, dtype=None):
        """`input_projection` of `(timesteps, batch, input_dim)` inputs as one
        `(timesteps, batch, units)` tensor per gate (the layout of
        `kerasrnn.ops.fused_rnn`), computed in `dtype` (default: the inputs'
        and weights' own)."""
        cast = (lambda t: t) if dtype is None else (lambda t: ops.cast(t, dtype))  # noqa: E731
        inputs = cast(inputs)
        masks = _split_masks(dropout_mask, self.gates)
        kernels = ops.split(cast(self.kernel), self.gates, axis=1)
        biases = ops.split(cast(self.fused_input_bias), self.gates, axis=0) if self.use_bias else None
        shape = ops.shape(inputs)
        flat = {}
        blocks = []
        for g, (m, k) in enumerate(zip(masks, kernels)):
            key = id(m)
            if key not in flat:  # one masked copy of the inputs per distinct mask
                x = inputs if m is None else inputs * cast(m)
                flat[key] = ops.reshape(x, (-1, x.shape[-1]))
            z = ops.matmul(flat[key], k)
            if biases is not None:
                z = z + biases[g]
            blocks.append(ops.reshape(z, (shape[0], shape[1], self.units)))
        return tuple(blocks)

    @property
    def fused_input_bias(self):
        """The bias `input_projection_blocks` adds (default: `input_bias`)."""
        return self.input_bias

    def recurrent_matmul(self, h, kernel, mask=None):
        """`h @ kernel`, with one recurrent-dropout mask per gate block."""
        if mask is None:
            return ops.matmul(h, kernel)
        blocks = kernel.shape[-1] // self.units
        kernels = ops.split(kernel, blocks, axis=1)
        masks = _split_masks(mask, blocks)
        return ops.concatenate(
            [ops.matmul(h * m, k) for m, k in zip(masks, kernels)], axis=-1
        )

    def fused_kernel(self, recurrent_mask=None):
        """A kernel for `kerasrnn.ops.fused_rnn` (`kernel.weights(cell)` gives
        its weights), or `None` when this
        configuration has no hand-written backward pass (then the layer
        differentiates its fused loop automatically)."""
        return None

    def recurrent_step(self, projected_inputs, states, recurrent_mask=None):
        """One step given `input_projection` of this step's inputs.

        Returns `(output, new_states)` with `new_states` a list.
        """
        raise NotImplementedError

    def step_dropout_masks(self, inputs, states, training):
        dropout_mask = recurrent_mask = None
        if training and 0.0 < self.dropout < 1.0:
            dropout_mask = self.get_dropout_mask(inputs)
        if training and 0.0 < self.recurrent_dropout < 1.0:
            recurrent_mask = self.get_recurrent_dropout_mask(states[0])
        return dropout_mask, recurrent_mask

    def call(self, inputs, states, training=False):
        nested = tree.is_nested(states)
        states = list(states) if nested else [states]
        dropout_mask, recurrent_mask = self.step_dropout_masks(inputs, states, training)
        projected = self.input_projection(inputs, dropout_mask)
        output, new_states = self.recurrent_step(projected, states, recurrent_mask)
        output, new_states = self.zone_out(output, states, new_states, training)
        return output, new_states if nested else new_states[0]

    def set_zoneout(self, zoneout):
        """Checks and keeps a `zoneout` argument (one rate for every state,
        or one per state): `zoneout` as given for `get_config`, and
        `zoneout_rates`, one per state."""
        self.zoneout_rates = check_zoneout_rates("zoneout", zoneout, len(self.state_names))
        self.zoneout = list(self.zoneout_rates) if isinstance(zoneout, (list, tuple)) else self.zoneout_rates[0]

    @property
    def has_zoneout(self):
        """Whether any state is zoned out (a `zoneout` rate above 0)."""
        return any(rate > 0.0 for rate in self.zoneout_rates)

    def zoneout_noise(self, leading_shape):
        """Uniform draws for the zoneout masks of many steps at once: one
        `(*leading_shape, size)` tensor per state whose rate is above 0, in
        state order (for `zone_out`'s `noise`)."""
        return tuple(
            keras.random.uniform((*leading_shape, size), seed=self.seed_generator)
            for rate, size in zip(self.zoneout_rates, self.state_size)
            if rate > 0.0
        )

    def zone_out(self, output, old_states, new_states, training, noise=None):
        """Applies zoneout (`kerasrnn.layers.zoneout.zoneout`) to one step's
        new states, each with its rate: `(output, new_states)` with the
        output the zoned-out first state. `noise` is one step's slice of
        `zoneout_noise` (drawn here from `seed_generator` when `None`)."""
        if not self.has_zoneout:
            return output, new_states
        draws = iter(noise) if noise is not None else None
        zoned = []
        for new, old, rate in zip(new_states, old_states, self.zoneout_rates):
            u = next(draws) if draws is not None and rate > 0.0 else None
            zoned.append(zoneout(new, old, rate, training, self.seed_generator, noise=u))
        return (zoned[0] if self.output_is_state else output), zoned

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_size]

    def get_config(self):
        config = {"units": self.units, "use_bias": self.use_bias}
        for name in self._activation_args:
            config[name] = activations.serialize(getattr(self, name))
        for kind in ("initializer", "regularizer", "constraint"):
            for prefix in ("kernel", "recurrent", "bias"):
                key = f"{prefix}_{kind}"
                config[key] = _serialize(getattr(self, key), kind)
        config.update(
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            seed=self.seed,
        )
        if self.gates > 1:
            config["implementation"] = self.implementation
        return {**super().get_config(), **config}
