"""`kerasrnn.ops.linear_scan` / `log_linear_scan`: against a NumPy loop
(values and gradients, masks, initial state, reverse, complex pairs, lengths
0, 1 and odd), under XLA, with a time axis of unknown length, bad input."""

import numpy as np
import pytest
import tensorflow as tf

from kerasrnn.ops import linear_scan
from kerasrnn.ops import log_linear_scan
from kerasrnn.validation import ArgumentError

ATOL = 1e-5


def _reference(a, b, h0, mask, reverse, d_h):
    """`h_t = a_t h_{t-1} + b_t` along axis 1 and its gradients for the loss
    `sum(h * d_h)`, by loops (the adjoint recurrence run backwards)."""
    a, b = np.broadcast_to(a, b.shape).astype("float64"), b.astype("float64")
    if mask is not None:
        a = np.where(mask[..., None], a, 1.0)
        b = np.where(mask[..., None], b, 0.0)
    order = list(range(b.shape[1]))[::-1] if reverse else list(range(b.shape[1]))
    h = np.zeros_like(b)
    prev, h_prev = h0.astype("float64"), np.zeros_like(b)
    for t in order:
        h_prev[:, t] = prev
        prev = h[:, t] = a[:, t] * prev + b[:, t]
    g, carry, d_a_next = np.zeros_like(b), 0.0, np.zeros(h0.shape)
    for t in order[::-1]:
        carry = g[:, t] = d_h[:, t] + d_a_next * carry
        d_a_next = a[:, t]
    d_h0 = a[:, order[0]] * g[:, order[0]] if order else np.zeros_like(h0)
    d_a, d_b = g * h_prev, g
    if mask is not None:
        d_a, d_b = d_a * mask[..., None], d_b * mask[..., None]
    return h, d_a, d_b, d_h0


def _data(length, seed=0):
    rng = np.random.RandomState(seed)
    a = rng.uniform(0.2, 1.0, (2, length, 3)).astype("float32")
    b = rng.randn(2, length, 3).astype("float32")
    h0 = rng.randn(2, 3).astype("float32")
    mask = rng.rand(2, length) > 0.3
    d_h = rng.randn(2, length, 3).astype("float32")
    return a, b, h0, mask, d_h


@pytest.mark.parametrize("length", [0, 1, 2, 5, 8, 37])
def test_matches_numpy_loop_with_gradients(length):
    a, b, h0, mask, d_h = _data(length)
    for reverse in (False, True):
        for m in (None, mask):
            for log_space in (False, True):
                name = f"reverse={reverse} mask={m is not None} log_space={log_space}"
                # The log-space form of a positive recurrence: log b given.
                b_in = np.log(np.abs(b) + 0.1) if log_space else b
                h_want, d_a_want, d_b_want, d_h0_want = _reference(
                    a, np.exp(b_in) if log_space else b, h0, m, reverse, d_h
                )
                args = [tf.constant(x) for x in (a, b_in, h0)]
                with tf.GradientTape() as tape:
                    tape.watch(args)
                    if log_space:
                        h = log_linear_scan(tf.math.log(args[0]), args[1], args[2], m, reverse=reverse)
                    else:
                        h = linear_scan(*args, mask=m, reverse=reverse)
                    loss = tf.reduce_sum(d_h * h)
                np.testing.assert_allclose(h, h_want, atol=ATOL, err_msg=name)
                if length == 0:
                    continue
                d_a, d_b, d_h0 = tape.gradient(loss, args)
                if log_space:
                    d_b_want = d_b_want * np.exp(b_in)  # d/d(log b) = b d/db
                np.testing.assert_allclose(d_a, d_a_want, atol=ATOL, err_msg=name)
                np.testing.assert_allclose(d_b, d_b_want, atol=ATOL, err_msg=name)
                np.testing.assert_allclose(d_h0, d_h0_want, atol=ATOL, err_msg=name)


def test_complex_pairs_match_numpy_complex_loop_with_gradients():
    rng = np.random.RandomState(1)
    shape = (2, 21, 3)  # longer than two blocks of the scan
    a = 0.9 * np.exp(1j * rng.uniform(0, np.pi, shape))
    b = rng.randn(*shape) + 1j * rng.randn(*shape)
    h0 = rng.randn(2, 3) + 1j * rng.randn(2, 3)
    mask = rng.rand(2, 21) > 0.3
    h, want = h0, np.zeros(shape, complex)
    for t in range(21):
        h = np.where(mask[:, t, None], a[:, t] * h + b[:, t], h)
        want[:, t] = h
    parts = [tf.constant(x.astype("float32")) for z in (a, b, h0) for x in (z.real, z.imag)]
    weights = [tf.constant(rng.randn(*shape).astype("float32")) for _ in range(2)]

    def loop(a_re, a_im, b_re, b_im, h_re, h_im):
        """The recurrence step by step in real arithmetic (gradients by autodiff)."""
        outputs = []
        for t in range(21):
            keep = mask[:, t, None]
            new_re = a_re[:, t] * h_re - a_im[:, t] * h_im + b_re[:, t]
            new_im = a_re[:, t] * h_im + a_im[:, t] * h_re + b_im[:, t]
            h_re, h_im = tf.where(keep, new_re, h_re), tf.where(keep, new_im, h_im)
            outputs.append((h_re, h_im))
        return tf.stack([o[0] for o in outputs], 1), tf.stack([o[1] for o in outputs], 1)

    results = []
    for fn in (lambda *p: linear_scan(p[0:2], p[2:4], p[4:6], mask), loop):
        with tf.GradientTape() as tape:
            tape.watch(parts)
            real, imag = fn(*parts)
            loss = tf.reduce_sum(weights[0] * real) + tf.reduce_sum(weights[1] * imag)
        results.append(((real, imag), tape.gradient(loss, parts)))
    (real, imag), grads = results[0]
    np.testing.assert_allclose(np.asarray(real) + 1j * np.asarray(imag), want, atol=ATOL)
    for got, expected in zip(grads, results[1][1]):
        np.testing.assert_allclose(got, expected, atol=ATOL)


def test_long_positive_recurrence_in_log_space_is_exact():
    """4096 steps of a in (0, 1): the log-space and linear scans agree with a
    float64 loop (no underflow of the products of a)."""
    rng = np.random.RandomState(2)
    a = rng.uniform(0.5, 1.0, (1, 4096, 2))
    b = rng.uniform(0.0, 1.0, (1, 4096, 2))
    want = _reference(a, b, np.zeros((1, 2)), None, False, np.zeros_like(b))[0]
    for got in (linear_scan(a.astype("float32"), b.astype("float32")),
                log_linear_scan(np.log(a).astype("float32"), np.log(b).astype("float32"))):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_under_xla_and_with_unknown_length():
    a, b, h0, mask, d_h = _data(6, seed=3)
    want = _reference(a, b, h0, mask, False, d_h)
    d_h = tf.constant(d_h)

    def loss_and_grads(a_, b_, h0_, m_):
        with tf.GradientTape() as tape:
            tape.watch([a_, b_, h0_])
            h = linear_scan(a_, b_, h0_, m_)
            loss = tf.reduce_sum(d_h[:, : tf.shape(a_)[1]] * h)
        return h, tape.gradient(loss, [a_, b_, h0_])

    xla = tf.function(loss_and_grads, jit_compile=True)
    spec = [tf.TensorSpec([2, None, 3]), tf.TensorSpec([2, None, 3]), tf.TensorSpec([2, 3]),
            tf.TensorSpec([2, None], tf.bool)]
    dynamic = tf.function(loss_and_grads, input_signature=spec)
    for fn in (xla, dynamic):
        h, (d_a, d_b, d_h0) = fn(*(tf.constant(x) for x in (a, b, h0, mask)))
        for got, expected in zip((h, d_a, d_b, d_h0), want):
            np.testing.assert_allclose(got, expected, atol=ATOL)
    # Unknown length that turns out to be 0 or 1; the log-space form too.
    for length in (0, 1):
        a, b, h0, mask, _ = _data(length, seed=4)
        h, _ = dynamic(*(tf.constant(x) for x in (a, b, h0, mask)))
        np.testing.assert_allclose(h, _reference(a, b, h0, mask, False, b)[0], atol=ATOL)
    log_fn = tf.function(lambda la, lb: log_linear_scan(la, lb, axis=0), input_signature=[tf.TensorSpec([None, 2])] * 2)
    np.testing.assert_allclose(log_fn(np.log([[0.5, 0.5]] * 3).astype("float32"), np.zeros((3, 2), "float32")),
                               [[1, 1], [1.5, 1.5], [1.75, 1.75]], atol=ATOL)


def test_time_axis_and_broadcast_coefficients():
    rng = np.random.RandomState(5)
    b = rng.randn(4, 2, 3).astype("float32")  # time-major
    a = np.float32(0.5)
    got = linear_scan(a, b, axis=0)
    bt = b.transpose(1, 0, 2)
    want = _reference(np.full((2, 4, 3), 0.5), bt, np.zeros((2, 3)), None, False, bt)[0]
    np.testing.assert_allclose(got, want.transpose(1, 0, 2), atol=ATOL)
    np.testing.assert_allclose(linear_scan(a, b, axis=-3), got, atol=ATOL)


def test_bad_arguments_name_argument_and_value():
    b = np.zeros((2, 5, 3), "float32")
    with pytest.raises(ArgumentError, match=r"`mask.shape` must be .*\(2, 5, 3\).*Received: mask.shape=\(2, 4\)"):
        linear_scan(b, b, mask=np.ones((2, 4), bool))
    with pytest.raises(ArgumentError, match=r"`axis` must be an integer in \[-3, 2\].*Received: axis=3"):
        linear_scan(b, b, axis=3)
    with pytest.raises(ArgumentError, match="Received: axis=1.5"):
        log_linear_scan(b, b, axis=1.5)
    with pytest.raises(ArgumentError, match="`reverse` must be a boolean"):
        linear_scan(b, b, reverse="yes")
    with pytest.raises(ArgumentError, match="`a` must be a \\(real, imaginary\\) pair"):
        linear_scan(b, (b, b))
    with pytest.raises(ArgumentError, match="`b` must be a tensor with a time axis"):
        linear_scan(np.float32(1), np.float32(1))
