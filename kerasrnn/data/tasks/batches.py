"""Training batches of an algorithmic task for Keras: packed targets, time
padding for XLA, and epochs drawn as a function of `(seed, epoch)`.

A task batch (`kerasrnn.data.tasks._base`) is a dict of NumPy arrays;
`pack` turns it into `(inputs, y)` with the output-phase mask as the last
channel of `y`, as `kerasrnn.losses` and `kerasrnn.metrics` expect.
"""

import numpy as np

#: Training batches are padded at the end to a multiple of this many steps,
#: so XLA compiles one program per bucket rather than per sequence length
#: (at batch size 1, about 100 lengths took minutes of compiling).
TIME_BUCKET = 16


def pack(batch):
    """`(inputs, y)` of a task batch dict, `y = concat([targets,
    output_mask[..., None]], -1)`: the NumPy form of
    `kerasrnn.losses.pack_targets`."""
    return batch["inputs"], np.concatenate([batch["targets"], batch["output_mask"][..., None]], axis=-1)


def pad_time(x, y, multiple=TIME_BUCKET):
    """Pads packed `(x, y)` with zero steps to a multiple of `multiple` steps.

    Padding comes after every sequence's end and its output mask (the last
    channel of `y`) is 0, so the loss, the metrics and the gradients are
    those of the unpadded batch.
    """
    extra = -x.shape[1] % multiple
    if not extra:
        return x, y
    widths = ((0, 0), (0, extra), (0, 0))
    return np.pad(x, widths), np.pad(y, widths)


def longest_sequence(batch):
    """The one-sequence batch of `batch`'s longest sequence (by
    `sequence_mask`), cut to its real steps."""
    lengths = batch["sequence_mask"].sum(axis=1)
    longest = int(np.argmax(lengths))
    return {key: value[longest : longest + 1, : int(lengths[longest])] for key, value in batch.items()}


def task_epoch_batches(batch_fn, options, batch_size, steps_per_epoch, seed, multiple=TIME_BUCKET):
    """`epoch_batches(first, last)` for `kerasrnn.training.fit` from a task's
    infinite generator.

    Epoch `e` is `steps_per_epoch` packed batches (`pack`) of
    `batch_fn(rng, batch_size, **options)` drawn from
    `numpy.random.default_rng([seed, e])`, a function of `(seed, epoch)`
    only, so a resumed run trains on the sequences an uninterrupted one
    would. Batches are padded to a multiple of `multiple` steps (`pad_time`).

    Example:

    ```python
    epoch_batches = task_epoch_batches(copy_batch, {"max_length": 20}, 16, 100, seed=0)
    training.fit(model, epoch_batches, 100, epochs=20, output="runs/copy")
    ```
    """
    import tensorflow as tf

    x, y = pack(batch_fn(np.random.default_rng(0), 1, **options))
    signature = tuple(tf.TensorSpec((None, None, a.shape[-1]), tf.as_dtype(a.dtype)) for a in (x, y))

    def epoch_batches(first, last):
        def generate():
            for epoch in range(first, last):
                rng = np.random.default_rng([seed, epoch])
                for _ in range(steps_per_epoch):
                    yield pad_time(*pack(batch_fn(rng, batch_size, **options)), multiple=multiple)

        return tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(2)

    return epoch_batches
