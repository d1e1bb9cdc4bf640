"""The layers on Keras's PyTorch backend (they use `keras.ops` only): the
sequence layers construct there (the torch backend keeps a layer's cell in
`torch.nn.Module._modules`, not in `__dict__`), give the outputs of Keras's
own layers with masks and initial states, train exactly like them through
the hand-written backward pass, fit, and survive a `.keras` round trip.
Runs in a subprocess with `KERAS_BACKEND=torch`."""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CODE = """
import os
import tempfile

import numpy as np
import keras
import kerasrnn

assert keras.backend.backend() == "torch"
L = kerasrnn.layers
rng = np.random.RandomState(0)
x = rng.randn(4, 7, 5).astype("float32")
y = rng.randn(4, 7, 6).astype("float32")
lengths = np.array([7, 5, 3, 1])
mask = np.arange(7)[None, :] < lengths[:, None]
from tests.layers.backend_parity import check_trains_like_keras
from tests.layers.backend_parity import layer_pairs

pairs = layer_pairs()
numpy = keras.ops.convert_to_numpy

# Forward: masks, initial states, go_backwards, and the other loops.
for name, ours_cls, keras_cls in pairs:
    for options in (
        {"return_sequences": True, "return_state": True},
        {"go_backwards": True, "return_state": True},
        {"return_sequences": True, "fast_path": False},
        {"return_sequences": True, "unroll": True},
    ):
        fast_path = options.pop("fast_path", True)
        theirs = keras_cls(6, **options)
        ours = ours_cls(6, fast_path=fast_path, **options)
        theirs.build(x.shape)
        ours.build(x.shape)
        ours.set_weights(theirs.get_weights())
        states = [rng.randn(4, 6).astype("float32") for _ in ours.state_size]
        for kwargs in ({}, {"mask": mask, "initial_state": states}):
            for a, b in zip(keras.tree.flatten(ours(x, **kwargs)), keras.tree.flatten(theirs(x, **kwargs))):
                np.testing.assert_allclose(numpy(a), numpy(b), atol=1e-5, err_msg=f"{name} {options}")

# Training: Keras's losses and weights through the fused backward pass.
check_trains_like_keras(x, y, mask)

# fit with dropout, Bidirectional and stacking; the .keras round trip.
model = keras.Sequential([
    keras.Input((7, 5)),
    keras.layers.Bidirectional(L.LSTM(3, return_sequences=True, dropout=0.2, recurrent_dropout=0.2, seed=1)),
    L.GRU(3, go_backwards=True, return_sequences=True),
    L.SimpleRNN(2),
    keras.layers.Dense(1),
])
model.compile("adam", "mse")
model.fit(x, np.ones((4, 1)), epochs=2, batch_size=2, verbose=0)
path = os.path.join(tempfile.mkdtemp(), "model.keras")
model.save(path)
np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)

# The CRF functions and layer: exact on tiny cases, and fit through CRFLoss.
from tests.layers.crf_check import check_crf

check_crf()

# Stateful: the states carry over from one batch to the next, as in Keras.
ours, theirs = L.LSTM(3, stateful=True), keras.layers.LSTM(3, stateful=True)
ours.build(x.shape)
theirs.build(x.shape)
ours.set_weights(theirs.get_weights())
for _ in range(2):
    np.testing.assert_allclose(numpy(ours(x)), numpy(theirs(x)), atol=1e-5)
# The NTM cell, attention, DeepRNN, OutputFeedbackRNN, tree layers and the
# scan layers (MinGRU, MinLSTM, LRU, RGLRU, HawkBlock, with a mask):
# outputs, losses and weights after SGD steps equal TensorFlow's.
from tests.layers.backend_layers import check_against_reference

check_against_reference(os.environ["KERASRNN_BACKEND_REFERENCE"])
print("OK")
"""


def test_layers_work_and_train_like_keras_on_the_torch_backend(backend_reference):
    env = dict(os.environ, KERASRNN_BACKEND_REFERENCE=backend_reference,
               KERAS_BACKEND="torch", PYTHONPATH=ROOT)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CODE)], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")
