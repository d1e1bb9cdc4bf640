"""Base classes of the recurrences that train with a parallel scan.

A `LinearRecurrentCell` has a state that follows

    h_t = a_t ⊙ h_{t-1} + b_t

with `a_t` and `b_t` functions of the input `x_t` alone (never of
`h_{t-1}`), and an output that is a function of `h_t` and `x_t`. Its `call`
computes one step, so it runs in `keras.layers.RNN` (generation, `stateful`);
`LinearRecurrentLayer` computes `a_t, b_t` of all steps at once (matrix
products over the whole sequence) and every state by
`kerasrnn.ops.linear_scan`, in `O(log T)` dependent rounds instead of `T`.
Both forms give the same numbers (`fast_path=False` runs the step form through
Keras's loop).
"""

import keras
from keras import constraints
from keras import initializers
from keras import ops
from keras import regularizers
from keras import tree

# keras.layers.RNN draws and resets the dropout masks of cells that derive
# from this mixin (it holds no recurrent maths).
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

from kerasrnn.layers.sequence import RecurrentLayer
from kerasrnn.ops.linear_scan import linear_scan
from kerasrnn.ops.linear_scan import log_linear_scan
from kerasrnn.validation import check_int
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_rate

__all__ = ["LinearRecurrentCell", "LinearRecurrentLayer", "scan_dtype"]


def scan_dtype(dtype):
    """The dtype the scan runs in for a layer computing in `dtype`: `float32`
    for half precision, whose products of many `a_t` lose too many digits."""
    dtype = keras.backend.standardize_dtype(dtype)
    return "float32" if dtype in ("float16", "bfloat16") else dtype


class LinearRecurrentCell(keras.layers.Layer, DropoutRNNCell):
    """Base class of cells with a state `h_t = a_t ⊙ h_{t-1} + b_t`.

    Subclasses implement `build`, `coefficients(x)` (for inputs of any leading
    shape) and, if the output is not `h_t`, `readout(states, x)`. They set
    `log_space = True` when `coefficients` returns `(log a, log b)` of a
    positive recurrence, and `complex_state = True` when the state is complex,
    held as two real tensors `[h_real, h_imag]` and `coefficients` returns
    `((a_real, a_imag), (b_real, b_imag))`.

    Arguments common to all: `units`, `use_bias`, `kernel_*` and `bias_*`
    initializer/regularizer/constraint, `dropout` (on the inputs, the same
    mask at every step) and `seed`. A recurrence with no recurrent weights
    has no recurrent dropout.
    """

    log_space = False
    complex_state = False
    #: No recurrent weights, so no recurrent dropout (read by Keras's RNN).
    recurrent_dropout = 0.0

    def __init__(
        self,
        units,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = check_rate("dropout", dropout)
        # Keras's SeedGenerator takes only Python integers.
        self.seed = None if seed is None else check_int("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(seed=self.seed)

    #: One name per state tensor, in order.
    @property
    def state_names(self):
        return ("h_real", "h_imag") if self.complex_state else ("h",)

    @property
    def state_size(self):
        return [self.recurrent_units] * len(self.state_names)

    @property
    def recurrent_units(self):
        """Width of the state (of each part of a complex state)."""
        return self.units

    @property
    def output_size(self):
        return self.units

    def add_kernel(self, name, shape, initializer=None):
        return self.add_weight(
            shape=shape,
            name=name,
            initializer=initializer or self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )

    def add_bias(self, name, shape, initializer=None):
        return self.add_weight(
            shape=shape,
            name=name,
            initializer=initializer or self.bias_initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )

    def dense(self, x, kernel, bias=None):
        y = ops.matmul(x, kernel)
        return y if bias is None else y + bias

    def coefficients(self, inputs):
        """`(a, b)` (or `(log a, log b)`, or complex pairs) of the inputs."""
        raise NotImplementedError

    def readout(self, states, inputs):
        """The output given the new states and the step's inputs."""
        return states[0]

    @property
    def output_is_state(self):
        """Whether a step's output is its new `h`: the readout and step of
        this base class, not one that reads the step's input too."""
        cls = type(self)
        return cls.readout is LinearRecurrentCell.readout and cls.call is LinearRecurrentCell.call

    def input_dropout_mask(self, inputs, training):
        if training and 0.0 < self.dropout < 1.0:
            return self.get_dropout_mask(inputs)
        return None

    def call(self, inputs, states, training=False):
        nested = tree.is_nested(states)
        states = list(states) if nested else [states]
        mask = self.input_dropout_mask(inputs, training)
        if mask is not None:
            inputs = inputs * mask
        a, b = self.coefficients(inputs)
        if self.complex_state:
            (a_re, a_im), (b_re, b_im) = a, b
            h_re, h_im = states
            new_states = [a_re * h_re - a_im * h_im + b_re, a_re * h_im + a_im * h_re + b_im]
        else:
            if self.log_space:
                a, b = ops.exp(a), ops.exp(b)
            new_states = [a * states[0] + b]
        output = self.readout(new_states, inputs)
        return output, new_states if nested else new_states[0]

    def scan_sequence(self, inputs, initial_state, mask=None, training=False):
        """Every step at once. `inputs` `(T, batch, features)` (time-major),
        `mask` `(T, batch)` or None. Returns `(outputs, final_states)`, outputs
        `(T, batch, output_size)` where masked steps repeat the last output
        (zeros before the first unmasked step)."""
        dtype = self.compute_dtype
        work = scan_dtype(dtype)
        dropout_mask = self.input_dropout_mask(inputs[0], training)
        if dropout_mask is not None:
            inputs = inputs * ops.expand_dims(dropout_mask, 0)
        a, b = self.coefficients(inputs)
        cast = lambda t: ops.cast(t, work)  # noqa: E731
        if self.complex_state:
            states = linear_scan(
                tuple(map(cast, a)), tuple(map(cast, b)), tuple(map(cast, initial_state)), mask, axis=0
            )
        elif self.log_space:
            states = [log_linear_scan(cast(a), cast(b), cast(initial_state[0]), mask, axis=0)]
        else:
            states = [linear_scan(cast(a), cast(b), cast(initial_state[0]), mask, axis=0)]
        states = [ops.cast(s, dtype) for s in states]
        outputs = self.readout(states, inputs)
        if mask is not None:
            outputs = forward_fill(outputs, mask)
        return outputs, [s[-1] for s in states]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_size]

    def get_config(self):
        config = {"units": self.units, "use_bias": self.use_bias}
        for kind, module in (("initializer", initializers), ("regularizer", regularizers),
                             ("constraint", constraints)):
            for prefix in ("kernel", "bias"):
                key = f"{prefix}_{kind}"
                config[key] = module.serialize(getattr(self, key))
        config.update(dropout=self.dropout, seed=self.seed)
        return {**super().get_config(), **config}


def forward_fill(outputs, mask):
    """`outputs` `(T, batch, features)` with each masked step replaced by the
    last unmasked one before it (zeros before the first): itself a linear
    recurrence, `y_t = (1 - m_t) y_{t-1} + m_t o_t`."""
    keep = ops.cast(ops.expand_dims(mask, -1), outputs.dtype)
    return linear_scan(1.0 - keep, keep * outputs, axis=0)


class LinearRecurrentLayer(RecurrentLayer):
    """A sequence layer that runs a `LinearRecurrentCell` by a parallel scan.

    Subclasses set `cell_class` and `cell_name`; arguments, attributes and
    config are those of `RecurrentLayer`. `fast_path=True` (default) computes
    all steps with `cell.scan_sequence`; `fast_path=False` drives `cell.call`
    step by step through Keras's loop (the same numbers). `unroll` is accepted
    for compatibility; the scan has no loop to unroll.
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if tree.is_nested(mask):
            mask = mask[0]
        if not self.fast_path:
            return keras.layers.RNN.inner_loop(self, sequences, initial_state, mask, training=training)
        x = ops.transpose(sequences, (1, 0, 2))
        if mask is not None:
            mask = ops.transpose(ops.cast(mask, "bool"), (1, 0))
        if self.go_backwards:
            x = ops.flip(x, axis=0)
            mask = None if mask is None else ops.flip(mask, axis=0)
        outputs, states = self.cell.scan_sequence(x, list(initial_state), mask, training=training)
        if mask is not None and self.zero_output_for_mask:
            outputs = outputs * ops.cast(ops.expand_dims(mask, -1), outputs.dtype)
        return outputs[-1], ops.transpose(outputs, (1, 0, 2)), states

    def loop_implementation(self, training=False):
        """`"scan"` (the parallel scan) or `"generic"` (`fast_path=False`:
        Keras's step-by-step loop driving this layer's cell)."""
        return "scan" if self.fast_path else "generic"
