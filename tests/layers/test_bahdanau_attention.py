"""BahdanauAttention: NumPy reference with masks (plain and weight-normalized),
padding values, the cached processed memory, config, the generic layer test,
bad arguments. Shared checks and data in tests/helpers.py."""

import pytest

from kerasrnn.layers.bahdanau_attention import BahdanauAttention
from tests import helpers
from tests import numpy_reference as ref
from tests.helpers import QUERIES
from tests.helpers import QUERY
from tests.helpers import VALUE
from tests.helpers import VALUE_MASK
from tests.helpers import assert_close
from tests.helpers import run_layer_test

VARIANTS = {
    "bahdanau": {"units": 7},
    "bahdanau_normalized": {"units": 7, "normalize": True},
}


def _scores(layer):
    def scores(w, q, value):
        norm = (w["attention_g"], w["attention_b"]) if layer.normalize else (None, None)
        return ref.additive_scores(q, value, w["query_kernel"], w["memory_kernel"], w["attention_v"], *norm)

    return scores


@pytest.mark.parametrize("name", sorted(VARIANTS))
@pytest.mark.parametrize("query", [QUERY, QUERIES], ids=["step", "sequence"])
def test_matches_numpy_reference_with_mask(name, query):
    layer = BahdanauAttention(**VARIANTS[name])
    helpers.check_attention_matches_numpy_reference(layer, _scores(layer), query, VALUE)


def test_padding_values_do_not_change_context():
    helpers.check_padding_values_do_not_change_context(BahdanauAttention(**VARIANTS["bahdanau_normalized"]))


def test_cached_processed_memory_gives_same_result():
    layer = BahdanauAttention(7, normalize=True)
    expected = layer(QUERY, VALUE, value_mask=VALUE_MASK)
    cached = layer(QUERY, VALUE, value_mask=VALUE_MASK, processed_memory=layer.process_memory(VALUE))
    for a, b in zip(expected, cached):
        assert_close(a, b)


def test_generic_layer_test(tmp_path):
    run_layer_test(BahdanauAttention, VARIANTS["bahdanau_normalized"], [QUERIES, VALUE], (3, 2, 6), tmp_path)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_config_round_trip(name):
    helpers.check_attention_config_round_trip(BahdanauAttention(**VARIANTS[name]))


def test_bad_arguments():
    with pytest.raises(ValueError, match="units"):
        BahdanauAttention(0)
