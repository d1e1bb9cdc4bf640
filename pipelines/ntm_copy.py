"""`ntm-copy`: the NTM copy task (Graves et al. 2014, section 4.1)."""

from kerasrnn.data.tasks.copy import copy_batch
from kerasrnn.pipelines.ntm_common import TaskSpec
from kerasrnn.pipelines.ntm_common import add_ntm_arguments
from kerasrnn.pipelines.ntm_common import run_task

DESCRIPTION = "NTM copy task (8-bit vectors, length 1-20), generalisation to length 120; --model ntm|lstm"

SPEC = TaskSpec(
    name="copy",
    batch_fn=copy_batch,
    train_options=dict(min_length=1, max_length=20, bits=8),
    quick_options=dict(min_length=1, max_length=3, bits=8),
    generalisation={
        f"length {n}": dict(min_length=n, max_length=n, bits=8) for n in (10, 20, 30, 50, 80, 120)
    },
    quick_generalisation={"length 5": dict(min_length=5, max_length=5, bits=8)},
    ntm=dict(units=100),
    lstm=dict(lstm_units=256, lstm_layers=3),
    steps_per_epoch=100,
    epochs=20,
    batch_size=16,
)


def add_arguments(parser):
    add_ntm_arguments(parser, SPEC)


def run(args):
    return run_task(args, SPEC)
