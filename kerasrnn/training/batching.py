"""Epoch-ordered batching: each epoch's order is a function of `(seed,
epoch)` only, so a resumed run sees the data an uninterrupted one would."""

import math

import numpy as np


def epoch_order(n, seed, epoch):
    """The order in which epoch `epoch` visits `n` examples: a function of
    `(seed, epoch)` only (`RandomState([seed, epoch]).permutation(n)`)."""
    return np.random.RandomState([seed, epoch]).permutation(n)


def array_epoch_batches(data, batch_size, seed, transform=None):
    """`(epoch_batches, steps_per_epoch)` for `fit` from in-memory arrays.

    `data` is an array or a nested structure (tuple, dict) of arrays with the
    same first dimension, e.g. `(inputs, targets)`. `epoch_batches(first,
    last)` is a `tf.data.Dataset` of the batches of epochs `first .. last -
    1`; epoch `e` visits the examples in the order `epoch_order(n, seed, e)`,
    in batches of `batch_size` (the last one smaller) with the structure of
    `data`, each passed through `transform` when given.
    """
    import tensorflow as tf

    tensors = tf.nest.map_structure(tf.convert_to_tensor, data)
    n = int(tf.nest.flatten(tensors)[0].shape[0])

    def epoch_batches(first, last):
        orders = np.stack([epoch_order(n, seed, epoch) for epoch in range(first, last)]).astype("int64")
        batches = tf.data.Dataset.from_tensor_slices(orders).flat_map(
            lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
        batches = batches.map(lambda index: tf.nest.map_structure(lambda t: tf.gather(t, index), tensors))
        if transform is not None:
            batches = batches.map(transform)
        return batches.prefetch(2)

    return epoch_batches, math.ceil(n / batch_size)
