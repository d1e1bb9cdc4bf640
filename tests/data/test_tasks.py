"""NTM task generators: exact structure, masks, output phase, seeds, errors, tfds builders."""

import numpy as np
import pytest

from kerasrnn.data import tasks as T


def rng(seed=0):
    return np.random.default_rng(seed)


def _check_common(batch):
    x, y, m, s = batch["inputs"], batch["targets"], batch["output_mask"], batch["sequence_mask"]
    assert x.dtype == y.dtype == m.dtype == np.float32 and s.dtype == bool
    assert x.shape[:2] == y.shape[:2] == m.shape == s.shape
    # Padding is all zeros, and scored steps are real steps.
    assert not x[~s].any() and not y[~s].any() and not m[~s].any()
    # Targets are zero outside the output phase.
    assert not y[m == 0].any()


def test_copy_example_structure():
    x, y, m = T.copy_example(rng(), 3, bits=4)
    assert x.shape == (7, 5) and y.shape == (7, 4) and m.shape == (7,)
    np.testing.assert_array_equal(m, [0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(x[3], [0, 0, 0, 0, 1])  # delimiter only
    assert not x[:3, 4].any() and not x[4:].any()
    np.testing.assert_array_equal(y[4:], x[:3, :4])


def test_copy_batch_variable_lengths_and_masks():
    batch = T.copy_batch(rng(), 16, min_length=1, max_length=5, bits=3)
    _check_common(batch)
    lengths = batch["output_mask"].sum(1).astype(int)
    np.testing.assert_array_equal(batch["sequence_mask"].sum(1), 2 * lengths + 1)
    assert len(set(lengths)) > 1 and lengths.min() >= 1 and lengths.max() <= 5
    assert batch["inputs"].shape[1] == 2 * lengths.max() + 1


def test_repeat_copy_example_structure():
    x, y, m = T.repeat_copy_example(rng(), 2, 3, bits=4)
    assert x.shape == (2 + 2 + 6 + 1, 6) and y.shape == (11, 5)
    np.testing.assert_array_equal(m, [0] * 4 + [1] * 7)
    assert x[2, 4] == 1 and x[3, 5] == pytest.approx(T.normalised_repeats(3))
    np.testing.assert_array_equal(y[4:10, :4], np.tile(x[:2, :4], (3, 1)))
    np.testing.assert_array_equal(y[10], [0, 0, 0, 0, 1])  # end marker
    assert not y[4:10, 4].any()
    assert T.normalised_repeats(np.arange(1, 11)).mean() == pytest.approx(0.0)
    assert T.normalised_repeats(np.arange(1, 11)).std() == pytest.approx(1.0)
    _check_common(T.repeat_copy_batch(rng(), 8, max_length=3, max_repeats=3))


def test_recall_example_structure():
    x, y, m = T.recall_example(rng(3), 3, item_length=2, bits=4)
    # 3 items of (delimiter + 2), query delimiter, query (2), query delimiter, output (2).
    assert x.shape == (3 * 3 + 2 + 2 + 2, 6) and y.shape == (15, 4)
    np.testing.assert_array_equal(np.flatnonzero(x[:, 4]), [0, 3, 6])
    np.testing.assert_array_equal(np.flatnonzero(x[:, 5]), [9, 12])
    np.testing.assert_array_equal(m, [0] * 13 + [1] * 2)
    items = [x[i * 3 + 1 : i * 3 + 3, :4] for i in range(3)]
    query = x[10:12, :4]
    q = [i for i in range(2) if np.array_equal(items[i], query)]
    assert q and any(np.array_equal(y[13:], items[i + 1]) for i in q)
    batch = T.recall_batch(rng(), 16, min_items=2, max_items=6)
    _check_common(batch)
    assert (batch["output_mask"].sum(1) == 3).all()
    assert set(batch["sequence_mask"].sum(1)) <= {4 * n + 8 for n in range(2, 7)}


def test_ngram_structure_and_bayes_estimator():
    x, y, m = T.ngram_example(rng(), length=50, n=6)
    assert x.shape == (54, 1) and m.sum() == 50 and not m[:4].any()
    np.testing.assert_array_equal(x[5:], y[4:-1])  # the next bit is the target
    batch = T.ngram_batch(rng(), 64, length=200)
    _check_common(batch)
    probs = T.bayes_optimal_probabilities(batch["inputs"], batch["targets"], batch["output_mask"])
    assert probs[:, 4] == pytest.approx(0.5)  # nothing seen yet
    bayes = T.bayes_optimal_bits(batch["inputs"], batch["targets"], batch["output_mask"])
    # Below 1 bit per prediction, above the entropy bound; the paper reports ~133 bits.
    assert 110 < bayes.mean() < 145, bayes.mean()


def test_bayes_estimator_counts_per_context():
    # Context length 1 (n=2): after a 0 came 1, 1, 1 -> P(1 | 0) = (3 + .5) / (3 + 0 + 1).
    bits = np.array([0, 1, 0, 1, 0, 1, 0, 1], np.float32)
    x, y = bits[None, :-1, None], bits[None, 1:, None]
    m = np.ones((1, 7), np.float32)
    probs = T.bayes_optimal_probabilities(x, y, m, n=2)
    assert probs[0, 6] == pytest.approx(3.5 / 4)
    assert probs[0, 1] == pytest.approx(0.5)  # context 1 first seen


def test_priority_sort_structure():
    x, y, m = T.priority_sort_example(rng(), num_inputs=6, num_outputs=4, bits=3)
    assert x.shape == (11, 5) and y.shape == (11, 3)
    np.testing.assert_array_equal(m, [0] * 7 + [1] * 4)
    assert x[6, 4] == 1 and np.abs(x[:6, 3]).max() <= 1
    order = np.argsort(-x[:6, 3])[:4]
    np.testing.assert_array_equal(y[7:], x[order, :3])
    _check_common(T.priority_sort_batch(rng(), 4))


def test_batches_are_reproducible_from_the_seed():
    for name, fn in T.TASKS.items():
        a, b, c = fn(rng(5), 4), fn(rng(5), 4), fn(rng(6), 4)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=name)
        assert any(a[k].shape != c[k].shape or not np.array_equal(a[k], c[k]) for k in a), name


def test_datasets_are_infinite_seeded_and_padded():
    first = [b["inputs"].numpy() for b in T.copy_dataset(4, max_length=6, bits=3, seed=1).take(3)]
    again = [b["inputs"].numpy() for b in T.copy_dataset(4, max_length=6, bits=3, seed=1).take(3)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert first[0].shape[0] == 4 and first[0].shape[2] == 4
    spec = T.recall_dataset(2).element_spec
    assert spec["inputs"].shape.as_list() == [None, None, 8]
    assert T.ngram_dataset(2, length=10).element_spec["targets"].shape.as_list() == [None, None, 1]
    assert len(list(T.priority_sort_dataset(2, num_inputs=3, num_outputs=2).take(2))) == 2
    assert len(list(T.repeat_copy_dataset(2, max_length=2, max_repeats=2).take(2))) == 2


BAD_CALLS = [
    (lambda: T.copy_batch(rng(), 2, min_length=0), "min_length=0"),
    (lambda: T.copy_batch(rng(), 2, bits=0), "bits=0"),
    (lambda: T.copy_batch(rng(), 2, min_length=5, max_length=2), "min_length=5"),
    (lambda: T.copy_example(rng(), 0), "length=0"),
    (lambda: T.repeat_copy_batch(rng(), 2, max_repeats=0), "max_repeats=0"),
    (lambda: T.repeat_copy_batch(rng(), 2, bits=0), "bits=0"),
    (lambda: T.recall_batch(rng(), 2, min_items=1), "min_items=1"),
    (lambda: T.recall_batch(rng(), 2, bits=0), "bits=0"),
    (lambda: T.ngram_batch(rng(), 2, length=0), "length=0"),
    (lambda: T.priority_sort_batch(rng(), 2, num_inputs=3, num_outputs=4), "num_outputs=4"),
    (lambda: T.priority_sort_batch(rng(), 2, bits=0), "bits=0"),
    (lambda: T.copy_batch(rng(), 0), "batch_size=0"),
    (lambda: T.copy_batch(0, 2), "rng=0"),
    (lambda: T.copy_dataset(2, max_length=0), "max_length=0"),
]


def test_bad_arguments_raise_clear_errors():
    for call, message in BAD_CALLS:
        with pytest.raises(ValueError, match=message):
            call()


def test_tfds_builder_generates_a_tiny_split_offline(tmp_path):
    import tensorflow_datasets as tfds

    import kerasrnn.data.tasks.builders  # noqa: F401  (registers the builders)

    for name in ("ntm_copy", "ntm_repeat_copy", "ntm_recall", "ntm_ngrams", "ntm_priority_sort"):
        assert name in tfds.list_builders(with_community_datasets=False)
    builder = tfds.builder("ntm_copy/tiny", data_dir=str(tmp_path))
    builder.download_and_prepare()
    assert builder.info.splits["train"].num_examples == 8
    assert builder.info.splits["test"].num_examples == 4
    examples = list(builder.as_dataset(split="train").as_numpy_iterator())
    assert len(examples) == 8
    for ex in examples:
        steps = ex["inputs"].shape[0]
        assert ex["inputs"].shape == (steps, 9) and ex["targets"].shape == (steps, 8)
        assert ex["output_mask"].sum() == (steps - 1) // 2
