"""`kerasrnn.memory.plots`: NTM heat maps."""

import numpy as np

from kerasrnn import models
from kerasrnn.data.tasks.batches import longest_sequence
from kerasrnn.data.tasks.copy import copy_batch
from kerasrnn.memory.plots import plot_ntm_run


def test_plot_ntm_run_writes_a_png(tmp_path):
    model = models.ntm_model(6, 5, units=4, memory_size=6, memory_width=3, return_weightings=True)
    batch = longest_sequence(copy_batch(np.random.default_rng(0), 4, max_length=4, bits=5))
    path = tmp_path / "heatmap.png"
    plot_ntm_run(str(path), model, batch, title="copy")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
