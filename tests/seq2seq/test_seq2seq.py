import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasrnn.layers import GRUCell
from kerasrnn.layers import LSTMCell
from kerasrnn.layers import SimpleRNNCell
from kerasrnn.layers.bahdanau_attention import BahdanauAttention
from kerasrnn.layers.luong_attention import LuongAttention
from kerasrnn.seq2seq import Decoder
from kerasrnn.seq2seq import Encoder
from kerasrnn.seq2seq import MaskedTokenAccuracy
from kerasrnn.seq2seq import Seq2Seq
from tests.helpers import assert_close

RNG = np.random.default_rng(1)
SOURCE = np.array([[4, 5, 6, 2, 0, 0], [7, 4, 2, 0, 0, 0], [5, 5, 5, 6, 4, 2], [3, 2, 0, 0, 0, 0]],
                  dtype="int32")
TARGET_IN = np.array([[1, 4, 5, 0], [1, 6, 0, 0], [1, 4, 4, 7], [1, 0, 0, 0]], dtype="int32")
TARGET_OUT = np.array([[4, 5, 2, 0], [6, 2, 0, 0], [4, 4, 7, 2], [2, 0, 0, 0]], dtype="int32")

VARIANTS = {
    "lstm_bahdanau_bidirectional": lambda: Seq2Seq(
        Encoder(8, 4, 5, bidirectional=True),
        Decoder(9, 4, LSTMCell(10), attention=BahdanauAttention(6, normalize=True))),
    "gru_luong_stacked": lambda: Seq2Seq(
        Encoder(8, 4, 5, num_layers=2, cell="gru"),
        Decoder(9, 4, GRUCell(5), attention=LuongAttention("general", scale=True))),
    "simple_rnn_no_input_feeding": lambda: Seq2Seq(
        Encoder(8, 4, 5, cell="simple_rnn"),
        Decoder(9, 4, SimpleRNNCell(7), attention=LuongAttention("concat", units=3),
                input_feeding=False)),
    "lstm_context_vector_only": lambda: Seq2Seq(
        Encoder(8, 4, 5, bidirectional=True, cell="lstm"), Decoder(9, 4, GRUCell(6))),
    "gru_bahdanau_copy": lambda: Seq2Seq(
        Encoder(9, 4, 5, bidirectional=True),
        Decoder(9, 4, GRUCell(10), attention=BahdanauAttention(6), copy_attention=True)),
}


def _compiled(model):
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
        metrics=[MaskedTokenAccuracy()],
    )
    return model


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_teacher_forcing_equals_single_steps(name):
    model = VARIANTS[name]()
    logits = np.asarray(model((SOURCE, TARGET_IN)))
    assert logits.shape == (4, 4, 9)
    encoded, states = model.encode(SOURCE)
    for t in range(TARGET_IN.shape[1]):
        step_logits, states, alignment = model.decode_step(TARGET_IN[:, t], states, encoded)
        assert_close(step_logits, logits[:, t], atol=1e-5, msg=f"step {t}")
        if alignment is not None:
            assert np.all(np.asarray(alignment)[SOURCE == 0] == 0)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_source_padding_changes_nothing(name):
    model = VARIANTS[name]()
    padded = np.pad(SOURCE, ((0, 0), (0, 3)))
    assert_close(model((padded, TARGET_IN)), model((SOURCE, TARGET_IN)), atol=1e-5)


def test_alignments_from_teacher_forcing():
    model = VARIANTS["lstm_bahdanau_bidirectional"]()
    memory, mask, summary = model.encoder(SOURCE)
    logits, alignments = model.decoder(TARGET_IN, memory, mask, summary, return_alignments=True)
    assert alignments.shape == (4, 4, 6)
    np.testing.assert_allclose(np.asarray(alignments).sum(-1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="attention"):
        VARIANTS["lstm_context_vector_only"]().decoder(
            TARGET_IN, memory[..., :5], mask, summary[..., :20], return_alignments=True)


def test_fit_on_tf_data_with_masked_loss_and_accuracy():
    model = _compiled(VARIANTS["gru_luong_stacked"]())
    ds = tf.data.Dataset.from_tensor_slices(((SOURCE, TARGET_IN), TARGET_OUT)).batch(4)
    model((SOURCE, TARGET_IN))
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(ds.repeat(30), epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert history.history["accuracy"][-1] > 0.5  # memorises 4 pairs
    # Padding counts in neither loss nor accuracy: extra padded columns change nothing.
    wide = ((SOURCE, np.pad(TARGET_IN, ((0, 0), (0, 2)))), np.pad(TARGET_OUT, ((0, 0), (0, 2))))
    a = model.evaluate((SOURCE, TARGET_IN), TARGET_OUT, verbose=0, return_dict=True)
    b = model.evaluate(*wide, verbose=0, return_dict=True)
    assert a["loss"] == pytest.approx(b["loss"], abs=1e-5)
    assert a["accuracy"] == pytest.approx(b["accuracy"], abs=1e-6)


def test_masked_token_accuracy():
    metric = MaskedTokenAccuracy()
    logits = np.eye(5)[[[1, 2, 3], [4, 0, 0]]].astype("float32")
    metric.update_state(np.array([[1, 2, 4], [4, 0, 0]]), logits)
    assert float(metric.result()) == pytest.approx(3 / 4)


@pytest.mark.parametrize("name", ["lstm_bahdanau_bidirectional", "lstm_context_vector_only",
                                  "gru_bahdanau_copy"])
def test_keras_round_trip(name, tmp_path):
    model = _compiled(VARIANTS[name]())
    model.fit((SOURCE, TARGET_IN), TARGET_OUT, epochs=1, verbose=0)
    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert type(restored) is Seq2Seq
    assert_close(restored((SOURCE, TARGET_IN)), model((SOURCE, TARGET_IN)), atol=1e-6)
    assert restored.encoder.get_config() == model.encoder.get_config()
    assert restored.decoder.cell.get_config() == model.decoder.cell.get_config()


def test_encoder_decoder_config_round_trip():
    model = VARIANTS["gru_luong_stacked"]()
    for layer in (model.encoder, model.decoder):
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config


def test_bad_arguments():
    with pytest.raises(ValueError, match="cell="):
        Encoder(8, 4, 5, cell="transformer")
    with pytest.raises(ValueError, match="num_layers=0"):
        Encoder(8, 4, 5, num_layers=0)
    with pytest.raises(ValueError, match="vocab_size=0"):
        Decoder(0, 4, GRUCell(3))
    with pytest.raises(ValueError, match="encoder"):
        Seq2Seq(Decoder(9, 4, GRUCell(3)), Decoder(9, 4, GRUCell(3)))


def _copy_model_with_gate(bias):
    """The copy variant with a constant generation probability σ(bias)."""
    model = VARIANTS["gru_bahdanau_copy"]()
    model((SOURCE, TARGET_IN))
    gate = model.decoder.copy_gate
    gate.kernel.assign(np.zeros(gate.kernel.shape, "float32"))
    gate.bias.assign(np.full(gate.bias.shape, bias, "float32"))
    return model


def test_copy_attention_mixes_vocabulary_and_copy_distributions():
    model = _copy_model_with_gate(0.0)
    weights = model.get_weights()
    memory, mask, summary = model.encoder(SOURCE)
    log_probs, alignments = model.decoder(TARGET_IN, memory, mask, summary, return_alignments=True,
                                          source_ids=SOURCE)
    probs, alignments = np.exp(np.asarray(log_probs, "float64")), np.asarray(alignments)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
    # Pure copying (p_gen = σ(-40) ≈ 0): the attention mass of each source id,
    # repeated ids summed (row 2 holds id 5 three times).
    copying = _copy_model_with_gate(-40.0)
    copying.set_weights([w if w.shape != (1,) else np.array([-40.0], "float32") for w in weights])
    copy_probs = np.exp(np.asarray(copying((SOURCE, TARGET_IN)), "float64"))
    expected = np.zeros_like(copy_probs)
    for b in range(SOURCE.shape[0]):
        for j, token in enumerate(SOURCE[b]):
            expected[b, :, token] += alignments[b, :, j]
    expected = np.maximum(expected, 1e-12)
    assert_close(copy_probs, expected, atol=1e-5)
    # Pure generation (p_gen ≈ 1): the softmax of the output layer alone.
    generating = _copy_model_with_gate(40.0)
    generating.set_weights([w if w.shape != (1,) else np.array([40.0], "float32") for w in weights])
    vocab_probs = np.exp(np.asarray(generating((SOURCE, TARGET_IN)), "float64"))
    np.testing.assert_allclose(vocab_probs.sum(-1), 1.0, atol=1e-5)
    # p_gen = σ(0) = 0.5 mixes the two halves.
    assert_close(probs, 0.5 * vocab_probs + 0.5 * expected, atol=1e-5)


def test_copy_attention_learns_to_copy():
    rng = np.random.default_rng(0)

    def copies(n):
        source = np.concatenate([rng.integers(4, 9, size=(n, 4)), np.full((n, 1), 2)], 1).astype("int32")
        return source, np.concatenate([np.ones((n, 1), "int32"), source[:, :-1]], axis=1)

    source, target_in = copies(256)
    model = _compiled(Seq2Seq(Encoder(9, 8, 16, bidirectional=True),
                              Decoder(9, 8, GRUCell(32), attention=LuongAttention("general"),
                                      copy_attention=True)))
    model.fit((source, target_in), source, batch_size=32, epochs=25, verbose=0)
    test, _ = copies(16)
    from kerasrnn.seq2seq import greedy_search

    np.testing.assert_array_equal(np.asarray(greedy_search(model, test, 5)["ids"]), test)


def test_copy_attention_bad_arguments():
    with pytest.raises(ValueError, match="attention=None"):
        Decoder(9, 4, GRUCell(3), copy_attention=True)
    with pytest.raises(ValueError, match="vocab_size=8, decoder vocab_size=9"):
        Seq2Seq(Encoder(8, 4, 5), Decoder(9, 4, GRUCell(3), attention=BahdanauAttention(3),
                                          copy_attention=True))
    model = VARIANTS["gru_bahdanau_copy"]()
    memory, mask, summary = model.encoder(SOURCE)
    with pytest.raises(ValueError, match="source_ids=None"):
        model.decoder(TARGET_IN, memory, mask, summary)
