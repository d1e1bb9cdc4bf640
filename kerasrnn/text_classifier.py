"""A many-to-one text classifier: token ids -> embedding -> bidirectional
kerasrnn LSTM/GRU -> P(positive), and its string-in wrapper for export.

The embedding is passed in, so the same classifier can start from random
vectors or from Word2Vec ones (`kerasrnn.embeddings.word2vec_embedding`).
"""

import os

import numpy as np

from kerasrnn.training.distribute import outside_strategy_scope


def random_embedding(vocabulary_size, embedding_dim, seed, name="embedding"):
    """A masked `Embedding` with uniform(-0.05, 0.05) initial vectors drawn
    from `seed` (id 0 is padding)."""
    import keras

    return keras.layers.Embedding(
        vocabulary_size, embedding_dim, mask_zero=True, name=name,
        embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed),
    )


def bidirectional_classifier(embedding, units, cell="lstm", dropout=0.3, name="sentiment_classifier"):
    """ids `(batch, T)` int64 -> P(positive) `(batch, 1)`: `embedding` (mask
    zero for padding), `Bidirectional` kerasrnn `cell` layer of `units` per
    direction, dropout, a sigmoid unit."""
    import keras

    from kerasrnn.layers import get_recurrent_layer

    ids = keras.Input(shape=(None,), dtype="int64", name="ids")
    recurrent = get_recurrent_layer(cell, argument="cell")(units)
    x = keras.layers.Bidirectional(recurrent, name="bidirectional")(embedding(ids))
    x = keras.layers.Dropout(dropout)(x)
    probability = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
    return keras.Model(ids, probability, name=name)


def string_classifier(vectorize, classifier, name="sentiment"):
    """text `(batch,)` string -> P(positive) `(batch, 1)`: an adapted
    `TextVectorization` then `classifier`."""
    import keras

    text = keras.Input(shape=(), dtype="string", name="text")
    return keras.Model(text, classifier(vectorize(text)), name=name)


@outside_strategy_scope()
def export_string_classifier(model, output, sample_texts):
    """Saves a `string_classifier` as `output/model.keras` and as a
    SavedModel in `output/export` (`serve(tf.string[batch]) -> float32[batch,
    1]`, loadable with TensorFlow alone), and checks the served function
    against `model.predict` on `sample_texts`. Returns a description with
    the largest absolute difference."""
    import tensorflow as tf

    sample = np.array(list(sample_texts), dtype=object)
    expected = model.predict(sample, verbose=0)
    model.save(os.path.join(output, "model.keras"))
    export_dir = os.path.join(output, "export")
    model.export(export_dir, verbose=False)
    loaded = tf.saved_model.load(export_dir)  # held: its variables must outlive the call
    served = loaded.serve(tf.constant([str(t) for t in sample])).numpy()
    return {
        "keras": "model.keras",
        "saved_model": "export",
        "signature": "serve(text: tf.string[batch]) -> float32[batch, 1] = P(positive)",
        "check_max_abs_diff": float(np.max(np.abs(served - expected))),
    }
