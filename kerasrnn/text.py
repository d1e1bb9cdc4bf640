"""Linear-chain CRF functions with TensorFlow Addons' `tfa.text` names and meanings.

Code written for `tfa.text` ports by changing the import:

```python
# from tensorflow_addons.text import crf_log_likelihood, crf_decode
from kerasrnn.text import crf_log_likelihood, crf_decode
```

The functions are written in `keras.ops` (so they run on TensorFlow, JAX and
PyTorch, eagerly, in graphs and under XLA), except `viterbi_decode`, which is
NumPy as in tfa. The conventions are tfa's:

* `inputs` / `potentials`: unary scores `U`, shape `(batch, T, num_tags)`;
* `tag_indices`: `(batch, T)` integer tags;
* `sequence_lengths`: `(batch,)`; steps at and after a sequence's length are
  padding and change nothing (a sequence is a prefix of its row);
* `transition_params`: `A`, `(num_tags, num_tags)`; `A[i, j]` scores tag `i`
  followed by tag `j`.

The score of a tag sequence `y` of length `n` and its log-likelihood are

    s(y) = sum_{t<n} U[t, y_t] + sum_{1<=t<n} A[y_{t-1}, y_t]
    log p(y) = s(y) - log Z,   log Z = log sum_{y'} exp s(y')

`log Z` comes from the forward algorithm in log space, the best sequence from
Viterbi (max-product), both O(T * num_tags^2). A sequence of length 0 has
score 0 and `log Z = 0` (as in tfa). Start and end transitions (scores of the
first and the last tag) are not part of tfa's functions; the `CRF` layer adds
them to the first and the last unary score of each sequence.
"""

import numpy as np
import keras
from keras import ops

from kerasrnn.ops.scan import scan
from kerasrnn.validation import InputError

__all__ = [
    "crf_binary_score",
    "crf_decode",
    "crf_log_likelihood",
    "crf_log_norm",
    "crf_sequence_score",
    "crf_unary_score",
    "viterbi_decode",
]


def _check_shapes(inputs, transition_params=None, tag_indices=None, sequence_lengths=None,
                  inputs_name="inputs"):
    """Static shape checks (run at trace time on symbolic inputs too)."""
    if len(inputs.shape) != 3:
        raise InputError(
            f"`{inputs_name}` must have shape (batch, steps, num_tags). "
            f"Received: {inputs_name}.shape={tuple(inputs.shape)}"
        )
    num_tags = inputs.shape[-1]
    if transition_params is not None:
        shape = tuple(transition_params.shape)
        if len(shape) != 2 or (num_tags is not None and shape != (num_tags, num_tags)):
            raise InputError(
                f"`transition_params` must have shape (num_tags, num_tags) = ({num_tags}, {num_tags}) "
                f"for {inputs_name} of shape {tuple(inputs.shape)}. Received: "
                f"transition_params.shape={shape}"
            )
    if tag_indices is not None and tuple(tag_indices.shape) != tuple(inputs.shape[:2]) \
            and None not in tuple(tag_indices.shape) + tuple(inputs.shape[:2]):
        raise InputError(
            f"`tag_indices` must have shape (batch, steps) = {tuple(inputs.shape[:2])}. "
            f"Received: tag_indices.shape={tuple(tag_indices.shape)}"
        )
    if sequence_lengths is not None:
        shape = tuple(sequence_lengths.shape)
        if len(shape) != 1 or (shape[0] is not None and inputs.shape[0] is not None
                               and shape[0] != inputs.shape[0]):
            raise InputError(
                f"`sequence_lengths` must have shape (batch,) = ({inputs.shape[0]},). "
                f"Received: sequence_lengths.shape={shape}"
            )


def _step_mask(sequence_lengths, steps, dtype="bool"):
    """`(batch, steps)`: True before each sequence's length."""
    positions = ops.arange(steps, dtype="int32")
    lengths = ops.cast(sequence_lengths, "int32")
    return ops.cast(positions[None, :] < lengths[:, None], dtype)


def _tensors(inputs, transition_params):
    inputs = ops.convert_to_tensor(inputs)
    if not ops.is_tensor(transition_params) and not isinstance(transition_params, keras.Variable):
        transition_params = ops.convert_to_tensor(transition_params)
    transition_params = ops.cast(transition_params, inputs.dtype)
    return inputs, transition_params


def crf_unary_score(tag_indices, sequence_lengths, inputs):
    """Sum of the unary scores `U[t, y_t]` of each sequence's steps, `(batch,)`."""
    inputs = ops.convert_to_tensor(inputs)
    _check_shapes(inputs, tag_indices=tag_indices, sequence_lengths=sequence_lengths)
    tags = ops.cast(tag_indices, "int32")
    mask = _step_mask(sequence_lengths, ops.shape(inputs)[1], inputs.dtype)
    # Padded steps may hold any tag (e.g. -1): clip before gathering, then mask.
    tags = ops.clip(tags, 0, ops.shape(inputs)[2] - 1)
    picked = ops.squeeze(ops.take_along_axis(inputs, tags[..., None], axis=-1), -1)
    return ops.sum(picked * mask, axis=1)


def crf_binary_score(tag_indices, sequence_lengths, transition_params):
    """Sum of the transition scores `A[y_{t-1}, y_t]` of each sequence, `(batch,)`."""
    transition_params = ops.convert_to_tensor(transition_params)
    num_tags = ops.shape(transition_params)[0]
    tags = ops.clip(ops.cast(tag_indices, "int32"), 0, num_tags - 1)
    steps = ops.shape(tags)[1]
    flat = ops.reshape(transition_params, (-1,))
    pair = tags[:, :-1] * num_tags + tags[:, 1:]
    scores = ops.take(flat, pair, axis=0)
    # The transition into step t counts when step t is inside the sequence.
    mask = _step_mask(sequence_lengths, steps, scores.dtype)[:, 1:]
    return ops.sum(scores * mask, axis=1)


def crf_sequence_score(inputs, tag_indices, sequence_lengths, transition_params):
    """The unnormalized score `s(y)` of each tag sequence.

    Args:
        inputs: `(batch, T, num_tags)` unary potentials.
        tag_indices: `(batch, T)` integer tags; values at padded steps are ignored.
        sequence_lengths: `(batch,)` lengths.
        transition_params: `(num_tags, num_tags)` transition scores.

    Returns:
        `(batch,)` scores.
    """
    inputs, transition_params = _tensors(inputs, transition_params)
    _check_shapes(inputs, transition_params, tag_indices, sequence_lengths)
    unary = crf_unary_score(tag_indices, sequence_lengths, inputs)
    binary = crf_binary_score(tag_indices, sequence_lengths, transition_params)
    return unary + ops.cast(binary, unary.dtype)


def crf_forward(inputs, state, transition_params, sequence_lengths):
    """The forward algorithm over steps 1.. of `inputs` in log space.

    Args:
        inputs: `(batch, T - 1, num_tags)`: the unary scores of steps 1 to T-1.
        state: `(batch, num_tags)`: the log forward scores of step 0.
        transition_params: `(num_tags, num_tags)`.
        sequence_lengths: `(batch,)` lengths of the whole sequences (step 0
            included).

    Returns:
        `(batch, num_tags)`: the log forward scores at each sequence's last step.
    """
    inputs = ops.convert_to_tensor(inputs)
    steps = ops.shape(inputs)[1]
    # Step t (t >= 1 in the whole sequence) is live when t < length.
    live = _step_mask(ops.cast(sequence_lengths, "int32") - 1, steps)
    transitions = ops.expand_dims(transition_params, 0)

    def step(alpha, x):
        unary, keep = x
        new = ops.logsumexp(ops.expand_dims(alpha, 2) + transitions, axis=1) + unary
        return ops.where(keep[:, None], new, alpha), None

    xs = (ops.moveaxis(inputs, 1, 0), ops.moveaxis(live, 1, 0))
    alpha, _ = scan(step, state, xs)
    return alpha


def crf_log_norm(inputs, sequence_lengths, transition_params):
    """`log Z` of each sequence by the forward algorithm, `(batch,)`.

    Args:
        inputs: `(batch, T, num_tags)` unary potentials.
        sequence_lengths: `(batch,)` lengths; a length of 0 gives 0.
        transition_params: `(num_tags, num_tags)`.
    """
    inputs, transition_params = _tensors(inputs, transition_params)
    _check_shapes(inputs, transition_params, sequence_lengths=sequence_lengths)
    first = inputs[:, 0, :]
    if inputs.shape[1] == 1:
        alpha = first
    else:
        alpha = crf_forward(inputs[:, 1:, :], first, transition_params, sequence_lengths)
    log_norm = ops.logsumexp(alpha, axis=1)
    return ops.where(ops.cast(sequence_lengths, "int32") > 0, log_norm, ops.zeros_like(log_norm))


def crf_log_likelihood(inputs, tag_indices, sequence_lengths, transition_params=None):
    """Log-likelihood `log p(y) = s(y) - log Z` of tag sequences under a CRF.

    Args:
        inputs: `(batch, T, num_tags)` unary potentials.
        tag_indices: `(batch, T)` integer tags.
        sequence_lengths: `(batch,)` lengths.
        transition_params: `(num_tags, num_tags)`; as in tfa, `None` draws a
            Glorot-uniform matrix (returned, so that the caller can keep it).

    Returns:
        `(log_likelihood, transition_params)`: `(batch,)` and the matrix used.

    Example:

    >>> ll, _ = crf_log_likelihood(np.zeros((1, 3, 2)), np.zeros((1, 3), "int32"),
    ...                            np.array([3]), np.zeros((2, 2)))
    >>> float(ll[0])  # 8 equally likely sequences
    -2.079...
    """
    inputs = ops.convert_to_tensor(inputs)
    _check_shapes(inputs, tag_indices=tag_indices, sequence_lengths=sequence_lengths)
    if transition_params is None:
        num_tags = inputs.shape[-1]
        transition_params = keras.initializers.GlorotUniform()((num_tags, num_tags), dtype=inputs.dtype)
    score = crf_sequence_score(inputs, tag_indices, sequence_lengths, transition_params)
    log_norm = crf_log_norm(inputs, sequence_lengths, transition_params)
    return score - log_norm, transition_params


def crf_decode(potentials, transition_params, sequence_length):
    """Viterbi decoding in `keras.ops` (graph- and XLA-compatible).

    Args:
        potentials: `(batch, T, num_tags)` unary potentials.
        transition_params: `(num_tags, num_tags)`.
        sequence_length: `(batch,)` lengths.

    Returns:
        `(decode_tags, best_score)`: `(batch, T)` int32 tags (0 at padded
        steps) and `(batch,)` scores of the best sequences (0 for length 0).
    """
    potentials, transition_params = _tensors(potentials, transition_params)
    _check_shapes(potentials, transition_params, sequence_lengths=sequence_length,
                  inputs_name="potentials")
    lengths = ops.cast(sequence_length, "int32")
    num_tags = ops.shape(potentials)[2]
    delta = potentials[:, 0, :]
    if potentials.shape[1] == 1:
        tags = ops.expand_dims(ops.cast(ops.argmax(delta, axis=1), "int32"), 1)
    else:
        steps = ops.shape(potentials)[1] - 1
        live = _step_mask(lengths - 1, steps)
        transitions = ops.expand_dims(transition_params, 0)
        identity = ops.arange(num_tags, dtype="int32")

        def forward(delta, x):
            unary, keep = x
            scores = ops.expand_dims(delta, 2) + transitions  # (batch, from, to)
            backpointer = ops.cast(ops.argmax(scores, axis=1), "int32")
            new = ops.max(scores, axis=1) + unary
            # Padded steps point each tag at itself, so that backtracking
            # passes through them unchanged.
            backpointer = ops.where(keep[:, None], backpointer, identity[None, :])
            return ops.where(keep[:, None], new, delta), backpointer

        xs = (ops.moveaxis(potentials[:, 1:, :], 1, 0), ops.moveaxis(live, 1, 0))
        delta, backpointers = scan(forward, delta, xs)  # (T - 1, batch, num_tags)
        last = ops.cast(ops.argmax(delta, axis=1), "int32")

        def backward(tag, backpointer):
            previous = ops.squeeze(ops.take_along_axis(backpointer, tag[:, None], axis=1), 1)
            return previous, previous

        _, earlier = scan(backward, last, backpointers, reverse=True)  # earlier[t] = tag at t
        tags = ops.concatenate([ops.moveaxis(earlier, 0, 1), last[:, None]], axis=1)
    mask = _step_mask(lengths, ops.shape(potentials)[1])
    tags = ops.where(mask, tags, ops.zeros_like(tags))
    best = ops.max(delta, axis=1)
    best = ops.where(lengths > 0, best, ops.zeros_like(best))
    return tags, best


def viterbi_decode(score, transition_params):
    """Viterbi decoding of one sequence in NumPy (tfa's `viterbi_decode`).

    Args:
        score: `(T, num_tags)` unary potentials.
        transition_params: `(num_tags, num_tags)`.

    Returns:
        `(viterbi, viterbi_score)`: a list of `T` integer tags and the best
        sequence's score (a float).
    """
    score = np.asarray(score)
    transition_params = np.asarray(transition_params)
    if score.ndim != 2:
        raise InputError(f"`score` must have shape (steps, num_tags). Received: score.shape={score.shape}")
    num_tags = score.shape[1]
    if transition_params.shape != (num_tags, num_tags):
        raise InputError(
            f"`transition_params` must have shape (num_tags, num_tags) = ({num_tags}, {num_tags}). "
            f"Received: transition_params.shape={transition_params.shape}"
        )
    if len(score) == 0:
        return [], 0.0
    trellis = np.zeros_like(score)
    backpointers = np.zeros_like(score, dtype=np.int32)
    trellis[0] = score[0]
    for t in range(1, score.shape[0]):
        v = np.expand_dims(trellis[t - 1], 1) + transition_params
        trellis[t] = score[t] + np.max(v, 0)
        backpointers[t] = np.argmax(v, 0)
    viterbi = [int(np.argmax(trellis[-1]))]
    for bp in reversed(backpointers[1:]):
        viterbi.append(int(bp[viterbi[-1]]))
    viterbi.reverse()
    return viterbi, float(np.max(trellis[-1]))
