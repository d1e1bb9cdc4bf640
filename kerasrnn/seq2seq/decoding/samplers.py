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

`InferenceSampler` and `CustomSampler` take the sampling, stopping and
feeding rules as callables (tfa.seq2seq's names and meanings).

Random choices use a `keras.random.SeedGenerator`, so they run inside the
compiled decode loop on TensorFlow (XLA included), JAX and PyTorch.

Every sampler has `get_config`/`from_config` and is registered with Keras,
so a decoder that holds one saves to `.keras`. A callable argument
(`embedding_fn`, `next_inputs_fn`, ...) serializes when it is a Keras layer
(a `keras.layers.Embedding`: its weights are saved with the decoder) or a
function registered with `keras.saving.register_keras_serializable`; an
arbitrary Python callable (a lambda, a closure) cannot be saved, and
`get_config` says which argument holds one.
"""

import inspect

import keras
from keras import ops

from kerasrnn.validation import ArgumentError
from kerasrnn.validation import check_bool
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number
from kerasrnn.validation import check_probability
from kerasrnn.validation import is_int

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


def _check_fn(name, fn, required=False):
    if fn is None and required:
        raise ArgumentError(name, None, "a callable")
    if fn is not None and not callable(fn):
        raise ArgumentError(name, fn, "a callable" if required else "a callable or None")
    return fn


def _is_registered_function(fn):
    try:
        name = keras.saving.get_registered_name(fn)
    except Exception:
        return False
    return keras.saving.get_registered_object(name) is fn


def serialize_fn(argument, fn, instead=None):
    """The config of the callable argument `argument`: `None`, a Keras layer
    (`keras.layers.Embedding`, ...) or a function registered with
    `keras.saving.register_keras_serializable`. Any other Python callable
    (a lambda, a closure, a bound method) cannot be serialized: an
    `ArgumentError` names the argument and says what to pass instead."""
    if fn is None:
        return None
    if isinstance(fn, keras.layers.Layer) or _is_registered_function(fn):
        return keras.saving.serialize_keras_object(fn)
    raise ArgumentError(
        argument, fn,
        "a Keras layer (e.g. a keras.layers.Embedding, whose weights are saved with the decoder) or a "
        "function registered with keras.saving.register_keras_serializable to serialize it"
        + (f", or {instead}" if instead else "")
        + "; an arbitrary Python callable cannot be saved",
    )


def deserialize_fn(config):
    """A callable argument from `serialize_fn`'s config (objects pass through)."""
    return keras.saving.deserialize_keras_object(config) if isinstance(config, dict) else config


#: What to pass instead of an arbitrary `embedding_fn` to save a sampler or decoder.
EMBEDDING_INSTEAD = "None with the embedding matrix given when calling the decoder (its `embedding` argument)"


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
        self.given = seed

    def get_config(self):
        """The seed as given: an integer, `None`, or a `SeedGenerator`'s config."""
        if isinstance(self.given, keras.random.SeedGenerator):
            return keras.saving.serialize_keras_object(self.given)
        return self.given

    def start(self):
        if keras.backend.backend() == "jax":
            self.base = self.generator.next()

    def __call__(self, time):
        if self.base is None:
            return self.generator
        return self.base + ops.cast(ops.stack([0, time]), self.base.dtype)


def serialize_sampler(sampler):
    """`keras.saving.serialize_keras_object(sampler)`, refusing a config
    that lacks a required constructor argument (a subclass with arguments
    of its own and no `get_config` for them) instead of failing at load."""
    config = sampler.get_config()
    missing = [name for name, p in inspect.signature(type(sampler).__init__).parameters.items()
               if name != "self" and p.default is p.empty and name not in config
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if missing:
        raise NotImplementedError(
            f"{type(sampler).__name__}.get_config() lacks its constructor arguments {', '.join(missing)}: "
            "give the class a get_config that returns them (and register it with "
            "keras.saving.register_keras_serializable) to serialize it.")
    return keras.saving.serialize_keras_object(sampler)


def _probability_config(value):
    if isinstance(value, float):
        return value
    value = ops.convert_to_numpy(value)
    return value.item() if value.ndim == 0 else value.tolist()


def _sampling_probability(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return check_probability("sampling_probability", value)
    value = ops.convert_to_tensor(value, "float32")
    if len(value.shape) > 1:
        raise ArgumentError("sampling_probability", f"a tensor of shape {tuple(value.shape)}",
                            "a probability (scalar) or a vector of one per batch entry")
    return value


class Sampler:
    """Base class of the samplers; see the module docstring for the protocol.

    A subclass that takes constructor arguments returns them from
    `get_config` (callables through `serialize_fn`); `from_config`
    deserializes every dict in the config and calls the constructor, and
    `layers` lists the Keras layers among the callables (a decoder tracks
    them so that their weights train and save with it).
    """

    #: Constructor arguments that are callables (their Keras layers are `layers`).
    _fn_arguments = ()

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**{k: deserialize_fn(v) for k, v in config.items()})

    @property
    def layers(self):
        """The Keras layers the sampler calls (e.g. a `keras.layers.Embedding`)."""
        found = []
        for name in self._fn_arguments:
            fn = getattr(self, name, None)
            if isinstance(fn, keras.layers.Layer) and not any(fn is f for f in found):
                found.append(fn)
        return found

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


@keras.saving.register_keras_serializable(package="kerasrnn.seq2seq")
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

    def get_config(self):
        return {"time_major": self.time_major}

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


@keras.saving.register_keras_serializable(package="kerasrnn.seq2seq")
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

    _fn_arguments = ("embedding_fn",)

    def get_config(self):
        return {
            **super().get_config(),
            "sampling_probability": _probability_config(self.sampling_probability),
            "embedding_fn": serialize_fn("embedding_fn", self.embedding_fn, EMBEDDING_INSTEAD),
            "seed": self.seed.get_config(),
            "scheduling_seed": self.scheduling_seed.get_config(),
        }

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


@keras.saving.register_keras_serializable(package="kerasrnn.seq2seq")
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

    _fn_arguments = ("next_inputs_fn",)

    def get_config(self):
        return {
            **super().get_config(),
            "sampling_probability": _probability_config(self.sampling_probability),
            "seed": self.seed.get_config(),
            "next_inputs_fn": serialize_fn("next_inputs_fn", self.next_inputs_fn,
                                           "None to feed the outputs back as they are"),
        }

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


@keras.saving.register_keras_serializable(package="kerasrnn.seq2seq")
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

    _fn_arguments = ("embedding_fn",)

    def get_config(self):
        return {"embedding_fn": serialize_fn("embedding_fn", self.embedding_fn, EMBEDDING_INSTEAD)}

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


@keras.saving.register_keras_serializable(package="kerasrnn.seq2seq")
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

    def get_config(self):
        return {
            **super().get_config(),
            "softmax_temperature": self.softmax_temperature,
            "seed": self.seed.get_config(),
            "top_k": self.top_k,
            "top_p": self.top_p,
        }

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


def _check_sample_shape(name, shape):
    """A shape without the batch axis: `()`, an integer or a sequence of them."""
    if shape is None:
        return ()
    if is_int(shape):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(is_int(d) and d >= 0 for d in shape):
        raise ArgumentError(name, shape, "a shape without the batch axis: a tuple of non-negative "
                                         "integers, e.g. () for one id per sequence")
    return tuple(int(d) for d in shape)


def _check_dtype(name, dtype, default):
    if dtype is None:
        return default
    try:
        return keras.backend.standardize_dtype(dtype)
    except (ValueError, TypeError, AttributeError):
        raise ArgumentError(name, dtype, "a dtype (e.g. \"int32\", \"bool\", \"float32\")") from None


@keras.saving.register_keras_serializable(package="kerasrnn.seq2seq")
class InferenceSampler(Sampler):
    """Inference with your own rules: `sample_fn` picks from the outputs,
    `end_fn` says which sequences ended, `next_inputs_fn` turns the samples
    into the next inputs.

    Args:
        sample_fn: Callable `outputs -> sample_ids` (e.g. an argmax, a
            categorical draw, independent Bernoullis for multi-label
            outputs).
        sample_shape: Shape of one sample without the batch axis (`()` for
            one id per sequence, `(n,)` for `n` labels).
        sample_dtype: Dtype of the samples (`"int32"`, `"bool"`, ...).
        end_fn: Callable `sample_ids -> finished`, boolean `(batch,)`.
        next_inputs_fn: Callable `sample_ids -> next_inputs`, or `None` to
            feed the samples themselves.

    `initialize(start_inputs)`: the first inputs `(batch, ...)`.
    """

    _fn_arguments = ("sample_fn", "end_fn", "next_inputs_fn")

    def __init__(self, sample_fn, sample_shape, sample_dtype, end_fn, next_inputs_fn=None):
        self.sample_fn = _check_fn("sample_fn", sample_fn, required=True)
        self.sample_shape = _check_sample_shape("sample_shape", sample_shape)
        if sample_dtype is None:
            raise ArgumentError("sample_dtype", None, "a dtype (e.g. \"int32\", \"bool\", \"float32\")")
        self.sample_dtype = _check_dtype("sample_dtype", sample_dtype, None)
        self.end_fn = _check_fn("end_fn", end_fn, required=True)
        self.next_inputs_fn = _check_fn("next_inputs_fn", next_inputs_fn)
        self._batch_size = None

    @property
    def sample_ids_shape(self):
        return self.sample_shape

    @property
    def sample_ids_dtype(self):
        return self.sample_dtype

    def initialize(self, start_inputs):
        if start_inputs is None:
            raise ArgumentError("start_inputs", None, "the first inputs (batch, ...)")
        self.start_inputs = ops.convert_to_tensor(start_inputs)
        if len(self.start_inputs.shape) == 0:
            raise ArgumentError("start_inputs", "a scalar", "a tensor (batch, ...)")
        self._batch_size = ops.shape(self.start_inputs)[0]
        return ops.zeros((self._batch_size,), dtype="bool"), self.start_inputs

    def sample(self, time, outputs, state):
        return ops.cast(self.sample_fn(outputs), self.sample_dtype)

    def next_inputs(self, time, outputs, state, sample_ids):
        next_inputs = sample_ids if self.next_inputs_fn is None else self.next_inputs_fn(sample_ids)
        return ops.cast(self.end_fn(sample_ids), "bool"), next_inputs, state

    def get_config(self):
        return {
            "sample_fn": serialize_fn("sample_fn", self.sample_fn),
            "sample_shape": self.sample_shape,
            "sample_dtype": self.sample_dtype,
            "end_fn": serialize_fn("end_fn", self.end_fn),
            "next_inputs_fn": serialize_fn("next_inputs_fn", self.next_inputs_fn,
                                           "None to feed the samples as they are"),
        }


@keras.saving.register_keras_serializable(package="kerasrnn.seq2seq")
class CustomSampler(Sampler):
    """A sampler made of three callables, called with tfa.seq2seq's keywords.

    Args:
        initialize_fn: `initialize_fn(inputs, **kwargs) -> (finished,
            next_inputs)`; `kwargs` are the decoder call's other keyword
            arguments.
        sample_fn: `sample_fn(time=, outputs=, state=) -> sample_ids`.
        next_inputs_fn: `next_inputs_fn(time=, outputs=, state=,
            sample_ids=) -> (finished, next_inputs, next_state)`.
        sample_ids_shape: Shape of one sample without the batch axis
            (default `()`).
        sample_ids_dtype: Dtype of the samples (default `"int32"`).
    """

    _fn_arguments = ("initialize_fn", "sample_fn", "next_inputs_fn")

    def __init__(self, initialize_fn, sample_fn, next_inputs_fn, sample_ids_shape=None,
                 sample_ids_dtype=None):
        self.initialize_fn = _check_fn("initialize_fn", initialize_fn, required=True)
        self.sample_fn = _check_fn("sample_fn", sample_fn, required=True)
        self.next_inputs_fn = _check_fn("next_inputs_fn", next_inputs_fn, required=True)
        self._sample_ids_shape = _check_sample_shape("sample_ids_shape", sample_ids_shape)
        self._sample_ids_dtype = _check_dtype("sample_ids_dtype", sample_ids_dtype, "int32")
        self._batch_size = None

    @property
    def sample_ids_shape(self):
        return self._sample_ids_shape

    @property
    def sample_ids_dtype(self):
        return self._sample_ids_dtype

    def initialize(self, inputs, **kwargs):
        finished, next_inputs = self.initialize_fn(inputs, **kwargs)
        finished = ops.cast(ops.convert_to_tensor(finished), "bool")
        if len(finished.shape) != 1:
            raise ArgumentError("initialize_fn", self.initialize_fn,
                                "a callable returning (finished, next_inputs) with finished a boolean "
                                f"vector (batch,); its finished has shape {tuple(finished.shape)}")
        self._batch_size = ops.shape(finished)[0]
        return finished, next_inputs

    def sample(self, time, outputs, state):
        return self.sample_fn(time=time, outputs=outputs, state=state)

    def next_inputs(self, time, outputs, state, sample_ids):
        return self.next_inputs_fn(time=time, outputs=outputs, state=state, sample_ids=sample_ids)

    def get_config(self):
        return {
            "initialize_fn": serialize_fn("initialize_fn", self.initialize_fn),
            "sample_fn": serialize_fn("sample_fn", self.sample_fn),
            "next_inputs_fn": serialize_fn("next_inputs_fn", self.next_inputs_fn),
            "sample_ids_shape": self._sample_ids_shape,
            "sample_ids_dtype": self._sample_ids_dtype,
        }
