"""The NTM addressing functions against a NumPy reference, and their edge cases."""

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from kerasrnn.memory import addressing

RNG = np.random.default_rng(0)
B, H, N, M = 3, 2, 7, 5


def np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_content(keys, beta, memory, eps=addressing.EPSILON):
    out = np.zeros((B, H, N))
    for b in range(B):
        for h in range(H):
            for i in range(N):
                k, row = keys[b, h], memory[b, i]
                out[b, h, i] = k @ row / (np.sqrt(k @ k + eps) * np.sqrt(row @ row + eps))
    return np_softmax(beta * out)


def np_shift(w, s):
    reach = s.shape[-1] // 2
    out = np.zeros_like(w)
    for i in range(w.shape[-1]):
        for j in range(w.shape[-1]):
            offset = (i - j) % w.shape[-1]
            if offset > w.shape[-1] // 2:
                offset -= w.shape[-1]
            if -reach <= offset <= reach:
                out[..., i] += w[..., j] * s[..., offset + reach]
    return out


def np_write(memory, w, e, a):
    out = memory.copy()
    for h in range(w.shape[1]):
        out = out * (1.0 - w[:, h, :, None] * e[:, h, None, :])
    for h in range(w.shape[1]):
        out = out + w[:, h, :, None] * a[:, h, None, :]
    return out


def rand(*shape):
    return RNG.normal(size=shape).astype("float32")


def simplex(*shape):
    return np_softmax(rand(*shape) * 2).astype("float32")


def test_content_addressing_matches_numpy():
    keys, memory = rand(B, H, M), rand(B, N, M)
    beta = np.abs(rand(B, H, 1)) * 5
    got = addressing.content_addressing(keys, beta, memory)
    np.testing.assert_allclose(got, np_content(keys, beta, memory), atol=1e-5)


def test_interpolate_matches_numpy():
    wc, wp, g = simplex(B, H, N), simplex(B, H, N), RNG.uniform(size=(B, H, 1)).astype("float32")
    np.testing.assert_allclose(addressing.interpolate(wc, wp, g), g * wc + (1 - g) * wp, atol=1e-6)


@pytest.mark.parametrize("reach", [0, 1, 2, 3])
def test_circular_shift_matches_numpy(reach):
    w, s = simplex(B, H, N), simplex(B, H, 2 * reach + 1)
    np.testing.assert_allclose(addressing.circular_shift(w, s), np_shift(w, s), atol=1e-6)


def test_circular_shift_moves_one_hot_forward_and_wraps():
    w = np.zeros((1, 1, N), "float32")
    w[..., N - 1] = 1.0
    forward = np.array([[[0.0, 0.0, 1.0]]], "float32")  # offsets -1, 0, +1
    moved = np.asarray(addressing.circular_shift(w, forward))
    assert moved[0, 0, 0] == 1.0 and moved.sum() == 1.0  # wrapped round to row 0
    backward = np.array([[[1.0, 0.0, 0.0]]], "float32")
    assert np.asarray(addressing.circular_shift(w, backward))[0, 0, N - 2] == 1.0
    keep = np.array([[[0.0, 1.0, 0.0]]], "float32")
    np.testing.assert_array_equal(addressing.circular_shift(w, keep), w)


def test_circular_shift_rejects_even_or_too_wide_shifts():
    with pytest.raises(ValueError, match="odd"):
        addressing.circular_shift(simplex(1, 1, N), simplex(1, 1, 2))
    with pytest.raises(ValueError, match="offsets"):
        addressing.circular_shift(simplex(1, 1, 3), simplex(1, 1, 5))


def test_sharpen_matches_numpy_and_keeps_distributions():
    w = simplex(B, H, N)
    gamma = 1 + np.abs(rand(B, H, 1)) * 3
    expected = w**gamma / (w**gamma).sum(-1, keepdims=True)
    got = np.asarray(addressing.sharpen(w, gamma))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("gamma", [1.0, 50.0, 1e4])
def test_sharpen_zero_and_one_hot_weights_stay_finite_with_finite_gradients(gamma):
    zeros = tf.zeros((1, 1, N))
    one_hot = tf.one_hot([[2]], N)
    for w in (zeros, one_hot):
        g = tf.fill((1, 1, 1), gamma)
        with tf.GradientTape() as tape:
            tape.watch([w, g])
            out = addressing.sharpen(w, g)
            loss = tf.reduce_sum(out * tf.range(N, dtype="float32"))
        grads = tape.gradient(loss, [w, g])
        assert np.isfinite(out).all() and np.isfinite(grads[0]).all() and np.isfinite(grads[1]).all()
        np.testing.assert_allclose(np.asarray(out).sum(), 1.0, atol=1e-5)
    np.testing.assert_allclose(addressing.sharpen(zeros, tf.fill((1, 1, 1), gamma)), np.full((1, 1, N), 1 / N), atol=1e-6)
    np.testing.assert_allclose(addressing.sharpen(one_hot, tf.fill((1, 1, 1), gamma)), one_hot, atol=1e-6)


def test_content_addressing_is_safe_for_zero_keys_zero_memory_and_huge_beta():
    keys, memory = tf.zeros((1, 1, M)), tf.zeros((1, N, M))
    for beta in (0.0, 1.0, 1e6):
        b = tf.fill((1, 1, 1), beta)
        with tf.GradientTape() as tape:
            tape.watch([keys, memory, b])
            w = addressing.content_addressing(keys, b, memory)
            loss = tf.reduce_sum(w * tf.range(N, dtype="float32"))
        grads = tape.gradient(loss, [keys, memory, b])
        np.testing.assert_allclose(w, np.full((1, 1, N), 1 / N), atol=1e-6)
        assert all(np.isfinite(g).all() for g in grads)
    memory = np.eye(N, M, dtype="float32")[None]
    w = addressing.content_addressing(memory[:, 1:2], tf.fill((1, 1, 1), 1e6), memory)
    np.testing.assert_allclose(w, np.eye(N)[None, 1:2], atol=1e-6)


@pytest.mark.parametrize("heads", [1, H])  # one write head takes its own path
def test_read_and_write_match_numpy(heads):
    memory, w, w_write = rand(B, N, M), simplex(B, 1, N), simplex(B, heads, N)
    np.testing.assert_allclose(addressing.read(memory, w), np.einsum("bhn,bnm->bhm", w, memory), atol=1e-5)
    erase, add = RNG.uniform(size=(B, heads, M)).astype("float32"), rand(B, heads, M)
    np.testing.assert_allclose(addressing.write(memory, w_write, erase, add), np_write(memory, w_write, erase, add), atol=1e-5)


def test_write_full_erase_replaces_the_addressed_row_only():
    memory = rand(1, N, M)
    w = np.zeros((1, 1, N), "float32")
    w[..., 3] = 1.0
    add = rand(1, 1, M)
    out = np.asarray(addressing.write(memory, w, np.ones((1, 1, M), "float32"), add))
    np.testing.assert_allclose(out[0, 3], add[0, 0], atol=1e-6)
    np.testing.assert_array_equal(np.delete(out[0], 3, axis=0), np.delete(memory[0], 3, axis=0))


def test_address_composes_the_four_stages():
    memory, w_prev, keys = rand(B, N, M), simplex(B, H, N), rand(B, H, M)
    beta, g = np.abs(rand(B, H, 1)), RNG.uniform(size=(B, H, 1)).astype("float32")
    s, gamma = simplex(B, H, 3), 1 + np.abs(rand(B, H, 1))
    got = addressing.address(memory, w_prev, keys, beta, g, s, gamma)
    w = np_shift(g * np_content(keys, beta, memory) + (1 - g) * w_prev, s)
    expected = w**gamma / (w**gamma).sum(-1, keepdims=True)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert isinstance(ops.convert_to_numpy(got), np.ndarray)
