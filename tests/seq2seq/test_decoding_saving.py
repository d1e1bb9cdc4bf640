"""Saving decoders: every sampler, `BasicDecoder` and `BeamSearchDecoder`
round-trip through Keras serialization, and a model holding decoders (cell,
output layer, embedding layer, attention, penalties and options) reloads
from `.keras` and decodes the same ids."""

import json

import keras
import numpy as np
import pytest

from kerasrnn.seq2seq.attention import AttentionWrapper
from kerasrnn.seq2seq.attention import LuongAttention
from kerasrnn.seq2seq.decoding import BasicDecoder
from kerasrnn.seq2seq.decoding import BeamSearchDecoder
from kerasrnn.seq2seq.decoding import CustomSampler
from kerasrnn.seq2seq.decoding import GreedyEmbeddingSampler
from kerasrnn.seq2seq.decoding import InferenceSampler
from kerasrnn.seq2seq.decoding import SampleEmbeddingSampler
from kerasrnn.seq2seq.decoding import ScheduledEmbeddingTrainingSampler
from kerasrnn.seq2seq.decoding import ScheduledOutputTrainingSampler
from kerasrnn.seq2seq.decoding import TrainingSampler
from kerasrnn.seq2seq.decoding import tile_batch

VOCAB, DIM, UNITS, START, END, BEAM = 6, 3, 5, 0, 1, 3


@keras.saving.register_keras_serializable(package="kerasrnn_tests")
def _argmax_ids(outputs):
    return keras.ops.cast(keras.ops.argmax(outputs, axis=-1), "int32")


@keras.saving.register_keras_serializable(package="kerasrnn_tests")
def _ends_at_one(sample_ids):
    return keras.ops.equal(sample_ids, END)


def _json(config):
    return json.loads(json.dumps(config))


def _serialized_round_trip(obj):
    return keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(obj))


def test_every_sampler_round_trips_with_its_options():
    samplers = [
        TrainingSampler(time_major=True),
        ScheduledEmbeddingTrainingSampler(0.3, embedding_fn=keras.layers.Embedding(VOCAB, DIM), seed=4,
                                          scheduling_seed=keras.random.SeedGenerator(5)),
        ScheduledEmbeddingTrainingSampler(np.array([0.1, 0.9], "float32")),
        ScheduledOutputTrainingSampler(0.5, time_major=True, seed=2, next_inputs_fn=keras.layers.Dense(2)),
        GreedyEmbeddingSampler(keras.layers.Embedding(VOCAB, DIM)),
        SampleEmbeddingSampler(softmax_temperature=0.7, seed=3, top_k=2, top_p=0.9),
        InferenceSampler(_argmax_ids, (), "int32", _ends_at_one, next_inputs_fn=keras.layers.Embedding(VOCAB, DIM)),
        CustomSampler(_argmax_ids, _argmax_ids, _ends_at_one, sample_ids_shape=[4], sample_ids_dtype="bool"),
    ]
    for sampler in samplers:
        restored = _serialized_round_trip(sampler)
        assert type(restored) is type(sampler)
        assert restored.get_config() == sampler.get_config()
    scheduled = _serialized_round_trip(samplers[1])
    assert isinstance(scheduled.embedding_fn, keras.layers.Embedding)
    assert scheduled.scheduling_seed.generator.get_config()["seed"] == 5
    assert _serialized_round_trip(samplers[2]).get_config()["sampling_probability"] == pytest.approx([0.1, 0.9])
    custom = _serialized_round_trip(samplers[-1])
    assert (custom.sample_ids_shape, custom.sample_ids_dtype, custom.sample_fn) == ((4,), "bool", _argmax_ids)


def test_what_cannot_be_serialized_raises_at_get_config_naming_it():
    with pytest.raises(ValueError, match=r"`embedding_fn` must be a Keras layer.*keras.layers.Embedding.*"
                                         r"None with the embedding matrix"):
        GreedyEmbeddingSampler(lambda ids: ids).get_config()
    with pytest.raises(ValueError, match=r"`end_fn` must be a Keras layer.*register_keras_serializable"):
        InferenceSampler(_argmax_ids, (), "int32", lambda ids: ids == END).get_config()
    cell = keras.layers.LSTMCell(UNITS)
    with pytest.raises(ValueError, match="`embedding_fn`.*Received: embedding_fn=<function"):
        BeamSearchDecoder(cell, 2, embedding_fn=lambda ids: ids).get_config()
    with pytest.raises(ValueError, match="`attention_probs_fn`.*AttentionWrapper"):
        BeamSearchDecoder(cell, 2, attention_probs_fn=lambda state: state).get_config()
    with pytest.raises(ValueError, match="`embedding_fn`"):  # through the decoder holding the sampler
        keras.saving.serialize_keras_object(BasicDecoder(cell, GreedyEmbeddingSampler(lambda ids: ids)))

    class OwnSampler(GreedyEmbeddingSampler):  # a subclass with arguments and no get_config of its own
        def __init__(self, scale):
            super().__init__()

    class NoArguments(TrainingSampler):
        def __init__(self):
            super().__init__()

    keras.saving.serialize_keras_object(BasicDecoder(cell, NoArguments()))  # nothing missing
    with pytest.raises(NotImplementedError, match=r"OwnSampler.get_config\(\) lacks its constructor arguments scale"):
        keras.saving.serialize_keras_object(BasicDecoder(cell, OwnSampler(2.0)))


@keras.saving.register_keras_serializable(package="kerasrnn_tests")
class _Translator(keras.Model):
    """Greedy and beam decoders sharing nothing; the attention memory is a call argument."""

    def __init__(self, greedy, beam, **kwargs):
        super().__init__(**kwargs)
        self.greedy, self.beam = greedy, beam

    def build(self, input_shape):  # the sublayers are built by the decoders, or by their build_config on load
        self.built = True

    def call(self, memory):
        state = keras.ops.tanh(keras.ops.mean(memory, axis=1))
        greedy, _, greedy_lengths = self.greedy(None, initial_state=[state, state],
                                                start_tokens=keras.ops.full((2,), START, "int32"), end_token=END)
        mechanism = self.beam.cell.attention_mechanisms[0]
        mechanism.setup_memory(tile_batch(memory, BEAM), memory_sequence_length=tile_batch(np.array([4, 2]), BEAM))
        outputs, final, _ = self.beam(None, start_tokens=keras.ops.full((2,), START, "int32"), end_token=END,
                                      initial_state=self.beam.cell.get_initial_state(batch_size=2 * BEAM))
        return greedy.sample_id, greedy_lengths, outputs.predicted_ids, final.scores

    def get_config(self):
        return {**super().get_config(), "greedy": keras.saving.serialize_keras_object(self.greedy),
                "beam": keras.saving.serialize_keras_object(self.beam)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("greedy", "beam"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def test_model_holding_decoders_reloads_from_keras_file_and_decodes_the_same(tmp_path):
    keras.utils.set_random_seed(3)
    greedy = BasicDecoder(keras.layers.LSTMCell(UNITS), GreedyEmbeddingSampler(keras.layers.Embedding(VOCAB, DIM)),
                          keras.layers.Dense(VOCAB), maximum_iterations=6)
    cell = AttentionWrapper(keras.layers.LSTMCell(UNITS), LuongAttention(UNITS, scale=True),
                            attention_layer_size=UNITS)
    beam = BeamSearchDecoder(cell, BEAM, embedding_fn=keras.layers.Embedding(VOCAB, DIM),
                             output_layer=keras.layers.Dense(VOCAB), length_penalty_weight=0.6,
                             coverage_penalty_weight=0.2, coverage_penalty_scope="all", block_ngram_repeat=2,
                             min_length=2, maximum_iterations=6)
    model = _Translator(greedy, beam)
    memory = np.random.default_rng(0).normal(size=(2, 4, UNITS)).astype("float32")
    before = [keras.ops.convert_to_numpy(x) for x in model(memory)]
    path = str(tmp_path / "translator.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert _json(loaded.beam.get_config()) == _json(beam.get_config())  # tuples come back as lists
    assert isinstance(loaded.greedy.sampler.embedding_fn, keras.layers.Embedding)
    assert len(loaded.weights) == len(model.weights) == 15  # the embeddings and the attention's included
    for saved, restored in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored), keras.ops.convert_to_numpy(saved))
    after = [keras.ops.convert_to_numpy(x) for x in loaded(memory)]
    for name, a, b in zip(("greedy ids", "greedy lengths", "beam ids", "beam scores"), before, after):
        if name == "beam scores":
            np.testing.assert_allclose(b, a, rtol=1e-6, err_msg=name)
        else:
            np.testing.assert_array_equal(b, a, err_msg=name)
    assert len(set(before[2][0, :, 0].tolist())) > 1  # a decode that depends on the weights
