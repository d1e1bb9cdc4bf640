"""Shared machinery of kerasrnn's recurrent cells and sequence layers.

A cell computes one step and splits it in two, so that a sequence layer can
hoist the input side out of the time loop:

* `input_projection(x)`: `x @ kernel + input_bias`, for one step `(batch, D)`
  or for a whole sequence `(batch, T, D)` in a single matrix product;
* `recurrent_step(projected_x_t, states)`: the rest of the step.

`call(inputs, states)` composes the two, so a cell also works one step at a
time inside `keras.layers.RNN`. `RecurrentLayer` drives a cell with the fused
path (one input GEMM for all steps, then a lean loop of `recurrent_step`).
"""

import inspect

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

from kerasrnn.ops import rnn
from kerasrnn.ops.fused import fused_rnn

_SERIALIZED = {
    "initializer": initializers,
    "regularizer": regularizers,
    "constraint": constraints,
}


def check_units(units, name="units"):
    """Raises a clear `ValueError` unless `units` is a positive integer."""
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={units!r}")
    return units


def check_rate(rate, name):
    """Raises a clear `ValueError` unless `0 <= rate <= 1`."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"`{name}` must be a float in [0, 1]. Received: {name}={rate!r}")
    return float(rate)


def get_activation(identifier, name):
    """`keras.activations.get` with an error that names the argument."""
    try:
        return activations.get(identifier)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"`{name}` must be the name of a Keras activation or a callable. "
            f"Received: {name}={identifier!r}"
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
        self.units = check_units(units)
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
        self.dropout = check_rate(dropout, "dropout")
        self.recurrent_dropout = check_rate(recurrent_dropout, "recurrent_dropout")
        if implementation not in (1, 2):
            raise ValueError(
                f"`implementation` must be 1 or 2. Received: implementation={implementation!r}"
            )
        # Keras switches to per-gate dropout masks (implementation 1) when
        # recurrent dropout is on; the same masks are drawn here, in the same
        # order, so that equal seeds give equal numbers.
        self.implementation = 1 if self.recurrent_dropout else implementation
        if self.implementation == 1 and self.gates > 1:
            self.dropout_mask_count = self.gates
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.state_size = [self.units] * len(self.state_names)
        self.output_size = self.units

    #: One name per state tensor, in order.
    state_names = ("h",)

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
        return output, new_states if nested else new_states[0]

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


class RecurrentLayer(keras.layers.RNN):
    """A sequence layer that drives one kerasrnn cell over time.

    Subclasses set `cell_class` and `cell_name`. Every constructor argument of
    the cell is accepted by the layer, stored on the cell, readable as a layer
    attribute and written to the layer's config, exactly as for Keras's
    `LSTM`/`GRU`/`SimpleRNN`.

    The fused path (`fast_path=True`, the default) projects the inputs of
    all time steps with one matrix product per gate, then runs only the
    recurrence in the loop: in training with a hand-written backward pass for
    the default configurations, in inference without saving anything for a
    backward pass. `fast_path=False` drives `cell.call` step by step through
    Keras's generic loop. `loop_implementation` says which loop a call takes;
    all paths give the same numbers.
    """

    cell_class = None
    cell_name = None

    def __init__(
        self,
        units,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        fast_path=True,
        **kwargs,
    ):
        use_cudnn = kwargs.pop("use_cudnn", "auto")
        if use_cudnn not in ("auto", True, False):
            raise ValueError(
                f"`use_cudnn` must be one of 'auto', True, False. Received: use_cudnn={use_cudnn!r}"
            )
        if not isinstance(fast_path, bool):
            raise ValueError(f"`fast_path` must be a boolean. Received: fast_path={fast_path!r}")
        cell_params = self._cell_params()
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in cell_params}
        cell = self.cell_class(
            units,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name=self.cell_name,
            **cell_kwargs,
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            **kwargs,
        )
        # Accepted for drop-in compatibility; kerasrnn has no cuDNN kernel, so
        # its layers stay XLA-compilable on every device.
        self.use_cudnn = use_cudnn
        self.fast_path = fast_path

    @classmethod
    def _cell_params(cls):
        params = set()
        for klass in cls.cell_class.__mro__:
            if klass is keras.layers.Layer:
                break
            init = klass.__dict__.get("__init__")
            if init is not None:
                params.update(inspect.signature(init).parameters)
        params.discard("self")
        params.discard("kwargs")
        params.discard("units")
        params.add("implementation")
        return params

    def __getattr__(self, name):
        # Cell arguments read as layer attributes (layer.units, layer.dropout...).
        if not name.startswith("_") and name in type(self)._cell_params() | {"units"}:
            cell = self.__dict__.get("cell")
            if cell is not None:
                return getattr(cell, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def build(self, sequences_shape, initial_state_shape=None):
        _check_rank3(sequences_shape)
        super().build(sequences_shape, initial_state_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        _check_rank3(sequences.shape)
        if mask is not None:
            _check_mask(tree.flatten(mask)[0], sequences.shape)
        if initial_state is not None:
            initial_state = self._check_initial_state(initial_state, sequences.shape)
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def _check_initial_state(self, initial_state, sequences_shape):
        states = list(initial_state) if tree.is_nested(initial_state) else [initial_state]
        if len(states) != len(self.state_size):
            raise ValueError(
                f"`initial_state` must hold {len(self.state_size)} tensor(s) for "
                f"{type(self).__name__} ({', '.join(self.cell.state_names)}). "
                f"Received: {len(states)} tensor(s)"
            )
        for state, size in zip(states, self.state_size):
            shape = tuple(state.shape)
            if len(shape) != 2 or shape[-1] not in (None, size):
                raise ValueError(
                    f"Each `initial_state` tensor must have shape (batch, {size}). "
                    f"Received: initial_state shapes {[tuple(s.shape) for s in states]}"
                )
        return states

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if tree.is_nested(mask):
            mask = mask[0]
        if not self.fast_path:
            return super().inner_loop(sequences, initial_state, mask=mask, training=training)
        cell = self.cell
        dropout_mask, recurrent_mask = cell.step_dropout_masks(
            sequences[:, 0, :], initial_state, training
        )
        # Time-major before the projection: transposing (B, T, D) is cheaper
        # than transposing the (B, T, gates * units) projection.
        x = ops.transpose(sequences, (1, 0, 2))
        if mask is not None:
            mask = ops.moveaxis(ops.cast(mask, "bool"), 1, 0)
        if self.go_backwards:
            x = ops.flip(x, axis=0)
            mask = None if mask is None else ops.flip(mask, axis=0)
        if dropout_mask is not None:
            dropout_mask = tree.map_structure(lambda m: ops.expand_dims(m, 0), dropout_mask)
        kernel = None if self.unroll else cell.fused_kernel(recurrent_mask)
        if kernel is not None:
            xla = in_xla_context()
            dtype = cell.compute_dtype
            loop_dtype = recurrence_dtype(dtype, cell.units)
            blocks = cell.input_projection_blocks(x, dropout_mask, dtype=projection_dtype(dtype))
            blocks = tuple(ops.cast(b, loop_dtype) for b in blocks)
            weights = tuple(ops.cast(w, loop_dtype) for w in kernel.weights(cell))
            outputs, states = fused_rnn(
                kernel,
                blocks,
                tuple(ops.cast(s, loop_dtype) for s in initial_state),
                weights,
                mask=None if mask is None else ops.expand_dims(mask, -1),
                zero_output_for_mask=self.zero_output_for_mask,
                # Under XLA one step per iteration measured faster.
                unroll=1 if xla else self.loop_unroll,
                # Under XLA: in inference one concatenated recurrent product
                # per step (LSTM's forward loop with four per-gate products
                # measured 1.4-1.5x Keras's inference time at 64-256 units,
                # ~1.0x with one); in training per-gate products forward and
                # one concatenated product backward, which measured 1-7 %
                # faster than one concatenated product both ways (GRU's
                # choice before) and than per-gate products both ways
                # (LSTM's) on all three benchmark shapes in one A/B (a
                # recheck on a slow day: 3-4 % faster at 32,200,128,512,
                # within noise at 256,50,32,128). Without XLA
                # per-gate products both ways (a concatenated backward
                # product measured 12-19 % slower there).
                concat_matmul=xla and not training,
                concat_backward=xla,
                # Inference: the forward loop alone, saving nothing for a
                # backward pass.
                save_for_backward=training,
            )
            if loop_dtype != dtype:
                outputs = ops.cast(outputs, dtype)
                states = [ops.cast(s, dtype) for s in states]
            # Unmasked, the last output is the final `h`; taking it from the
            # states spares the backward loop a per-step output gradient
            # when the sequence is not returned.
            last_output = outputs[-1] if mask is not None else states[0]
            if not self.return_sequences:
                outputs = ops.expand_dims(last_output, 0)
        else:
            projected = cell.input_projection(x, dropout_mask)

            def step(projected_t, states):
                return cell.recurrent_step(projected_t, list(states), recurrent_mask)

            batch = ops.shape(sequences)[0]
            last_output, outputs, states = rnn(
                step,
                projected,
                initial_state,
                mask=mask,
                return_sequences=self.return_sequences,
                zero_output_for_mask=self.zero_output_for_mask,
                unroll=True if self.unroll else self.loop_unroll,
                initial_output=ops.zeros((batch, cell.output_size), dtype=projected.dtype),
                time_major=True,
            )
        return last_output, ops.moveaxis(outputs, 0, 1), states

    #: Time steps per iteration of the fused loop (partial unrolling) when not
    #: traced for XLA (under XLA: 1, which measured faster there).
    loop_unroll = 4

    def loop_implementation(self, training=False):
        """Which loop a call takes.

        * `"fused_bptt"` (training with the default activations, no
          peepholes, no recurrent dropout, GRU `reset_after=True`, no
          `unroll`): one input projection for all steps, the hand-written
          kernel's loop, and its hand-written backward pass.
        * `"fused_forward"` (inference in those configurations, recurrent
          dropout allowed): the same projection and loop, saving nothing for
          a backward pass.
        * `"fused_autodiff"` (other configurations): one input projection,
          then a loop of the cell's `recurrent_step`, differentiated
          automatically.
        * `"generic"` (`fast_path=False`): Keras's step-by-step loop driving
          this layer's cell.
        """
        if not self.fast_path:
            return "generic"
        rec_dropout = training and 0.0 < self.cell.recurrent_dropout < 1.0
        if self.unroll or self.cell.fused_kernel(True if rec_dropout else None) is None:
            return "fused_autodiff"
        return "fused_bptt" if training else "fused_forward"

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config.update(cell_config)
        config["fast_path"] = self.fast_path
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def recurrence_dtype(dtype, units=None):
    """The dtype the fused loop computes in for a layer computing in `dtype`
    with `units` units.

    On the TensorFlow backend without a GPU, `float32` for:

    * a `float16` layer: CPUs without native half-precision arithmetic run
      `float16` math through slow emulated kernels;
    * a `bfloat16` layer traced for XLA: XLA's CPU backend runs low-precision
      element-wise math through conversions to `float32` and back at every
      op, which made the recurrence 2-6x slower than in `float32`;
    * a `bfloat16` layer with `units <= 128`: at that width the per-step
      element-wise work outweighs the smaller products (bf16 LSTM at
      256, 50, 32, 128 without XLA: 0.96 of Keras's training time before
      this rule, 0.79-0.81 with it, `benchmarks/rnn_speed.py`); from 192
      units on, one-off timings found the two equal or `bfloat16` faster.

    The input projection stays in the layer's dtype (see `projection_dtype`);
    outputs and states are cast back to it. Everywhere else the loop runs in
    `dtype`.
    """
    dtype = keras.backend.standardize_dtype(dtype)
    if dtype not in ("bfloat16", "float16") or not _half_precision_is_emulated():
        return dtype
    if dtype == "float16" or in_xla_context() or (units is not None and units <= 128):
        return "float32"
    return dtype


def projection_dtype(dtype):
    """The dtype the fused path's input projection computes in for a layer
    computing in `dtype`: `float32` for `float16` on the TensorFlow backend
    without a GPU (oneDNN's emulated `float16` matrix product fused with the
    bias took about a second for one (12800, 32) x (32, 128) product there,
    in a one-off profile);
    otherwise `dtype`."""
    dtype = keras.backend.standardize_dtype(dtype)
    if dtype == "float16" and _half_precision_is_emulated():
        return "float32"
    return dtype


def _half_precision_is_emulated():
    """Whether half-precision math runs on the CPU (TensorFlow backend, no
    GPU visible)."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return not tf.config.list_logical_devices("GPU")


def in_xla_context():
    """Whether the current TensorFlow graph is being traced for XLA
    (`jit_compile=True`); always False on other backends."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf
    from tensorflow.python.ops import control_flow_util

    return bool(control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph()))


def _check_rank3(shape):
    if len(shape) != 3:
        raise ValueError(
            "Recurrent layers expect `inputs` of rank 3, (batch, timesteps, features). "
            f"Received: inputs.shape={tuple(shape)}"
        )


def _check_mask(mask, sequences_shape):
    expected = tuple(sequences_shape[:2])
    shape = tuple(mask.shape)
    compatible = len(shape) == 2 and all(
        a is None or b is None or a == b for a, b in zip(shape, expected)
    )
    if not compatible:
        raise ValueError(
            f"`mask` must have shape (batch, timesteps) = {expected}. "
            f"Received: mask.shape={shape}"
        )
