"""The first-order linear recurrence `h_t = a_t ⊙ h_{t-1} + b_t` by a parallel scan.

A linear recurrence composes associatively: applying step `(a_1, b_1)` then
step `(a_2, b_2)` is the single step `(a_1 a_2, a_2 b_1 + b_2)`. A parallel
prefix scan over that operator computes all `T` states in `2 log2(T)`
dependent rounds instead of `T`, with `O(T)` work in total (the odd-even
recursion of Blelloch 1990, also used by `jax.lax.associative_scan`):

1. combine neighbouring pairs `(0, 1), (2, 3), ...` into a sequence of half
   the length;
2. scan that sequence recursively: its results are the states at the odd
   positions `1, 3, 5, ...`;
3. one more combination gives the states at the even positions
   `2, 4, ...` from the odd ones before them.

Longer sequences are first cut into blocks of `BLOCK` (8) steps: each
block is combined one step at a time, all blocks at once; the blocks' totals
are scanned recursively; a last pass gives each step the total of the
blocks before its own. That takes `2 BLOCK + 2 log2(T / BLOCK)` rounds but
reads and writes each element a few times in all rather than a few times per
round, which is what a CPU is limited by (`benchmarks/parallel_rnn.py`
compares the forms). The gradient is written out: it is the same recurrence
run backwards (`g_t = ∂h_t + a_{t+1} g_{t+1}`), one more scan.

`keras.ops.associative_scan` implements the odd-even algorithm too, but on
the TensorFlow backend of Keras 3.15 it does not compile with
`jit_compile=True` and it fails on an axis of length 0 or 1
(keras-team/keras#22050). Here every round is a strided slice, an
element-wise product and an interleave with shapes known when the function
is traced, so it compiles under XLA and runs on every Keras backend. Where
the length of the time axis is unknown at trace time (a `None` dimension in
a TensorFlow graph) the same recurrence runs as a sequential loop
(`kerasrnn.ops.scan`).

`log_linear_scan` is the same scan for positive recurrences given in log
space, `log h_t = logaddexp(log a_t + log h_{t-1}, log b_t)`, the form Feng et
al. (2024) use to train minGRU and minLSTM stably.
"""

import keras
from keras import ops

from kerasrnn.ops.fused import custom_gradient
from kerasrnn.validation import ArgumentError
from kerasrnn.validation import check_bool
from kerasrnn.validation import is_int

__all__ = ["linear_scan", "log_linear_scan"]


def linear_scan(a, b, initial_state=None, mask=None, axis=1, reverse=False):
    """All states of `h_t = a_t ⊙ h_{t-1} + b_t` along `axis`, by a parallel scan.

    Args:
        a: Coefficients, broadcastable to the shape of `b`.
        b: Inputs of the recurrence, e.g. `(batch, timesteps, units)`.
        initial_state: Optional `h_{-1}`: the shape of `b` without `axis`
            (default zeros).
        mask: Optional boolean tensor whose shape is a leading part of the
            shape of `b` that includes `axis` (e.g. `(batch, timesteps)`, or
            `(timesteps, batch)` with `axis=0`). A masked step keeps the
            state: `a_t = 1`, `b_t = 0`.
        axis: The time axis of `b` (default 1).
        reverse: Run the recurrence from the last step to the first
            (`h_t = a_t ⊙ h_{t+1} + b_t`); the states keep the order of `b`.

    For a complex recurrence pass `a` and `b` (and `initial_state`) as
    `(real, imaginary)` pairs of real tensors; the states come back as such
    a pair. Complex arithmetic is done on the pairs, so no backend needs a
    complex dtype.

    Returns:
        `h` with the shape of `b`: `h[..., t, ...]` is the state after step `t`.
        An axis of length 0 gives an empty result.

    Example:

    >>> a = np.full((1, 4, 1), 0.5, "float32")
    >>> b = np.ones((1, 4, 1), "float32")
    >>> np.asarray(linear_scan(a, b))[0, :, 0]
    array([1.   , 1.5  , 1.75 , 1.875], dtype=float32)
    """
    is_complex = isinstance(b, (tuple, list))
    if is_complex:
        parts = _complex_parts("b", b)
        a_parts = _complex_parts("a", a)
        h0_parts = None if initial_state is None else _complex_parts("initial_state", initial_state)
        elems = [*a_parts, *parts]
        h0 = h0_parts
    else:
        elems = [a, b]
        h0 = None if initial_state is None else [initial_state]
    reverse = check_bool("reverse", reverse)
    b_first = ops.convert_to_tensor(elems[len(elems) // 2])
    axis = _check_axis(axis, len(b_first.shape))
    elems = [ops.convert_to_tensor(e, dtype=b_first.dtype) for e in elems]
    elems = [e if e.shape == b_first.shape else e + ops.zeros_like(b_first) for e in elems]
    out_shape = ops.shape(elems[-1])
    half = len(elems) // 2
    elems, time_mask, h0 = _to_time_major(elems, mask, h0, axis, reverse, b_first.shape)
    if time_mask is not None:
        one, zero = ops.ones_like(elems[0]), ops.zeros_like(elems[0])
        # a = 1 (its imaginary part 0), b = 0 on masked steps.
        fill = [one] + [zero] * (len(elems) - 1) if not is_complex else [one, zero, zero, zero]
        elems = [ops.where(time_mask, e, f) for e, f in zip(elems, fill)]
    length = elems[0].shape[0]
    if length == 0:
        states = elems[half:]
    else:
        if length is None:
            if h0 is not None:
                h0 = [ops.reshape(x, ops.shape(elems[0])[1:]) for x in h0]
            states = _sequential(elems + (h0 or []), half, log_space=False)
        elif is_complex:
            states = list(_complex_scan(*elems, *(h0 or [None, None])))
        else:
            states = [_real_scan(elems[0], elems[1], None if h0 is None else h0[0])]
    states = [_from_time_major(s, axis, reverse, out_shape) for s in states]
    return tuple(states) if is_complex else states[0]


def log_linear_scan(log_a, log_b, initial_state=None, mask=None, axis=1, reverse=False):
    """`linear_scan` of a positive recurrence given in log space.

    Computes `h_t = a_t ⊙ h_{t-1} + b_t` from `log a_t` and `log b_t`, the
    scan combining `(log a, log b)` pairs with `logaddexp`, so that long
    products of small `a_t` neither underflow nor lose precision (Feng et
    al. 2024, section 3.3). The initial state enters in linear space,
    `h_t = exp(log h^0_t) + (a_0 ⋯ a_t) ⊙ h_{-1}` with `h^0` the scan from a
    zero state, so it may be any real tensor (zero, or negative).

    Args:
        log_a: `log a_t`, broadcastable to the shape of `log_b`.
        log_b: `log b_t`. `-inf` (`b_t = 0`) is allowed.
        initial_state, mask, axis, reverse: As for `linear_scan`.

    Returns:
        `h` (in linear space), with the shape of `log_b`.

    Example:

    >>> log_a = np.log(np.full((1, 3, 1), 0.5, "float32"))
    >>> np.asarray(log_linear_scan(log_a, np.zeros((1, 3, 1), "float32")))[0, :, 0]
    array([1.  , 1.5 , 1.75], dtype=float32)
    """
    reverse = check_bool("reverse", reverse)
    log_b = ops.convert_to_tensor(log_b)
    axis = _check_axis(axis, len(log_b.shape))
    log_a = ops.convert_to_tensor(log_a, dtype=log_b.dtype)
    if log_a.shape != log_b.shape:
        log_a = log_a + ops.zeros_like(log_b)
    out_shape = ops.shape(log_b)
    h0 = None if initial_state is None else [initial_state]
    elems, time_mask, h0 = _to_time_major([log_a, log_b], mask, h0, axis, reverse, log_b.shape)
    log_a, log_b = elems
    floor = _log_floor(log_b.dtype)
    # A finite floor for log 0: logaddexp(-inf, -inf) would be NaN.
    log_b = ops.maximum(log_b, floor)
    if time_mask is not None:
        log_a = ops.where(time_mask, log_a, ops.zeros_like(log_a))
        log_b = ops.where(time_mask, log_b, ops.full_like(log_b, floor))
    length = log_b.shape[0]
    if length == 0:
        h = log_b
    elif length is None:
        h = _sequential([log_a, log_b, *(h0 or [])], 1, log_space=True)[0]
        h0 = None
    else:
        if h0 is not None:
            h0 = ops.reshape(ops.cast(h0[0], log_b.dtype), ops.shape(log_b)[1:])
        h = _log_scan(log_a, log_b, h0)
    return _from_time_major(h, axis, reverse, out_shape)


def _log_floor(dtype):
    # A quarter of the most negative value: sums of two floors stay finite.
    return float(-0.25 * _finfo_max(dtype))


def _finfo_max(dtype):
    dtype = keras.backend.standardize_dtype(dtype)
    return {"float16": 65504.0, "bfloat16": 3.389e38, "float32": 3.4028235e38}.get(dtype, 1.7976931348623157e308)


def _complex_parts(name, value):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ArgumentError(
            name, value, "a (real, imaginary) pair of tensors, as `b` is a pair (a complex recurrence)"
        )
    return list(value)


def _check_axis(axis, rank):
    if rank == 0:
        raise ArgumentError("b", "a scalar", "a tensor with a time axis (rank >= 1)")
    if not is_int(axis) or not -rank <= axis < rank:
        raise ArgumentError("axis", axis, f"an integer in [{-rank}, {rank - 1}] (the inputs have rank {rank})")
    return int(axis) % rank


def _to_time_major(elems, mask, h0, axis, reverse, shape):
    """Moves `axis` to the front and flattens the rest: `(T, N)` tensors."""
    rank = len(shape)
    time_mask = None
    if mask is not None:
        mask = ops.convert_to_tensor(mask)
        mshape = tuple(mask.shape)
        expected = tuple(shape[: max(len(mshape), axis + 1)])
        if not axis < len(mshape) <= rank or any(
            m is not None and e is not None and m != e for m, e in zip(mshape, expected)
        ):
            raise ArgumentError(
                "mask.shape", mshape,
                f"a leading part of the inputs' shape {tuple(shape)} that includes the time axis {axis}",
            )
        mask = ops.cast(mask, "bool")
        mask = ops.reshape(mask, tuple(ops.shape(mask)) + (1,) * (rank - len(mshape)))
        mask = ops.logical_and(mask, ops.ones(ops.shape(elems[-1]), "bool"))
    moved = [ops.moveaxis(e, axis, 0) if axis else e for e in elems]
    length = moved[0].shape[0]
    flat = [ops.reshape(e, (length if length is not None else -1, -1)) if length is not None else e for e in moved]
    if mask is not None:
        time_mask = ops.moveaxis(mask, axis, 0) if axis else mask
        if length is not None:
            time_mask = ops.reshape(time_mask, (length, -1))
    if reverse:
        flat = [ops.flip(e, axis=0) for e in flat]
        time_mask = None if time_mask is None else ops.flip(time_mask, axis=0)
    if h0 is not None:
        h0 = [ops.convert_to_tensor(s, dtype=flat[0].dtype) for s in h0]
        if length is not None:
            h0 = [ops.reshape(s, (-1,)) for s in h0]
    return flat, time_mask, h0


def _from_time_major(h, axis, reverse, out_shape):
    if reverse:
        h = ops.flip(h, axis=0)
    moved_shape = (out_shape[axis],) + tuple(s for i, s in enumerate(out_shape) if i != axis)
    h = ops.reshape(h, moved_shape)
    return ops.moveaxis(h, 0, axis) if axis else h


def _mul(x, y):
    """Complex product of `(real, imaginary)` pairs."""
    return [x[0] * y[0] - x[1] * y[1], x[0] * y[1] + x[1] * y[0]]


def _linear_combine_elems(earlier, later):
    a1, b1 = earlier
    a2, b2 = later
    return [a1 * a2, a2 * b1 + b2]


def _complex_combine_elems(earlier, later):
    a1, b1 = earlier[:2], earlier[2:]
    a2, b2 = later[:2], later[2:]
    a2b1 = _mul(a2, b1)
    return _mul(a1, a2) + [a2b1[0] + b2[0], a2b1[1] + b2[1]]


def _logaddexp(x, y):
    # The maximum carries no gradient, so the gradient splits evenly at ties
    # (`maximum + log1p(exp(-|x - y|))` would send it all to one side).
    m = ops.stop_gradient(ops.maximum(x, y))
    return m + ops.log(ops.exp(x - m) + ops.exp(y - m))


def _log_combine_elems(earlier, later):
    la1, lb1 = earlier
    la2, lb2 = later
    return [la1 + la2, _logaddexp(la2 + lb1, lb2)]


def _upstream(upstream):
    # TensorFlow passes one gradient per output; JAX may pass them as a tuple.
    # (On PyTorch, `custom_gradient` passes one per output too; Keras's own
    # `ops.custom_gradient` would pass the inputs instead, with the gradient
    # as a keyword, and only one output's.)
    if len(upstream) == 1 and isinstance(upstream[0], (tuple, list)):
        upstream = tuple(upstream[0])
    return upstream[0]


def _adjoint(a, d_h):
    """The gradient `g` of the loss with respect to every `b_t`:
    `g_t = d_h_t + a_{t+1} ⊙ g_{t+1}`, itself a linear recurrence run
    backwards."""
    a_next = ops.concatenate([a[1:], ops.zeros_like(a[:1])], axis=0)
    g = _scan(_linear_combine_elems, [ops.flip(a_next, axis=0), ops.flip(d_h, axis=0)])[1]
    return ops.flip(g, axis=0)


def _real_scan(a, b, h0):
    """`h_t = a_t h_{t-1} + b_t` over axis 0 of `(T, N)` tensors (T >= 1),
    with the backward pass written out: one reverse scan for the gradient
    of `b` and element-wise products for the others, instead of
    differentiating every round of the forward scan (which also stores it)."""
    if h0 is None:
        h0 = ops.zeros_like(b[0])

    @custom_gradient
    def run(a, b, h0):
        b_first = b[:1] + a[:1] * ops.expand_dims(h0, 0)
        h = _scan(_linear_combine_elems, [a, ops.concatenate([b_first, b[1:]], axis=0)])[1]

        def grad(*upstream, **unused):
            g = _adjoint(a, _upstream(upstream))
            h_prev = ops.concatenate([ops.expand_dims(h0, 0), h[:-1]], axis=0)
            return g * h_prev, g, a[0] * g[0]

        return h, grad

    return run(a, b, h0)


def _complex_scan(a_re, a_im, b_re, b_im, h0_re, h0_im):
    """`_real_scan` of a complex recurrence held as `(real, imaginary)`
    parts. For a real loss with gradient `g = ∂L/∂Re h + i ∂L/∂Im h`, the
    adjoint recurrence is `g_t = ∂h_t + conj(a_{t+1}) g_{t+1}`, and
    `∂a_t = g_t conj(h_{t-1})`, `∂b_t = g_t`, `∂h_{-1} = conj(a_0) g_0`."""
    if h0_re is None:
        h0_re = h0_im = ops.zeros_like(b_re[0])

    @custom_gradient
    def run(a_re, a_im, b_re, b_im, h0_re, h0_im):
        a = [a_re, a_im]
        h0 = [ops.expand_dims(h0_re, 0), ops.expand_dims(h0_im, 0)]
        ah0 = _mul([a_re[:1], a_im[:1]], h0)
        b = [ops.concatenate([x + y[:1], y[1:]], axis=0) for x, y in zip(ah0, (b_re, b_im))]
        h = _scan(_complex_combine_elems, a + b)[2:]

        def grad(*upstream, **unused):
            upstream = _upstream_all(upstream, 2)
            conj_next = [ops.concatenate([x[1:], ops.zeros_like(x[:1])], axis=0) for x in (a_re, -a_im)]
            flip = lambda x: ops.flip(x, axis=0)  # noqa: E731
            g = _scan(_complex_combine_elems, [flip(x) for x in conj_next + list(upstream)])[2:]
            g = [flip(x) for x in g]
            h_prev = [ops.concatenate([h0_k, h_k[:-1]], axis=0) for h0_k, h_k in zip(h0, h)]
            d_a = _mul(g, [h_prev[0], -h_prev[1]])
            d_h0 = _mul([a_re[0], -a_im[0]], [g[0][0], g[1][0]])
            return (*d_a, *g, *d_h0)

        return tuple(h), grad

    return run(a_re, a_im, b_re, b_im, h0_re, h0_im)


def _upstream_all(upstream, count):
    if len(upstream) == 1 and isinstance(upstream[0], (tuple, list)):
        upstream = tuple(upstream[0])
    return [ops.zeros_like(u) if u is None else u for u in upstream[:count]]


def _log_scan(log_a, log_b, h0):
    """`log_linear_scan` over axis 0 of `(T, N)` tensors (T >= 1): the
    forward scan in log space, its gradient in linear space (the adjoint
    recurrence has coefficients `a_t <= 1` in minGRU and minLSTM, and is the
    same recurrence in any case)."""
    with_h0 = h0 is not None
    if h0 is None:
        h0 = ops.zeros_like(log_b[0])

    @custom_gradient
    def run(log_a, log_b, h0):
        cum_log_a, log_h = _scan(_log_combine_elems, [log_a, log_b])
        h = ops.exp(log_h)
        if with_h0:
            h = h + ops.exp(cum_log_a) * ops.expand_dims(h0, 0)

        def grad(*upstream, **unused):
            a = ops.exp(log_a)
            g = _adjoint(a, _upstream(upstream))
            h_prev = ops.concatenate([ops.expand_dims(h0, 0), h[:-1]], axis=0)
            return g * a * h_prev, g * ops.exp(log_b), a[0] * g[0]

        return h, grad

    return run(log_a, log_b, h0)


#: Steps per block of `_scan`'s first and last rounds.
BLOCK = 8


def _scan(combine, elems):
    """Inclusive scan of `elems` (a list of `(T, N)` tensors) along axis 0.

    Blocks of `BLOCK` steps are first combined one step at a time, all blocks
    at once (each operation on `T / BLOCK` rows); the blocks' totals are
    scanned recursively; a last pass over each block adds the total of the
    blocks before it. The depth is `2 BLOCK + 2 log2(T / BLOCK)` instead of
    `2 log2 T`, and every element is read and written a few times instead
    of a few times per round, which is what a CPU is limited by. Sequences
    up to `2 BLOCK` steps take the odd-even recursion directly.
    """
    n = elems[0].shape[0]
    if n <= 2 * BLOCK:
        return _odd_even_scan(combine, elems)
    blocks, main = n // BLOCK, (n // BLOCK) * BLOCK
    grid = [ops.reshape(e[:main], (blocks, BLOCK, -1)) for e in elems]
    # Step l of every block: prefix within its block.
    within = [[g[:, 0] for g in grid]]
    for step in range(1, BLOCK):
        within.append(combine(within[-1], [g[:, step] for g in grid]))
    totals = _scan(combine, within[-1])
    before = [t[:-1] for t in totals]  # the scan up to the end of block c - 1
    columns = [
        [ops.concatenate([w[:1], f], axis=0) for w, f in zip(col, combine(before, [w[1:] for w in col]))]
        for col in within[:-1]
    ] + [totals]
    out = [ops.reshape(ops.stack([col[k] for col in columns], axis=1), (main, -1)) for k in range(len(elems))]
    # The last n - main steps, one at a time from the last total.
    state = [t[-1:] for t in totals]
    tail = []
    for step in range(main, n):
        state = combine(state, [e[step : step + 1] for e in elems])
        tail.append(state)
    if tail:
        out = [ops.concatenate([o] + [t[k] for t in tail], axis=0) for k, o in enumerate(out)]
    return out


def _odd_even_scan(combine, elems):
    """Inclusive scan of `elems` (a list of `(T, N)` tensors) along axis 0 by
    the odd-even recursion."""
    n = elems[0].shape[0]
    if n < 2:
        return elems
    # Pairs (0, 1), (2, 3), ...: their scan gives the odd positions.
    odd = _odd_even_scan(combine, combine([e[0 : n - 1 : 2] for e in elems], [e[1::2] for e in elems]))
    n_odd = n // 2
    n_even = (n + 1) // 2
    if n_even > 1:
        # Even positions 2, 4, ...: the odd state before them, then their step.
        prev = odd if n % 2 else [o[:-1] for o in odd]
        even = combine(prev, [e[2::2] for e in elems])
        even = [ops.concatenate([e[:1], ev], axis=0) for e, ev in zip(elems, even)]
    else:
        even = [e[:1] for e in elems]
    out = []
    for ev, od in zip(even, odd):
        pairs = ops.stack([ev[:n_odd], od], axis=1)
        merged = ops.reshape(pairs, (2 * n_odd, -1))
        if n_even > n_odd:
            merged = ops.concatenate([merged, ev[n_odd:]], axis=0)
        out.append(merged)
    return out


def _sequential(elems, half, log_space):
    """The recurrence as a sequential loop (time axis of unknown length).

    `kerasrnn.ops.scan` runs its first step outside its loop, which fails on
    a time axis that turns out to be empty; so the loop starts with one extra
    step that leaves the state as it is (`a = 1, b = 0`), whose output is
    dropped.
    """
    from kerasrnn.ops.scan import scan

    def pad(e, value):
        # A `(1, ...)` step of zeros from a time axis that may be empty.
        zeros = ops.sum(ops.zeros_like(e[:1]), axis=0, keepdims=True)
        return ops.concatenate([zeros + value, e], axis=0)

    identity = [1.0, 0.0, 0.0, 0.0] if half == 2 else [1.0, 0.0]
    if log_space:
        identity = [0.0, _log_floor(elems[1].dtype)]
    elems = [pad(e, v) for e, v in zip(elems, identity)] + list(elems[len(identity):])
    a, b = elems[:half], elems[half : 2 * half]

    if log_space:
        log_a, log_b = elems[0], elems[1]
        h0 = elems[2] if len(elems) > 2 else None

        def step(h, x):
            la, lb = x
            h = ops.exp(la) * h + ops.exp(lb)
            return h, h

        init = ops.zeros_like(log_b[0]) if h0 is None else ops.reshape(
            ops.cast(h0, log_b.dtype), ops.shape(log_b[0])
        )
        _, h = scan(step, init, (log_a, log_b))
        return [h[1:]]

    def step(h, x):
        a_t, b_t = x[:half], x[half:]
        if half == 2:
            ah = _mul(a_t, h)
        else:
            ah = [a_t[0] * h[0]]
        h = [p + q for p, q in zip(ah, b_t)]
        return h, h

    h0 = elems[2 * half :]
    b = b[:half]
    init = [ops.zeros_like(e[0]) for e in b] if not h0 else [ops.cast(x, b[0].dtype) for x in h0]
    _, h = scan(step, init, [*a, *b])
    return [x[1:] for x in h]

