"""The decoders on Keras's JAX backend: greedy and beam search (with n-gram
blocking and the length penalty) give TensorFlow's tokens and scores from
the same weights, and sampling draws new noise at every step of the traced
loop. One subprocess with `KERAS_BACKEND=jax` (a JAX compile costs seconds)."""

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
from kerasrnn.seq2seq.decoding import (BasicDecoder, BeamSearchDecoder, GreedyEmbeddingSampler,
                                       SampleEmbeddingSampler, tile_batch)

rng = np.random.RandomState(0)
embedding = rng.randn(7, 3).astype("float32")
state = [rng.randn(2, 5).astype("float32") * 0.5 for _ in range(2)]
cell = keras.layers.LSTMCell(5)
cell.build((None, 3))
dense = keras.layers.Dense(7)
dense.build((None, 5))

def decode():
    greedy, _, greedy_lengths = BasicDecoder(cell, GreedyEmbeddingSampler(), dense, maximum_iterations=6)(
        embedding, initial_state=state, start_tokens=np.array([0, 0]), end_token=1)
    beam, final, lengths = BeamSearchDecoder(cell, 3, output_layer=dense, length_penalty_weight=0.6,
                                             block_ngram_repeat=2, maximum_iterations=6)(
        embedding, start_tokens=np.array([0, 0]), end_token=1, initial_state=tile_batch(state, 3))
    return {name: keras.ops.convert_to_numpy(x) for name, x in dict(
        greedy=greedy.sample_id, greedy_lengths=greedy_lengths, beam=beam.predicted_ids,
        scores=final.scores, lengths=lengths).items()}
"""

JAX_CODE = BUILD + """
assert keras.backend.backend() == "jax"
saved = np.load(__PATH__)
for layer, prefix in ((cell, "cell"), (dense, "dense")):
    layer.set_weights([saved[f"{prefix}{i}"] for i in range(len(layer.weights))])
for name, value in decode().items():
    np.testing.assert_allclose(value, saved[name], atol=1e-5, err_msg=name)

# Uniform logits: every step must draw afresh (a SeedGenerator inside the
# traced loop would repeat the first step's draw).
dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])
sampled, _, _ = BasicDecoder(cell, SampleEmbeddingSampler(seed=1), dense, maximum_iterations=8)(
    embedding, initial_state=state, start_tokens=np.array([0, 0]), end_token=6)
ids = keras.ops.convert_to_numpy(sampled.sample_id)
assert all(len(set(row[:4])) > 1 for row in ids), ids
print("ok")
"""


def test_jax_backend_decodes_like_tensorflow(tmp_path):
    namespace = {}
    exec(BUILD, namespace)  # the same decoders on TensorFlow, here
    arrays = {f"cell{i}": keras.ops.convert_to_numpy(w) for i, w in enumerate(namespace["cell"].weights)}
    arrays.update({f"dense{i}": keras.ops.convert_to_numpy(w) for i, w in enumerate(namespace["dense"].weights)})
    path = str(tmp_path / "reference.npz")
    np.savez(path, **namespace["decode"](), **arrays)
    result = run_python(JAX_CODE.replace("__PATH__", repr(path)), env={"KERAS_BACKEND": "jax", "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
