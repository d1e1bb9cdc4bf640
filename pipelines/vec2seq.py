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

Training is crash-safe (`pipelines.training`): each conditioning's model is a
stage with its own backup; kill a run and rerun the same command to reload
the models already trained and resume the interrupted one from its last
finished epoch (each epoch's batch order is a function of `(--seed, epoch)`).
"""

import os

import numpy as np

from pipelines import training
from pipelines.common import positive

DESCRIPTION = "One-to-many: vector -> digit sequence with output feedback (initial state vs input at every step)"

CONDITIONINGS = ("state", "input", "both")
#: `--strategy` values: this pipeline is not distributed.
STRATEGIES = ("none",)
STEPS = 4


def progression_data(length, repeats=1):
    """Vectors `(40 * repeats, 14)` and sequences `(40 * repeats, length)`."""
    starts, steps = np.meshgrid(np.arange(10), np.arange(1, STEPS + 1), indexing="ij")
    starts, steps = np.tile(starts.ravel(), repeats), np.tile(steps.ravel(), repeats)
    vectors = np.concatenate([np.eye(10)[starts], np.eye(STEPS)[steps - 1]], axis=1).astype("float32")
    sequences = (starts[:, None] + steps[:, None] * np.arange(length)[None, :]) % 10
    return vectors, sequences.astype("int32")


def build_model(conditioning, units, length, learning_rate=1e-2, jit_compile="auto"):
    """`[vector, targets]` -> `(batch, length, 10)` probabilities."""
    import keras

    from kerasrnn.layers.feedback import OutputFeedbackRNN
    from kerasrnn.layers.gru import GRUCell

    if conditioning not in CONDITIONINGS:
        raise ValueError(f"`conditioning` must be one of {CONDITIONINGS}. Received: conditioning={conditioning!r}")
    vector = keras.Input((10 + STEPS,), name="vector")
    targets = keras.Input((length,), dtype="int32", name="targets")
    if conditioning == "state":
        # No per-step input: (batch, length, 0); the vector is only the state.
        steps = keras.layers.Lambda(
            lambda v: keras.ops.zeros((keras.ops.shape(v)[0], length, 0)), output_shape=(length, 0), name="no_input"
        )(vector)
    else:
        steps = keras.layers.RepeatVector(length)(vector)
    initial_state = None
    if conditioning != "input":
        initial_state = [keras.layers.Dense(units, activation="tanh", name="initial_state")(vector)]
    generator = OutputFeedbackRNN(
        GRUCell(units), output_units=10, output_activation="softmax", feedback="greedy", name="generator"
    )
    probabilities = generator(steps, targets=targets, initial_state=initial_state)
    model = keras.Model({"vector": vector, "targets": targets}, probabilities, name=f"vec2seq_{conditioning}")
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy", jit_compile=jit_compile)
    return model


def free_running_scores(model, vectors, sequences):
    """Token accuracy and exact match of self-fed generation."""
    dummy = np.zeros_like(sequences)  # ignored outside training
    predicted = model.predict({"vector": vectors, "targets": dummy}, verbose=0).argmax(-1)
    return float((predicted == sequences).mean()), float((predicted == sequences).all(axis=1).mean())


def add_arguments(parser):
    parser.add_argument("--conditioning", default="state,input,both", help="comma-separated subset of state,input,both")
    parser.add_argument("--units", type=int, default=32, help="GRU units (default: %(default)s)")
    parser.add_argument("--length", type=int, default=8, help="sequence length (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=16, help="copies of the 40 classes per epoch (default: %(default)s)")
    training.add_training_arguments(parser, STRATEGIES)


def run(args):
    training.check_arguments(args, STRATEGIES)
    conditionings = [c.strip() for c in args.conditioning.split(",") if c.strip()]
    if not conditionings or any(c not in CONDITIONINGS for c in conditionings):
        raise ValueError(f"`--conditioning` must be a subset of state,input,both. Received: {args.conditioning!r}")
    positive("units", args.units)
    positive("length", args.length)
    positive("repeats", args.repeats)
    epochs, batch_size = args.epochs or 40, args.batch_size or 32
    if args.quick:
        epochs = min(epochs, 2)
    vectors, sequences = progression_data(args.length, args.repeats)
    test_vectors, test_sequences = progression_data(args.length)
    training.enable_determinism(args.seed, training.jit_compile(args))
    epoch_batches, steps = training.array_epoch_batches(
        ({"vector": vectors, "targets": sequences}, sequences), batch_size, args.seed)
    metrics = {"epochs": epochs, "length": args.length, "units": args.units, "conditioning": {}}
    for conditioning in conditionings:
        model = build_model(conditioning, args.units, args.length, jit_compile=training.jit_compile(args))
        history = training.fit(model, epoch_batches, steps, epochs, args, stage=conditioning,
                               history_path=os.path.join(args.output, f"history_{conditioning}.csv"))
        token, exact = free_running_scores(model, test_vectors, test_sequences)
        metrics["conditioning"][conditioning] = {
            "final_teacher_forced_loss": float(history["loss"][-1]),
            "free_running_token_accuracy": token,
            "free_running_exact_match": exact,
        }
        print(f"{conditioning}: token accuracy {token:.3f}, exact match {exact:.3f}", flush=True)
    training.remove_backup(args.output)  # every model is trained
    return metrics
