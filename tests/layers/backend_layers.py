"""The layers beyond LSTM/GRU/SimpleRNN on another backend, against TensorFlow's numbers.

The NTM cell, Bahdanau and Luong attention, `DeepRNN`, `OutputFeedbackRNN`,
`TreeRNN`, `TreeLSTM` and the layers run by a parallel scan (`MinGRU`,
`MinLSTM`, `LRU`, `RGLRU`, `HawkBlock`, with a mask) have no Keras counterpart to compare with, so the
reference is the same model on the TensorFlow backend: `write_reference`
(run by the test, on TensorFlow) builds one model holding them all, stores
its weights, its outputs and the losses and weights after a few SGD steps;
`check_against_reference` (run in the JAX or PyTorch subprocess) builds the
same model there, loads those weights, and compares the outputs and (on
PyTorch) the training steps.
"""

import numpy as np

#: SGD steps (one batch each) whose losses and final weights are compared.
STEPS = 3


def _data():
    rng = np.random.RandomState(0)
    x = rng.randn(3, 5, 4).astype("float32")
    query = rng.randn(3, 4).astype("float32")
    memory = rng.randn(3, 6, 5).astype("float32")
    memory_mask = np.arange(6)[None, :] < np.array([6, 4, 2])[:, None]
    # Two trees in preorder (node 0 the root; -1: no child), padded to 5 nodes.
    tokens = np.array([[1, 2, 3, 4, 5], [6, 7, 8, 0, 0]], "int32")
    left = np.array([[1, 2, -1, -1, -1], [1, -1, -1, -1, -1]], "int32")
    right = np.array([[4, 3, -1, -1, -1], [2, -1, -1, -1, -1]], "int32")
    return rng, x, (query, memory, memory_mask), (tokens, left, right)


def model_and_data():
    """One model holding every case, with its inputs and targets; the same on
    every backend. One model: one train step to compile, not seven; built by
    its first call (a functional model's symbolic build costs more on JAX)."""
    import keras

    import kerasrnn

    L = kerasrnn.layers
    rng, x, (query, memory, memory_mask), (tokens, left, right) = _data()

    class Cases(keras.Model):
        def __init__(self):
            super().__init__()
            self.sequence_layers = [
                keras.layers.RNN(L.NTMCell(6, memory_size=5, memory_width=3), return_sequences=True),
                L.DeepRNN([L.LSTMCell(4), L.GRUCell(4)], residual=True, return_sequences=True),
                L.OutputFeedbackRNN(L.GRUCell(4), output_units=3, feedback="output"),
                # The layers run by a parallel scan (`kerasrnn.ops.linear_scan`).
                L.MinGRU(4, return_sequences=True),
                L.MinLSTM(4, return_sequences=True),
                L.LRU(4, return_sequences=True),
                L.RGLRU(4, return_sequences=True),
                L.HawkBlock(4, return_sequences=True),
            ]
            self.attentions = [L.BahdanauAttention(5, normalize=True), L.LuongAttention("general", scale=True)]
            self.embedding = keras.layers.Embedding(9, 3)
            self.trees = [L.TreeRNN(4), L.TreeLSTM(4)]
            self.heads = [keras.layers.Dense(2) for _ in range(12)]

        def call(self, inputs):
            sequence, query, memory, memory_mask, tokens, left, right = inputs
            features = [layer(sequence) for layer in self.sequence_layers[:3]]
            for attention in self.attentions:
                context, weights = attention(query, memory, value_mask=memory_mask)
                features.append(keras.ops.concatenate([context, weights], axis=-1))
            embedded = self.embedding(tokens)
            features += [tree([embedded, left, right]) for tree in self.trees]
            # The scan layers, with a mask (steps after each length keep the state).
            sequence_mask = keras.ops.arange(5)[None, :] < keras.ops.convert_to_tensor([5, 3])[:, None]
            features += [layer(sequence, mask=sequence_mask) for layer in self.sequence_layers[3:]]
            return [head(f) for head, f in zip(self.heads, features)]

    # The trees have their own batch of 2: every input gets a batch of 2.
    inputs = [x[:2], query[:2], memory[:2], memory_mask[:2], tokens, left, right]
    shapes = [(2, 5, 2)] * 3 + [(2, 2)] * 4 + [(2, 5, 2)] * 5
    targets = [rng.randn(*shape).astype("float32") for shape in shapes]
    return Cases(), inputs, targets


def _train(model, inputs, targets):
    """The losses (total and per output) of `STEPS` SGD steps, and the
    weights after them."""
    import keras

    model.compile(keras.optimizers.SGD(0.1), "mse")
    losses = [np.asarray(model.train_on_batch(inputs, targets), "float32") for _ in range(STEPS)]
    return np.stack(losses), [keras.ops.convert_to_numpy(w) for w in model.weights]


def write_reference(path):
    """Runs the model on this (TensorFlow) backend; saves what to compare."""
    import keras

    keras.utils.set_random_seed(0)
    model, inputs, targets = model_and_data()
    outputs = [keras.ops.convert_to_numpy(o) for o in model(inputs)]
    arrays = {f"init/{i}": w for i, w in enumerate(model.get_weights())}
    losses, weights = _train(model, inputs, targets)
    arrays.update({f"outputs/{i}": o for i, o in enumerate(outputs)})
    arrays["losses"] = losses
    arrays.update({f"trained/{i}": w for i, w in enumerate(weights)})
    np.savez(path, **arrays)


def check_against_reference(path, train=True):
    """Builds the model on this backend with the reference's weights and
    compares its outputs with TensorFlow's and, with `train`, the losses and
    weights after the SGD steps (on JAX, compiling that train step costs
    more CPU time than the suite's budget for it)."""
    import keras

    reference = np.load(path)
    model, inputs, targets = model_and_data()
    model(inputs)  # builds the weights
    count = len(model.get_weights())
    model.set_weights([reference[f"init/{i}"] for i in range(count)])
    outputs = [keras.ops.convert_to_numpy(o) for o in model(inputs)]
    for i, o in enumerate(outputs):
        np.testing.assert_allclose(o, reference[f"outputs/{i}"], atol=1e-5, err_msg=f"output {i}")
    if not train:
        return
    losses, weights = _train(model, inputs, targets)
    np.testing.assert_allclose(losses, reference["losses"], rtol=1e-5)
    assert len(weights) == count
    for i, w in enumerate(weights):
        np.testing.assert_allclose(w, reference[f"trained/{i}"], atol=1e-5, err_msg=model.weights[i].path)
