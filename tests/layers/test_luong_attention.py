"""LuongAttention: NumPy reference with masks for the dot, general and concat
scores (scaled or not), padding values, config, the generic layer test, bad
arguments. Shared checks and data in tests/helpers.py."""

import pytest

from kerasrnn.layers.luong_attention import LuongAttention
from tests import helpers
from tests import numpy_reference as ref
from tests.helpers import QUERIES
from tests.helpers import QUERY
from tests.helpers import VALUE
from tests.helpers import run_layer_test

VARIANTS = {
    "luong_dot": {"score": "dot", "scale": True},
    "luong_general": {"score": "general"},
    "luong_general_scaled": {"score": "general", "scale": True},
    "luong_concat": {"score": "concat", "units": 5},
}


def _scores(layer):
    def scores(w, q, value):
        if layer.score_type == "concat":
            s = ref.additive_scores(q, value, w["query_kernel"], w["memory_kernel"], w["attention_v"])
        elif layer.score_type == "general":
            s = q @ w["kernel"] @ value.transpose(0, 2, 1)
        else:
            s = q @ value.transpose(0, 2, 1)
        return w["attention_g"] * s if layer.scale else s

    return scores


@pytest.mark.parametrize("name", sorted(VARIANTS))
@pytest.mark.parametrize("query", [QUERY, QUERIES], ids=["step", "sequence"])
def test_matches_numpy_reference_with_mask(name, query):
    layer = LuongAttention(**VARIANTS[name])
    value = VALUE[..., :4] if name == "luong_dot" else VALUE
    helpers.check_attention_matches_numpy_reference(layer, _scores(layer), query, value)


def test_padding_values_do_not_change_context():
    helpers.check_padding_values_do_not_change_context(LuongAttention(**VARIANTS["luong_general_scaled"]))


def test_generic_layer_test(tmp_path):
    run_layer_test(LuongAttention, VARIANTS["luong_general_scaled"], [QUERIES, VALUE], (3, 2, 6), tmp_path)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_config_round_trip(name):
    helpers.check_attention_config_round_trip(LuongAttention(**VARIANTS[name]))


def test_bad_arguments():
    with pytest.raises(ValueError, match="score"):
        LuongAttention("cosine")
    with pytest.raises(ValueError, match="units"):
        LuongAttention("concat")
    with pytest.raises(ValueError, match="units"):
        LuongAttention("dot", units=3)
    with pytest.raises(ValueError, match="same width"):
        LuongAttention("dot")(QUERY, VALUE)
