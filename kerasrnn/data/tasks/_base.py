"""What the algorithmic tasks share: argument checks, padding, tf.data wrapping.

A task is a NumPy function `task_batch(rng, batch_size, **options)` that
returns one batch as a dict of arrays, every example padded at the end to the
longest in the batch:

* `inputs`: `(batch, T, input_dim)` float32;
* `targets`: `(batch, T, output_dim)` float32 (zeros outside the output phase);
* `output_mask`: `(batch, T)` float32, 1 at the steps whose targets are scored
  (the output phase), 0 elsewhere and on padding;
* `sequence_mask`: `(batch, T)` bool, True on the real (unpadded) steps.
"""

import numpy as np

from kerasrnn.validation import check_positive_int


#: The tasks' size checks: `kerasrnn.validation.check_positive_int`.
check_positive = check_positive_int


def check_range(low_name, low, high_name, high):
    """Both positive and `low <= high`."""
    check_positive(low_name, low)
    check_positive(high_name, high)
    if low > high:
        raise ValueError(f"`{low_name}` must be <= `{high_name}`. Received: {low_name}={low}, {high_name}={high}")


def check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"`rng` must be a numpy.random.Generator. Received: rng={rng!r}")
    return rng


def pad_batch(examples):
    """Pads a list of `(inputs, targets, output_mask)` examples to one batch."""
    length = max(x.shape[0] for x, _, _ in examples)
    batch = len(examples)
    input_dim, output_dim = examples[0][0].shape[1], examples[0][1].shape[1]
    inputs = np.zeros((batch, length, input_dim), np.float32)
    targets = np.zeros((batch, length, output_dim), np.float32)
    output_mask = np.zeros((batch, length), np.float32)
    sequence_mask = np.zeros((batch, length), bool)
    for i, (x, y, m) in enumerate(examples):
        t = x.shape[0]
        inputs[i, :t], targets[i, :t], output_mask[i, :t], sequence_mask[i, :t] = x, y, m, True
    return {"inputs": inputs, "targets": targets, "output_mask": output_mask, "sequence_mask": sequence_mask}


def random_bits(rng, shape):
    return rng.integers(0, 2, size=shape).astype(np.float32)


def make_dataset(batch_fn, batch_size, seed, **options):
    """An infinite `tf.data.Dataset` of `batch_fn(rng, batch_size, **options)`.

    The generator owns a `numpy.random.default_rng(seed)`, so the same seed
    gives the same batches, in the same order, every time the dataset is
    iterated.
    """
    import tensorflow as tf

    check_positive("batch_size", batch_size)
    probe = batch_fn(np.random.default_rng(0), 1, **options)

    def generate():
        rng = np.random.default_rng(seed)
        while True:
            yield batch_fn(rng, batch_size, **options)

    signature = {
        key: tf.TensorSpec((None, None) + value.shape[2:], tf.as_dtype(value.dtype)) for key, value in probe.items()
    }
    return tf.data.Dataset.from_generator(generate, output_signature=signature)
