"""Monotonic attention (Raffel et al. 2017) as pure functions, and the shared
part of `BahdanauMonotonicAttention` and `LuongMonotonicAttention`.

Given the previous alignments `a'` and the probabilities `p_i` of stopping at
memory position `i` (scanning left to right from where the last step
stopped), the new alignments are

    q_i = (1 - p_{i-1}) q_{i-1} + a'_i,   q_{-1} = 0
    a_i = p_i q_i

computed by `monotonic_attention` exactly by a scan (`"recursive"`), in
closed form with cumulative sums and products (`"parallel"`), or for
0/1 probabilities (`"hard"`).
"""

import numpy as np
from keras import backend
from keras import initializers
from keras import ops
from keras import random

from kerasrnn.seq2seq.attention.attention_mechanism import AttentionMechanism
from kerasrnn.validation import check_choice
from kerasrnn.validation import check_int
from kerasrnn.validation import check_non_negative_number
from kerasrnn.validation import check_number

MODES = ("parallel", "recursive", "hard")


def _exclusive(x, axis, fill):
    """`x` shifted by one along `axis` (a leading `fill`, the last item dropped)."""
    x = ops.moveaxis(x, axis, -1)
    shifted = ops.concatenate([ops.full_like(x[..., :1], fill), x[..., :-1]], axis=-1)
    return ops.moveaxis(shifted, -1, axis)


def safe_cumprod(x, axis=0, exclusive=False, reverse=False):
    """Cumulative product computed as `exp(cumsum(log x))` (`tfa.seq2seq.safe_cumprod`).

    Stable for tiny values and with a finite gradient at zero: `x` is clipped
    to `[tiny, 1]` first, so it must hold values in `[0, 1]`.

    Args:
        x: Tensor of values in `[0, 1]`.
        axis: Axis to accumulate over.
        exclusive: Whether to start from 1 (the product of the items before
            each position).
        reverse: Whether to accumulate from the end.

    Returns:
        The cumulative product, shaped like `x`.
    """
    x = ops.convert_to_tensor(x)
    tiny = np.finfo(backend.standardize_dtype(x.dtype)).tiny
    logs = ops.log(ops.clip(x, tiny, 1.0))
    if reverse:
        logs = ops.flip(logs, axis=axis)
    if exclusive:
        logs = _exclusive(logs, axis, 0.0)
    result = ops.exp(ops.cumsum(logs, axis=axis))
    return ops.flip(result, axis=axis) if reverse else result


def monotonic_attention(p_choose_i, previous_attention, mode):
    """Monotonic alignments from stopping probabilities (`tfa.seq2seq.monotonic_attention`).

    Args:
        p_choose_i: `(batch, max_time)` probabilities in `[0, 1]` of stopping
            at each memory position.
        previous_attention: `(batch, max_time)` alignments of the previous
            output step (`[1, 0, ..., 0]` before the first).
        mode: `"recursive"` (exact, a scan over the memory), `"parallel"`
            (closed form; inexact when probabilities are very close to 0 or 1
            over long memories) or `"hard"` (exact for 0/1 probabilities).

    Returns:
        `(batch, max_time)` alignments.
    """
    check_choice("mode", mode, MODES)
    p = ops.convert_to_tensor(p_choose_i)
    previous = ops.cast(previous_attention, p.dtype)
    if mode == "recursive":
        # q_i = (1 - p_{i-1}) q_{i-1} + a'_i, scanned over memory positions.
        decay = ops.transpose(_exclusive(1.0 - p, 1, 1.0))
        def step(q, inputs):
            q = inputs[0] * q + inputs[1]
            return q, q
        _, q = ops.scan(step, ops.zeros_like(previous[:, 0]), (decay, ops.transpose(previous)))
        return p * ops.transpose(q)
    if mode == "parallel":
        cumprod = safe_cumprod(1.0 - p, axis=1, exclusive=True)
        return p * cumprod * ops.cumsum(previous / ops.clip(cumprod, 1e-10, 1.0), axis=1)
    # hard: nothing before the previously chosen position, then the first 1.
    p = p * ops.cumsum(previous, axis=1)
    return p * _exclusive(ops.cumprod(1.0 - p, axis=1), 1, 1.0)


class MonotonicAttentionMechanism(AttentionMechanism):
    """Shared part of the monotonic mechanisms: a learned score bias, pre-sigmoid
    noise, the monotonic probability function and Dirac initial alignments.

    `sigmoid_noise` is the standard deviation of Gaussian noise added to the
    scores before the sigmoid during training (`training=True` only; tfa added
    it at inference too unless the user rebuilt the mechanism with 0).

    On the JAX backend inside `keras.layers.RNN` the noise comes from a seed
    generator whose state cannot advance inside JAX's scan, so every call
    repeats the same draws; TensorFlow and PyTorch draw afresh at each step.
    """

    def __init__(self, sigmoid_noise=0.0, sigmoid_noise_seed=None, score_bias_init=0.0,
                 mode="parallel", **kwargs):
        self.sigmoid_noise = check_non_negative_number("sigmoid_noise", sigmoid_noise)
        self.sigmoid_noise_seed = None if sigmoid_noise_seed is None else check_int(
            "sigmoid_noise_seed", sigmoid_noise_seed)
        self.score_bias_init = check_number("score_bias_init", score_bias_init)
        self.mode = check_choice("mode", mode, MODES)
        super().__init__(probability_fn="monotonic", **kwargs)
        if self.sigmoid_noise > 0:
            self.seed_generator = random.SeedGenerator(self.sigmoid_noise_seed)

    def build_score_bias(self):
        self.attention_score_bias = self.add_weight(
            shape=(), name="attention_score_bias", initializer=initializers.Constant(self.score_bias_init)
        )

    def probability(self, score, state, training=None):
        score = score + self.attention_score_bias
        if self.sigmoid_noise > 0 and training:
            score = score + self.sigmoid_noise * random.normal(
                ops.shape(score), dtype=score.dtype, seed=self.seed_generator)
        p = ops.cast(score > 0, score.dtype) if self.mode == "hard" else ops.sigmoid(score)
        if self.memory_mask is not None:
            p = ops.where(self.memory_mask, p, ops.zeros_like(p))
        return monotonic_attention(p, state, self.mode)

    def initial_alignments(self, batch_size, dtype=None):
        """Dirac alignments `[1, 0, ..., 0]`: scanning starts at the first position."""
        self.check_memory()
        zeros = ops.zeros((batch_size,), dtype="int32")
        return ops.one_hot(zeros, ops.shape(self.values)[1], dtype=dtype or self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.pop("probability_fn")
        return {
            **config,
            "sigmoid_noise": self.sigmoid_noise,
            "sigmoid_noise_seed": self.sigmoid_noise_seed,
            "score_bias_init": self.score_bias_init,
            "mode": self.mode,
        }
