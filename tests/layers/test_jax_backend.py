"""The layers on Keras's JAX backend (they use `keras.ops` only): the fused
training path, with its hand-written backward pass, trains exactly like
Keras's own layers there. Runs in a subprocess with `KERAS_BACKEND=jax`."""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("jax")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CODE = """
import numpy as np
import keras
import kerasrnn

assert keras.backend.backend() == "jax"
rng = np.random.RandomState(0)
x = rng.randn(4, 7, 5).astype("float32")
y = rng.randn(4, 7, 6).astype("float32")
lengths = np.array([7, 5, 3, 1])
mask = np.arange(7)[None, :] < lengths[:, None]
pairs = [
    (kerasrnn.layers.LSTM, keras.layers.LSTM),
    (kerasrnn.layers.GRU, keras.layers.GRU),
    (kerasrnn.layers.SimpleRNN, keras.layers.SimpleRNN),
]
for ours_cls, keras_cls in pairs:
    for masked in (False, True):
        models = []
        for cls in (keras_cls, ours_cls):
            inputs = keras.Input((7, 5))
            m = keras.Input((7,), dtype="bool")
            outputs = cls(6, return_sequences=True)(inputs, mask=m if masked else None)
            model = keras.Model([inputs, m], outputs)
            model.compile(keras.optimizers.Adam(0.01), "mse")
            models.append(model)
        models[1].set_weights(models[0].get_weights())
        layer = models[1].layers[-1]
        assert layer.loop_implementation(True) == "fused_bptt", layer.loop_implementation(True)
        losses = [[float(model.train_on_batch([x, mask], y)) for _ in range(3)] for model in models]
        np.testing.assert_allclose(losses[1], losses[0], atol=1e-5, err_msg=ours_cls.__name__)
        for a, b in zip(models[1].get_weights(), models[0].get_weights()):
            np.testing.assert_allclose(a, b, atol=1e-5, err_msg=ours_cls.__name__)
        print(ours_cls.__name__, "masked" if masked else "unmasked", losses[1])

cell = kerasrnn.layers.NTMCell(8, memory_size=6, memory_width=4)
out = keras.layers.RNN(cell, return_sequences=True)(x)
assert out.shape == (4, 7, cell.output_size) and np.isfinite(np.asarray(out)).all()
print("OK")
"""


def test_layers_train_like_keras_on_the_jax_backend():
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", PYTHONPATH=ROOT)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CODE)], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")
