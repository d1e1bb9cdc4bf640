"""Dynamic N-grams: predict the next bit of a sequence drawn from a random N-gram table."""

import numpy as np

from kerasrnn.data.tasks._base import check_positive
from kerasrnn.data.tasks._base import check_rng
from kerasrnn.data.tasks._base import make_dataset
from kerasrnn.data.tasks._base import pad_batch


def ngram_example(rng, length=200, n=6):
    """One example of `length` scored predictions.

    A table of 2^(n−1) probabilities P(1 | previous n−1 bits) is drawn from
    Beta(½, ½); the first n−1 bits are uniform (a primer, not scored) and
    each of the next `length` bits follows the table. Inputs (1 channel): the
    bits `b_0..b_{n+length−3}`; targets (1 channel): the next bits
    `b_1..b_{n+length−2}` (zero on the primer steps); the output phase is the last `length` steps, each
    predicting a bit that has a full context. Total `n − 2 + length` steps.
    """
    check_positive("length", length)
    check_positive("n", n)
    if n < 2:
        raise ValueError(f"`n` must be >= 2. Received: n={n!r}")
    context = n - 1
    table = rng.beta(0.5, 0.5, size=2**context)
    bits = np.zeros((context + length,), np.float32)
    bits[:context] = rng.integers(0, 2, size=context)
    for t in range(context, context + length):
        index = int(np.dot(bits[t - context : t], 2 ** np.arange(context - 1, -1, -1)))
        bits[t] = float(rng.random() < table[index])
    inputs = bits[:-1, None]
    mask = np.zeros((bits.shape[0] - 1,), np.float32)
    mask[context - 1 :] = 1.0
    targets = bits[1:, None] * mask[:, None]
    return inputs, targets, mask


def ngram_batch(rng, batch_size, length=200, n=6):
    """`batch_size` examples of `ngram_example` (each drawn from its own
    random N-gram table), padded to one length: `(inputs, targets, mask)`
    arrays of shape `(batch, steps, 1)`, `(batch, steps, 1)`, `(batch, steps)`."""
    check_rng(rng)
    check_positive("batch_size", batch_size)
    return pad_batch([ngram_example(rng, length, n) for _ in range(batch_size)])


def ngram_dataset(batch_size=32, length=200, n=6, seed=0):
    """Infinite seeded `tf.data.Dataset` of `ngram_batch` dicts."""
    return make_dataset(ngram_batch, batch_size, seed, length=length, n=n)


def bayes_optimal_probabilities(inputs, targets, output_mask, n=6):
    """Predictions of the Bayes-optimal estimator, P(1) = (N1 + ½) / (N1 + N0 + 1).

    N1 and N0 count how often each context (the last n−1 bits) was followed
    by a 1 and a 0 earlier in the same sequence (Graves et al. 2014, eq. in
    section 4.4). Arrays are batches from `ngram_batch`: inputs
    `(batch, T, 1)`, targets `(batch, T, 1)`, output_mask `(batch, T)`.
    Returns `(batch, T)` probabilities (0.5 where the mask is 0).
    """
    context = n - 1
    inputs, targets = np.asarray(inputs)[..., 0], np.asarray(targets)[..., 0]
    output_mask = np.asarray(output_mask)
    batch, steps = inputs.shape
    counts = np.zeros((batch, 2**context, 2))
    probs = np.full((batch, steps), 0.5)
    powers = 2 ** np.arange(context - 1, -1, -1)
    rows = np.arange(batch)
    for t in range(context - 1, steps):
        index = (inputs[:, t - context + 1 : t + 1] @ powers).astype(int)
        n0, n1 = counts[rows, index, 0], counts[rows, index, 1]
        scored = output_mask[:, t] > 0
        probs[:, t] = np.where(scored, (n1 + 0.5) / (n1 + n0 + 1.0), 0.5)
        bit = targets[:, t].astype(int)
        counts[rows, index, bit] += scored
    return probs


def bayes_optimal_bits(inputs, targets, output_mask, n=6):
    """Per-sequence cost in bits of the Bayes-optimal estimator, `(batch,)`."""
    probs = bayes_optimal_probabilities(inputs, targets, output_mask, n)
    y = np.asarray(targets)[..., 0]
    p = np.where(y > 0.5, probs, 1.0 - probs)
    return -(np.log2(p) * np.asarray(output_mask)).sum(axis=1)
