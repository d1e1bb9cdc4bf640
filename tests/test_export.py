"""kerasrnn.export: CharGenerator's step-by-step generation and SavedModel."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasrnn
from kerasrnn.data.text import build_vocabulary
from kerasrnn.data.text import chars_to_ids
from kerasrnn.data.text import lookup_table
from kerasrnn.export import CharGenerator
from kerasrnn.export import sample_logits
from kerasrnn.export import write_saved_model

TEXT = "the cat sat on the mat.\n"


def _model(recurrent_layers, vocabulary_size, embedding_dim=5):
    ids = keras.Input((None,), dtype="int32")
    embedding = keras.layers.Embedding(vocabulary_size, embedding_dim)
    x = embedding(ids)
    for layer in recurrent_layers:
        x, *_ = layer(x)
    output = keras.layers.Dense(vocabulary_size)
    model = keras.Model(ids, output(x))
    # Untrained logits are nearly uniform; scale them so sampling depends on them.
    output.kernel.assign(output.kernel * 20.0)
    return model, embedding, output


def _reference(model, vocabulary, prompt, length, temperature, seed):
    """Re-runs the whole prefix for every new character (the slow, obvious way)."""
    table = lookup_table(vocabulary)
    ids = chars_to_ids(tf.constant(prompt), table).numpy().tolist()
    text = prompt
    for t in range(length):
        logits = model(np.array([ids], "int32"))[:, -1]
        next_id = int(sample_logits(logits, temperature, tf.constant([seed, t], tf.int64), (0,))[0])
        ids.append(next_id)
        text += vocabulary[next_id]
    return text


@pytest.mark.parametrize(
    "make_layers",
    [
        lambda: [kerasrnn.layers.LSTM(6, return_sequences=True, return_state=True)],
        lambda: [kerasrnn.layers.GRU(6, return_sequences=True, return_state=True)],
        lambda: [
            kerasrnn.layers.LSTM(6, return_sequences=True, return_state=True, peephole=True),
            keras.layers.GRU(4, return_sequences=True, return_state=True),
        ],
    ],
    ids=["lstm", "gru", "stacked-peephole-lstm-keras-gru"],
)
def test_carried_states_match_rerunning_the_prefix(make_layers):
    vocabulary = build_vocabulary(TEXT)
    layers = make_layers()
    model, embedding, output = _model(layers, len(vocabulary))
    generator = CharGenerator(vocabulary, embedding, layers, output)
    got = generator.generate(tf.constant("the c"), 12, 1.0, tf.constant(5, tf.int64)).numpy().decode()
    assert got == _reference(model, vocabulary, "the c", 12, 1.0, 5)
    assert got.startswith("the c") and len(got) == 5 + 12


def test_empty_prompt_starts_from_start_token_and_oov_is_never_generated():
    vocabulary = build_vocabulary(TEXT)
    layer = kerasrnn.layers.LSTM(6, return_sequences=True, return_state=True)
    model, embedding, output = _model([layer], len(vocabulary))
    # Make the OOV id by far the most likely output: it must still never appear.
    bias = np.zeros(len(vocabulary), "float32")
    bias[0] = 100.0
    output.bias.assign(bias)
    generator = CharGenerator(vocabulary, embedding, [layer], output, start_token="t")
    got = generator.generate(tf.constant(""), 40, 1.0, tf.constant(2, tf.int64)).numpy().decode()
    assert len(got) == 40 and "\ufffd" not in got
    assert got == _reference(model, vocabulary, "t", 40, 1.0, 2)[1:]


def test_saved_model_matches_module_and_rejects_bad_arguments(tmp_path):
    vocabulary = build_vocabulary(TEXT)
    layer = kerasrnn.layers.GRU(6, return_sequences=True, return_state=True)
    _, embedding, output = _model([layer], len(vocabulary))
    generator = CharGenerator(vocabulary, embedding, [layer], output)
    export_dir = generator.save(str(tmp_path / "export"))
    loaded = tf.saved_model.load(export_dir)
    args = (tf.constant("mat"), tf.constant(15), tf.constant(0.5), tf.constant(3, tf.int64))
    assert loaded.generate(*args).numpy() == generator.generate(*args).numpy()
    assert [v.decode() for v in loaded.get_vocabulary().numpy()] == vocabulary
    with pytest.raises(tf.errors.InvalidArgumentError, match="`length` must be >= 0"):
        loaded.generate(tf.constant("a"), tf.constant(-1), tf.constant(1.0), tf.constant(0, tf.int64))
    # Saving again replaces the SavedModel; a directory that is not one is kept.
    generator.save(export_dir)
    other = tmp_path / "not_a_saved_model"
    other.mkdir()
    with pytest.raises(ValueError, match="not a SavedModel"):
        write_saved_model(generator, str(other))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"return_state": False}, "return_state=False"),
        ({"return_sequences": False}, "return_sequences=False"),
        ({"go_backwards": True}, "go_backwards=True"),
    ],
)
def test_layers_that_cannot_generate_are_rejected(kwargs, message):
    options = {"return_sequences": True, "return_state": True, **kwargs}
    layer = kerasrnn.layers.LSTM(4, **options)
    with pytest.raises(ValueError, match=message):
        CharGenerator(build_vocabulary(TEXT), keras.layers.Embedding(20, 3), [layer], keras.layers.Dense(20))
    with pytest.raises(ValueError, match="recurrent layers with a `cell`"):
        CharGenerator(build_vocabulary(TEXT), keras.layers.Embedding(20, 3), [keras.layers.Dense(4)],
                      keras.layers.Dense(20))
