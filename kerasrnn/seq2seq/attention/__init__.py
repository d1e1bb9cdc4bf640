"""Attention for any recurrent cell, with `tfa.seq2seq`'s names and arguments.

`AttentionWrapper` wraps a Keras or kerasrnn cell with one or more attention
mechanisms (`BahdanauAttention`, `LuongAttention`,
`BahdanauMonotonicAttention`, `LuongMonotonicAttention`); the wrapped cell
runs inside `keras.layers.RNN` (teacher forcing) or a step-by-step decoder.
"""

from kerasrnn.seq2seq.attention.attention_mechanism import AttentionMechanism
from kerasrnn.seq2seq.attention.attention_mechanism import hardmax
from kerasrnn.seq2seq.attention.attention_wrapper import AttentionWrapper
from kerasrnn.seq2seq.attention.attention_wrapper_state import AttentionWrapperState
from kerasrnn.seq2seq.attention.attention_wrapper import compute_attention
from kerasrnn.seq2seq.attention.bahdanau_attention import BahdanauAttention
from kerasrnn.seq2seq.attention.bahdanau_monotonic_attention import BahdanauMonotonicAttention
from kerasrnn.seq2seq.attention.luong_attention import LuongAttention
from kerasrnn.seq2seq.attention.luong_monotonic_attention import LuongMonotonicAttention
from kerasrnn.seq2seq.attention.monotonic import monotonic_attention
from kerasrnn.seq2seq.attention.monotonic import safe_cumprod

__all__ = [
    "AttentionMechanism", "AttentionWrapper", "AttentionWrapperState",
    "BahdanauAttention", "BahdanauMonotonicAttention", "LuongAttention", "LuongMonotonicAttention",
    "compute_attention", "hardmax", "monotonic_attention", "safe_cumprod",
]
