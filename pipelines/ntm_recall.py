"""ntm-recall: associative recall (Graves et al. 2014, section 4.3).

The network reads 2-6 items (each 3 random 6-bit vectors) and then one of
them as a query, and must output the item that followed it; the sequences
are generated, so no data is needed. After training it is tested on up to 12
items. `--model lstm` trains the stacked-LSTM baseline instead.

Run directory: config.json, metrics.json, history.csv, learning_curves.png,
generalisation.json and .png, heatmap_*.png, model.keras, export/.

Example: kerasrnn ntm-recall --quick
"""

import dataclasses

from kerasrnn.pipelines.ntm_common import NTMConfig
from kerasrnn.pipelines.ntm_common import Task

DESCRIPTION = "NTM associative recall (items of 3x6 bits, 2-6 items; tested up to 12); --model ntm|lstm"


@dataclasses.dataclass
class Config(NTMConfig):
    """Adam 1e-3 at batch 16, 10 epochs of 100 batches."""


def task():
    from kerasrnn.data.tasks.recall import recall_batch

    return Task(
        name="recall",
        batch_fn=recall_batch,
        train_options=dict(min_items=2, max_items=6),
        quick_options=dict(min_items=2, max_items=3),
        generalisation={f"{n} items": dict(min_items=n, max_items=n) for n in (6, 8, 10, 12)},
        quick_generalisation={"4 items": dict(min_items=4, max_items=4)},
    )


def run(config):
    from kerasrnn.pipelines.ntm_common import run_task

    return run_task(config, task())
