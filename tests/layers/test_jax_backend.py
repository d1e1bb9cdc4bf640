"""The layers on Keras's JAX backend (they use `keras.ops` only): the fused
training path, with its hand-written backward pass, trains exactly like
Keras's own layers there; `model.export` with a dynamic time dimension; the
gradient-norm history. Runs in a subprocess with `KERAS_BACKEND=jax`."""

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
from tests.layers.backend_parity import check_trains_like_keras

check_trains_like_keras(x, y, mask)

# The gradient-norm history (kerasrnn.callbacks) on JAX: the norm of the
# compiled loss's gradient, as jax.grad of the JAX trainer's own stateless
# loss gives it.
import jax
from kerasrnn.callbacks import gradient_norm

inputs = keras.Input((5,))
hidden = keras.layers.Dense(3, activation="tanh")(inputs)
model = keras.Model(inputs, [keras.layers.Dense(2)(hidden), keras.layers.Dense(1)(hidden)])
model.compile("sgd", ["mse", "mse"])  # per-output loss trackers, which the loss updates
probe = (x[:, 0], [y[:, 0, :2], y[:, 0, :1]])
def loss_of(trainable):
    non_trainable = [v.value for v in model.non_trainable_variables]
    metrics = [v.value for v in model.metrics_variables]
    loss, _ = model.compute_loss_and_updates(trainable, non_trainable, metrics, *probe, None)
    return loss
grads = jax.grad(loss_of)([v.value for v in model.trainable_variables])
expected = float(np.sqrt(sum(np.sum(np.square(np.asarray(g))) for g in grads)))
assert expected > 0
np.testing.assert_allclose(gradient_norm(model, *probe), expected, rtol=1e-5)

# model.export with a dynamic time dimension (jax2tf traces the length as a
# symbolic dimension), masks included; served by TensorFlow.
import os
import tempfile
import tensorflow as tf

tokens = keras.Input((None,), dtype="int32")
h = keras.layers.Embedding(10, 5, mask_zero=True)(tokens)
h = kerasrnn.layers.LSTM(4, return_sequences=True)(h)
h = kerasrnn.layers.GRU(3, go_backwards=True)(h)
exported = keras.Model(tokens, h)
export_dir = os.path.join(tempfile.mkdtemp(), "export")
exported.export(export_dir, verbose=False)
served = tf.saved_model.load(export_dir)
for length in (6, 3):
    ids = rng.randint(1, 10, size=(2, length)).astype("int32")
    ids[0, -2:] = 0
    np.testing.assert_allclose(np.asarray(served.serve(ids)), np.asarray(exported(ids)), atol=1e-5)

# The CRF functions and layer: exact on tiny cases, and fit through CRFLoss.
from tests.layers.crf_check import check_crf

check_crf()

cell = kerasrnn.layers.NTMCell(8, memory_size=6, memory_width=4)
out = keras.layers.RNN(cell, return_sequences=True)(x)
assert out.shape == (4, 7, cell.output_size) and np.isfinite(np.asarray(out)).all()
# The NTM cell, attention, DeepRNN, OutputFeedbackRNN and tree layers give
# TensorFlow's outputs (their training is compared on PyTorch; compiling it
# here would cost more than the suite's time allows).
from tests.layers.backend_layers import check_against_reference

check_against_reference(os.environ["KERASRNN_BACKEND_REFERENCE"], train=False)
print("OK")
"""


def test_layers_train_like_keras_on_the_jax_backend(backend_reference):
    env = dict(os.environ, KERASRNN_BACKEND_REFERENCE=backend_reference,
               KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", PYTHONPATH=ROOT)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CODE)], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")
