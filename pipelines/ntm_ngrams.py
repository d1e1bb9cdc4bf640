"""`ntm-ngrams`: dynamic 6-grams, compared with the Bayes-optimal estimator (section 4.4)."""

import numpy as np

from kerasrnn.data.tasks.ngrams import bayes_optimal_bits
from kerasrnn.data.tasks.ngrams import ngram_batch
from kerasrnn.pipelines.ntm_common import TaskSpec
from kerasrnn.pipelines.ntm_common import add_ntm_arguments
from kerasrnn.pipelines.ntm_common import run_task

DESCRIPTION = "NTM dynamic 6-grams (200 bits), cost vs the Bayes-optimal estimator; --model ntm|lstm"


def _bayes(batch, probabilities):
    """The Bayes-optimal cost on the same held-out sequences, and the model's excess."""
    bayes = bayes_optimal_bits(batch["inputs"], batch["targets"], batch["output_mask"])
    y = batch["targets"][..., 0]
    p = np.clip(np.where(y > 0.5, probabilities[..., 0], 1.0 - probabilities[..., 0]), 1e-12, 1.0)
    model_bits = -(np.log2(p) * batch["output_mask"]).sum(axis=1)
    return {
        "bayes_optimal_bits_per_sequence": float(bayes.mean()),
        "model_bits_per_sequence": float(model_bits.mean()),
        "excess_bits_over_bayes": float(model_bits.mean() - bayes.mean()),
    }


SPEC = TaskSpec(
    name="ngrams",
    batch_fn=ngram_batch,
    train_options=dict(length=200, n=6),
    quick_options=dict(length=20, n=6),
    ntm=dict(units=100),
    lstm=dict(lstm_units=128, lstm_layers=3),
    extra_metrics=_bayes,
    # One sequence per update with RMSprop 1e-4 (momentum 0.9), then 3e-5
    # and 1e-5: 0.86 bits above the Bayes-optimal cost after 120k sequences,
    # where Adam 1e-3 at batch 16 with drops stayed 1.42 above after 224k
    # (benchmarks/results/ntm/ngrams_*).
    optimizer="rmsprop",
    batch_size=1,
    steps_per_epoch=1000,
    epochs=120,
    lr_schedule="45:3e-5,80:1e-5",
)


def add_arguments(parser):
    add_ntm_arguments(parser, SPEC)


def run(args):
    return run_task(args, SPEC)
