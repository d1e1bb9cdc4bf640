"""Which dtypes the fused path computes in under half-precision policies.

A layer under a `mixed_float16` or `mixed_bfloat16` policy computes in
`float16`/`bfloat16`. Where half-precision arithmetic is emulated (the
TensorFlow backend without a GPU), the fused path runs some of its work in
`float32` instead and casts the outputs and states back, because emulated
half-precision math is slower than `float32` there and gains nothing in
accuracy. Everywhere else these rules return the layer's own dtype.
"""

import keras

from kerasrnn.layers.backend import half_precision_is_emulated
from kerasrnn.layers.backend import in_xla_context

__all__ = ["projection_dtype", "recurrence_dtype"]

#: Up to this many units a `bfloat16` recurrence on an emulating CPU runs in
#: `float32`: at that width the per-step element-wise work (which pays for the
#: conversions) outweighs the saving of the smaller matrix products; wider
#: layers gain from `bfloat16` products or break even.
BFLOAT16_FLOAT32_LOOP_MAX_UNITS = 128


def recurrence_dtype(dtype, units=None):
    """The dtype the fused loop computes in for a layer computing in `dtype`
    with `units` units.

    On the TensorFlow backend without a GPU, `float32` for:

    * a `float16` layer: CPUs without native half-precision arithmetic run
      `float16` math through slow emulated kernels;
    * a `bfloat16` layer traced for XLA: XLA's CPU backend runs low-precision
      element-wise math through conversions to `float32` and back at every
      op, which makes the recurrence several times slower than in `float32`;
    * a `bfloat16` layer with `units <= BFLOAT16_FLOAT32_LOOP_MAX_UNITS`: at
      that width the per-step element-wise work outweighs the smaller
      products (`benchmarks/rnn_speed.py` measures the effect); wider layers
      run as fast or faster in `bfloat16`.

    The input projection stays in the layer's dtype (see `projection_dtype`);
    outputs and states are cast back to it. Everywhere else the loop runs in
    `dtype`.
    """
    dtype = keras.backend.standardize_dtype(dtype)
    if dtype not in ("bfloat16", "float16") or not half_precision_is_emulated():
        return dtype
    if dtype == "float16" or in_xla_context() or (
        units is not None and units <= BFLOAT16_FLOAT32_LOOP_MAX_UNITS
    ):
        return "float32"
    return dtype


def projection_dtype(dtype):
    """The dtype the fused path's input projection computes in for a layer
    computing in `dtype`: `float32` for `float16` on the TensorFlow backend
    without a GPU (oneDNN's emulated `float16` matrix product fused with the
    bias is far slower than the same product in `float32`); otherwise
    `dtype`."""
    dtype = keras.backend.standardize_dtype(dtype)
    if dtype == "float16" and half_precision_is_emulated():
        return "float32"
    return dtype
