"""Neural Turing Machine: `NTMCell` (controller + external memory + heads)."""

import math

import keras
from keras import ops

from kerasrnn.layers.lstm import LSTMCell
from kerasrnn.memory import addressing
from kerasrnn.validation import check_choice
from kerasrnn.validation import check_int
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number

CONTROLLERS = ("lstm", "dense")
MEMORY_INITS = ("constant", "learned", "random")
#: Value of every memory entry with `memory_init="constant"` (Collier & Beel).
CONSTANT_MEMORY = 1e-6


def _focused_logits(shape, dtype=None):
    """Initial weighting logits: every head starts focused on row 0."""
    heads, rows = shape
    one_hot = ops.one_hot(ops.zeros((heads,), "int32"), rows, dtype=dtype or "float32")
    return one_hot * math.log(1e4 * rows)


def _random_memory(shape, dtype=None):
    return ops.tanh(keras.random.truncated_normal(shape, stddev=0.5, dtype=dtype or "float32"))


@keras.saving.register_keras_serializable(package="kerasrnn")
class NTMCell(keras.layers.Layer):
    """Neural Turing Machine cell: a controller with an external memory.

    At step t the controller sees the input and the previous reads,
    h_t = controller([x_t, r_{t−1}], h_{t−1}), clipped to ±`clip_value`, and
    emits each head's parameters (also clipped) through one dense layer:
    key k, strength β = softplus(·), gate g = σ(·), shift s = softmax(·) over
    the offsets −S..S, sharpening γ = 1 + softplus(·); write heads also emit
    erase e = σ(·) and add a = tanh(·). Each head addresses the memory
    M_{t−1} (`(N, M)`) as

        w^c_t(i) = softmax_i(β_t cos(k_t, M_{t−1}(i)))
        w^g_t = g_t w^c_t + (1 − g_t) w_{t−1}
        w̃_t(i) = Σ_j w^g_t(j) s_t(i − j mod N)
        w_t(i) = w̃_t(i)^γ_t / Σ_j w̃_t(j)^γ_t

    read heads read r_t = Σ_i w_t(i) M_{t−1}(i), and write heads update
    M_t(i) = M_{t−1}(i) ⊙ Π_h (1 − w^h_t(i) e^h_t) + Σ_h w^h_t(i) a^h_t.
    The output is [h_t, r_t] (`units + num_read_heads * memory_width`); add
    your own output layer on top. The addressing functions are in
    `kerasrnn.memory.addressing`.

    Each sequence starts from learned biases (initial reads, and weightings
    softmax(logits) that start focused on row 0) and the initial memory set
    by `memory_init`: `"constant"` (every entry 1e-6, Collier & Beel's
    choice, which converged about twice as fast), `"learned"` (a trained
    `(N, M)` weight) or `"random"` (tanh of a truncated normal, σ = 0.5,
    drawn once at build time).

    Args:
        units: Positive integer, size of the controller.
        memory_size: N, number of memory rows (≥ 1).
        memory_width: M, width of a memory row (≥ 1).
        num_read_heads: Number of read heads (≥ 1).
        num_write_heads: Number of write heads (≥ 1).
        shift_range: S, the largest shift of a head, in rows (0 ≤ 2S < N).
        controller: `"lstm"` (a kerasrnn `LSTMCell`) or `"dense"` (one
            feed-forward tanh layer).
        clip_value: Controller outputs and head parameters are clipped to
            ±`clip_value` (positive).
        memory_init: `"constant"`, `"learned"` or `"random"`.
        memory_trainable: Whether the initial memory is a trainable weight.
            `None` (default) means `True` for `"learned"` and `False`
            otherwise; `"learned"` with `False` is an error. The resolved
            boolean is written to the config.
        return_weightings: Append the read weightings (`num_read_heads * N`)
            and write weightings (`num_write_heads * N`) of the step to the
            output, for plots; see `split_output`.

    Call arguments:
        inputs: `(batch, features)` tensor, one time step.
        states: list `[memory (batch, N·M), reads (batch, R·M), read
            weightings (batch, R·N), write weightings (batch, W·N)]` followed
            by the controller's states (`[h, c]` for `"lstm"`, none for
            `"dense"`); all have a dynamic batch size.
        training: Passed to the controller.

    Output shape: `(batch, output_size)`. Inside `keras.layers.RNN` a mask
    keeps the whole state (memory included) unchanged at masked steps.

    Example:

    >>> cell = NTMCell(100, memory_size=128, memory_width=20)
    >>> model = keras.Sequential([
    ...     keras.Input((None, 9)),
    ...     keras.layers.RNN(cell, return_sequences=True),
    ...     keras.layers.Dense(8),   # logits of the 8 output bits
    ... ])

    Reference:
        Graves, Wayne & Danihelka, "Neural Turing Machines", arXiv:1410.5401,
        2014; Collier & Beel, "Implementing Neural Turing Machines", ICANN
        2018.
    """

    def __init__(
        self,
        units,
        memory_size=128,
        memory_width=20,
        num_read_heads=1,
        num_write_heads=1,
        shift_range=1,
        controller="lstm",
        clip_value=20.0,
        memory_init="constant",
        memory_trainable=None,
        return_weightings=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.memory_size = memory_size = check_positive_int("memory_size", memory_size)
        self.memory_width = memory_width = check_positive_int("memory_width", memory_width)
        self.num_read_heads = num_read_heads = check_positive_int("num_read_heads", num_read_heads)
        self.num_write_heads = num_write_heads = check_positive_int("num_write_heads", num_write_heads)
        self.shift_range = shift_range = check_int("shift_range", shift_range, minimum=0)
        if 2 * shift_range >= memory_size:
            raise ValueError(
                "`shift_range` must be smaller than memory_size / 2 "
                f"(2 * shift_range + 1 offsets on {memory_size} rows). "
                f"Received: shift_range={shift_range!r}, memory_size={memory_size!r}"
            )
        self.controller = check_choice("controller", controller, CONTROLLERS)
        self.clip_value = check_positive_number("clip_value", clip_value)
        self.memory_init = check_choice("memory_init", memory_init, MEMORY_INITS)
        if memory_trainable is None:
            memory_trainable = memory_init == "learned"
        if not isinstance(memory_trainable, bool) or (memory_init == "learned" and not memory_trainable):
            raise ValueError(
                "`memory_trainable` must be None or a boolean, and True with memory_init='learned'. "
                f"Received: memory_trainable={memory_trainable!r}, memory_init={memory_init!r}"
            )
        self.memory_trainable = memory_trainable
        self.return_weightings = bool(return_weightings)

        n, m, r, w = memory_size, memory_width, num_read_heads, num_write_heads
        shifts = 2 * shift_range + 1
        # Per head: key (M), β, g, shift (2S + 1), γ; write heads also e, a (M each).
        self._read_params = m + 3 + shifts
        self._write_params = self._read_params + 2 * m
        self.state_size = [n * m, r * m, r * n, w * n]
        if controller == "lstm":
            self.controller_cell = LSTMCell(units, name="controller", dtype=kwargs.get("dtype"))
            self.state_size += [units, units]
        else:
            self.controller_cell = keras.layers.Dense(units, activation="tanh", name="controller", dtype=kwargs.get("dtype"))
        self.head_layer = keras.layers.Dense(
            r * self._read_params + w * self._write_params, name="heads", dtype=kwargs.get("dtype")
        )
        self.output_size = units + r * m + (self.weightings_size if self.return_weightings else 0)

    @property
    def weightings_size(self):
        return (self.num_read_heads + self.num_write_heads) * self.memory_size

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(
                "NTMCell takes one time step of rank 2, (batch, features), with known features "
                "(wrap it in keras.layers.RNN for (batch, timesteps, features) sequences). "
                f"Received: inputs.shape={tuple(input_shape)}"
            )
        n, m, r = self.memory_size, self.memory_width, self.num_read_heads
        controller_inputs = input_shape[-1] + r * m
        self.controller_cell.build((None, controller_inputs))
        self.head_layer.build((None, self.units))
        initializer = {
            "constant": keras.initializers.Constant(CONSTANT_MEMORY),
            "learned": keras.initializers.RandomNormal(stddev=0.5),
            "random": _random_memory,
        }[self.memory_init]
        self.initial_memory = self.add_weight(
            shape=(n, m), name="initial_memory", initializer=initializer, trainable=self.memory_trainable
        )
        self.initial_reads = self.add_weight(shape=(r, m), name="initial_reads", initializer="zeros")
        self.initial_read_logits = self.add_weight(
            shape=(r, n), name="initial_read_logits", initializer=_focused_logits
        )
        self.initial_write_logits = self.add_weight(
            shape=(self.num_write_heads, n), name="initial_write_logits", initializer=_focused_logits
        )

    def get_initial_state(self, batch_size=None):
        def tiled(value):
            flat = ops.reshape(ops.cast(value, self.compute_dtype), (1, -1))
            return ops.zeros((batch_size, flat.shape[-1]), dtype=self.compute_dtype) + flat

        states = [
            tiled(self.initial_memory),
            tiled(self.initial_reads),
            tiled(ops.softmax(self.initial_read_logits, axis=-1)),
            tiled(ops.softmax(self.initial_write_logits, axis=-1)),
        ]
        if self.controller == "lstm":
            states += self.controller_cell.get_initial_state(batch_size)
        return states

    def _head_params(self, params, heads, width, offset):
        """Splits `heads * width` parameters starting at `offset` per head."""
        block = ops.reshape(params[:, offset : offset + heads * width], (-1, heads, width))
        m, shifts = self.memory_width, 2 * self.shift_range + 1
        key = block[..., :m]
        beta = ops.softplus(block[..., m : m + 1])
        gate = ops.sigmoid(block[..., m + 1 : m + 2])
        shift = ops.softmax(block[..., m + 2 : m + 2 + shifts], axis=-1)
        gamma = 1.0 + ops.softplus(block[..., m + 2 + shifts : m + 3 + shifts])
        return (key, beta, gate, shift, gamma), block[..., m + 3 + shifts :]

    def call(self, inputs, states, training=False):
        n, m = self.memory_size, self.memory_width
        r, w = self.num_read_heads, self.num_write_heads
        memory, reads, read_w, write_w = states[:4]
        memory = ops.reshape(memory, (-1, n, m))
        read_w = ops.reshape(read_w, (-1, r, n))
        write_w = ops.reshape(write_w, (-1, w, n))

        controller_inputs = ops.concatenate([inputs, reads], axis=-1)
        if self.controller == "lstm":
            h, controller_states = self.controller_cell(controller_inputs, list(states[4:]), training=training)
        else:
            h, controller_states = self.controller_cell(controller_inputs), []
        h = ops.clip(h, -self.clip_value, self.clip_value)
        params = ops.clip(self.head_layer(h), -self.clip_value, self.clip_value)

        read_params, _ = self._head_params(params, r, self._read_params, 0)
        write_params, extra = self._head_params(params, w, self._write_params, r * self._read_params)
        erase, add = ops.sigmoid(extra[..., :m]), ops.tanh(extra[..., m:])

        read_w = addressing.address(memory, read_w, *read_params)
        write_w = addressing.address(memory, write_w, *write_params)
        new_reads = ops.reshape(addressing.read(memory, read_w), (-1, r * m))
        memory = addressing.write(memory, write_w, erase, add)

        read_w = ops.reshape(read_w, (-1, r * n))
        write_w = ops.reshape(write_w, (-1, w * n))
        output = [h, new_reads] + ([read_w, write_w] if self.return_weightings else [])
        new_states = [ops.reshape(memory, (-1, n * m)), new_reads, read_w, write_w] + list(controller_states)
        return ops.concatenate(output, axis=-1), new_states

    def split_output(self, outputs):
        """Splits outputs (`(..., output_size)`) into a dict of named parts.

        Keys: `"controller"` `(..., units)`, `"reads"` `(..., R, M)` and, with
        `return_weightings=True`, `"read_weightings"` `(..., R, N)` and
        `"write_weightings"` `(..., W, N)`.
        """
        n, m = self.memory_size, self.memory_width
        r, w = self.num_read_heads, self.num_write_heads
        lead = tuple(outputs.shape[:-1])
        parts = {
            "controller": outputs[..., : self.units],
            "reads": ops.reshape(outputs[..., self.units : self.units + r * m], lead + (r, m)),
        }
        if self.return_weightings:
            start = self.units + r * m
            parts["read_weightings"] = ops.reshape(outputs[..., start : start + r * n], lead + (r, n))
            parts["write_weightings"] = ops.reshape(outputs[..., start + r * n :], lead + (w, n))
        return parts

    def get_config(self):
        config = {
            "units": self.units,
            "memory_size": self.memory_size,
            "memory_width": self.memory_width,
            "num_read_heads": self.num_read_heads,
            "num_write_heads": self.num_write_heads,
            "shift_range": self.shift_range,
            "controller": self.controller,
            "clip_value": self.clip_value,
            "memory_init": self.memory_init,
            "memory_trainable": self.memory_trainable,
            "return_weightings": self.return_weightings,
        }
        return {**super().get_config(), **config}
