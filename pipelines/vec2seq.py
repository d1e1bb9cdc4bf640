"""`vec2seq`: one-to-many RNNs — a fixed vector in, a sequence out.

Task (class-conditioned sequences): the vector is `[one_hot(start, 10);
one_hot(step - 1, 4)]` and the sequence is the digits `start, start + step,
start + 2 step, ...` modulo 10 (`--length` of them). The next digit depends on
the previous one, so the generator feeds its own output back
(`kerasrnn.layers.OutputFeedbackRNN`, greedy one-hot feedback): teacher-forced
by `model.fit`, self-fed by `predict`/`evaluate`.

The vector enters (`--conditioning`) as the initial state (`state`:
h_0 = tanh(v W_h + b_h)), as an input at every step (`input`: x_t = v), or
both. Metrics: free-running (self-fed) token accuracy and exact sequence
match on all 40 (start, step) classes, for each conditioning.

Training is crash-safe (`kerasrnn.training`): each conditioning's model is a
stage with its own backup; kill a run and rerun the same command to reload
the models already trained and resume the interrupted one from its last
finished epoch (each epoch's batch order is a function of `(--seed, epoch)`).
"""

import os

from kerasrnn import training
from kerasrnn.data.progressions import VECTOR_DIM
from kerasrnn.data.progressions import progression_data
from kerasrnn.models import CONDITIONINGS
from kerasrnn.pipelines import cli_training
from kerasrnn.pipelines.common import positive

DESCRIPTION = "One-to-many: vector -> digit sequence with output feedback (initial state vs input at every step)"

#: `--strategy` values: this pipeline is not distributed.
STRATEGIES = ("none",)


def build_model(conditioning, units, length, learning_rate=1e-2, jit_compile="auto"):
    """`[vector, targets]` -> `(batch, length, 10)` probabilities, compiled."""
    import keras

    from kerasrnn.models import vector_to_sequence_model

    model = vector_to_sequence_model(conditioning, units, length, vector_dim=VECTOR_DIM, classes=10)
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy", jit_compile=jit_compile)
    return model


def add_arguments(parser):
    parser.add_argument("--conditioning", default="state,input,both", help="comma-separated subset of state,input,both")
    parser.add_argument("--units", type=int, default=32, help="GRU units (default: %(default)s)")
    parser.add_argument("--length", type=int, default=8, help="sequence length (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=16, help="copies of the 40 classes per epoch (default: %(default)s)")
    cli_training.add_training_arguments(parser, STRATEGIES)


def run(args):
    cli_training.check_arguments(args, STRATEGIES)
    conditionings = [c.strip() for c in args.conditioning.split(",") if c.strip()]
    if not conditionings or any(c not in CONDITIONINGS for c in conditionings):
        raise ValueError(f"`--conditioning` must be a subset of state,input,both. Received: {args.conditioning!r}")
    positive("units", args.units)
    positive("length", args.length)
    positive("repeats", args.repeats)
    epochs, batch_size = args.epochs or 40, args.batch_size or 32
    if args.quick:
        epochs = min(epochs, 2)
    from kerasrnn import models

    vectors, sequences = progression_data(args.length, args.repeats)
    test_vectors, test_sequences = progression_data(args.length)
    training.enable_determinism(args.seed, cli_training.jit_compile(args))
    epoch_batches, steps = training.array_epoch_batches(
        ({"vector": vectors, "targets": sequences}, sequences), batch_size, args.seed)
    metrics = {"epochs": epochs, "length": args.length, "units": args.units, "conditioning": {}}
    for conditioning in conditionings:
        model = build_model(conditioning, args.units, args.length, jit_compile=cli_training.jit_compile(args))
        history = training.fit(model, epoch_batches, steps, epochs, stage=conditioning,
                               output=args.output, fresh=args.fresh, logdir=args.logdir, progress=args.progress,
                               history_path=os.path.join(args.output, f"history_{conditioning}.csv"))
        token, exact = models.free_running_scores(model, test_vectors, test_sequences)
        metrics["conditioning"][conditioning] = {
            "final_teacher_forced_loss": float(history["loss"][-1]),
            "free_running_token_accuracy": token,
            "free_running_exact_match": exact,
        }
        print(f"{conditioning}: token accuracy {token:.3f}, exact match {exact:.3f}", flush=True)
    training.remove_backup(args.output)  # every model is trained
    return metrics
