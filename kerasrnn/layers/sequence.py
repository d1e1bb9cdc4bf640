"""`RecurrentLayer`: the sequence layer that drives one kerasrnn cell over time.

It chooses the loop a call takes (see `RecurrentLayer.loop_implementation`),
checks the shapes of inputs, masks and initial states, and handles masks,
`go_backwards` and half-precision policies on the fused path.
"""

import inspect

import keras
from keras import ops
from keras import tree
from keras.src.utils import tracking

from kerasrnn.layers.backend import in_xla_context
from kerasrnn.layers.precision import projection_dtype
from kerasrnn.layers.precision import recurrence_dtype
from kerasrnn.ops import rnn
from kerasrnn.ops.fused import fused_rnn
from kerasrnn.validation import InputError
from kerasrnn.validation import check_bool
from kerasrnn.validation import check_choice

__all__ = ["RecurrentLayer"]


#: Whether `keras.Variable` takes `synchronization` (Keras 3.9 and later).
_VARIABLES_SYNCHRONIZE = "synchronization" in inspect.signature(keras.Variable.__init__).parameters


def _replicas_in_sync():
    """Replicas of the current `tf.distribute` strategy (1 outside one, and
    on backends other than TensorFlow)."""
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    return int(tf.distribute.get_strategy().num_replicas_in_sync)


def _check_unsynchronized_states(name):
    """An `InputError` when a stateful layer would get plain (not per-replica)
    state variables under a strategy of several replicas."""
    replicas = _replicas_in_sync()
    if replicas > 1:
        raise InputError(
            f"stateful layer {name!r} cannot keep its states per replica under a tf.distribute strategy of "
            f"{replicas} replicas with Keras {keras.__version__}: its keras.Variable takes no `synchronization` "
            "(Keras 3.9 or later does), so the replicas would share one copy of the states and train on each "
            "other's streams. Upgrade Keras, or train stateful models (e.g. char-lm --tbptt) on one device "
            f"(--strategy none). Received: stateful=True, replicas={replicas}")


class SequenceInputChecks:
    """The checks of a sequence layer's call, for subclasses of
    `keras.layers.RNN` (listed before it among the bases).

    Before any loop runs: `sequences` must be rank 3 with a real (or
    integer/boolean) dtype, `mask` `(batch, timesteps)`, and `initial_state`
    one `(batch, size)` tensor per entry of `state_size`, with the inputs'
    batch; each mismatch is an error naming the argument and what was
    received. Over a time axis of length 0 the states stay as they were:
    the final states are the initial ones (zeros if none, a stateful layer's
    own), the returned sequence is `(batch, 0, output_size)`, and the last
    output is the initial `h` for cells whose output is `h` (zeros
    otherwise). The length must be known when the call is traced (always in
    eager calls and under XLA); a length 0 known only at run time (a graph
    traced with `timesteps=None`) fails in the loop.
    """

    def compute_output_spec(self, sequences, *args, **kwargs):
        # Symbolic calls (functional models) take their shapes from
        # `compute_output_shape` without tracing `call`.
        _check_real_dtype(self, sequences.dtype)
        initial_state = kwargs.get("initial_state", args[0] if args else None)
        if initial_state is not None:
            self._check_initial_state(initial_state, sequences.shape)
        return super().compute_output_spec(sequences, *args, **kwargs)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        check_sequence_inputs(self, sequences, mask)
        if initial_state is not None:
            initial_state = self._check_initial_state(initial_state, sequences.shape)
        if sequences.shape[1] == 0:
            return self._call_without_steps(sequences, initial_state)
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def _call_without_steps(self, sequences, initial_state):
        """A call over zero time steps (a time axis of static length 0):
        the states stay as they were (the initial ones, zeros if none), the
        sequence of outputs is empty, and the last output is the initial `h`
        for cells whose output is `h` (zeros for cells that read their
        output out of the state with the step's input, having no step).
        Keras's loop would fail taking step 0."""
        batch = ops.shape(sequences)[0]
        if initial_state is None:
            if self.stateful:
                initial_state = self._check_initial_state(self.states, sequences.shape)
            else:
                initial_state = self.get_initial_state(batch)
        dtype = self.compute_dtype
        states = [ops.cast(ops.convert_to_tensor(s), dtype) for s in tree.flatten(initial_state)]
        size = self.cell.output_size
        if getattr(self.cell, "output_is_state", False):
            last_output = states[0]
        else:
            last_output = ops.zeros((batch, size), dtype=dtype)
        output = ops.zeros((batch, 0, size), dtype=dtype) if self.return_sequences else last_output
        return (output, *states) if self.return_state else output

    def _check_initial_state(self, initial_state, sequences_shape):
        """The states as a list, checked against the state sizes and the
        inputs' batch wherever the shapes are known (always in eager calls)."""
        names = getattr(self.cell, "state_names", None) or ["states"]
        return check_initial_state(self, initial_state, self.state_size, names, sequences_shape)


class RecurrentLayer(SequenceInputChecks, keras.layers.RNN):
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

    Its call arguments are checked, and a time axis of length 0 handled, as
    `SequenceInputChecks` says (the last output over zero steps is zeros for
    cells whose output also reads the step's input, `LRU` and `HawkBlock`).
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
        check_choice("use_cudnn", use_cudnn, ("auto", True, False))
        fast_path = check_bool("fast_path", fast_path)
        # Keras reads any truthy value as True (`return_sequences="no"`
        # included); a string here is a mistake, not a choice.
        return_sequences = check_bool("return_sequences", return_sequences)
        return_state = check_bool("return_state", return_state)
        go_backwards = check_bool("go_backwards", go_backwards)
        stateful = check_bool("stateful", stateful)
        unroll = check_bool("unroll", unroll)
        if "zero_output_for_mask" in kwargs:
            kwargs["zero_output_for_mask"] = check_bool(
                "zero_output_for_mask", kwargs["zero_output_for_mask"]
            )
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

    @classmethod
    def _forwarded_names(cls):
        return cls._cell_params() | {"units"}

    def __getattr__(self, name):
        # Only called when normal lookup fails. The torch backend's layers are
        # `torch.nn.Module`s, whose `__getattr__` finds sub-modules (the cell)
        # in `_modules` rather than in `__dict__`: ask it first.
        parent = getattr(super(), "__getattr__", None)
        if parent is not None:
            try:
                return parent(name)
            except AttributeError:
                pass
        # Cell arguments read as layer attributes (layer.units, layer.dropout...).
        if not name.startswith("_") and name in type(self)._forwarded_names():
            try:
                cell = self.cell  # `cell` is not forwarded: no recursion
            except AttributeError:
                cell = None
            if cell is not None:
                return getattr(cell, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __dir__(self):
        # Keras's own layers list these (as properties); its serialization
        # test compares `dir()` before and after a round trip.
        names = set(super().__dir__())
        try:
            cell = self.cell
        except AttributeError:
            return sorted(names)
        return sorted(names | {n for n in type(self)._forwarded_names() if hasattr(cell, n)})

    def build(self, sequences_shape, initial_state_shape=None):
        _check_rank3(sequences_shape)
        super().build(sequences_shape, initial_state_shape)

    @tracking.no_automatic_dependency_tracking
    def _create_state_variables(self, batch_size):
        # A stateful layer's states, created as Keras's RNN creates them but
        # synchronized on read: under a tf.distribute strategy every replica
        # carries the states of its own share of the batch (its streams), and
        # a read outside the replicas sees the first replica's; elsewhere
        # they are plain variables.
        # Keras versions whose Variable takes no `synchronization` (3.8) get
        # plain variables: single-device stateful training is unchanged;
        # under a strategy of several replicas they would share one copy of
        # the states and train wrong, so that is refused.
        if not _VARIABLES_SYNCHRONIZE:
            _check_unsynchronized_states(self.name)
        synchronized = (
            {"synchronization": "on_read", "aggregation": "only_first_replica"}
            if _VARIABLES_SYNCHRONIZE else {}
        )
        with keras.name_scope(self.name, caller=self):
            self.states = tree.map_structure(
                lambda value: keras.Variable(
                    value,
                    trainable=False,
                    dtype=self.variable_dtype,
                    name="rnn_state",
                    **synchronized,
                ),
                self.get_initial_state(batch_size),
            )

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
        zoned = getattr(cell, "has_zoneout", False)  # a cell with zoneout has no fused kernel
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
                # Under XLA a one-step loop body runs faster than a
                # partially unrolled one (`benchmarks/rnn_speed.py`).
                unroll=1 if xla else self.loop_unroll,
                # How the recurrent products are laid out, each choice the
                # faster one in `benchmarks/rnn_speed.py` on its path. Under
                # XLA: in inference one concatenated `h @ recurrent_kernel`
                # per step (per-gate products left LSTM inference slower
                # than Keras's); in training per-gate products forward and
                # one concatenated product backward, faster than either
                # layout used both ways. Without XLA, per-gate products both
                # ways (a concatenated backward product was slower there).
                concat_matmul=xla and not training,
                concat_backward=xla,
                # Inference, or a training call no gradient can be taken of
                # (eager, no tape recording): the forward loop alone, saving
                # nothing for a backward pass.
                save_for_backward=training and _gradient_may_be_taken(),
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
            noise = ()
            if zoned and training:
                # The zoneout masks of all steps, drawn before the loop and
                # fed to it as inputs: no seed generator advances inside the
                # loop, which JAX's `lax.scan` could not do.
                noise = cell.zoneout_noise(ops.shape(x)[:2])

            def step(inputs_t, states):
                projected_t, noise_t = (inputs_t[0], inputs_t[1:]) if noise else (inputs_t, None)
                output, new_states = cell.recurrent_step(projected_t, list(states), recurrent_mask)
                if zoned:
                    output, new_states = cell.zone_out(output, states, new_states, training, noise_t)
                return output, new_states

            batch = ops.shape(sequences)[0]
            last_output, outputs, states = rnn(
                step,
                (projected, *noise) if noise else projected,
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
    #: traced for XLA (under XLA: 1, which runs faster there).
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
        * `"fused_autodiff"` (other configurations, zoneout included): one
          input projection, then a loop of the cell's `recurrent_step` (and
          its zoneout update), differentiated automatically.
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


def _gradient_may_be_taken():
    """Whether a gradient of what is computed now may be taken: always while
    tracing; in eager TensorFlow only under a recording `GradientTape`; in
    PyTorch only with grad mode on."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        from tensorflow.python.eager import record

        return not tf.executing_eagerly() or record.could_possibly_record()
    if backend == "torch":
        import torch

        return torch.is_grad_enabled()
    return True


def check_sequence_inputs(layer, sequences, mask=None):
    """Checks a sequence layer's `sequences` (rank 3, a real, integer or
    boolean dtype) and `mask` (`(batch, timesteps)`), naming what was
    received."""
    _check_rank3(sequences.shape)
    _check_real_dtype(layer, sequences.dtype)
    if mask is not None:
        _check_mask(tree.flatten(mask)[0], sequences.shape)


def check_initial_state(layer, initial_state, state_size, state_names, sequences_shape):
    """`initial_state` as a list, checked to hold one `(batch, size)` tensor
    per entry of `state_size` with the inputs' batch, wherever the shapes are
    known (always in eager calls); otherwise an `InputError` naming
    `layer`'s states (`state_names`) and what was received."""
    states = list(initial_state) if tree.is_nested(initial_state) else [initial_state]
    batch = sequences_shape[0]
    expected = [(batch, size) for size in state_size]
    received = [_static_shape(state) for state in states]
    if len(received) == len(expected) and all(
        shape is not None and len(shape) == 2
        and all(a is None or b is None or a == b for a, b in zip(shape, want))
        for shape, want in zip(received, expected)
    ):
        return states
    raise InputError(
        f"`initial_state` must hold {_count(len(expected))} for {type(layer).__name__} "
        f"({', '.join(state_names)}), of {_shapes(expected)}: (batch, state size) with the inputs' "
        f"batch. Received: {_count(len(received))} of {_shapes(received)}"
    )


def _check_rank3(shape):
    if len(shape) != 3:
        raise ValueError(
            "Recurrent layers expect `inputs` of rank 3, (batch, timesteps, features). "
            f"Received: inputs.shape={tuple(shape)}"
        )


def _check_real_dtype(layer, dtype, argument="inputs"):
    # Integer and boolean inputs are cast to the compute dtype, as Keras's
    # layers cast them; a string fails deep in a cast, and a complex input
    # would lose its imaginary part without a word.
    dtype = keras.backend.standardize_dtype(dtype)
    if dtype == "bool" or "float" in dtype or "int" in dtype:
        return
    raise InputError(
        f"{type(layer).__name__} expects a float tensor (or integers or booleans, "
        f"cast to {layer.compute_dtype}) as `{argument}`. Received: dtype={dtype}"
    )


def check_real_dtype(layer, tensor, argument="inputs"):
    """Refuses a `tensor` (the call argument `argument` of `layer`) whose
    dtype is not a float, integer or boolean one (a string, a complex)."""
    _check_real_dtype(layer, tensor.dtype, argument)


def _static_shape(tensor):
    shape = getattr(tensor, "shape", None)
    return None if shape is None else tuple(shape)


def _count(n):
    return "1 tensor" if n == 1 else f"{n} tensors"


def _shapes(shapes):
    """`shape (3, 4)` or `shapes (3, 4), (3, 4)`, with `batch` for an
    unknown batch size."""
    def one(shape):
        if shape is None:
            return "?"
        dims = ["batch" if d is None and i == 0 else str(d) for i, d in enumerate(shape)]
        return f"({', '.join(dims)}{',' if len(dims) == 1 else ''})"
    return ("shape " if len(shapes) == 1 else "shapes ") + ", ".join(one(shape) for shape in shapes)


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
