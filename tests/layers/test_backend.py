"""Backend probes (kerasrnn.layers.backend)."""

import keras
import pytest

from kerasrnn.layers.backend import half_precision_is_emulated
from kerasrnn.layers.backend import in_xla_context

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow probes")


def test_half_precision_is_emulated_without_a_gpu():
    import tensorflow as tf

    assert half_precision_is_emulated() is (not tf.config.list_logical_devices("GPU"))


def test_in_xla_context_only_while_traced_for_xla():
    import tensorflow as tf

    seen = []

    def probe():
        seen.append(in_xla_context())
        return tf.constant(0)

    probe()
    tf.function(probe)()
    tf.function(probe, jit_compile=True)()
    assert seen == [False, False, True]
