"""AttentionWrapper (kerasrnn.seq2seq): tfa.seq2seq's golden values, steps
against a NumPy reference with two mechanisms and memory masks, step by step
== keras.layers.RNN, other cells' state structures, the alignment history,
teacher forcing with fit / .keras round trip / XLA in a model, and bad input
named in the error."""

import os

import keras
import numpy as np
import pytest
from keras import ops

from kerasrnn.seq2seq import AttentionWrapper
from kerasrnn.seq2seq import AttentionWrapperState
from kerasrnn.seq2seq import BahdanauAttention
from kerasrnn.seq2seq import BahdanauMonotonicAttention
from kerasrnn.seq2seq import LuongAttention
from kerasrnn.seq2seq import LuongMonotonicAttention
from kerasrnn.seq2seq import SequenceLoss
from tests import numpy_reference as ref
from tests.helpers import assert_close
from tests.seq2seq.test_attention_mechanisms import np_monotonic_recursive

# -- tfa.seq2seq's golden values ---------------------------------------------------
# tensorflow_addons/seq2seq/tests/attention_wrapper_test.py (`_test_with_attention`):
# batch 5, encoder lengths [3, 2, 3, 1, 1] over 8 steps of depth 10, decoder
# inputs of depth 7, LSTMCell(9) with all-one kernels, memory/query layers with
# all-one kernels, the attention layer Dense(6) from TF's v1 glorot_uniform with
# seed 1337 under global seed 87654321, and the data drawn by NumPy after
# seeding 87654321 and drawing DummyData2. tfa decodes with BasicDecoder and
# TrainingSampler for max(decoder lengths [2, 0, 1, 2, 3]) = 3 steps without
# impute_finished, i.e. 3 unmasked steps: keras.layers.RNN over 3 steps here.
# Expected: means of (output, argmax ids, h, c, attention, alignments[, history]).

GOLDEN = {
    "bahdanau_not_normalized": (
        BahdanauAttention, dict(query_layer=True, history=True, kernel_initializer="ones"),
        (-0.003204414, 3.2, 0.40868404, 0.89017969, 0.041453815, 0.125, 0.125)),
    "bahdanau_normalized": (
        BahdanauAttention, dict(query_layer=True, kernel_initializer="ones", normalize=True),
        (-0.008089137, 2.8, 0.49166861, 1.01068615, 0.042427111, 0.125)),
    "luong_not_normalized": (
        LuongAttention, dict(depth=9), (-0.06124732, 2.73333333, 0.52021580, 1.0964939, -0.0318060, 0.125)),
    "luong_scaled": (
        LuongAttention, dict(depth=9, scale=True),
        (-0.06124732, 2.73333333, 0.52021580, 1.0964939, -0.0318060, 0.125)),
    "not_use_attention_layer": (
        BahdanauAttention, dict(layer_size=None, query_layer=True, kernel_initializer="ones"),
        (0.078317143, 4.2, 0.89382392, 1.722382, 0.026356646, 0.125)),
    "bahdanau_monotonic_not_normalized": (
        BahdanauMonotonicAttention, dict(query_layer=True, history=True, kernel_initializer="ones"),
        (-0.009921653, 3.13333333, 0.44612807, 0.95786464, 0.038682378, 0.09778417, 0.10261579603)),
    "bahdanau_monotonic_normalized": (
        BahdanauMonotonicAttention, dict(query_layer=True, history=True, kernel_initializer="ones", normalize=True),
        (0.007140680, 3.26666666, 0.47012400, 1.0249618, 0.068432882, 0.0615656, 0.07909643)),
    "luong_monotonic_not_normalized": (
        LuongMonotonicAttention, dict(depth=9, history=True),
        (0.003664831, 3.06666666, 0.54318606, 1.12592840, 0.059128221, 0.05112994, 0.06994973868)),
    "luong_monotonic_scaled": (
        LuongMonotonicAttention, dict(depth=9, history=True, scale=True),
        (0.003664831, 3.06666666, 0.54318606, 1.12592840, 0.059128221, 0.05112994, 0.06994973868)),
}


def _tfa_data():
    rng = np.random.RandomState(87654321)
    rng.randn(64, 10, 256), rng.randint(1, high=10, size=(64,))  # DummyData2
    rng.randn(64, 12, 128), rng.randint(12, size=(64,))
    return rng.randn(5, 4, 7).astype("float32"), rng.randn(5, 8, 10).astype("float32")


def _tfa_glorot_kernel(shape):
    import tensorflow as tf

    tf.random.set_seed(87654321)
    return tf.compat.v1.glorot_uniform_initializer(seed=1337)(shape).numpy()


@pytest.mark.parametrize("name", list(GOLDEN))
def test_tfa_golden_values(name):
    cls, options, expected = GOLDEN[name]
    options = dict(options)
    depth, layer_size = options.pop("depth", 3), options.pop("layer_size", 6)
    history = options.pop("history", False)
    decoder_inputs, encoder_outputs = _tfa_data()
    if options.pop("query_layer", False):
        options["query_layer"] = keras.layers.Dense(depth, kernel_initializer="ones", use_bias=False)
    options["memory_layer"] = keras.layers.Dense(depth, kernel_initializer="ones", use_bias=False)
    mechanism = cls(units=depth, memory=encoder_outputs, memory_sequence_length=[3, 2, 3, 1, 1], **options)
    cell = keras.layers.LSTMCell(9, recurrent_activation="sigmoid", kernel_initializer="ones",
                                 recurrent_initializer="ones")
    wrapper = AttentionWrapper(cell, mechanism, attention_layer_size=layer_size, alignment_history=3 if history else False)
    rnn = keras.layers.RNN(wrapper, return_sequences=True, return_state=True)
    rnn.build((5, 3, 7))
    if layer_size:
        wrapper.attention_layers[0].kernel.assign(_tfa_glorot_kernel((9 + 10, layer_size)))
    outputs, *states = rnn(decoder_inputs[:, :3])
    state = AttentionWrapperState(*states)
    outputs = np.asarray(outputs)
    assert outputs.shape == (5, 3, layer_size or 10)
    got = [outputs.mean(), np.argmax(outputs, -1).mean(), np.mean(state.cell_state[0]), np.mean(state.cell_state[1]),
           np.mean(state.attention), np.mean(state.alignments)]
    if history:
        got.append(np.mean(wrapper.alignment_history_of(states)))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


# -- steps against NumPy -------------------------------------------------------------

RNG = np.random.RandomState(3)
MEMORY_A = RNG.randn(2, 4, 5).astype("float32")
MEMORY_B = RNG.randn(2, 6, 3).astype("float32")
LENGTHS_A, LENGTHS_B = np.array([4, 2]), np.array([1, 6])
INPUTS = RNG.randn(2, 3, 4).astype("float32")


def _two_mechanism_wrapper(alignment_history=3, output_attention=True):
    mechanisms = [LuongAttention(6, memory=MEMORY_A, memory_sequence_length=LENGTHS_A, scale=True),
                  BahdanauMonotonicAttention(5, memory=MEMORY_B, memory_sequence_length=LENGTHS_B, normalize=True,
                                             score_bias_init=0.3, mode="recursive")]
    cell = keras.layers.SimpleRNNCell(6, bias_initializer="random_normal")
    return AttentionWrapper(cell, mechanisms, attention_layer_size=[3, 2], alignment_history=alignment_history,
                            output_attention=output_attention)


def _np_steps(wrapper, inputs):
    """The wrapper's equations in NumPy, from its weights."""
    luong, bahdanau = wrapper.attention_mechanisms
    kernel, recurrent, bias = (np.asarray(v) for v in (wrapper.cell.kernel, wrapper.cell.recurrent_kernel,
                                                       wrapper.cell.bias))
    mask_a = np.arange(4)[None] < LENGTHS_A[:, None]
    mask_b = np.arange(6)[None] < LENGTHS_B[:, None]
    values_a, values_b = MEMORY_A * mask_a[..., None], MEMORY_B * mask_b[..., None]
    keys_a = values_a @ np.asarray(luong.memory_layer.kernel)
    keys_b = values_b @ np.asarray(bahdanau.memory_layer.kernel)
    layer_a, layer_b = (np.asarray(layer.kernel) for layer in wrapper.attention_layers)
    h = np.zeros((2, 6), "float32")
    attention = np.zeros((2, 5), "float32")
    previous_b = np.eye(6)[[0, 0]]
    outputs, history_a, history_b = [], [], []
    for t in range(inputs.shape[1]):
        h = np.tanh(np.concatenate([inputs[:, t], attention], -1) @ kernel + h @ recurrent + bias)
        scores_a = np.asarray(luong.attention_g) * np.einsum("bd,btd->bt", h, keys_a)
        align_a = ref.masked_softmax(scores_a, mask_a)
        scores_b = ref.additive_scores(
            h[:, None], keys_b, *(np.asarray(v) for v in (
                bahdanau.query_layer.kernel, np.eye(5), bahdanau.attention_v, bahdanau.attention_g,
                bahdanau.attention_b)))[:, 0] + np.asarray(bahdanau.attention_score_bias)
        align_b = np_monotonic_recursive(np.where(mask_b, 1 / (1 + np.exp(-scores_b)), 0.0), previous_b)
        previous_b = align_b
        context_a = np.einsum("bt,btd->bd", align_a, values_a)
        context_b = np.einsum("bt,btd->bd", align_b, values_b)
        attention = np.concatenate([np.concatenate([h, context_a], -1) @ layer_a,
                                    np.concatenate([h, context_b], -1) @ layer_b], -1)
        outputs.append(attention if wrapper.output_attention else h)
        history_a.append(align_a)
        history_b.append(align_b)
    return np.stack(outputs, 1), attention, (np.stack(history_a, 1), np.stack(history_b, 1))


@pytest.mark.parametrize("output_attention", [True, False])
def test_two_mechanisms_match_numpy_step_by_step_and_in_rnn(output_attention):
    wrapper = _two_mechanism_wrapper(output_attention=output_attention)
    rnn = keras.layers.RNN(wrapper, return_sequences=True, return_state=True)
    outputs, *states = rnn(INPUTS)
    expected_outputs, expected_attention, expected_history = _np_steps(wrapper, INPUTS)
    assert_close(outputs, expected_outputs, atol=1e-5)
    state = AttentionWrapperState(*states)
    assert_close(state.attention, expected_attention, atol=1e-5)
    for got, want in zip(wrapper.alignment_history_of(states), expected_history):
        assert_close(got, want, atol=1e-5)
    for got, want in zip(state.alignments, expected_history):
        assert_close(got, want[:, -1], atol=1e-5)
    # Step by step with the named state gives the same as the RNN's loop.
    step_state = wrapper.get_initial_state(2)
    for t in range(3):
        output, step_state = wrapper(INPUTS[:, t], step_state)
        assert isinstance(step_state, AttentionWrapperState)
        assert_close(output, expected_outputs[:, t], atol=1e-5)


def test_alignment_history_keeps_the_last_steps():
    wrapper = _two_mechanism_wrapper(alignment_history=2)
    _, *states = keras.layers.RNN(wrapper, return_state=True)(INPUTS)
    _, _, expected_history = _np_steps(wrapper, INPUTS)
    for got, want in zip(wrapper.alignment_history_of(states), expected_history):
        assert_close(got, want[:, 1:], atol=1e-5)
    # More room than steps: zero rows first, then the steps in order.
    wrapper = _two_mechanism_wrapper(alignment_history=5)
    _, *states = keras.layers.RNN(wrapper, return_state=True)(INPUTS)
    got = np.asarray(wrapper.alignment_history_of(states)[0])
    assert np.all(got[:, :2] == 0)
    assert_close(got[:, 2:], _np_steps(wrapper, INPUTS)[2][0], atol=1e-5)


def test_masked_target_steps_keep_the_state():
    wrapper = _two_mechanism_wrapper(alignment_history=3)
    mask = np.array([[True, True, True], [True, False, False]])
    _, *states = keras.layers.RNN(wrapper, return_state=True)(INPUTS, mask=mask)
    _, attention, history = _np_steps(wrapper, INPUTS[:, :1])  # one step
    state = AttentionWrapperState(*states)
    assert_close(np.asarray(state.attention)[1], attention[1], atol=1e-5)
    recorded = np.asarray(wrapper.alignment_history_of(states)[0])[1]
    assert np.all(recorded[:2] == 0)
    assert_close(recorded[2], history[0][1, 0], atol=1e-5)


@pytest.mark.parametrize("cell_name", ["keras_gru", "kerasrnn_lstm"])
def test_other_cells_keep_their_state_structure(cell_name):
    from kerasrnn.layers import LSTMCell

    cell = keras.layers.GRUCell(5) if cell_name == "keras_gru" else LSTMCell(5)
    mechanism = BahdanauAttention(4, memory=MEMORY_A, memory_sequence_length=LENGTHS_A)
    wrapper = AttentionWrapper(cell, mechanism)
    initial = wrapper.get_initial_state(batch_size=2)
    output, state = wrapper(INPUTS[:, 0], initial)
    keras.tree.assert_same_structure(initial, state)
    assert tuple(output.shape) == (2, 5)  # the context: memory depth
    # Keras's RNN passes the fields as a list and gets a list back; the encoder
    # state goes in through `clone`, as with tfa.
    encoder_state = keras.tree.map_structure(lambda s: np.ones_like(s), initial.cell_state)
    start = initial.clone(cell_state=encoder_state)
    outputs = keras.layers.RNN(wrapper, return_sequences=True)(INPUTS, initial_state=list(start))
    assert tuple(outputs.shape) == (2, 3, 5)
    with pytest.raises(ValueError, match="`cell_state` must keep the shape"):
        initial.clone(cell_state=keras.tree.map_structure(lambda s: np.ones((2, 7), "float32"), initial.cell_state))


def test_custom_cell_input_fn_attention_layer_and_attention_fn():
    mechanism = BahdanauAttention(4, memory=MEMORY_A, memory_sequence_length=LENGTHS_A)
    # No input feeding and the cell's output as the step output: the plain cell's RNN.
    cell = keras.layers.GRUCell(5)
    wrapper = AttentionWrapper(cell, mechanism, cell_input_fn=lambda inputs, attention: inputs,
                               output_attention=False)
    outputs = keras.layers.RNN(wrapper, return_sequences=True)(INPUTS)
    assert tuple(cell.kernel.shape) == (4, 15)
    plain = keras.layers.RNN(keras.layers.GRUCell(5), return_sequences=True)
    plain.build(INPUTS.shape)
    plain.set_weights(cell.get_weights())
    assert_close(outputs, plain(INPUTS), atol=1e-6)
    # A custom attention layer sets the attention's width; attention_fn replaces the computation.
    layer = keras.layers.Dense(3, activation="tanh")
    wrapper = AttentionWrapper(keras.layers.GRUCell(5), mechanism, attention_layer=layer)
    assert wrapper.output_size == 3
    output, state = wrapper(INPUTS[:, 0], wrapper.get_initial_state(2))
    context = np.einsum("bt,btd->bd", np.asarray(state.alignments), np.asarray(mechanism.values))
    expected = np.tanh(np.concatenate([np.asarray(state.cell_state[0]), context], -1) @ np.asarray(layer.kernel)
                       + np.asarray(layer.bias))
    assert_close(output, expected, atol=1e-5)
    config = wrapper.get_config()
    assert AttentionWrapper.from_config(config).get_config() == config

    def halved(mechanism, cell_output, attention_state, attention_layer):
        alignments, next_state = mechanism([cell_output, attention_state])
        return 0.5 * ops.matmul(alignments[:, None], mechanism.values)[:, 0], alignments, next_state
    wrapper = AttentionWrapper(keras.layers.GRUCell(5), mechanism, attention_fn=halved)
    output, state = wrapper(INPUTS[:, 0], wrapper.get_initial_state(2))
    context = np.einsum("bt,btd->bd", np.asarray(state.alignments), np.asarray(mechanism.values))
    assert_close(output, 0.5 * context, atol=1e-6)


def test_dropout_of_the_wrapped_cell_gets_fresh_masks_per_call():
    """keras.layers.RNN primes and resets the wrapped cell's dropout masks
    through the wrapper: new masks per call in training, none at inference."""
    mechanism = LuongAttention(6, memory=MEMORY_A)
    wrapper = AttentionWrapper(keras.layers.LSTMCell(6, dropout=0.3, recurrent_dropout=0.3), mechanism)
    rnn = keras.layers.RNN(wrapper, return_sequences=True)
    first, second = rnn(INPUTS, training=True), rnn(INPUTS, training=True)
    assert np.abs(np.asarray(first) - np.asarray(second)).max() > 1e-3
    assert_close(rnn(INPUTS), rnn(INPUTS))
    assert wrapper.cell._dropout_mask is None  # reset after the loop


def test_initial_cell_state_starts_the_cell():
    h, c = np.full((2, 5), 0.5, "float32"), np.full((2, 5), -0.25, "float32")
    mechanism = LuongAttention(5, memory=MEMORY_A, memory_sequence_length=LENGTHS_A)
    wrapper = AttentionWrapper(keras.layers.LSTMCell(5), mechanism, initial_cell_state=[h, c])
    state = wrapper.get_initial_state(2)
    assert_close(state.cell_state[0], h)
    assert_close(state.cell_state[1], c)
    assert_close(state.attention, np.zeros((2, 5)))
    assert "initial_cell_state" not in wrapper.get_config()  # a tensor of one batch


# -- driven by the decoders -----------------------------------------------------------


def test_drives_basic_decoder_and_beam_search():
    from kerasrnn.seq2seq import BasicDecoder
    from kerasrnn.seq2seq import BeamSearchDecoder
    from kerasrnn.seq2seq import GreedyEmbeddingSampler
    from kerasrnn.seq2seq import TrainingSampler
    from kerasrnn.seq2seq import tile_batch

    mechanism = LuongAttention(6, memory=MEMORY_A, memory_sequence_length=LENGTHS_A)
    wrapper = AttentionWrapper(keras.layers.LSTMCell(6), mechanism, attention_layer_size=4, alignment_history=3)
    expected, *states = keras.layers.RNN(wrapper, return_sequences=True, return_state=True)(INPUTS)
    decoder = BasicDecoder(wrapper, TrainingSampler(), maximum_iterations=3)
    outputs, state, _ = decoder(INPUTS, initial_state=wrapper.get_initial_state(2), sequence_length=np.array([3, 3]))
    assert isinstance(state, AttentionWrapperState)
    assert_close(outputs.rnn_output, expected, atol=1e-6)
    assert_close(wrapper.alignment_history_of(state), wrapper.alignment_history_of(states), atol=1e-6)
    # Inference: beam width 1 with the memory tiled (a no-op here) is greedy decoding.
    embedding = keras.layers.Embedding(7, 4)
    embedding.build((None,))
    projection = keras.layers.Dense(7)
    start, end = np.array([1, 1]), 2
    greedy = BasicDecoder(wrapper, GreedyEmbeddingSampler(embedding), output_layer=projection, maximum_iterations=4)
    greedy_outputs, _, _ = greedy(None, start_tokens=start, end_token=end, initial_state=wrapper.get_initial_state(2))
    mechanism.setup_memory(tile_batch(MEMORY_A, 1), memory_sequence_length=tile_batch(LENGTHS_A, 1))
    beam = BeamSearchDecoder(wrapper, 1, embedding_fn=embedding, output_layer=projection, maximum_iterations=4)
    beam_outputs, _, beam_lengths = beam(None, start_tokens=start, end_token=end,
                                         initial_state=wrapper.get_initial_state(2))
    ids = np.asarray(greedy_outputs.sample_id)
    beam_ids = np.asarray(beam_outputs.predicted_ids)[:, :, 0]
    assert np.all(np.asarray(beam_lengths) >= 2)
    for b, length in enumerate(np.asarray(beam_lengths).reshape(2)):
        np.testing.assert_array_equal(beam_ids[b, :length], ids[b, :length])


# -- teacher forcing in a model: fit, .keras round trip, XLA -------------------------


@keras.saving.register_keras_serializable(package="kerasrnn_tests")
class TinyTranslator(keras.Model):
    """Embedding → GRU encoder; LSTMCell + Luong attention decoder (teacher forcing)."""

    def __init__(self, vocab_size=9, units=8, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.units = vocab_size, units
        self.source_embedding = keras.layers.Embedding(vocab_size, 6, mask_zero=True)
        self.encoder = keras.layers.GRU(units, return_sequences=True)
        self.mechanism = LuongAttention(units)
        self.wrapper = AttentionWrapper(keras.layers.LSTMCell(units), self.mechanism, attention_layer_size=units)
        self.decoder = keras.layers.RNN(self.wrapper, return_sequences=True)
        self.target_embedding = keras.layers.Embedding(vocab_size, 6, mask_zero=True)
        self.projection = keras.layers.Dense(vocab_size)

    def call(self, inputs):
        source, target_in = inputs
        mask = self.source_embedding.compute_mask(source)
        memory = self.encoder(self.source_embedding(source), mask=mask)
        self.mechanism.setup_memory(memory, memory_mask=mask)
        return self.projection(self.decoder(self.target_embedding(target_in)))

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "units": self.units}


def _translation_data():
    rng = np.random.RandomState(5)
    source = rng.randint(1, 9, size=(6, 5))
    source[:, 3:] *= rng.rand(6, 2) < 0.5  # some padding
    target = np.concatenate([source[:, ::-1][:, :4], np.zeros((6, 1), int)], 1)
    target[target == 0] = 1
    target_in = np.concatenate([np.full((6, 1), 2), target[:, :-1]], 1)
    weights = np.ones((6, 5), "float32")
    weights[:3, 4:] = 0.0
    return (source, target_in), target, weights


def test_teacher_forcing_fit_keras_round_trip_and_xla(tmp_path):
    inputs, target, weights = _translation_data()
    model = TinyTranslator()
    model.compile(keras.optimizers.Adam(0.05), SequenceLoss(), jit_compile=False)
    history = model.fit(inputs, target, sample_weight=weights, epochs=6, batch_size=6, verbose=0).history["loss"]
    assert np.all(np.isfinite(history)) and history[-1] < history[0]
    expected = model.predict(inputs, verbose=0)
    path = os.path.join(str(tmp_path), "translator.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert_close(reloaded.predict(inputs, verbose=0), expected, atol=1e-5)
    # XLA: the same loss from the same weights.
    compiled = TinyTranslator()
    compiled.compile(keras.optimizers.Adam(0.05), SequenceLoss(), jit_compile=True)
    compiled(inputs)
    compiled.set_weights(model.get_weights())
    losses = [m.evaluate(inputs, target, sample_weight=weights, verbose=0) for m in (model, compiled)]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)


def test_config_round_trip_through_keras_rnn():
    wrapper = _two_mechanism_wrapper()
    rnn = keras.layers.RNN(wrapper, return_sequences=True)
    expected = rnn(INPUTS)
    clone = keras.layers.RNN.from_config(rnn.get_config())
    assert clone.cell.get_config() == wrapper.get_config()
    for mechanism, memory, lengths in zip(clone.cell.attention_mechanisms, (MEMORY_A, MEMORY_B), (LENGTHS_A, LENGTHS_B)):
        mechanism.setup_memory(memory, memory_sequence_length=lengths)
    clone.set_weights(rnn.get_weights())
    for mechanism, memory, lengths in zip(clone.cell.attention_mechanisms, (MEMORY_A, MEMORY_B), (LENGTHS_A, LENGTHS_B)):
        mechanism.setup_memory(memory, memory_sequence_length=lengths)  # keys from the copied weights
    assert_close(clone(INPUTS), expected, atol=1e-6)


# -- bad input -----------------------------------------------------------------------


class _NoOutputSizeCell(keras.layers.Layer):
    state_size = 3

    def call(self, inputs, states):
        return inputs, states


def test_bad_input_is_named():
    mechanism = LuongAttention(5, memory=MEMORY_A)
    cell = keras.layers.LSTMCell(5)
    with pytest.raises(ValueError, match="`cell` must be a recurrent cell.*no `output_size`"):
        AttentionWrapper(_NoOutputSizeCell(), mechanism)
    with pytest.raises(ValueError, match="`cell` must be a recurrent cell.*no `call`, `state_size`, `output_size`"):
        AttentionWrapper(object(), mechanism)
    with pytest.raises(ValueError, match=r"`attention_layer_size` must be a positive integer per attention mechanism "
                                         r"\(2 mechanisms.*Received: attention_layer_size=\[4\]"):
        AttentionWrapper(cell, [mechanism, LuongAttention(5)], attention_layer_size=[4])
    with pytest.raises(ValueError, match="Received: attention_layer_size=4"):
        AttentionWrapper(cell, [mechanism, LuongAttention(5)], attention_layer_size=4)
    with pytest.raises(ValueError, match="at most one of `attention_layer_size` and `attention_layer`"):
        AttentionWrapper(cell, mechanism, attention_layer_size=4, attention_layer=keras.layers.Dense(4))
    with pytest.raises(ValueError, match="`attention_layer` must be one layer per attention mechanism"):
        AttentionWrapper(cell, mechanism, attention_layer=[keras.layers.Dense(4)] * 2)
    with pytest.raises(ValueError, match="`alignment_history` must be False or the number of steps.*=True"):
        AttentionWrapper(cell, mechanism, alignment_history=True)
    with pytest.raises(ValueError, match="`attention_mechanism` must be an AttentionMechanism"):
        AttentionWrapper(cell, keras.layers.Dense(3))
    with pytest.raises(ValueError, match=r"`batch_size` must be the batch size of the attention memory \(2\).*"
                                         r"tile_batch.*Received: batch_size=6"):
        AttentionWrapper(cell, mechanism).get_initial_state(batch_size=6)
    with pytest.raises(ValueError, match="has no memory"):
        AttentionWrapper(cell, LuongAttention(5)).get_initial_state(batch_size=2)
    wrapper = AttentionWrapper(cell, mechanism)
    state = wrapper.get_initial_state(batch_size=2)
    with pytest.raises(ValueError, match=r"batch size of the cell output \(1\) differs from the attention memory's \(2\)"):
        wrapper(INPUTS[:1, 0], keras.tree.map_structure(lambda s: s[:1], state))
