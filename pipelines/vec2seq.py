"""vec2seq: one-to-many RNNs — a fixed vector in, a sequence out.

Task (class-conditioned sequences): the vector is `[one_hot(start, 10);
one_hot(step - 1, 4)]` and the sequence is the digits `start, start + step,
start + 2 step, ...` modulo 10 (`--sequence-length` of them). The next digit
depends on the previous one, so the generator feeds its own output back
(`kerasrnn.layers.OutputFeedbackRNN`, greedy one-hot feedback):
teacher-forced in training, self-fed when evaluated.

The vector enters (`--conditioning`) as the initial state (`state`:
h_0 = tanh(v W_h + b_h)), as an input at every step (`input`: x_t = v), or
both. Metrics: free-running (self-fed) token accuracy and exact sequence
match on all 40 (start, step) classes, for each conditioning.

Training is crash-safe: each conditioning's model is a stage with its own
backup; kill a run and rerun the same command to reload the models already
trained and resume the interrupted one from its last finished epoch.

Outputs: metrics.json and history_<conditioning>.csv.

Example: kerasrnn vec2seq --quick
"""

import dataclasses
import os
import typing

from kerasrnn.pipelines.config import TrainingConfig
from kerasrnn.pipelines.config import not_empty
from kerasrnn.pipelines.config import option
from kerasrnn.validation import check_positive_int

DESCRIPTION = "One-to-many: vector -> digit sequence with output feedback (initial state vs input at every step)"

CONDITIONINGS = ("state", "input", "both")  # kerasrnn.models.CONDITIONINGS


@dataclasses.dataclass
class Config(TrainingConfig):
    """vec2seq's options."""

    conditioning: typing.Tuple[str, ...] = option(CONDITIONINGS, "how the vector enters the generator; "
                                                  "one model each", choices=CONDITIONINGS, check=not_empty)
    units: int = option(32, "GRU units", check=check_positive_int)
    sequence_length: int = option(8, "digits generated", check=check_positive_int)
    repeats: int = option(16, "copies of the 40 classes per epoch", check=check_positive_int)
    epochs: int = option(40, "training epochs of each model", quick=2, check=check_positive_int)


def build_model(conditioning, units, length, learning_rate=1e-2, jit_compile="auto"):
    """`{vector, targets}` -> `(batch, length, 10)` probabilities
    (`kerasrnn.models.vector_to_sequence_model`), compiled."""
    import keras

    from kerasrnn.data.progressions import VECTOR_DIM
    from kerasrnn.models import vector_to_sequence_model

    model = vector_to_sequence_model(conditioning, units, length, vector_dim=VECTOR_DIM, classes=10)
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy", jit_compile=jit_compile)
    return model


def run(config):
    from kerasrnn import models
    from kerasrnn import training
    from kerasrnn.data.progressions import progression_data

    length = config.sequence_length
    vectors, sequences = progression_data(length, config.repeats)
    test_vectors, test_sequences = progression_data(length)
    training.enable_determinism(config.seed, config.jit)
    epoch_batches, steps = training.array_epoch_batches(
        ({"vector": vectors, "targets": sequences}, sequences), config.batch_size, config.seed)
    metrics = {"epochs": config.epochs, "length": length, "units": config.units, "conditioning": {}}
    for conditioning in config.conditioning:
        model = build_model(conditioning, config.units, length, jit_compile=config.jit)
        history = training.fit(model, epoch_batches, steps, config.epochs, stage=conditioning,
                               output=config.output, fresh=config.fresh, logdir=config.logdir,
                               progress=config.progress,
                               history_path=os.path.join(config.output, f"history_{conditioning}.csv"))
        token, exact = models.free_running_scores(model, test_vectors, test_sequences)
        metrics["conditioning"][conditioning] = {
            "final_teacher_forced_loss": float(history["loss"][-1]),
            "free_running_token_accuracy": token,
            "free_running_exact_match": exact,
        }
        print(f"{conditioning}: token accuracy {token:.3f}, exact match {exact:.3f}", flush=True)
    training.remove_backup(config.output)  # every model is trained
    return metrics
