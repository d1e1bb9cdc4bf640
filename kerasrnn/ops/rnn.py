"""Drives a step function over a batch-major sequence, with masks.

Same contract and masking semantics as Keras's backend `rnn`: a masked step
keeps the previous states and repeats the previous output (or emits zeros when
`zero_output_for_mask`), and `go_backwards` returns the reversed sequence.
"""

from keras import ops

from kerasrnn.ops.scan import scan


def rnn(
    step,
    inputs,
    initial_states,
    mask=None,
    go_backwards=False,
    return_sequences=True,
    zero_output_for_mask=False,
    unroll=1,
    initial_output=None,
    time_major=False,
):
    """Runs `step` over the time axis of `inputs`.

    Args:
        step: Callable `(inputs_t, states) -> (output_t, new_states)` where
            `states` and `new_states` are tuples of `(batch, ...)` tensors.
        inputs: Tensor `(batch, timesteps, ...)`, or a tuple of such tensors
            that all share the first two axes.
        initial_states: Sequence of state tensors.
        mask: Optional boolean tensor `(batch, timesteps)`.
        go_backwards: Process the sequence from the last step to the first and
            return the outputs in that (reversed) order.
        return_sequences: Whether to stack all outputs (otherwise only the last
            output is returned and `outputs` is `None`).
        zero_output_for_mask: Emit zeros (not the previous output) at masked
            steps.
        unroll: Steps per loop iteration (see `kerasrnn.ops.scan`), or `True`
            to unroll the whole sequence in Python.
        initial_output: Zeros shaped like one step's output; the output
            repeated at leading masked steps. Derived from one traced step when
            omitted.
        time_major: `inputs`, `mask` and the returned `outputs` have time as
            their first axis instead of batch.

    Returns:
        `(last_output, outputs, final_states)`; `outputs` is
        `(batch, timesteps, ...)`, or `(batch, 1, ...)` holding the last output
        when `return_sequences=False` (as Keras's backend `rnn` does).
    """
    xs = inputs if time_major else _time_major(inputs)
    if mask is not None:
        mask = ops.cast(mask, "bool")
        xs = (xs, ops.expand_dims(mask if time_major else ops.moveaxis(mask, 1, 0), -1))
    if go_backwards:
        xs = _flip_time(xs)
    states = tuple(initial_states)

    if mask is None:

        def body(carry, x_t):
            output, new_states = step(x_t, carry[:-1])
            return tuple(new_states) + (output,), output if return_sequences else None

    else:

        def body(carry, x_and_mask):
            x_t, m_t = x_and_mask
            old_states, prev_output = carry[:-1], carry[-1]
            output, new_states = step(x_t, old_states)
            new_states = tuple(
                ops.where(m_t, new, old) for new, old in zip(new_states, old_states)
            )
            fill = ops.zeros_like(output) if zero_output_for_mask else prev_output
            output = ops.where(m_t, output, fill)
            return new_states + (output,), output if return_sequences else None

    if initial_output is None:
        first = _first_step(xs)
        probe_output, _ = step(first[0] if mask is not None else first, states)
        initial_output = ops.zeros_like(probe_output)
    init = states + (initial_output,)
    carry, outputs = scan(body, init, xs, unroll=unroll)
    last_output = carry[-1]
    if outputs is None:
        outputs = ops.expand_dims(last_output, 0 if time_major else 1)
    elif not time_major:
        outputs = ops.moveaxis(outputs, 0, 1)
    return last_output, outputs, list(carry[:-1])


def _time_major(inputs):
    if isinstance(inputs, (tuple, list)):
        return tuple(ops.moveaxis(x, 1, 0) for x in inputs)
    return ops.moveaxis(inputs, 1, 0)


def _flip_time(xs):
    if isinstance(xs, tuple):
        return tuple(_flip_time(x) for x in xs)
    return ops.flip(xs, axis=0)


def _first_step(xs):
    if isinstance(xs, tuple):
        return tuple(_first_step(x) for x in xs)
    return xs[0]
