"""A check the backend tests (JAX, PyTorch) run in their subprocess, under
whatever `KERAS_BACKEND` that process has: kerasrnn's LSTM/GRU/SimpleRNN
train exactly like Keras's own layers there. Imports Keras and kerasrnn
only, no TensorFlow."""

import keras
import numpy as np

import kerasrnn


def layer_pairs():
    """`[(name, kerasrnn layer class, Keras layer class)]`."""
    return [
        ("lstm", kerasrnn.layers.LSTM, keras.layers.LSTM),
        ("gru", kerasrnn.layers.GRU, keras.layers.GRU),
        ("simple_rnn", kerasrnn.layers.SimpleRNN, keras.layers.SimpleRNN),
    ]


def check_trains_like_keras(x, y, mask, steps=3):
    """Three Adam steps of every (layer, masked) case give Keras's losses
    and weights; kerasrnn's layers take the fused path with the hand-written
    backward pass.

    One model per side holds every case as a separate output, so the backend
    compiles two training steps rather than twelve. Each layer's gradient
    comes from its own output's loss only, and Adam updates each variable
    from its own gradient, so every layer trains exactly as it would alone.
    """
    pairs = layer_pairs()
    names = [f"{name}_{kind}" for name, *_ in pairs for kind in ("unmasked", "masked")]
    models = []
    for side in ("keras", "kerasrnn"):
        inputs = keras.Input(x.shape[1:])
        m = keras.Input(mask.shape[1:], dtype="bool")
        outputs = []
        for name, ours_cls, keras_cls in pairs:
            for masked in (False, True):
                cls = keras_cls if side == "keras" else ours_cls
                layer = cls(y.shape[-1], return_sequences=True, name=f"{name}_{'masked' if masked else 'unmasked'}")
                outputs.append(layer(inputs, mask=m if masked else None))
        model = keras.Model([inputs, m], outputs)
        model.compile(keras.optimizers.Adam(0.01), ["mse"] * len(outputs))
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    for name in names:
        layer = models[1].get_layer(name)
        assert isinstance(layer, kerasrnn.layers.RecurrentLayer), name
        assert layer.loop_implementation(True) == "fused_bptt", (name, layer.loop_implementation(True))
    logs = [[model.train_on_batch([x, mask], [y] * len(names), return_dict=True) for _ in range(steps)]
            for model in models]
    for key in logs[0][0]:
        theirs, ours = ([step[key] for step in side] for side in logs)
        np.testing.assert_allclose(ours, theirs, atol=1e-5, err_msg=key)
    for name in names:
        for a, b in zip(models[1].get_layer(name).get_weights(), models[0].get_layer(name).get_weights()):
            np.testing.assert_allclose(a, b, atol=1e-5, err_msg=name)
