"""`ntm-recall`: associative recall (Graves et al. 2014, section 4.3)."""

from kerasrnn.data.tasks.recall import recall_batch
from kerasrnn.pipelines.ntm_common import TaskSpec
from kerasrnn.pipelines.ntm_common import add_ntm_arguments
from kerasrnn.pipelines.ntm_common import run_task

DESCRIPTION = "NTM associative recall (items of 3x6 bits, 2-6 items; tested up to 12); --model ntm|lstm"

SPEC = TaskSpec(
    name="recall",
    batch_fn=recall_batch,
    train_options=dict(min_items=2, max_items=6),
    quick_options=dict(min_items=2, max_items=3),
    generalisation={f"{n} items": dict(min_items=n, max_items=n) for n in (6, 8, 10, 12)},
    quick_generalisation={"4 items": dict(min_items=4, max_items=4)},
    ntm=dict(units=100),
    lstm=dict(lstm_units=256, lstm_layers=3),
)


def add_arguments(parser):
    add_ntm_arguments(parser, SPEC)


def run(args):
    return run_task(args, SPEC)
