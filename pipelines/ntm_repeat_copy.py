"""`ntm-repeat-copy`: the NTM repeat copy task (Graves et al. 2014, section 4.2)."""

from kerasrnn.data.tasks.repeat_copy import repeat_copy_batch
from pipelines.ntm_common import TaskSpec
from pipelines.ntm_common import add_ntm_arguments
from pipelines.ntm_common import run_task

DESCRIPTION = "NTM repeat copy (length and repeats 1-10, normalised count); --model ntm|lstm"

SPEC = TaskSpec(
    name="repeat_copy",
    batch_fn=repeat_copy_batch,
    train_options=dict(min_length=1, max_length=10, min_repeats=1, max_repeats=10),
    quick_options=dict(min_length=1, max_length=2, min_repeats=1, max_repeats=2),
    generalisation={
        "length 10, 10 repeats": dict(min_length=10, max_length=10, min_repeats=10, max_repeats=10),
        "length 10, 15 repeats": dict(min_length=10, max_length=10, min_repeats=15, max_repeats=15),
        "length 15, 10 repeats": dict(min_length=15, max_length=15, min_repeats=10, max_repeats=10),
    },
    quick_generalisation={"length 2, 3 repeats": dict(min_length=2, max_length=2, min_repeats=3, max_repeats=3)},
    ntm=dict(units=100),
    lstm=dict(lstm_units=512, lstm_layers=3),
)


def add_arguments(parser):
    add_ntm_arguments(parser)


def run(args):
    return run_task(args, SPEC)
