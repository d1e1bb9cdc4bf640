"""`kerasrnn.ops.rnn`: masked steps."""

import numpy as np

from kerasrnn.ops import rnn


def test_rnn_masked_steps_repeat_output_and_keep_state():
    x = np.ones((2, 4, 1), "float32")
    mask = np.array([[True, False, True, False], [False, True, True, True]])

    def step(x_t, states):
        h = states[0] + x_t
        return h * 10.0, (h,)

    last, outputs, (h,) = rnn(step, x, [np.zeros((2, 1), "float32")], mask=mask)
    np.testing.assert_allclose(np.asarray(outputs)[..., 0], [[10, 10, 20, 20], [0, 10, 20, 30]])
    np.testing.assert_allclose(np.asarray(h)[:, 0], [2, 3])
    np.testing.assert_allclose(np.asarray(last)[:, 0], [20, 30])
    _, zero_outputs, _ = rnn(step, x, [np.zeros((2, 1), "float32")], mask=mask, zero_output_for_mask=True)
    np.testing.assert_allclose(np.asarray(zero_outputs)[..., 0], [[10, 0, 20, 0], [0, 10, 20, 30]])
