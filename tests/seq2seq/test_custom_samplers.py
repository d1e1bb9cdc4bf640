"""`InferenceSampler` and `CustomSampler`: tfa.seq2seq's step cases for the
inference sampler (categorical and multi-label, from
tensorflow_addons/seq2seq/tests/basic_decoder_test.py), and whole decodes
that must equal `GreedyEmbeddingSampler`'s."""

import keras
import numpy as np
import pytest
from keras import ops

from kerasrnn.seq2seq.decoding import BasicDecoder
from kerasrnn.seq2seq.decoding import BasicDecoderOutput
from kerasrnn.seq2seq.decoding import CustomSampler
from kerasrnn.seq2seq.decoding import GreedyEmbeddingSampler
from kerasrnn.seq2seq.decoding import InferenceSampler

BATCH, VOCAB, START, END = 5, 7, 0, 6


def _cell_and_state(seed):
    keras.utils.set_random_seed(seed)
    cell = keras.layers.LSTMCell(VOCAB)  # the cell's outputs are the logits
    state = [np.random.default_rng(seed).normal(size=(BATCH, VOCAB)).astype("float32") for _ in range(2)]
    return cell, state


def _first_step(sampler, seed):
    cell, state = _cell_and_state(seed)
    decoder = BasicDecoder(cell, sampler, maximum_iterations=3)
    start_inputs = ops.one_hot(np.full((BATCH,), START), VOCAB)
    finished, inputs, state = decoder.initialize(start_inputs, initial_state=state)
    np.testing.assert_array_equal(ops.convert_to_numpy(finished), np.zeros(BATCH, bool))
    outputs, next_state, next_inputs, step_finished = decoder.step(0, inputs, state)
    assert decoder.batch_size == BATCH and len(next_state) == 2
    assert outputs.rnn_output.shape == (BATCH, VOCAB)
    return decoder, outputs, ops.convert_to_numpy(next_inputs), ops.convert_to_numpy(step_finished)


def test_inference_sampler_categorical_step_from_tfa():
    seed = keras.random.SeedGenerator(0)
    sampler = InferenceSampler(
        lambda logits: keras.random.categorical(logits, 1, seed=seed, dtype="int32")[:, 0],
        sample_shape=(), sample_dtype="int32", end_fn=lambda ids: ops.equal(ids, END),
        next_inputs_fn=lambda ids: ops.one_hot(ids, VOCAB))
    decoder, outputs, next_inputs, finished = _first_step(sampler, seed=1)
    assert decoder.output_size == BasicDecoderOutput((VOCAB,), ())
    assert decoder.output_dtype == BasicDecoderOutput("float32", "int32")
    ids = ops.convert_to_numpy(outputs.sample_id)
    assert ids.shape == (BATCH,) and ids.dtype == np.int32
    np.testing.assert_array_equal(finished, ids == END)
    expected = np.zeros((BATCH, VOCAB))
    expected[np.arange(BATCH), ids] = 1.0
    np.testing.assert_array_equal(next_inputs, expected)


def test_inference_sampler_multilabel_step_from_tfa():
    seed = keras.random.SeedGenerator(0)
    sampler = InferenceSampler(
        lambda logits: keras.random.uniform(ops.shape(logits), seed=seed) < ops.sigmoid(logits),  # Bernoulli
        sample_shape=[VOCAB], sample_dtype="bool", end_fn=lambda ids: ids[:, END],
        next_inputs_fn=lambda ids: ops.cast(ids, "float32"))
    decoder, outputs, next_inputs, finished = _first_step(sampler, seed=2)
    assert decoder.output_size == BasicDecoderOutput((VOCAB,), (VOCAB,))
    assert decoder.output_dtype == BasicDecoderOutput("float32", "bool")
    ids = ops.convert_to_numpy(outputs.sample_id)
    assert ids.shape == (BATCH, VOCAB) and ids.dtype == bool
    np.testing.assert_array_equal(finished, ids[:, END])
    np.testing.assert_array_equal(next_inputs, ids.astype("float32"))
    # A whole decode keeps (batch, steps, VOCAB) boolean samples.
    decoded, _, _ = decoder(ops.one_hot(np.full((BATCH,), START), VOCAB), initial_state=_cell_and_state(2)[1])
    decoded = ops.convert_to_numpy(decoded.sample_id)
    assert decoded.shape == (BATCH, 3, VOCAB) and decoded.dtype == bool


def test_inference_and_custom_samplers_decode_like_the_greedy_sampler():
    cell, state = _cell_and_state(3)
    embedding = np.random.default_rng(3).normal(size=(VOCAB, 4)).astype("float32")
    start = np.array([START, 1, 2, 3, 4])

    def decode(sampler, first_inputs, **kwargs):
        outputs, _, lengths = BasicDecoder(cell, sampler, maximum_iterations=5)(
            first_inputs, initial_state=state, **kwargs)
        return ops.convert_to_numpy(outputs.sample_id), ops.convert_to_numpy(lengths)

    greedy_ids, greedy_lengths = decode(GreedyEmbeddingSampler(), embedding, start_tokens=start, end_token=END)
    assert 1 < greedy_lengths.min() and len(np.unique(greedy_ids)) > 2  # not a trivial decode

    def argmax(logits):
        return ops.cast(ops.argmax(logits, axis=-1), "int32")

    def embed(ids):
        return ops.take(embedding, ids, axis=0)

    inference = InferenceSampler(argmax, (), "int32", lambda ids: ops.equal(ids, END), next_inputs_fn=embed)
    ids, lengths = decode(inference, embed(start))
    np.testing.assert_array_equal(lengths, greedy_lengths)
    for row, expected, n in zip(ids, greedy_ids, greedy_lengths):
        np.testing.assert_array_equal(row[:n], expected[:n])

    custom = CustomSampler(
        initialize_fn=lambda tokens, end_token: (ops.zeros((BATCH,), "bool"), embed(tokens)),
        sample_fn=lambda time, outputs, state: argmax(outputs),
        next_inputs_fn=lambda time, outputs, state, sample_ids: (
            ops.equal(sample_ids, END), embed(sample_ids), state))
    ids, lengths = decode(custom, start, end_token=END)  # initialize_fn gets the call's keywords
    np.testing.assert_array_equal(lengths, greedy_lengths)
    for row, expected, n in zip(ids, greedy_ids, greedy_lengths):
        np.testing.assert_array_equal(row[:n], expected[:n])
    assert (custom.sample_ids_shape, custom.sample_ids_dtype) == ((), "int32")


def test_bad_arguments_name_the_argument_and_value():
    def fn(x):
        return x

    with pytest.raises(ValueError, match="`sample_fn` must be a callable. Received: sample_fn=None"):
        InferenceSampler(None, (), "int32", fn)
    with pytest.raises(ValueError, match="`end_fn` must be a callable. Received: end_fn=3"):
        InferenceSampler(fn, (), "int32", 3)
    with pytest.raises(ValueError, match=r"`sample_shape` must be a shape.*sample_shape=\(-1,\)"):
        InferenceSampler(fn, (-1,), "int32", fn)
    with pytest.raises(ValueError, match="`sample_dtype` must be a dtype.*sample_dtype='integer'"):
        InferenceSampler(fn, (), "integer", fn)
    with pytest.raises(ValueError, match="`sample_dtype` must be a dtype.*sample_dtype=None"):
        InferenceSampler(fn, (), None, fn)
    with pytest.raises(ValueError, match="`next_inputs_fn` must be a callable or None"):
        InferenceSampler(fn, (), "int32", fn, next_inputs_fn="embed")
    with pytest.raises(ValueError, match="`next_inputs_fn` must be a callable. Received: next_inputs_fn=None"):
        CustomSampler(fn, fn, None)
    with pytest.raises(ValueError, match="`sample_ids_shape` must be a shape.*sample_ids_shape='5'"):
        CustomSampler(fn, fn, fn, sample_ids_shape="5")
    with pytest.raises(ValueError, match="`initialize_fn`.*finished a boolean vector.*shape \\(2, 2\\)"):
        CustomSampler(lambda x: (np.zeros((2, 2), bool), x), fn, fn).initialize(np.zeros((2, 3)))
