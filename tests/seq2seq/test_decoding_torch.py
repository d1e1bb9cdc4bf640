"""The decoders on Keras's PyTorch backend: greedy `BasicDecoder` and
`BeamSearchDecoder` (beam 3, length and coverage penalties) over an LSTM
cell with Luong attention give TensorFlow's ids and scores from the same
weights. One subprocess with `KERAS_BACKEND=torch`."""

import os

import keras
import numpy as np
import pytest

from tests.helpers import run_python

pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BUILD = """
import numpy as np
import keras
from kerasrnn.seq2seq import (AttentionWrapper, BasicDecoder, BeamSearchDecoder, GreedyEmbeddingSampler,
                              LuongAttention, tile_batch)

rng = np.random.RandomState(0)
embedding = rng.randn(7, 3).astype("float32")
memory = rng.randn(2, 4, 5).astype("float32")
lengths = np.array([4, 2])
mechanism = LuongAttention(5, scale=True)
cell = AttentionWrapper(keras.layers.LSTMCell(5), mechanism, attention_layer_size=5)
dense = keras.layers.Dense(7)
starts = np.array([0, 0])

def decode():
    mechanism.setup_memory(memory, memory_sequence_length=lengths)
    greedy, _, greedy_lengths = BasicDecoder(cell, GreedyEmbeddingSampler(), dense, maximum_iterations=5)(
        embedding, start_tokens=starts, end_token=1)
    mechanism.setup_memory(tile_batch(memory, 3), memory_sequence_length=tile_batch(lengths, 3))
    beam, final, beam_lengths = BeamSearchDecoder(
        cell, 3, output_layer=dense, length_penalty_weight=0.6, coverage_penalty_weight=0.2,
        maximum_iterations=5)(embedding, start_tokens=starts, end_token=1,
                              initial_state=cell.get_initial_state(batch_size=6))
    return {name: keras.ops.convert_to_numpy(x) for name, x in dict(
        greedy=greedy.sample_id, greedy_lengths=greedy_lengths, beam=beam.predicted_ids,
        scores=final.scores, beam_lengths=beam_lengths).items()}

def weights():
    return cell.weights + dense.weights
"""

TORCH_CODE = BUILD + """
assert keras.backend.backend() == "torch"
saved = np.load(__PATH__)
decode()  # builds the layers
for i, variable in enumerate(weights()):
    variable.assign(saved[f"w{i}"])
for name, value in decode().items():
    if name == "scores":
        np.testing.assert_allclose(value, saved[name], atol=1e-5, err_msg=name)
    else:
        np.testing.assert_array_equal(value, saved[name], err_msg=name)
print("ok")
"""


def test_torch_backend_decodes_like_tensorflow(tmp_path):
    namespace = {}
    exec(BUILD, namespace)  # the same decoders on TensorFlow, here
    reference = namespace["decode"]()
    assert len(set(reference["beam"][:, :, 0].ravel().tolist())) > 2  # not a trivial decode
    arrays = {f"w{i}": keras.ops.convert_to_numpy(w) for i, w in enumerate(namespace["weights"]())}
    path = str(tmp_path / "reference.npz")
    np.savez(path, **reference, **arrays)
    result = run_python(TORCH_CODE.replace("__PATH__", repr(path)),
                        env={"KERAS_BACKEND": "torch", "PYTHONPATH": ROOT})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
