"""ntm-sort: priority sort (Graves et al. 2014, section 4.5).

The network reads 20 random 8-bit vectors, each with a scalar priority, and
must output the 16 of highest priority, in order; the sequences are
generated, so no data is needed. `--model lstm` trains the stacked-LSTM
baseline instead.

Run directory: config.json, metrics.json, history.csv, learning_curves.png,
heatmap_train.png, model.keras, export/.

Example: kerasrnn ntm-sort --quick
"""

import dataclasses

from kerasrnn.pipelines.ntm_common import NTMConfig
from kerasrnn.pipelines.ntm_common import Task
from kerasrnn.pipelines.ntm_common import task_default

DESCRIPTION = "NTM priority sort (20 vectors with priorities, output the top 16 in order); --model ntm|lstm"


@dataclasses.dataclass
class Config(NTMConfig):
    """The paper uses 5 heads and a 2x100 controller; NTMCell's controller is one layer."""

    read_heads: int = task_default("read_heads", 5)
    write_heads: int = task_default("write_heads", 5)
    lstm_units: int = task_default("lstm_units", 128)

    def backends(self):
        if self.export and self.model == "ntm":
            return ("tensorflow",), ("on JAX its NTM's SavedModel export fails, TensorFlow cannot trace the "
                                     "gradient of the converted model; --no-export or --model lstm runs there")
        return super().backends()


def task():
    from kerasrnn.data.tasks.priority_sort import priority_sort_batch

    return Task(
        name="priority_sort",
        batch_fn=priority_sort_batch,
        train_options=dict(num_inputs=20, num_outputs=16),
        quick_options=dict(num_inputs=4, num_outputs=3),
    )


def run(config):
    from kerasrnn.pipelines.ntm_common import run_task

    return run_task(config, task())
