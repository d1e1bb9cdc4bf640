"""`kerasrnn.ops.scan`: against Python loops, dynamic lengths, gradients,
reverse order, per-step buffers."""

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from kerasrnn.ops import scan


def _cumulative(carry, x):
    total, count = carry
    total = total + x
    return (total, count + 1.0), total * 2.0


@pytest.mark.parametrize("unroll", [1, 2, 3, 7, True])
def test_scan_matches_python_loop(unroll):
    xs = np.arange(14, dtype="float32").reshape(7, 2)
    (total, count), ys = scan(_cumulative, (np.zeros(2, "float32"), np.float32(0)), xs, unroll=unroll)
    np.testing.assert_allclose(total, xs.sum(0))
    assert float(count) == 7.0
    np.testing.assert_allclose(ys, 2 * np.cumsum(xs, axis=0))


@pytest.mark.parametrize("unroll", [1, 3])
def test_scan_dynamic_length_in_graph(unroll):
    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
    def run(xs):
        return scan(_cumulative, (tf.zeros(2), tf.constant(0.0)), xs, unroll=unroll)

    for length in (1, 4, 5):
        xs = np.random.RandomState(length).randn(length, 2).astype("float32")
        (total, count), ys = run(xs)
        np.testing.assert_allclose(total, xs.sum(0), rtol=1e-6, atol=1e-6)
        assert float(count) == length
        np.testing.assert_allclose(ys, 2 * np.cumsum(xs, axis=0), rtol=1e-6, atol=1e-6)


def test_scan_without_outputs_and_gradient():
    xs = tf.constant(np.random.RandomState(0).randn(5, 3).astype("float32"))
    w = tf.Variable(0.5)

    def step(h, x):
        return ops.tanh(w * h + x), None

    with tf.GradientTape() as tape:
        h, ys = scan(step, tf.zeros(3), xs, unroll=2)
        loss = tf.reduce_sum(h)
    assert ys is None
    grad = tape.gradient(loss, w)

    def numpy_loss(wv):
        h = np.zeros(3)
        for x in xs.numpy():
            h = np.tanh(wv * h + x)
        return h.sum()

    eps = 1e-3
    numeric = (numpy_loss(0.5 + eps) - numpy_loss(0.5 - eps)) / (2 * eps)
    np.testing.assert_allclose(float(grad), numeric, rtol=1e-3)


@pytest.mark.parametrize("unroll", [1, 2, True])
def test_scan_reverse_keeps_output_order(unroll):
    xs = np.arange(10, dtype="float32").reshape(5, 2)
    (total, count), ys = scan(_cumulative, (np.zeros(2, "float32"), np.float32(0)), xs, unroll=unroll, reverse=True)
    np.testing.assert_allclose(total, xs.sum(0))
    np.testing.assert_allclose(ys, 2 * np.cumsum(xs[::-1], axis=0)[::-1])


def test_scan_rejects_bad_unroll():
    with pytest.raises(ValueError, match="unroll"):
        scan(_cumulative, (np.zeros(2, "float32"), np.float32(0)), np.zeros((3, 2), "float32"), unroll=-1)


@pytest.mark.parametrize("unroll", [1, 3])
def test_unstacked_outputs_are_read_in_place_by_a_later_loop(unroll):
    xs = tf.constant(np.random.RandomState(2).randn(7, 3).astype("float32"))

    def forward(carry, x):
        carry = carry + x
        return carry, (carry, carry * 3.0)

    def backward(carry, inputs):
        stacked, buffered = inputs
        return carry + stacked - buffered, carry * 1.0

    @tf.function
    def run(stack):
        _, (kept, other) = scan(forward, tf.zeros(3), xs, unroll=unroll, differentiable=False, stack=stack)
        carry, ys = scan(backward, tf.zeros(3), (kept, other), unroll=unroll, reverse=True, differentiable=False)
        return isinstance(other, tf.TensorArray), carry, ys

    unstacked, carry, ys = run((True, False))
    assert unstacked  # the second output stayed a per-step buffer
    stacked, carry_ref, ys_ref = run(None)
    assert not stacked
    np.testing.assert_allclose(carry, carry_ref)
    np.testing.assert_allclose(ys, ys_ref)
    cumulative = np.cumsum(xs.numpy(), axis=0)
    np.testing.assert_allclose(carry, -2.0 * cumulative.sum(0), rtol=1e-5)


def test_loop_over_buffers_only_takes_their_length():
    @tf.function
    def run():
        xs = tf.reshape(tf.range(10.0), (5, 2))
        _, buffered = scan(lambda c, x: (c, x * 2.0), tf.zeros(()), xs, differentiable=False, stack=(False,))
        total, _ = scan(lambda c, x: (c + tf.reduce_sum(x), None), tf.zeros(()), buffered, differentiable=False)
        return total

    assert float(run()) == 90.0
