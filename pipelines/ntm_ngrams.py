"""ntm-ngrams: dynamic 6-grams (Graves et al. 2014, section 4.4).

Each sequence is 200 bits drawn from a random 6-gram distribution (the
probability of the next bit given the last five); the network predicts
every next bit, and its cost is compared with the Bayes-optimal estimator's
on the same held-out sequences. The sequences are generated, so no data is
needed. `--model lstm` trains the stacked-LSTM baseline instead. The default
recipe: RMSprop 1e-4 (momentum 0.9), one sequence per update, the rate
dropping to 3e-5 after 45 epochs and 1e-5 after 80.

Run directory: config.json, metrics.json (with bayes_optimal_bits_per_sequence
and excess_bits_over_bayes), history.csv, learning_curves.png,
heatmap_train.png, model.keras, export/.

Example: kerasrnn ntm-ngrams --quick
"""

import dataclasses
import typing

from kerasrnn.pipelines.ntm_common import NTMConfig
from kerasrnn.pipelines.ntm_common import Task
from kerasrnn.pipelines.ntm_common import task_default

DESCRIPTION = "NTM dynamic 6-grams (200 bits), cost vs the Bayes-optimal estimator; --model ntm|lstm"


@dataclasses.dataclass
class Config(NTMConfig):
    """One sequence per update with RMSprop 1e-4, then 3e-5 and 1e-5: 0.86
    bits above the Bayes-optimal cost after 120k sequences, where Adam 1e-3
    at batch 16 with drops stayed 1.42 above after 224k
    (benchmarks/results/ntm/ngrams_*)."""

    lstm_units: int = task_default("lstm_units", 128)
    optimizer: str = task_default("optimizer", "rmsprop")
    batch_size: int = task_default("batch_size", 1)
    steps_per_epoch: int = task_default("steps_per_epoch", 1000)
    epochs: int = task_default("epochs", 120)
    lr_schedule: typing.Optional[str] = task_default(
        "lr_schedule", "auto", help="learning-rate drops: EPOCH:LR[,EPOCH:LR...] trains with LR after EPOCH "
        "epochs (resumed runs follow it too); none; or auto: 45:3e-5,80:1e-5 with the default --optimizer and "
        "--learning-rate, none otherwise")

    TASK_LR_SCHEDULE = "45:3e-5,80:1e-5"


def bayes_comparison(batch, probabilities):
    """The Bayes-optimal cost on the same held-out sequences, and the model's excess."""
    import numpy as np

    from kerasrnn.data.tasks.ngrams import bayes_optimal_bits

    bayes = bayes_optimal_bits(batch["inputs"], batch["targets"], batch["output_mask"])
    y = batch["targets"][..., 0]
    p = np.clip(np.where(y > 0.5, probabilities[..., 0], 1.0 - probabilities[..., 0]), 1e-12, 1.0)
    model_bits = -(np.log2(p) * batch["output_mask"]).sum(axis=1)
    return {
        "bayes_optimal_bits_per_sequence": float(bayes.mean()),
        "model_bits_per_sequence": float(model_bits.mean()),
        "excess_bits_over_bayes": float(model_bits.mean() - bayes.mean()),
    }


def task():
    from kerasrnn.data.tasks.ngrams import ngram_batch

    return Task(
        name="ngrams",
        batch_fn=ngram_batch,
        train_options=dict(length=200, n=6),
        quick_options=dict(length=20, n=6),
        extra_metrics=bayes_comparison,
    )


def run(config):
    from kerasrnn.pipelines.ntm_common import run_task

    return run_task(config, task())
