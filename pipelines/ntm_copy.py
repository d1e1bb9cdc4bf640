"""ntm-copy: the Neural Turing Machine copy task (Graves et al. 2014, section 4.1).

The network reads a sequence of 1-20 random 8-bit vectors and a delimiter,
then must output the sequence again; the sequences are generated, so no data
is needed. After training it is tested on longer sequences (10 to 120
vectors). `--model lstm` trains the stacked-LSTM baseline instead.

Run directory: config.json, metrics.json (held-out bits and bit errors per
sequence), history.csv, learning_curves.png, generalisation.json and .png,
heatmap_*.png (the NTM's memory use), model.keras and export/ (a SavedModel).

Example: kerasrnn ntm-copy --quick
"""

import dataclasses

from kerasrnn.pipelines.ntm_common import NTMConfig
from kerasrnn.pipelines.ntm_common import Task
from kerasrnn.pipelines.ntm_common import task_default

DESCRIPTION = "NTM copy task (8-bit vectors, length 1-20), generalisation to length 120; --model ntm|lstm"


@dataclasses.dataclass
class Config(NTMConfig):
    """Adam 1e-3 at batch 16, 20 epochs of 100 batches."""

    epochs: int = task_default("epochs", 20)


def task():
    from kerasrnn.data.tasks.copy import copy_batch

    return Task(
        name="copy",
        batch_fn=copy_batch,
        train_options=dict(min_length=1, max_length=20, bits=8),
        quick_options=dict(min_length=1, max_length=3, bits=8),
        generalisation={
            f"length {n}": dict(min_length=n, max_length=n, bits=8) for n in (10, 20, 30, 50, 80, 120)
        },
        quick_generalisation={"length 5": dict(min_length=5, max_length=5, bits=8)},
    )


def run(config):
    from kerasrnn.pipelines.ntm_common import run_task

    return run_task(config, task())
