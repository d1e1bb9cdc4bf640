"""`fused_rnn`: hand-written backward pass against automatic differentiation of
a plain Python loop over the same cell equations, for both recurrent-product
layouts (per-gate blocks and one concatenated product), eager and under XLA."""

import numpy as np
import pytest
import tensorflow as tf

from kerasrnn.ops.fused import GRUKernel
from kerasrnn.ops.fused import LSTMKernel
from kerasrnn.ops.fused import SimpleRNNKernel
from kerasrnn.ops.fused import fused_rnn
from tests.helpers import assert_close

T, B, H = 5, 3, 4
KERNELS = {"lstm": LSTMKernel, "gru": GRUKernel, "simple": SimpleRNNKernel}


def _problem(name, masked):
    rng = np.random.RandomState(3)
    kernel = KERNELS[name]()
    xp = [tf.constant(rng.randn(T, B, H).astype("float32")) for _ in range(kernel.blocks)]
    states = [tf.constant(rng.randn(B, H).astype("float32")) for _ in range(kernel.num_states)]
    weights = [tf.constant(0.5 * rng.randn(H, kernel.blocks * H).astype("float32"))]
    if name == "gru":
        weights.append(tf.constant(rng.randn(kernel.blocks * H).astype("float32")))
    mask = None
    if masked:
        mask = tf.constant(np.array([[1, 1, 1], [1, 0, 1], [1, 0, 1], [0, 0, 1], [0, 0, 1]], bool)[..., None])
    return kernel, xp, states, weights, mask


def _reference(kernel, xp, states, weights, mask):
    """The same recurrence as a Python loop, differentiated by TensorFlow."""
    blocks = tuple(tuple(tf.split(w, kernel.blocks, axis=-1)) for w in weights)
    states, y, outputs = tuple(states), tf.zeros_like(states[0]), []
    for t in range(T):
        rec = tuple(tf.matmul(states[0], u) for u in blocks[0])
        new, _ = kernel.forward(tuple(x[t] for x in xp), rec, states, blocks)
        if mask is None:
            states, y = tuple(new), new[0]
        else:
            states = tuple(tf.where(mask[t], n, s) for n, s in zip(new, states))
            y = tf.where(mask[t], new[0], y)
        outputs.append(y)
    return tf.stack(outputs), list(states)


def _loss_and_grads(fn, xp, states, weights):
    sources = [tf.identity(v) for v in xp + states + weights]
    n_x, n_s = len(xp), len(states)
    with tf.GradientTape() as tape:
        tape.watch(sources)
        outputs, finals = fn(sources[:n_x], sources[n_x : n_x + n_s], sources[n_x + n_s :])
        loss = tf.reduce_sum(tf.sin(2.0 * outputs)) + sum(tf.reduce_sum(s * s) for s in finals)
    return [outputs] + finals + tape.gradient(loss, sources)


# Every combination eagerly; under XLA (seconds of compilation each) the
# masked problem with the two extreme matmul layouts.
FUSED_CASES = [
    (masked, concat_matmul, concat_backward, False)
    for masked in (False, True) for concat_matmul in (False, True) for concat_backward in (False, True)
] + [(True, False, False, True), (True, True, True, True)]


@pytest.mark.parametrize("name", list(KERNELS))
@pytest.mark.parametrize("masked, concat_matmul, concat_backward, jit", FUSED_CASES)
def test_fused_backward_matches_autodiff_of_python_loop(name, masked, concat_matmul, concat_backward, jit):
    kernel, xp, states, weights, mask = _problem(name, masked)
    expected = _loss_and_grads(lambda x, s, w: _reference(kernel, x, s, w, mask), xp, states, weights)

    def fused(x, s, w):
        return fused_rnn(
            kernel, tuple(x), tuple(s), tuple(w), mask=mask, unroll=2, concat_matmul=concat_matmul,
            concat_backward=concat_backward,
        )

    run = tf.function(lambda: _loss_and_grads(fused, xp, states, weights), jit_compile=True) if jit else (
        lambda: _loss_and_grads(fused, xp, states, weights)
    )
    actual = run()
    assert len(actual) == len(expected)
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert_close(a, e, atol=2e-5, msg=f"{name} output/gradient {i}")
