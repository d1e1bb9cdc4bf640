"""Probes of the backend a layer is being traced or run on."""

import keras

__all__ = ["half_precision_is_emulated", "in_xla_context", "keras_mask_of"]


def half_precision_is_emulated():
    """Whether half-precision math runs on the CPU (TensorFlow backend, no
    GPU visible)."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return not tf.config.list_logical_devices("GPU")


def in_xla_context():
    """Whether the current TensorFlow graph is being traced for XLA
    (`jit_compile=True`); always False on other backends."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf
    from tensorflow.python.ops import control_flow_util

    return bool(control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph()))


def keras_mask_of(x):
    """The Keras mask a layer attached to `x` (e.g. the output of an
    `Embedding(mask_zero=True)` or of a masked RNN), or `None`."""
    try:  # Keras >= 3.6 keeps masks beside the tensor.
        from keras.src.backend.common.masking import get_keras_mask
    except ImportError:  # pragma: no cover - older Keras 3
        return getattr(x, "_keras_mask", None)
    return get_keras_mask(x)
