"""A `scan` loop primitive for recurrences, with partial unrolling.

`keras.ops.scan` is the right primitive on JAX (it is `jax.lax.scan`). On the
TensorFlow backend of Keras 3.15 it builds the stacked outputs with the
*carry's* shapes and dtypes (so `ys` must mirror the carry) and round-trips the
carry through a `TensorArray` at every step. Recurrent layers need outputs that
differ from their state (an LSTM carries `(h, c)` and emits `h`), so this module
provides the same contract with a lean TensorFlow implementation: inputs and
outputs in `TensorArray`s, the carry as plain loop variables, and `unroll`
steps per loop iteration. Other backends use `keras.ops.scan` unchanged.

Inside `export_loops(target)` the TensorFlow loop takes instead the form a
converter reads (TFLite's builtin ops, or tf2onnx's ONNX `Loop`): one step
per iteration, written in iteration order.
"""

import contextlib
import threading

import keras
from keras import ops
from keras import tree

from kerasrnn.validation import ArgumentError
from kerasrnn.validation import check_choice
from kerasrnn.validation import is_int

#: Converters `export_loops` shapes the TensorFlow loop for.
EXPORT_TARGETS = ("onnx", "tflite")

_export = threading.local()


@contextlib.contextmanager
def export_loops(target):
    """Traces kerasrnn's TensorFlow loops in a form `target`'s converter takes.

    The default TensorFlow loop (`scan`) is shaped for speed: step 0 runs
    before the loop, several steps run per iteration, and a reverse scan
    writes its outputs back to front. Converters read while loops by
    pattern, and that form matches neither tf2onnx's (one write per
    iteration, in iteration order, into a fresh `TensorArray`) nor TFLite's
    builtin ops (a `TensorArray` lowers to builtins only when its element
    shape, the batch size included, is static). Inside this context every
    loop `scan` traces on the TensorFlow backend takes the converter's form:
    one step per iteration, inputs read with `gather`, and the outputs
    written

    * `"onnx"`: into a `TensorArray` at the iteration index (tf2onnx turns
      it into the scan output of an ONNX `Loop`);
    * `"tflite"`: into a preallocated tensor with `dynamic_update_slice`
      (TFLite's `WHILE`, `GATHER` and `DYNAMIC_UPDATE_SLICE` builtins, with
      a dynamic batch size).

    Both compute the same numbers as the default loop. Loops already traced
    (a `tf.function` called before) keep their form; on other backends the
    context changes nothing. `kerasrnn.export.export_onnx` and
    `export_tflite` enter it for you; use it directly around another
    exporter, e.g. `model.export(path, format="onnx")`.

    Args:
        target: `"onnx"` or `"tflite"`.

    Example:

    >>> with kerasrnn.ops.export_loops("onnx"):
    ...     model.export("model.onnx", format="onnx")
    """
    check_choice("target", target, EXPORT_TARGETS)
    previous = getattr(_export, "target", None)
    _export.target = target
    try:
        yield
    finally:
        _export.target = previous


def export_target():
    """The target of the innermost `export_loops` context, or `None`."""
    return getattr(_export, "target", None)


def scan(f, init, xs, unroll=1, reverse=False, differentiable=True, stack=None):
    """Loops `f` over the leading axis of `xs`, threading a carry.

    Args:
        f: Callable `(carry, x) -> (carry, y)`. `y` may be `None`.
        init: Initial carry (a tensor or a nested structure of tensors).
        xs: Tensor or nested structure of tensors, scanned along axis 0.
        unroll: Positive integer; loop iterations each run this many steps of
            `f` (the remainder runs after the loop). `True` unrolls fully.
        reverse: Scan from the last element to the first; `ys` keeps the
            order of `xs` (`ys[t]` is the output for `xs[t]`).
        differentiable: Whether gradients will flow through the loop. When
            `False` (a loop inside a custom gradient), steps read `xs[t]`
            directly instead of first copying `xs` into per-step buffers.
            Such a loop also accepts, among `xs`, per-step buffers returned
            unstacked by another `scan` (see `stack`) and reads them in place.
        stack: Optional sequence of booleans, one per flattened `y`: `False`
            leaves that output unstacked on TensorFlow (its `TensorArray` of
            per-step tensors, for a later non-differentiable `scan` to read
            without a copy). Other backends and unrolled loops always stack.

    Returns:
        `(final_carry, ys)` where `ys` stacks the per-step `y` along axis 0, or
        is `None` when `f` returns `None` for `y`.
    """
    if isinstance(unroll, bool):
        unroll = 0 if unroll else 1  # 0: unroll fully (internal)
    elif is_int(unroll) and unroll >= 1:
        unroll = int(unroll)
    else:
        raise ArgumentError("unroll", unroll, "a positive integer or a boolean")
    xs_flat = tree.flatten(xs)
    if not differentiable and _any_buffer(xs_flat):
        # Unstacked buffers exist only on TensorFlow: read them in its loop.
        return _tf_scan(f, init, xs, unroll or 1, reverse, differentiable, stack)
    length = xs_flat[0].shape[0]
    if not is_int(length):
        # `None`, or a symbolic dimension (JAX's export traces a dynamic
        # length as one; comparing it with a number is inconclusive).
        length = None
    if unroll == 0 or (length is not None and length <= max(unroll, 1) and unroll > 1):
        if length is None:
            raise ValueError(
                "Cannot unroll a loop over a sequence whose length is unknown. "
                f"Received: xs with shape {xs_flat[0].shape}"
            )
        return _python_scan(f, init, xs, length, reverse)
    if keras.backend.backend() == "tensorflow":
        target = export_target()
        if target is not None:
            return _tf_export_scan(f, init, xs, reverse, target)
        return _tf_scan(f, init, xs, unroll, reverse, differentiable, stack)
    if length is None:
        # `jax.lax.scan` cannot split a symbolic length into unrolled blocks
        # and a remainder (JAX's export traces a dynamic length so).
        unroll = 1
    return _generic_scan(f, init, xs, unroll, reverse)


def _python_scan(f, init, xs, length, reverse):
    carry, ys = init, [None] * length
    for t in reversed(range(length)) if reverse else range(length):
        carry, ys[t] = f(carry, tree.map_structure(lambda x: x[t], xs))
    if ys[0] is None:
        return carry, None
    return carry, tree.map_structure(lambda *s: ops.stack(s, axis=0), *ys)


def _generic_scan(f, init, xs, unroll, reverse):
    if reverse:
        flip = lambda x: ops.flip(x, axis=0)  # noqa: E731
        carry, ys = _generic_scan(f, init, tree.map_structure(flip, xs), unroll, False)
        return carry, None if ys is None else tree.map_structure(flip, ys)
    # keras.ops.scan needs a `y` for every step; emit a dummy when f has none.
    probe_carry, probe_y = f(init, tree.map_structure(lambda x: x[0], xs))
    del probe_carry
    if probe_y is None:

        def g(carry, x):
            carry, _ = f(carry, x)
            return carry, ops.zeros((), dtype="int32")

        carry, _ = ops.scan(g, init, xs, unroll=unroll)
        return carry, None
    return ops.scan(f, init, xs, unroll=unroll)


def _any_buffer(xs_flat):
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return any(isinstance(x, tf.TensorArray) for x in xs_flat)


def _tf_scan(f, init, xs, unroll, reverse, differentiable, stack=None):
    import tensorflow as tf

    xs_flat = [x if isinstance(x, tf.TensorArray) else tf.convert_to_tensor(x) for x in tree.flatten(xs)]
    # The length comes from the tensors (buffers, if any, match it).
    first = next((x for x in xs_flat if not isinstance(x, tf.TensorArray)), None)
    if first is None:
        length = xs_flat[0].size()
        static_length = tf.get_static_value(length)
    else:
        static_length = first.shape[0]
        length = static_length if static_length is not None else tf.shape(first)[0]

    def index(t):
        return length - 1 - t if reverse else t

    if differentiable:
        # The gradient of a TensorArray read is cheap; that of a slice of a
        # loop-invariant tensor would materialise a full-size zero tensor.
        x_arrays = [
            tf.TensorArray(x.dtype, size=length, element_shape=x.shape[1:]).unstack(x)
            for x in xs_flat
        ]

        def read(t):
            return tree.pack_sequence_as(xs, [ta.read(index(t)) for ta in x_arrays])

    else:

        def read(t):
            # A strided slice of the leading axis (unlike `tf.gather`, no
            # copy), or the step's tensor of an unstacked buffer.
            i = index(t)
            return tree.pack_sequence_as(
                xs, [x.read(i) if isinstance(x, tf.TensorArray) else x[i] for x in xs_flat]
            )

    # Step 0 runs outside the loop: it fixes the structure, dtypes and shapes
    # of `y`, which the output TensorArrays need.
    carry, y0 = f(init, read(0))
    carry_struct = carry
    carry_flat = tuple(tf.convert_to_tensor(c) for c in tree.flatten(carry))
    has_ys = y0 is not None
    y_flat0 = tree.flatten(y0) if has_ys else []
    y_arrays = tuple(
        tf.TensorArray(y.dtype, size=length, element_shape=y.shape).write(index(0), y)
        for y in y_flat0
    )

    def run_steps(t, carry_flat, y_arrays, count):
        carry = tree.pack_sequence_as(carry_struct, list(carry_flat))
        for k in range(count):
            carry, y = f(carry, read(t + k))
            if has_ys:
                y_arrays = tuple(
                    ta.write(index(t + k), v) for ta, v in zip(y_arrays, tree.flatten(y))
                )
        new_flat = tuple(tf.convert_to_tensor(c) for c in tree.flatten(carry))
        # Keep the loop-carried shapes stable where a step lost static dims.
        new_flat = tuple(
            n if n.shape == o.shape else tf.ensure_shape(n, o.shape)
            for n, o in zip(new_flat, carry_flat)
        )
        return new_flat, y_arrays

    steps = length - 1
    blocks = steps // unroll

    def body(i, carry_flat, y_arrays):
        carry_flat, y_arrays = run_steps(1 + i * unroll, carry_flat, y_arrays, unroll)
        return i + 1, carry_flat, y_arrays

    _, carry_flat, y_arrays = tf.while_loop(
        lambda i, *_: i < blocks,
        body,
        (tf.constant(0), carry_flat, y_arrays),
        maximum_iterations=blocks,
    )
    if unroll > 1:
        start = 1 + blocks * unroll
        if static_length is not None:
            carry_flat, y_arrays = run_steps(start, carry_flat, y_arrays, steps % unroll)
        else:
            # Remainder of a dynamic length: one step per iteration.
            def tail(i, carry_flat, y_arrays):
                carry_flat, y_arrays = run_steps(i, carry_flat, y_arrays, 1)
                return i + 1, carry_flat, y_arrays

            _, carry_flat, y_arrays = tf.while_loop(
                lambda i, *_: i < length, tail, (start, carry_flat, y_arrays)
            )
    carry = tree.pack_sequence_as(carry_struct, list(carry_flat))
    if not has_ys:
        return carry, None
    ys_flat = []
    for k, ta in enumerate(y_arrays):
        if stack is not None and not stack[k]:
            # Its reader may never come (the backward pass of a gradient
            # nobody takes); unread, TensorFlow would log "Object was never
            # used" when the buffer is collected.
            mark_used = getattr(ta, "mark_used", None)
            if mark_used is not None:
                mark_used()
            ys_flat.append(ta)
            continue
        stacked = ta.stack()
        stacked.set_shape(tf.TensorShape([static_length]).concatenate(stacked.shape[1:]))
        ys_flat.append(stacked)
    return carry, tree.pack_sequence_as(y0, ys_flat)


def _tf_export_scan(f, init, xs, reverse, target):
    """`scan` in the form a converter reads (see `export_loops`)."""
    import tensorflow as tf

    xs_flat = [tf.convert_to_tensor(x) for x in tree.flatten(xs)]
    if reverse:
        # Reversed inputs and outputs rather than indices counting down:
        # tf2onnx appends a loop's writes in iteration order, whatever index
        # they name.
        xs_flat = [tf.reverse(x, [0]) for x in xs_flat]
    static_length = xs_flat[0].shape[0]
    length = static_length if static_length is not None else tf.shape(xs_flat[0])[0]

    def read(t):
        return tree.pack_sequence_as(xs, [tf.gather(x, t) for x in xs_flat])

    # Step 0 runs outside the loop, fixing the structure, dtypes and shapes
    # of the carry and `y`.
    carry, y0 = f(init, read(0))
    carry_struct = carry
    carry_flat = tuple(tf.convert_to_tensor(c) for c in tree.flatten(carry))
    y_flat0 = [] if y0 is None else [tf.convert_to_tensor(y) for y in tree.flatten(y0)]
    if target == "onnx":
        outputs = tuple(
            tf.TensorArray(y.dtype, size=length - 1, element_shape=y.shape) for y in y_flat0
        )
    else:
        outputs = tuple(
            _dynamic_update_slice(
                tf.zeros(tf.concat([[length], tf.shape(y)], 0), y.dtype), y, 0
            )
            for y in y_flat0
        )

    def body(i, carry_flat, outputs):
        carry, y = f(tree.pack_sequence_as(carry_struct, list(carry_flat)), read(i + 1))
        new_flat = tuple(tf.convert_to_tensor(c) for c in tree.flatten(carry))
        new_flat = tuple(
            n if n.shape == o.shape else tf.ensure_shape(n, o.shape)
            for n, o in zip(new_flat, carry_flat)
        )
        if target == "onnx":
            outputs = tuple(ta.write(i, v) for ta, v in zip(outputs, tree.flatten(y)))
        else:
            outputs = tuple(
                _dynamic_update_slice(buf, v, i + 1) for buf, v in zip(outputs, tree.flatten(y))
            )
        return i + 1, new_flat, outputs

    _, carry_flat, outputs = tf.while_loop(
        lambda i, *_: i < length - 1,
        body,
        (tf.constant(0), carry_flat, outputs),
        maximum_iterations=length - 1,
    )
    carry = tree.pack_sequence_as(carry_struct, list(carry_flat))
    if y0 is None:
        return carry, None
    ys_flat = []
    for y, out in zip(y_flat0, outputs):
        if target == "onnx":
            out = tf.concat([y[None], out.stack()], 0)
        out = tf.ensure_shape(out, tf.TensorShape([static_length]).concatenate(y.shape))
        if reverse:
            out = tf.reverse(out, [0])
        ys_flat.append(out)
    return carry, tree.pack_sequence_as(y0, ys_flat)


def _dynamic_update_slice(buffer, update, t):
    """`buffer` with `update` written at index `t` of its leading axis."""
    return ops.slice_update(buffer, [t] + [0] * len(update.shape), ops.expand_dims(update, 0))
