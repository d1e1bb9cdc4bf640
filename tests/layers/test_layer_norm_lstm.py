"""LayerNormLSTMCell / LayerNormLSTM: NumPy reference (with masks, both
directions, both loops), golden values, step == sequence, padded steps,
gradients against finite differences, the generic layer test (config,
`.keras`, XLA, SavedModel), the TensorFlow Addons weight layout, bad
arguments, the registry name."""

import keras
import numpy as np
import pytest

from kerasrnn import layers as L
from kerasrnn.validation import ArgumentError
from tests import helpers
from tests import numpy_reference as ref
from tests.helpers import assert_close
from tests.helpers import run_layer_test

# Random γ and β, so that a normalization applied in the wrong place (or
# with the wrong parameters) shows in the numbers.
RANDOM_NORMS = {"norm_gamma_initializer": "random_normal", "norm_beta_initializer": "random_normal"}


def _reference_fn(cell):
    w = helpers.cell_weights(cell)
    norms = {n: (w[f"{n}_gamma"], w[f"{n}_beta"]) for n in ("kernel_norm", "recurrent_norm", "state_norm")}
    return lambda x, s: ref.layer_norm_lstm_cell(
        x, s, w["kernel"], w["recurrent_kernel"], w.get("bias"), norms, cell.norm_epsilon
    )


@pytest.mark.parametrize("fast_path, go_backwards", [(True, False), (False, True)], ids=["fast", "generic-backwards"])
def test_layer_matches_numpy_reference_with_mask(fast_path, go_backwards):
    helpers.check_matches_numpy_reference_with_mask(
        L.LayerNormLSTM, {**RANDOM_NORMS, "norm_epsilon": 0.01}, _reference_fn, go_backwards, fast_path
    )


def test_golden_values():
    # Constant kernels give every unit of a gate block the same
    # pre-activation, but the normalizations see all four blocks: with the
    # forget-gate bias of 1 (after the normalization) the blocks differ.
    cell = L.LayerNormLSTMCell(1, kernel_initializer="ones", recurrent_initializer="ones", norm_epsilon=1e-3)
    h, (h1, c1) = cell(np.array([[1.0]], "float32"), [np.zeros((1, 1), "float32")] * 2)
    # x W = [1, 1, 1, 1] normalizes to zeros (zero variance), h U = 0 too, so
    # z = bias = [0, 1, 0, 0]; c = σ(0) tanh(0) = 0, LN(0) = β = 0, h = 0.
    assert_close(c1, [[0.0]])
    assert_close(h1, [[0.0]])
    # Two units, no bias: z = 0, so every gate is σ(0) = 0.5 and the new cell
    # state before its normalization is 0.5 c0 = ±0.5 (mean 0, variance 0.25).
    cell = L.LayerNormLSTMCell(2, kernel_initializer="ones", recurrent_initializer="zeros", use_bias=False)
    c0 = np.array([[1.0, -1.0]], "float32")
    h, (h1, c1) = cell(np.ones((1, 1), "float32"), [np.zeros((1, 2), "float32"), c0])
    s = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    c_expected = 0.5 * c0 / np.sqrt(0.25 + 1e-3)
    assert_close(c1, c_expected)
    assert_close(h1, s(0.0) * np.tanh(c_expected))
    assert_close(h, h1)


def test_step_by_step_equals_whole_sequence_and_padded_steps_change_nothing():
    helpers.check_step_by_step_equals_whole_sequence(L.LayerNormLSTM, RANDOM_NORMS)
    helpers.check_padded_steps_leave_outputs_and_state_unchanged(L.LayerNormLSTM, RANDOM_NORMS)


def test_gradients_match_finite_differences():
    # In float64: the derivative along one random direction of the inputs,
    # the initial states and every weight equals a central difference.
    import tensorflow as tf

    rng = np.random.RandomState(0)
    x = rng.randn(2, 4, 3)
    mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
    layer = L.LayerNormLSTM(3, return_sequences=True, dtype="float64", bias_initializer="random_normal",
                            **RANDOM_NORMS)
    layer.build(x.shape)
    states = [rng.randn(2, 3), rng.randn(2, 3)]
    sources = [tf.Variable(x), *(tf.Variable(s) for s in states)] + layer.trainable_variables
    directions = [rng.randn(*v.shape) for v in sources]
    weight = rng.randn(2, 4, 3)

    def loss():
        out = layer(sources[0], initial_state=[sources[1], sources[2]], mask=mask, training=True)
        return tf.reduce_sum(tf.sin(out) * weight)

    with tf.GradientTape() as tape:
        value = loss()
    grads = tape.gradient(value, sources)
    assert all(g is not None and np.all(np.isfinite(g)) for g in grads)
    analytic = sum(np.sum(np.asarray(g) * d) for g, d in zip(grads, directions))
    eps = 1e-6
    values = []
    for sign in (1, -1):
        for v, d in zip(sources, directions):
            v.assign_add(sign * eps * d)
        values.append(float(loss()))
        for v, d in zip(sources, directions):
            v.assign_sub(sign * eps * d)
    numeric = (values[0] - values[1]) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6)


def test_layer_contract(tmp_path):
    x = np.random.RandomState(0).randn(2, 4, 3).astype("float32")
    # XLA: in `test_xla_call_equals_eager_with_mask`, cheaper than a second
    # compiled model here.
    run_layer_test(L.LayerNormLSTM, {"units": 3, "dropout": 0.1, "recurrent_dropout": 0.1, "seed": 1},
                   x, (2, 3), tmp_path, check_xla=False)


def test_xla_call_equals_eager_with_mask():
    import tensorflow as tf

    x, mask = helpers.equivalence_data()
    layer = L.LayerNormLSTM(3, return_sequences=True, return_state=True, **RANDOM_NORMS)
    eager = layer(x, mask=mask)
    compiled = tf.function(lambda x, m: layer(x, mask=m), jit_compile=True)(x, mask)
    for a, b in zip(compiled, eager):
        assert_close(a, b)


def test_weights_in_the_tensorflow_addons_order_and_registry_name():
    cell = L.LayerNormLSTMCell(3)
    cell.build((None, 5))
    assert [w.path.rsplit("/", 1)[-1] for w in cell.weights] == [
        "kernel", "recurrent_kernel", "bias",
        "kernel_norm_gamma", "kernel_norm_beta", "recurrent_norm_gamma", "recurrent_norm_beta",
        "state_norm_gamma", "state_norm_beta",
    ]
    assert [tuple(w.shape) for w in cell.weights] == [(5, 12), (3, 12), (12,)] + [(12,)] * 4 + [(3,)] * 2
    # unit_forget_bias: 1 in the forget block only; γ = 1, β = 0.
    assert_close(cell.bias, np.repeat([0.0, 1.0, 0.0, 0.0], 3))
    assert_close(cell.state_norm_gamma, np.ones(3))
    assert_close(cell.kernel_norm_beta, np.zeros(12))
    # Registered for `--cell lnlstm`; a seq2seq encoder's summary holds both
    # states of both directions.
    assert L.get_recurrent_layer("lnlstm") is L.LayerNormLSTM
    assert L.get_cell("lnlstm") is L.LayerNormLSTMCell
    from kerasrnn.seq2seq import Encoder

    encoder = Encoder(8, 4, 3, bidirectional=True, cell="lnlstm")
    assert encoder.summary_dim == 12
    assert tuple(encoder(np.array([[4, 5, 0]]))[2].shape) == (1, 12)


def test_cell_in_keras_rnn_and_bidirectional_equal_the_layer():
    x, mask = helpers.equivalence_data()
    layer = L.LayerNormLSTM(3, return_sequences=True, **RANDOM_NORMS)
    generic = keras.layers.RNN(L.LayerNormLSTMCell(3), return_sequences=True)
    layer.build(x.shape)
    generic.build(x.shape)
    generic.set_weights(layer.get_weights())
    assert_close(generic(x, mask=mask), layer(x, mask=mask))
    bidirectional = keras.layers.Bidirectional(L.LayerNormLSTM(3, return_sequences=True))
    assert tuple(bidirectional(x, mask=mask).shape) == (3, 5, 6)


def test_bad_arguments_name_the_argument_and_value():
    for bad in (0.0, -1e-3, "small", None, float("nan")):
        with pytest.raises(ArgumentError, match=r"`norm_epsilon` must be a positive number\. Received: norm_epsilon="):
            L.LayerNormLSTM(3, norm_epsilon=bad)
    for argument, value in (("units", 0), ("dropout", 1.0), ("recurrent_dropout", -0.1)):
        with pytest.raises(ArgumentError, match=rf"`{argument}` must be .*Received: {argument}={value!r}"):
            L.LayerNormLSTMCell(**{"units": 3, argument: value})

