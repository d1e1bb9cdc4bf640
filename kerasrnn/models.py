"""Model builders for the tasks the library ships: the Neural Turing
Machine and its stacked-LSTM baseline (bit-vector tasks), and a one-to-many
vector-to-sequence generator with output feedback, and recursive (tree)
vs sequential classifiers of expression trees.

Each returns an uncompiled functional `keras.Model`; the caller compiles it
(e.g. with `kerasrnn.losses.BitsPerSequence`).
"""

import keras
import numpy as np

from kerasrnn.layers.feedback import OutputFeedbackRNN
from kerasrnn.layers.gru import GRUCell
from kerasrnn.layers.lstm import LSTM
from kerasrnn.layers.ntm_cell import NTMCell


def ntm_model(input_dim, output_dim, units=100, memory_size=128, memory_width=20, read_heads=1, write_heads=1,
              controller="lstm", memory_init="constant", return_weightings=False, name="ntm_model"):
    """`RNN(NTMCell)` then a `Dense` of `output_dim` logits per step.

    Inputs `(batch, steps, input_dim)`; outputs the logits `(batch, steps,
    output_dim)`, or with `return_weightings=True` `[logits, features]`,
    where `features` is the cell's whole output (read it with
    `model.get_layer("ntm").cell.split_output(features)`: read and write
    weightings per step). Both variants have the same weights, so a
    trained model's `get_weights()` fits the other (for heat maps).

    Args:
        input_dim: Input channels per step.
        output_dim: Logits per step.
        units: Controller size.
        memory_size: Memory rows N.
        memory_width: Memory width M.
        read_heads: Read heads.
        write_heads: Write heads.
        controller: "lstm" or "dense".
        memory_init: "constant", "learned" or "random".
        return_weightings: Also output the heads' weightings.
        name: Model name.

    Example:

    ```python
    model = ntm_model(9, 8, units=100, memory_size=128, memory_width=20)
    model.compile("adam", loss=kerasrnn.losses.BitsPerSequence())
    ```
    """
    inputs = keras.Input((None, input_dim), name="inputs")
    cell = NTMCell(
        units,
        memory_size=memory_size,
        memory_width=memory_width,
        num_read_heads=read_heads,
        num_write_heads=write_heads,
        controller=controller,
        memory_init=memory_init,
        return_weightings=return_weightings,
        name="ntm_cell",
    )
    features = keras.layers.RNN(cell, return_sequences=True, name="ntm")(inputs)
    core = features
    if return_weightings:
        core_size = cell.output_size - cell.weightings_size
        core = keras.layers.Lambda(lambda x: x[..., :core_size], name="core")(features)
    logits = keras.layers.Dense(output_dim, name="logits")(core)
    return keras.Model(inputs, [logits, features] if return_weightings else logits, name=name)


def stacked_lstm_model(input_dim, output_dim, units=256, layers=3, name="lstm_model"):
    """`layers` stacked `kerasrnn.layers.LSTM`s (`lstm_0`, ...) then a `Dense`
    of `output_dim` logits per step: the NTM tasks' baseline.

    Args:
        input_dim: Input channels per step.
        output_dim: Logits per step.
        units: Units per layer.
        layers: Number of layers.
        name: Model name.
    """
    inputs = keras.Input((None, input_dim), name="inputs")
    core = inputs
    for i in range(layers):
        core = LSTM(units, return_sequences=True, name=f"lstm_{i}")(core)
    logits = keras.layers.Dense(output_dim, name="logits")(core)
    return keras.Model(inputs, logits, name=name)


#: How `vector_to_sequence_model` feeds the vector in.
CONDITIONINGS = ("state", "input", "both")


def vector_to_sequence_model(conditioning, units, length, vector_dim, classes, name=None):
    """A one-to-many generator: `{"vector", "targets"}` -> `(batch, length,
    classes)` probabilities, a `GRUCell` feeding its own greedy one-hot output
    back (`OutputFeedbackRNN`): teacher-forced by `fit` (the `targets`
    input), self-fed by `predict`/`evaluate` (the targets are ignored).

    The vector enters as the initial state (`"state"`: h_0 = tanh(v W_h +
    b_h)), as the input at every step (`"input"`: x_t = v), or `"both"`.

    Args:
        conditioning: One of `CONDITIONINGS`.
        units: GRU units.
        length: Steps generated.
        vector_dim: Size of the conditioning vector.
        classes: Output classes (the feedback is their one-hot).
        name: Model name (default `vec2seq_<conditioning>`).
    """
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"`conditioning` must be one of {CONDITIONINGS}. Received: conditioning={conditioning!r}")
    vector = keras.Input((vector_dim,), name="vector")
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
        GRUCell(units), output_units=classes, output_activation="softmax", feedback="greedy", name="generator"
    )
    probabilities = generator(steps, targets=targets, initial_state=initial_state)
    return keras.Model({"vector": vector, "targets": targets}, probabilities, name=name or f"vec2seq_{conditioning}")


def free_running_scores(model, vectors, sequences):
    """`(token_accuracy, exact_match)` of a `vector_to_sequence_model`'s
    self-fed generation against `sequences` `(batch, length)`."""
    dummy = np.zeros_like(sequences)  # ignored outside training
    predicted = model.predict({"vector": vectors, "targets": dummy}, verbose=0).argmax(-1)
    return float((predicted == sequences).mean()), float((predicted == sequences).all(axis=1).mean())


def char_language_model(vocabulary_size, cell="lstm", units=256, embedding_dim=64, stateful_batch_size=None,
                        name=None):
    """A character language model: `Embedding` → recurrent layer → `Dense`
    logits over the vocabulary at every step.

    The recurrent layer (`cell`: any name of `kerasrnn.layers.RECURRENT_LAYERS`,
    e.g. "lstm", "gru", "simple_rnn") is named `"recurrent"` and returns its
    states too (unused in training), so that `kerasrnn.export.CharGenerator`
    can carry them from step to step when generating; the other layers are
    `"embedding"` and `"logits"`. With `stateful_batch_size` the layer is
    `stateful=True` over that fixed batch size (truncated BPTT).

    Example:

    >>> model = char_language_model(60, "gru", units=32, embedding_dim=8)
    >>> model.output_shape
    (None, None, 60)
    """
    from kerasrnn.layers import get_recurrent_layer

    ids = keras.Input((None,), batch_size=stateful_batch_size, dtype="int32", name="ids")
    embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, name="embedding")
    recurrent = get_recurrent_layer(cell)(
        units, return_sequences=True, return_state=True, stateful=stateful_batch_size is not None,
        name="recurrent",
    )
    logits = keras.layers.Dense(vocabulary_size, name="logits")
    sequence, *_ = recurrent(embedding(ids))
    return keras.Model(ids, logits(sequence), name=name or f"char_{cell}")


TREE_MODELS = ("tree-rnn", "tree-lstm", "lstm")


def tree_value_model(kind, units, vocabulary_size, classes, name=None):
    """A classifier of token trees: `{"tokens", "left", "right"}` -> `(batch,
    classes)` logits.

    The tokens are embedded (`units` wide), then `kind` reads them:
    `"tree-rnn"` / `"tree-lstm"` compose them bottom-up along the tree
    (`kerasrnn.layers.TreeRNN` / `TreeLSTM`, children given by `left` and
    `right` as in `kerasrnn.data.trees`) and classify the root; `"lstm"`
    reads them as a sequence (`kerasrnn.layers.LSTM`, token 0 masked, so the
    tree inputs are ignored) and classifies the last state.

    Args:
        kind: One of `TREE_MODELS`.
        units: Embedding size and state size.
        vocabulary_size: Token ids are below it (0 is padding).
        classes: Output classes.
        name: Model name (default: `kind` with underscores).
    """
    from kerasrnn.layers.tree_rnn import TreeLSTM
    from kerasrnn.layers.tree_rnn import TreeRNN

    if kind not in TREE_MODELS:
        raise ValueError(f"`kind` must be one of {TREE_MODELS}. Received: kind={kind!r}")
    name = name or kind.replace("-", "_")
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    left = keras.Input((None,), dtype="int32", name="left")
    right = keras.Input((None,), dtype="int32", name="right")
    x = keras.layers.Embedding(vocabulary_size, units, mask_zero=(kind == "lstm"), name="embedding")(tokens)
    if kind == "lstm":
        h = LSTM(units, name="lstm")(x)
    else:
        h = (TreeRNN if kind == "tree-rnn" else TreeLSTM)(units, name=name)([x, left, right])
    logits = keras.layers.Dense(classes, name="value")(h)
    return keras.Model({"tokens": tokens, "left": left, "right": right}, logits, name=name)
