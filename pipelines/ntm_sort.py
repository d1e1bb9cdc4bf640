"""`ntm-sort`: priority sort (Graves et al. 2014, section 4.5)."""

from kerasrnn.data.tasks.priority_sort import priority_sort_batch
from kerasrnn.pipelines.ntm_common import TaskSpec
from kerasrnn.pipelines.ntm_common import add_ntm_arguments
from kerasrnn.pipelines.ntm_common import run_task

DESCRIPTION = "NTM priority sort (20 vectors with priorities, output the top 16 in order); --model ntm|lstm"

SPEC = TaskSpec(
    name="priority_sort",
    batch_fn=priority_sort_batch,
    train_options=dict(num_inputs=20, num_outputs=16),
    quick_options=dict(num_inputs=4, num_outputs=3),
    # The paper uses 5 heads and a 2x100 controller; NTMCell's controller is one layer.
    ntm=dict(units=100, read_heads=5, write_heads=5),
    lstm=dict(lstm_units=128, lstm_layers=3),
)


def add_arguments(parser):
    add_ntm_arguments(parser, SPEC)


def run(args):
    return run_task(args, SPEC)
