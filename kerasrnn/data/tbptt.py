"""Truncated backpropagation through time: a long stream as stateful batches.

`tbptt_dataset` cuts one long token stream into `batch_size` parallel streams
(contiguous, equal-length parts of the stream) and then into consecutive
windows of `seq_length` tokens, so that row `b` of batch `k + 1` continues row
`b` of batch `k`. With a `stateful=True` recurrent layer the state at the end
of batch `k` is the right initial state of batch `k + 1`, and gradients flow
through `seq_length` steps only. States are reset at epoch boundaries with
`kerasrnn.callbacks.ResetStatesCallback`.
"""

import numpy as np
import tensorflow as tf

from kerasrnn.validation import check_positive_int


def tbptt_layout(num_tokens, batch_size, seq_length):
    """Sizes of the stateful layout of a stream of `num_tokens` tokens.

    Returns `(stream_length, num_batches)`: each of the `batch_size` streams
    holds `stream_length = num_batches * seq_length` input tokens (plus the
    one next token that is the last target), and there are `num_batches`
    batches. Raises `ValueError` when the stream is too short for one batch.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    seq_length = check_positive_int("seq_length", seq_length)
    per_stream = (num_tokens - 1) // batch_size
    num_batches = per_stream // seq_length
    if num_batches < 1:
        raise ValueError(
            f"The stream is too short: {num_tokens} tokens make no batch of "
            f"batch_size={batch_size} streams of seq_length={seq_length} "
            f"(needs at least {batch_size * seq_length + 1} tokens)"
        )
    return num_batches * seq_length, num_batches


def tbptt_arrays(tokens, batch_size, seq_length):
    """NumPy form of `tbptt_dataset`: `(inputs, targets)` of shape
    `(num_batches, batch_size, seq_length)`; batch `k` is `inputs[k]`."""
    tokens = np.asarray(tokens)
    if tokens.ndim != 1:
        raise ValueError(f"`tokens` must be a 1-D sequence. Received: shape {tokens.shape}")
    stream_length, num_batches = tbptt_layout(len(tokens), batch_size, seq_length)
    per_stream = (len(tokens) - 1) // batch_size
    starts = np.arange(batch_size) * per_stream
    steps = np.arange(stream_length)
    index = starts[:, None] + steps[None, :]  # (batch, stream_length)
    inputs, targets = tokens[index], tokens[index + 1]

    def to_batches(array):  # (batch, num_batches * T) -> (num_batches, batch, T)
        return array.reshape(batch_size, num_batches, seq_length).transpose(1, 0, 2)

    return to_batches(inputs), to_batches(targets)


def tbptt_dataset(tokens, batch_size, seq_length):
    """A `tf.data.Dataset` of consecutive stateful batches of a token stream.

    Contract:

    * `tokens` is a 1-D sequence (list, NumPy array or tensor) of ids, the
      whole training stream in order; `n = len(tokens)`.
    * The stream is split into `batch_size` contiguous parts of
      `per_stream = (n - 1) // batch_size` tokens: row `b` reads tokens
      starting at `b * per_stream`. Each yields
      `num_batches = per_stream // seq_length` windows; tokens past
      `num_batches * seq_length` in a part are dropped (at most
      `seq_length - 1` per row, plus `(n - 1) % batch_size` at the end).
    * Element `k` is `(inputs, targets)`, both `(batch_size, seq_length)`
      with the dtype of `tokens`:
      `inputs[b, t] = tokens[b * per_stream + k * seq_length + t]` and
      `targets[b, t]` is the next token of the stream. Row `b` of element
      `k + 1` continues row `b` of element `k` with no gap or overlap.
    * Every element has exactly `batch_size` rows (the static batch size a
      stateful layer needs); the order is fixed — do not shuffle or
      re-batch it. It is finite (`num_batches` elements); with
      `model.fit(dataset, epochs=E)` each epoch replays it from the start,
      so reset the states at each epoch's start (`ResetStatesCallback`).
    * Raises `ValueError` for non-positive sizes, non-1-D tokens, or a
      stream shorter than `batch_size * seq_length + 1` tokens.

    Args:
        tokens: 1-D sequence of token ids.
        batch_size: Number of parallel streams (the model's fixed batch size).
        seq_length: Steps per window (the truncation length of BPTT).

    Returns:
        A finite `tf.data.Dataset` with known cardinality `num_batches`.
    """
    inputs, targets = tbptt_arrays(np.asarray(tokens), batch_size, seq_length)
    return tf.data.Dataset.from_tensor_slices((inputs, targets))
