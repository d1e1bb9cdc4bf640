"""TreeRNN and TreeLSTM: NumPy reference on a 3-node tree, batching and
padding, the generic layer test, bad inputs."""

import keras
import numpy as np
import pytest

from kerasrnn.data.trees import generate_expressions
from kerasrnn.data.trees import pad_trees
from kerasrnn.layers.tree_rnn import TreeLSTM
from kerasrnn.layers.tree_rnn import TreeRNN
from tests.helpers import assert_close
from tests.helpers import run_layer_test

# Node 0 = root with children 1 and 2 (leaves); a padding node 3.
LEFT = np.array([[1, -1, -1, -1]], "int32")
RIGHT = np.array([[2, -1, -1, -1]], "int32")


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _features(nodes=4, dim=5, batch=1, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, nodes, dim)).astype("float32")


def test_tree_rnn_matches_numpy_on_three_node_tree():
    x = _features()
    layer = TreeRNN(3, return_nodes=True, bias_initializer="random_normal")
    nodes = np.asarray(layer([x, LEFT, RIGHT]))
    W, U_l, U_r, b = (np.asarray(w) for w in (layer.kernel, layer.left_kernel, layer.right_kernel, layer.bias))
    h1 = np.tanh(x[0, 1] @ W + b)
    h2 = np.tanh(x[0, 2] @ W + b)
    h0 = np.tanh(x[0, 0] @ W + h1 @ U_l + h2 @ U_r + b)
    assert_close(nodes[0, :3], np.stack([h0, h1, h2]))
    root = TreeRNN.from_config(layer.get_config() | {"return_nodes": False})
    root([x, LEFT, RIGHT])
    root.set_weights(layer.get_weights())
    assert_close(root([x, LEFT, RIGHT]), nodes[:, 0])  # the root is node 0


def test_tree_lstm_matches_numpy_on_three_node_tree():
    x = _features()
    layer = TreeLSTM(3, bias_initializer="random_normal")
    root = np.asarray(layer([x, LEFT, RIGHT]))
    u = 3
    W, U_l, U_r, b = (np.asarray(w) for w in (layer.kernel, layer.left_kernel, layer.right_kernel, layer.bias))

    def node(x_j, hl, cl, hr, cr):
        xi, xf, xo, xu = np.split(x_j @ W + b, 4)
        zi, zfl, zfr, zo, zu = np.split(hl @ U_l + hr @ U_r, 5)
        i, fl, fr, o = _sigmoid(xi + zi), _sigmoid(xf + zfl), _sigmoid(xf + zfr), _sigmoid(xo + zo)
        c = i * np.tanh(xu + zu) + fl * cl + fr * cr
        return o * np.tanh(c), c

    zero = np.zeros(u, "float32")
    h1, c1 = node(x[0, 1], zero, zero, zero, zero)
    h2, c2 = node(x[0, 2], zero, zero, zero, zero)
    h0, _ = node(x[0, 0], h1, c1, h2, c2)
    assert_close(root[0], h0)
    # unit_forget_bias puts ones in the forget block only.
    fresh = TreeLSTM(2)
    fresh([x, LEFT, RIGHT])
    assert_close(fresh.bias, [0, 0, 1, 1, 0, 0, 0, 0])


@pytest.mark.parametrize("layer_cls", [TreeRNN, TreeLSTM])
def test_batch_of_trees_equals_one_tree_at_a_time_and_padding_is_inert(layer_cls):
    data = generate_expressions(4, [1, 2, 3], seed=3)
    emb = np.random.default_rng(1).normal(size=(14, 4)).astype("float32")
    layer = layer_cls(5)
    batched = np.asarray(layer([emb[data["tokens"]], data["left"], data["right"]]))
    for b in range(4):
        n = int((data["tokens"][b] > 0).sum())
        t, l, r = (data[k][b : b + 1, :n] for k in ("tokens", "left", "right"))
        assert_close(layer([emb[t], l, r]), batched[b : b + 1], msg=f"tree {b}")
        # Extra padding nodes with arbitrary features change nothing.
        t2, l2, r2 = pad_trees([(t[0].tolist(), l[0].tolist(), r[0].tolist())], n + 3)
        feats = emb[t2] + np.pad(np.zeros((1, n, 4)), ((0, 0), (0, 3), (0, 0)), constant_values=7.0)
        assert_close(layer([feats.astype("float32"), l2, r2]), batched[b : b + 1], msg=f"padded {b}")


@pytest.mark.parametrize("layer_cls, kwargs", [(TreeRNN, {"units": 3}), (TreeLSTM, {"units": 3, "return_nodes": True})])
def test_generic_layer_test(layer_cls, kwargs, tmp_path):
    data = generate_expressions(3, [1, 2], seed=0, num_nodes=7)
    x = _features(nodes=7, dim=4, batch=3)
    shape = (3, 7, 3) if kwargs.get("return_nodes") else (3, 3)
    run_layer_test(layer_cls, kwargs, [x, data["left"], data["right"]], shape, tmp_path)


def test_in_a_model_with_embedding_mask():
    tokens = keras.Input((None,), dtype="int32")
    left = keras.Input((None,), dtype="int32")
    right = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(14, 4, mask_zero=True)(tokens)
    out = keras.layers.Dense(10)(TreeLSTM(6)([x, left, right]))
    model = keras.Model([tokens, left, right], out)
    data = generate_expressions(5, [2], seed=2)
    assert model.predict([data["tokens"], data["left"], data["right"]], verbose=0).shape == (5, 10)


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="units"):
        TreeRNN(0)
    with pytest.raises(ValueError, match="activation"):
        TreeRNN(3, activation="nope")
    with pytest.raises(ValueError, match="return_nodes"):
        TreeLSTM(3, return_nodes="yes")
    with pytest.raises(ValueError, match="three inputs"):
        TreeRNN(3)(_features())
    with pytest.raises(ValueError, match="left"):
        TreeRNN(3)([_features(), np.zeros((1, 5), "int32"), RIGHT])


def test_tree_inputs_of_the_wrong_dtype_are_named():
    features = np.zeros((1, 3, 2), "float32")
    left, right = np.array([[-1, -1, 0]]), np.array([[-1, -1, 1]])
    layer = TreeRNN(4)
    layer([features, left, right])
    with pytest.raises(ValueError, match=r"as `node_features`. Received: dtype=string"):
        layer([np.full((1, 3, 2), "a"), left, right])
    with pytest.raises(ValueError, match=r"`right` must hold integer child indices \(-1 for none\). Received: right.dtype=float32"):
        layer([features, left, right.astype("float32")])
