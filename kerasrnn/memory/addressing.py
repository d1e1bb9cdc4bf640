"""Addressing and memory access of the Neural Turing Machine, as pure functions.

Shapes: `memory` is `(batch, N, M)` (N rows of width M); head quantities are
`(batch, heads, ...)`: keys and erase/add vectors `(batch, heads, M)`,
weightings `(batch, heads, N)`, scalars (β, g, γ) `(batch, heads, 1)`, shift
distributions `(batch, heads, 2S + 1)` over the offsets `-S, ..., S`.

All functions use `keras.ops` only and are safe for the inputs an untrained
controller produces: zero keys or memory rows, saturated gates, one-hot
weightings (see each function for its guard).

Reference:
    Graves, Wayne & Danihelka, "Neural Turing Machines", arXiv:1410.5401, 2014,
    section 3.
"""

from keras import ops

#: Added inside square roots and logarithms.
EPSILON = 1e-8


def cosine_similarity(keys, memory, epsilon=EPSILON):
    """K[u, v] = u·v / (‖u‖‖v‖), for every head key and memory row.

    The norms are `sqrt(‖·‖² + epsilon)`, so a zero key or a zero row gives a
    similarity of 0 (not NaN) and finite gradients.

    Args:
        keys: `(batch, heads, M)`.
        memory: `(batch, N, M)`.

    Returns:
        `(batch, heads, N)`.
    """
    dots = ops.einsum("bhm,bnm->bhn", keys, memory)
    key_norms = ops.sqrt(ops.sum(ops.square(keys), axis=-1, keepdims=True) + epsilon)
    row_norms = ops.sqrt(ops.sum(ops.square(memory), axis=-1) + epsilon)
    return dots / (key_norms * ops.expand_dims(row_norms, 1))


def content_addressing(keys, strengths, memory, epsilon=EPSILON):
    """w^c_t(i) = exp(β_t K[k_t, M_t(i)]) / Σ_j exp(β_t K[k_t, M_t(j)]).

    The softmax subtracts its maximum, so any β ≥ 0 is safe.

    Args:
        keys: `(batch, heads, M)`, the key vectors k_t.
        strengths: `(batch, heads, 1)`, the key strengths β_t ≥ 0.
        memory: `(batch, N, M)`.

    Returns:
        `(batch, heads, N)` content weightings.
    """
    return ops.softmax(strengths * cosine_similarity(keys, memory, epsilon), axis=-1)


def interpolate(content_weights, previous_weights, gate):
    """w^g_t = g_t w^c_t + (1 − g_t) w_{t−1}, with g_t in [0, 1] `(batch, heads, 1)`."""
    return gate * content_weights + (1.0 - gate) * previous_weights


def circular_shift(weights, shift):
    """w̃_t(i) = Σ_j w^g_t(j) s_t(i − j), indices modulo N.

    `shift[..., k]` is the probability of moving by offset `k − S` rows (so
    the middle entry keeps the weighting in place and the last moves it
    forward by S). The sum runs over the 2S + 1 offsets, each a rotation of
    the whole batch of weightings; there is no loop over batch or rows.

    Args:
        weights: `(batch, heads, N)`.
        shift: `(batch, heads, 2S + 1)`; 2S + 1 must not exceed N.

    Returns:
        `(batch, heads, N)`.
    """
    width = shift.shape[-1]
    if width is None or width % 2 != 1:
        raise ValueError(
            f"The last axis of `shift` must be odd (2 * shift_range + 1). Received: shift.shape={shift.shape}"
        )
    memory_size = weights.shape[-1]
    if memory_size is not None and width > memory_size:
        raise ValueError(
            f"`shift` has {width} offsets, more than the {memory_size} memory rows. "
            f"Received: shift.shape={shift.shape}, weights.shape={weights.shape}"
        )
    reach = width // 2
    rotated = ops.stack([ops.roll(weights, offset, axis=-1) for offset in range(-reach, reach + 1)], axis=-1)
    return ops.einsum("bhnk,bhk->bhn", rotated, shift)


def sharpen(weights, gamma, epsilon=EPSILON):
    """w_t(i) = w̃_t(i)^γ_t / Σ_j w̃_t(j)^γ_t, for γ_t ≥ 1 `(batch, heads, 1)`.

    Computed as `softmax(γ log(w̃ + epsilon))`: no `0^γ`, no `0/0`, and the
    gradient stays finite for one-hot and all-zero weightings.
    """
    return ops.softmax(gamma * ops.log(weights + epsilon), axis=-1)


def address(memory, previous_weights, keys, strengths, gate, shift, gamma, epsilon=EPSILON):
    """The full addressing pipeline: content → interpolate → shift → sharpen.

    Returns `(batch, heads, N)` weightings w_t.
    """
    content = content_addressing(keys, strengths, memory, epsilon)
    gated = interpolate(content, previous_weights, gate)
    return sharpen(circular_shift(gated, shift), gamma, epsilon)


def read(memory, weights):
    """r_t = Σ_i w_t(i) M_t(i): `(batch, heads, N)` × `(batch, N, M)` → `(batch, heads, M)`."""
    return ops.einsum("bhn,bnm->bhm", weights, memory)


def write(memory, weights, erase, add):
    """Erase then add, for every write head at once.

    M̃_t(i) = M_{t−1}(i) ⊙ Π_h [1 − w^h_t(i) e^h_t]
    M_t(i) = M̃_t(i) + Σ_h w^h_t(i) a^h_t

    Args:
        memory: `(batch, N, M)`.
        weights: `(batch, heads, N)` write weightings.
        erase: `(batch, heads, M)` erase vectors in [0, 1].
        add: `(batch, heads, M)` add vectors.

    Returns:
        `(batch, N, M)` new memory.
    """
    if weights.shape[1] == 1:
        # One write head (the usual case): no product over heads, whose
        # gradient is costly, and outer products instead of an einsum.
        w = ops.expand_dims(weights[:, 0], -1)
        return memory * (1.0 - w * erase[:, 0:1]) + w * add[:, 0:1]
    w = ops.expand_dims(weights, -1)
    keep = ops.prod(1.0 - w * ops.expand_dims(erase, 2), axis=1)
    return memory * keep + ops.einsum("bhn,bhm->bnm", weights, add)
