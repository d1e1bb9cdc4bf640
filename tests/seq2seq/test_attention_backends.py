"""AttentionWrapper on Keras's JAX backend (keras.ops only): two mechanisms
(one monotonic, scanned recursively) inside keras.layers.RNN give
TensorFlow's outputs from the same weights. Runs in a subprocess with
`KERAS_BACKEND=jax` (one of them: a JAX compile costs seconds)."""

import os

import keras
import numpy as np
import pytest

from tests.helpers import run_python

pytest.importorskip("jax")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BUILD = """
import numpy as np
import keras
from kerasrnn.seq2seq import AttentionWrapper, BahdanauMonotonicAttention, LuongAttention

rng = np.random.RandomState(0)
memory = rng.randn(2, 5, 6).astype("float32")
lengths = np.array([5, 3])
inputs = rng.randn(2, 4, 3).astype("float32")
mechanisms = [LuongAttention(8, memory=memory, memory_sequence_length=lengths, scale=True),
              BahdanauMonotonicAttention(4, memory=memory, memory_sequence_length=lengths, mode="recursive")]
wrapper = AttentionWrapper(keras.layers.LSTMCell(8), mechanisms, attention_layer_size=[4, 3], alignment_history=4)
rnn = keras.layers.RNN(wrapper, return_sequences=True)
rnn.build(inputs.shape)
"""

JAX_CODE = BUILD + """
assert keras.backend.backend() == "jax"
saved = np.load({path!r})
rnn.set_weights([saved[f"w{{i}}"] for i in range(len(rnn.weights))])
for mechanism in mechanisms:  # keys from the loaded weights
    mechanism.setup_memory(memory, memory_sequence_length=lengths)
np.testing.assert_allclose(keras.ops.convert_to_numpy(rnn(inputs)), saved["outputs"], atol=1e-5)

print("ok")
"""


def test_jax_backend_matches_tensorflow(tmp_path):
    namespace = {}
    exec(BUILD, namespace)  # the same model on TensorFlow, here
    rnn = namespace["rnn"]
    path = str(tmp_path / "reference.npz")
    arrays = {f"w{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(rnn.weights)}
    np.savez(path, outputs=keras.ops.convert_to_numpy(rnn(namespace["inputs"])), **arrays)
    result = run_python(JAX_CODE.format(path=path), env={"KERAS_BACKEND": "jax", "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
