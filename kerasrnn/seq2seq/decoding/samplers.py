"""Samplers: how `BasicDecoder` picks each step's token and its next input.

The tfa.seq2seq sampler protocol, in keras.ops:

* `initialize(inputs, **kwargs)` → `(finished, first_inputs)`;
* `sample(time, outputs, state)` → `sample_ids`;
* `next_inputs(time, outputs, state, sample_ids)` →
  `(finished, next_inputs, next_state)`;
* `batch_size`, `sample_ids_shape`, `sample_ids_dtype`.

Training samplers read the teacher-forcing inputs (`TrainingSampler`), or
replace some of them by the model's own predictions (scheduled sampling,
Bengio et al. 2015: `ScheduledEmbeddingTrainingSampler` feeds the embedding
of a token sampled from the outputs, `ScheduledOutputTrainingSampler` the
outputs themselves). Inference samplers feed back the embedding of the
token they pick: the most probable one (`GreedyEmbeddingSampler`) or one
drawn from the softmax, optionally tempered and restricted to the `top_k`
tokens or to the smallest set holding `top_p` of the probability
(`SampleEmbeddingSampler`).

Random choices use a `keras.random.SeedGenerator`, so they run inside the
compiled decode loop on TensorFlow (XLA included), JAX and PyTorch.
"""

import keras
from keras import ops

from kerasrnn.validation import ArgumentError
from kerasrnn.validation import check_bool
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number
from kerasrnn.validation import check_probability

#: Logit given to tokens a sampler must not draw.
_EXCLUDED = -1e9


def embedding_lookup_fn(embedding, embedding_fn=None, argument="embedding"):
    """A callable `ids -> vectors` from an embedding matrix or a callable."""
    if embedding is not None and embedding_fn is not None:
        raise ArgumentError(argument, "<given>", "None when the sampler already has an embedding_fn")
    if embedding_fn is not None:
        return embedding_fn
    if embedding is None:
        raise ArgumentError(argument, None, "an embedding matrix (vocab_size, dim) or a callable, or "
                            "the sampler's embedding_fn")
    if callable(embedding) and not hasattr(embedding, "shape"):
        return embedding
    matrix = ops.convert_to_tensor(embedding)
    if len(matrix.shape) != 2:
        raise ArgumentError(argument, f"a tensor of shape {tuple(matrix.shape)}",
                            "an embedding matrix of shape (vocab_size, dim) or a callable")
    return lambda ids: ops.take(matrix, ops.cast(ids, "int32"), axis=0)


def _check_fn(name, fn):
    if fn is not None and not callable(fn):
        raise ArgumentError(name, fn, "a callable or None")
    return fn


def _seed_generator(name, seed):
    if isinstance(seed, keras.random.SeedGenerator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ArgumentError(name, seed, "an integer, a keras.random.SeedGenerator or None")
    return keras.random.SeedGenerator(seed)


class _StepSeed:
    """The seed of one step's random draw.

    On JAX the decode loop is a traced `lax.while_loop` whose body runs once,
    so a `SeedGenerator` would hand every step the same seed (its state
    cannot advance inside the trace; checked with Keras 3.15 and JAX 0.10).
    There, a seed is drawn once per decode (`start`, outside the loop) and
    the step index folded into it; the other backends advance the generator
    at every step.
    """

    def __init__(self, name, seed):
        self.generator = _seed_generator(name, seed)
        self.base = None

    def start(self):
        if keras.backend.backend() == "jax":
            self.base = self.generator.next()

    def __call__(self, time):
        if self.base is None:
            return self.generator
        return self.base + ops.cast(ops.stack([0, time]), self.base.dtype)


def _sampling_probability(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return check_probability("sampling_probability", value)
    value = ops.convert_to_tensor(value, "float32")
    if len(value.shape) > 1:
        raise ArgumentError("sampling_probability", f"a tensor of shape {tuple(value.shape)}",
                            "a probability (scalar) or a vector of one per batch entry")
    return value


class Sampler:
    """Base class of the samplers; see the module docstring for the protocol."""

    def initialize(self, inputs, **kwargs):
        raise NotImplementedError

    def sample(self, time, outputs, state):
        raise NotImplementedError

    def next_inputs(self, time, outputs, state, sample_ids):
        raise NotImplementedError

    @property
    def batch_size(self):
        if getattr(self, "_batch_size", None) is None:
            raise ValueError(f"{type(self).__name__}.batch_size is known after initialize().")
        return self._batch_size

    @property
    def sample_ids_shape(self):
        return ()

    @property
    def sample_ids_dtype(self):
        return "int32"


class TrainingSampler(Sampler):
    """Teacher forcing: step `t + 1` reads `inputs[:, t + 1]`.

    `sample` returns the argmax of the outputs (for monitoring); a sequence
    is finished once its `sequence_length` steps are read.

    Args:
        time_major: Whether `inputs` are `(time, batch, ...)`.

    `initialize(inputs, sequence_length=None, mask=None)`: `inputs` a tensor
    or nest of `(batch, time, ...)` tensors; `sequence_length` int
    `(batch,)` or a boolean `mask` `(batch, time)`; all `time` steps if
    neither.
    """

    def __init__(self, time_major=False):
        self.time_major = check_bool("time_major", time_major)
        self._batch_size = None

    def initialize(self, inputs, sequence_length=None, mask=None):
        if inputs is None:
            raise ArgumentError("inputs", None, "the teacher-forcing inputs (batch, time, ...)")
        if sequence_length is not None and mask is not None:
            raise ArgumentError("mask", "<given>", "None when sequence_length is given")
        inputs = keras.tree.map_structure(ops.convert_to_tensor, inputs)
        if not self.time_major:
            inputs = keras.tree.map_structure(lambda x: ops.moveaxis(x, 0, 1), inputs)
        self.inputs = inputs
        first = keras.tree.flatten(inputs)[0]
        self.max_time = first.shape[0]
        self._batch_size = ops.shape(first)[1]
        if mask is not None:
            time_axis = 0 if self.time_major else 1
            sequence_length = ops.sum(ops.cast(mask, "int32"), axis=time_axis)
        if sequence_length is None:
            sequence_length = ops.full((self._batch_size,), ops.shape(first)[0], dtype="int32")
        self.sequence_length = ops.cast(ops.convert_to_tensor(sequence_length), "int32")
        if len(self.sequence_length.shape) != 1:
            raise ArgumentError("sequence_length", f"a tensor of shape {tuple(self.sequence_length.shape)}",
                                "a vector (batch,)")
        finished = ops.equal(self.sequence_length, 0)
        return finished, self._read(0, ops.all(finished))

    def _read(self, time, all_finished):
        index = ops.minimum(time, ops.shape(keras.tree.flatten(self.inputs)[0])[0] - 1)
        return keras.tree.map_structure(
            lambda x: ops.where(all_finished, ops.zeros_like(x[0]), ops.take(x, index, axis=0)),
            self.inputs,
        )

    def sample(self, time, outputs, state):
        return ops.cast(ops.argmax(outputs, axis=-1), "int32")

    def next_inputs(self, time, outputs, state, sample_ids):
        next_time = time + 1
        finished = next_time >= self.sequence_length
        return finished, self._read(next_time, ops.all(finished)), state


class ScheduledEmbeddingTrainingSampler(TrainingSampler):
    """Teacher forcing, except that with probability `sampling_probability`
    (per batch entry and step) the next input is the embedding of a token
    sampled from the step's logits.

    `sample_ids` are the sampled ids, or -1 where the teacher's input is fed.

    Args:
        sampling_probability: Probability of feeding a sampled token: a
            number in [0, 1] or a `(batch,)` tensor.
        embedding_fn: Callable `ids -> embeddings`, or `None` to give an
            `embedding` matrix to `initialize`.
        time_major: Whether `inputs` are `(time, batch, ...)`.
        seed: Integer seed of the sampling, a `keras.random.SeedGenerator`, or `None`.
        scheduling_seed: Integer seed of the choice to sample, or `None`.
    """

    def __init__(self, sampling_probability, embedding_fn=None, time_major=False, seed=None,
                 scheduling_seed=None):
        super().__init__(time_major=time_major)
        self.sampling_probability = _sampling_probability(sampling_probability)
        self.embedding_fn = _check_fn("embedding_fn", embedding_fn)
        self.seed = _StepSeed("seed", seed)
        self.scheduling_seed = _StepSeed("scheduling_seed", scheduling_seed)

    def initialize(self, inputs, sequence_length=None, mask=None, embedding=None):
        self._embed = embedding_lookup_fn(embedding, self.embedding_fn)
        self.seed.start()
        self.scheduling_seed.start()
        return super().initialize(inputs, sequence_length=sequence_length, mask=mask)

    def sample(self, time, outputs, state):
        batch = ops.shape(outputs)[0]
        select = keras.random.uniform((batch,), seed=self.scheduling_seed(time)) < self.sampling_probability
        drawn = keras.random.categorical(ops.cast(outputs, "float32"), 1, seed=self.seed(time),
                                         dtype="int32")[:, 0]
        return ops.where(select, drawn, -1)

    def next_inputs(self, time, outputs, state, sample_ids):
        finished, base, state = super().next_inputs(time, outputs, state, sample_ids)
        sampled = self._embed(ops.maximum(sample_ids, 0))
        use = ops.logical_and(sample_ids > -1, ops.logical_not(ops.all(finished)))
        return finished, ops.where(use[:, None], ops.cast(sampled, base.dtype), base), state


class ScheduledOutputTrainingSampler(TrainingSampler):
    """Teacher forcing, except that with probability `sampling_probability`
    the next input is the step's output itself (`next_inputs_fn(outputs)`),
    concatenated with `auxiliary_inputs` at the next step when given.

    `sample_ids` are booleans: where the output was fed back.

    Args:
        sampling_probability: A number in [0, 1] or a `(batch,)` tensor.
        time_major: Whether inputs are `(time, batch, ...)`.
        seed: Integer seed, a `keras.random.SeedGenerator`, or `None`.
        next_inputs_fn: Callable applied to the outputs before feeding them
            back, or `None` for the outputs as they are.

    `initialize(inputs, sequence_length=None, mask=None,
    auxiliary_inputs=None)`: the teacher inputs are
    `concat([inputs, auxiliary_inputs], -1)`.
    """

    def __init__(self, sampling_probability, time_major=False, seed=None, next_inputs_fn=None):
        super().__init__(time_major=time_major)
        self.sampling_probability = _sampling_probability(sampling_probability)
        self.seed = _StepSeed("seed", seed)
        self.next_inputs_fn = _check_fn("next_inputs_fn", next_inputs_fn)

    def initialize(self, inputs, sequence_length=None, mask=None, auxiliary_inputs=None):
        self.seed.start()
        self.auxiliary_inputs = None
        if auxiliary_inputs is not None:
            auxiliary_inputs = ops.convert_to_tensor(auxiliary_inputs)
            self.auxiliary_inputs = auxiliary_inputs if self.time_major \
                else ops.moveaxis(auxiliary_inputs, 0, 1)
            inputs = ops.concatenate([ops.convert_to_tensor(inputs), auxiliary_inputs], axis=-1)
        return super().initialize(inputs, sequence_length=sequence_length, mask=mask)

    @property
    def sample_ids_dtype(self):
        return "bool"

    def sample(self, time, outputs, state):
        batch = ops.shape(outputs)[0]
        return keras.random.uniform((batch,), seed=self.seed(time)) < self.sampling_probability

    def next_inputs(self, time, outputs, state, sample_ids):
        finished, base, state = super().next_inputs(time, outputs, state, sample_ids)
        fed = self.next_inputs_fn(outputs) if self.next_inputs_fn is not None else outputs
        if self.auxiliary_inputs is not None:
            index = ops.minimum(time + 1, ops.shape(self.auxiliary_inputs)[0] - 1)
            fed = ops.concatenate([fed, ops.take(self.auxiliary_inputs, index, axis=0)], axis=-1)
        use = ops.logical_and(sample_ids, ops.logical_not(ops.all(finished)))
        return finished, ops.where(use[:, None], ops.cast(fed, base.dtype), base), state


class GreedyEmbeddingSampler(Sampler):
    """Inference: feeds back the embedding of the most probable token.

    A sequence is finished when it produces `end_token`; once all are, the
    next inputs are the start inputs (never read by the loop).

    Args:
        embedding_fn: Callable `ids -> embeddings`, or `None` to give an
            embedding matrix to `initialize`.

    `initialize(embedding, start_tokens, end_token)`: `start_tokens` int
    `(batch,)`, `end_token` an int.
    """

    def __init__(self, embedding_fn=None):
        self.embedding_fn = _check_fn("embedding_fn", embedding_fn)
        self._batch_size = None

    def initialize(self, embedding, start_tokens=None, end_token=None):
        self._embed = embedding_lookup_fn(embedding, self.embedding_fn)
        if start_tokens is None or end_token is None:
            raise ArgumentError("start_tokens" if start_tokens is None else "end_token", None,
                                "given (start_tokens: int (batch,), end_token: int)")
        self.start_tokens = ops.cast(ops.convert_to_tensor(start_tokens), "int32")
        if len(self.start_tokens.shape) != 1:
            raise ArgumentError("start_tokens", f"a tensor of shape {tuple(self.start_tokens.shape)}",
                                "a vector (batch,)")
        self.end_token = end_token
        if len(ops.convert_to_tensor(end_token).shape) != 0:
            raise ArgumentError("end_token", end_token, "a scalar")
        self._batch_size = ops.shape(self.start_tokens)[0]
        self.start_inputs = self._embed(self.start_tokens)
        return ops.zeros((self._batch_size,), dtype="bool"), self.start_inputs

    def sample(self, time, outputs, state):
        return ops.cast(ops.argmax(outputs, axis=-1), "int32")

    def next_inputs(self, time, outputs, state, sample_ids):
        finished = ops.equal(sample_ids, ops.cast(self.end_token, "int32"))
        embedded = self._embed(sample_ids)
        next_inputs = ops.where(ops.all(finished), ops.cast(self.start_inputs, embedded.dtype), embedded)
        return finished, next_inputs, state


class SampleEmbeddingSampler(GreedyEmbeddingSampler):
    """Inference: feeds back the embedding of a token drawn from the softmax.

    The logits are divided by `softmax_temperature`; then, optionally, only
    the `top_k` most probable tokens, and only the smallest set of most
    probable tokens whose probabilities sum to at least `top_p` (nucleus
    sampling, Holtzman et al. 2020; the most probable token is always kept)
    can be drawn. `top_k=1` is greedy decoding.

    Args:
        embedding_fn: Callable `ids -> embeddings`, or `None`.
        softmax_temperature: Positive number, or `None` for 1.
        seed: Integer seed, a `keras.random.SeedGenerator`, or `None`.
        top_k: Positive integer, or `None` for no limit.
        top_p: Number in (0, 1], or `None` for no limit.
    """

    def __init__(self, embedding_fn=None, softmax_temperature=None, seed=None, top_k=None, top_p=None):
        super().__init__(embedding_fn)
        self.softmax_temperature = None if softmax_temperature is None \
            else check_positive_number("softmax_temperature", softmax_temperature)
        self.top_k = None if top_k is None else check_positive_int("top_k", top_k)
        if top_p is not None:
            top_p = check_probability("top_p", top_p)
            if top_p == 0:
                raise ArgumentError("top_p", top_p, "a float in (0, 1]")
        self.top_p = top_p
        self.seed = _StepSeed("seed", seed)

    def initialize(self, embedding, start_tokens=None, end_token=None):
        self.seed.start()
        return super().initialize(embedding, start_tokens=start_tokens, end_token=end_token)

    def filtered_logits(self, logits):
        """The logits after temperature, top-k and top-p (excluded tokens at -1e9)."""
        logits = ops.cast(logits, "float32")
        if self.softmax_temperature is not None:
            logits = logits / self.softmax_temperature
        vocab = logits.shape[-1]
        if self.top_k is not None and self.top_k < vocab:
            kth = ops.top_k(logits, self.top_k)[0][:, -1:]
            logits = ops.where(logits < kth, _EXCLUDED, logits)
        if self.top_p is not None and self.top_p < 1:
            ranked = ops.flip(ops.sort(logits, axis=-1), axis=-1)
            probs = ops.softmax(ranked, axis=-1)
            before = ops.cumsum(probs, axis=-1) - probs  # mass of the more probable tokens
            kept = ops.where(before < self.top_p, ranked, ranked[:, :1])
            threshold = ops.min(kept, axis=-1, keepdims=True, initial=float("inf"))
            logits = ops.where(logits < threshold, _EXCLUDED, logits)
        return logits

    def sample(self, time, outputs, state):
        logits = self.filtered_logits(outputs)
        return keras.random.categorical(logits, 1, seed=self.seed(time), dtype="int32")[:, 0]
