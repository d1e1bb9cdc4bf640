"""Recursive neural networks over binary trees: `TreeRNN` and `TreeLSTM`.

Trees come as padded arrays in preorder (see `kerasrnn.data.trees`): node
`i` has children `left[:, i]`, `right[:, i]` (`-1` for none) at later
positions, so one loop over positions from last to first composes every tree
of the batch bottom-up at once. Each iteration gathers the children's states
from a `(batch, nodes + 1, units)` buffer (slot `nodes` holds the zero state
of a missing child) and writes the node's state back.
"""

import keras
from keras import initializers
from keras import ops

from kerasrnn.layers.cell import get_activation
from kerasrnn.layers.lstm import unit_forget_bias_initializer
from kerasrnn.layers.sequence import check_real_dtype
from kerasrnn.ops.scan import scan
from kerasrnn.validation import InputError
from kerasrnn.validation import check_bool
from kerasrnn.validation import check_positive_int


def tree_rnn_compose(projected, h_left, h_right, left_kernel, right_kernel, activation):
    """`h = activation(x W + b + h_L U_L + h_R U_R)` given `x W + b`."""
    return activation(projected + ops.matmul(h_left, left_kernel) + ops.matmul(h_right, right_kernel))


def tree_lstm_compose(projected, states_left, states_right, left_kernel, right_kernel,
                      activation, recurrent_activation):
    """Binary N-ary Tree-LSTM node (Tai et al. 2015, eqs. 9-14).

    `projected` is `x W + b` with blocks `[i, f, o, u]`; `left_kernel` and
    `right_kernel` are `(units, 5 units)` with blocks `[i, f_L, f_R, o, u]`.
    Returns `(h, c)`.
    """
    (h_l, c_l), (h_r, c_r) = states_left, states_right
    x_i, x_f, x_o, x_u = ops.split(projected, 4, axis=-1)
    z = ops.matmul(h_l, left_kernel) + ops.matmul(h_r, right_kernel)
    z_i, z_fl, z_fr, z_o, z_u = ops.split(z, 5, axis=-1)
    i = recurrent_activation(x_i + z_i)
    f_l = recurrent_activation(x_f + z_fl)
    f_r = recurrent_activation(x_f + z_fr)
    o = recurrent_activation(x_o + z_o)
    u = activation(x_u + z_u)
    c = i * u + f_l * c_l + f_r * c_r
    return o * activation(c), c


class _TreeLayer(keras.layers.Layer):
    """Weights, the bottom-up loop and config shared by the tree layers."""

    #: x-side blocks, child-side blocks, state tensors per node.
    input_blocks = 1
    child_blocks = 1
    num_states = 1

    def __init__(
        self,
        units,
        activation="tanh",
        return_nodes=False,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.activation = get_activation(activation, "activation")
        self.return_nodes = check_bool("return_nodes", return_nodes)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.supports_masking = True

    def build(self, inputs_shape, left_shape=None, right_shape=None):
        features_shape = _check_input_shapes(_join(inputs_shape, left_shape, right_shape))
        input_dim = features_shape[-1]
        self.kernel = self.add_weight(
            shape=(input_dim, self.input_blocks * self.units), name="kernel",
            initializer=self.kernel_initializer,
        )
        width = self.child_blocks * self.units
        self.left_kernel = self.add_weight(
            shape=(self.units, width), name="left_kernel", initializer=self.recurrent_initializer
        )
        self.right_kernel = self.add_weight(
            shape=(self.units, width), name="right_kernel", initializer=self.recurrent_initializer
        )
        self.bias = self.add_weight(
            shape=(self.input_blocks * self.units,), name="bias", initializer=self.make_bias_initializer()
        )

    def make_bias_initializer(self):
        return self.bias_initializer

    def compose(self, projected, states_left, states_right):
        """States of one node from `x W + b` and its children's states."""
        raise NotImplementedError

    def call(self, inputs, left=None, right=None, mask=None):
        del mask  # padding nodes are never referenced by a real node
        if left is not None or right is not None:
            inputs = [inputs, left, right]
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 3:
            _check_input_shapes(getattr(inputs, "shape", inputs))
        features, left, right = inputs
        _check_input_shapes([tuple(features.shape), tuple(left.shape), tuple(right.shape)])
        check_real_dtype(self, features, "node_features")
        for name, children in (("left", left), ("right", right)):
            dtype = keras.backend.standardize_dtype(children.dtype)
            if "int" not in dtype:
                raise InputError(
                    f"`{name}` must hold integer child indices (-1 for none). Received: {name}.dtype={dtype}"
                )
        nodes = ops.shape(features)[1]
        batch = ops.shape(features)[0]
        # Node-major, projected once for all nodes; -1 (no child) -> slot `nodes`.
        projected = ops.matmul(ops.transpose(features, (1, 0, 2)), self.kernel) + self.bias
        left = ops.transpose(ops.where(left < 0, nodes, ops.cast(left, "int32")), (1, 0))
        right = ops.transpose(ops.where(right < 0, nodes, ops.cast(right, "int32")), (1, 0))
        positions = ops.arange(nodes, dtype="int32")
        dtype = projected.dtype
        buffers = tuple(
            ops.zeros((batch, nodes + 1, self.units), dtype=dtype) for _ in range(self.num_states)
        )

        def gather(buffers, index):
            index = ops.reshape(index, (-1, 1, 1))
            return tuple(ops.take_along_axis(b, index, axis=1)[:, 0, :] for b in buffers)

        def step(buffers, x):
            projected_i, left_i, right_i, i = x
            states = self.compose(projected_i, gather(buffers, left_i), gather(buffers, right_i))
            here = ops.reshape(ops.equal(ops.arange(nodes + 1, dtype="int32"), i), (1, -1, 1))
            return tuple(ops.where(here, ops.expand_dims(s, 1), b) for b, s in zip(buffers, states)), None

        buffers, _ = scan(step, buffers, (projected, left, right, positions), reverse=True)
        if self.return_nodes:
            return buffers[0][:, :-1, :]
        return buffers[0][:, 0, :]

    def compute_output_shape(self, inputs_shape, left_shape=None, right_shape=None):
        features_shape = _check_input_shapes(_join(inputs_shape, left_shape, right_shape))
        if self.return_nodes:
            return tuple(features_shape[:2]) + (self.units,)
        return (features_shape[0], self.units)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        config = {
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "return_nodes": self.return_nodes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }
        return {**super().get_config(), **config}


def _join(inputs_shape, left_shape, right_shape):
    if left_shape is None and right_shape is None:
        return inputs_shape
    return [inputs_shape, left_shape, right_shape]


def _check_input_shapes(input_shape):
    if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 3 or not all(
        isinstance(s, (list, tuple)) or hasattr(s, "as_list") for s in input_shape
    ):
        raise ValueError(
            "Tree layers expect three inputs [node_features (batch, nodes, features), "
            f"left (batch, nodes), right (batch, nodes)]. Received: input_shape={input_shape}"
        )
    features, left, right = (tuple(s) for s in input_shape)
    if len(features) != 3 or features[-1] is None:
        raise ValueError(
            "`node_features` must have shape (batch, nodes, features) with known features. "
            f"Received: node_features.shape={features}"
        )
    for name, shape in (("left", left), ("right", right)):
        if len(shape) != 2 or not all(a is None or b is None or a == b for a, b in zip(shape, features[:2])):
            raise ValueError(
                f"`{name}` must have shape (batch, nodes) = {features[:2]}. Received: {name}.shape={shape}"
            )
    return features


@keras.saving.register_keras_serializable(package="kerasrnn")
class TreeRNN(_TreeLayer):
    """Recursive neural network: composes binary trees bottom-up.

    For node j with children L(j), R(j) (a missing child has h = 0):

        h_j = activation(x_j W + h_{L(j)} U_L + h_{R(j)} U_R + b)

    `x_j` is the node's feature vector (e.g. an embedded token; internal nodes
    may carry one too, such as an operator). All trees of a batch are computed
    at once by one loop over node positions, last to first.

    Args:
        units: Positive integer, size of the node states.
        activation: Activation of the composition. Default: `"tanh"`.
        return_nodes: Return every node's state `(batch, nodes, units)`
            instead of the root's `(batch, units)`.
        kernel_initializer: For `W`. Default `"glorot_uniform"`.
        recurrent_initializer: For `U_L` and `U_R`. Default `"orthogonal"`.
        bias_initializer: For `b`. Default `"zeros"`.

    Call arguments:
        inputs: `[node_features, left, right]` (or the three as separate
            arguments `inputs, left, right`): `(batch, nodes, features)`
            floats and two `(batch, nodes)` integer arrays of child positions,
            `-1` for none, in preorder (root at 0, children after their
            parent; see `kerasrnn.data.trees.validate_trees`).
        mask: Ignored: padding nodes are computed but never referenced.

    Output shape: `(batch, units)` (the root, node 0), or
    `(batch, nodes, units)` with `return_nodes=True`.

    Example:

    >>> tokens, left, right = kerasrnn.data.trees.pad_trees([([11, 2, 3], [1, -1, -1], [2, -1, -1])])
    >>> x = keras.layers.Embedding(14, 8)(tokens)
    >>> kerasrnn.layers.TreeRNN(16)([x, left, right]).shape
    (1, 16)

    Reference:
        Socher et al., "Parsing Natural Scenes and Natural Language with
        Recursive Neural Networks", ICML 2011; Goller & Küchler, 1996.
    """

    def compose(self, projected, states_left, states_right):
        h = tree_rnn_compose(
            projected, states_left[0], states_right[0], self.left_kernel, self.right_kernel, self.activation
        )
        return (h,)


@keras.saving.register_keras_serializable(package="kerasrnn")
class TreeLSTM(_TreeLayer):
    """Binary N-ary Tree-LSTM (Tai, Socher & Manning 2015), bottom-up.

    For node j with children L, R (a missing child has h = c = 0):

        i_j   = σ(x_j W_i + h_L U_i^L + h_R U_i^R + b_i)
        f_jL  = σ(x_j W_f + h_L U_f^{LL} + h_R U_f^{LR} + b_f)
        f_jR  = σ(x_j W_f + h_L U_f^{RL} + h_R U_f^{RR} + b_f)
        o_j   = σ(x_j W_o + h_L U_o^L + h_R U_o^R + b_o)
        u_j   = tanh(x_j W_u + h_L U_u^L + h_R U_u^R + b_u)
        c_j   = i_j ⊙ u_j + f_jL ⊙ c_L + f_jR ⊙ c_R
        h_j   = o_j ⊙ tanh(c_j)

    Weights: `kernel` `(features, 4 units)` (blocks i, f, o, u), `left_kernel`
    and `right_kernel` `(units, 5 units)` (blocks i, f_L, f_R, o, u), `bias`
    `(4 units,)` (forget block initialised to 1 with `unit_forget_bias`).

    Args:
        units: Positive integer, size of `h` and `c`.
        activation: tanh in the equations. Default: `"tanh"`.
        recurrent_activation: σ in the equations. Default: `"sigmoid"`.
        unit_forget_bias: Initialise `b_f` to ones. Default: `True`.
        return_nodes, kernel_initializer, recurrent_initializer,
        bias_initializer: As for `TreeRNN`.

    Call arguments:
        inputs: `[node_features, left, right]` as for `TreeRNN`.
        mask: Ignored.

    Output shape: `(batch, units)` (root `h`), or `(batch, nodes, units)`
    with `return_nodes=True`.

    Example:

    >>> tokens, left, right = kerasrnn.data.trees.pad_trees([([11, 2, 3], [1, -1, -1], [2, -1, -1])])
    >>> x = keras.layers.Embedding(14, 8)(tokens)
    >>> kerasrnn.layers.TreeLSTM(16)([x, left, right]).shape
    (1, 16)

    Reference:
        Tai, Socher & Manning, "Improved Semantic Representations From
        Tree-Structured Long Short-Term Memory Networks", ACL 2015.
    """

    input_blocks = 4
    child_blocks = 5
    num_states = 2

    def __init__(self, units, recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.recurrent_activation = get_activation(recurrent_activation, "recurrent_activation")
        self.unit_forget_bias = bool(unit_forget_bias)

    def make_bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        return unit_forget_bias_initializer(self.bias_initializer, self.units)

    def compose(self, projected, states_left, states_right):
        return tree_lstm_compose(
            projected, states_left, states_right, self.left_kernel, self.right_kernel,
            self.activation, self.recurrent_activation,
        )

    def get_config(self):
        config = {
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }
        return {**super().get_config(), **config}
