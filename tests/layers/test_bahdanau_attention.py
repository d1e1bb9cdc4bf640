import keras
import numpy as np
import pytest

from kerasrnn.layers.bahdanau_attention import BahdanauAttention
from kerasrnn.layers.luong_attention import LuongAttention
from tests.helpers import assert_close
from tests.helpers import run_layer_test

RNG = np.random.default_rng(0)
QUERY = RNG.normal(size=(3, 4)).astype("float32")
QUERIES = RNG.normal(size=(3, 2, 4)).astype("float32")
VALUE = RNG.normal(size=(3, 5, 6)).astype("float32")
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=bool)


def _softmax(scores, mask):
    scores = np.where(mask, scores, -np.inf)
    e = np.exp(scores - scores.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _numpy_attention(layer, query, value, mask):
    """(context, weights) computed from the layer's weights in NumPy."""
    w = {v.path.split("/")[-1]: np.asarray(v) for v in layer.weights}
    q = query[:, None, :] if query.ndim == 2 else query  # (B, Tq, dq)
    if isinstance(layer, BahdanauAttention) or layer.score_type == "concat":
        hidden = (q @ w["query_kernel"])[:, :, None, :] + (value @ w["memory_kernel"])[:, None]
        v = w["attention_v"]
        if getattr(layer, "normalize", False):
            v = w["attention_g"] * v / np.linalg.norm(v)
            hidden = hidden + w["attention_b"]
        scores = np.tanh(hidden) @ v
    elif layer.score_type == "general":
        scores = q @ w["kernel"] @ value.transpose(0, 2, 1)
    else:
        scores = q @ value.transpose(0, 2, 1)
    if getattr(layer, "scale", False):
        scores = w["attention_g"] * scores
    weights = _softmax(scores, mask[:, None, :])
    context = weights @ value
    if query.ndim == 2:
        return context[:, 0], weights[:, 0]
    return context, weights


ARGS = {
    "bahdanau": (BahdanauAttention, {"units": 7}),
    "bahdanau_normalized": (BahdanauAttention, {"units": 7, "normalize": True}),
    "luong_dot": (LuongAttention, {"score": "dot", "scale": True}),
    "luong_general": (LuongAttention, {"score": "general"}),
    "luong_general_scaled": (LuongAttention, {"score": "general", "scale": True}),
    "luong_concat": (LuongAttention, {"score": "concat", "units": 5}),
}
LAYERS = {name: (lambda cls=cls, kw=kw: cls(**kw)) for name, (cls, kw) in ARGS.items()}


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("query", [QUERY, QUERIES], ids=["step", "sequence"])
def test_matches_numpy_reference_with_mask(name, query):
    layer = LAYERS[name]()
    value = VALUE[..., :4] if name == "luong_dot" else VALUE
    layer(query, value)  # build
    for v in layer.weights:  # non-trivial scalars
        if v.shape == ():
            v.assign(1.7)
    context, weights = layer(query, value, value_mask=MASK)
    expected_context, expected_weights = _numpy_attention(layer, query, value, MASK)
    assert_close(weights, expected_weights, atol=1e-5)
    assert_close(context, expected_context, atol=1e-5)
    # Padded positions get exactly zero weight; rows sum to one.
    weights = np.asarray(weights)
    padded = np.broadcast_to(~MASK if query.ndim == 2 else ~MASK[:, None], weights.shape)
    assert np.all(weights[padded] == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)


@pytest.mark.parametrize("name", ["bahdanau_normalized", "luong_general_scaled"])
def test_padding_values_do_not_change_context(name):
    layer = LAYERS[name]()
    context, _ = layer(QUERY, VALUE, value_mask=MASK)
    noisy = np.where(MASK[..., None], VALUE, 100.0).astype("float32")
    context_noisy, _ = layer(QUERY, noisy, value_mask=MASK)
    assert_close(context, context_noisy)


def test_cached_processed_memory_gives_same_result():
    layer = BahdanauAttention(7, normalize=True)
    expected = layer(QUERY, VALUE, value_mask=MASK)
    cached = layer(QUERY, VALUE, value_mask=MASK, processed_memory=layer.process_memory(VALUE))
    for a, b in zip(expected, cached):
        assert_close(a, b)


def test_fully_masked_row_gets_zero_weights():
    mask = MASK.copy()
    mask[2] = False
    context, weights = LuongAttention("general")(QUERY, VALUE, value_mask=mask)
    assert np.all(np.asarray(weights)[2] == 0) and np.all(np.asarray(context)[2] == 0)


@pytest.mark.parametrize("name", ["bahdanau_normalized", "luong_general_scaled"])
def test_generic_layer_test(name, tmp_path):
    cls, kwargs = ARGS[name]
    run_layer_test(cls, kwargs, [QUERIES, VALUE], (3, 2, 6), tmp_path)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_config_round_trip(name):
    layer = LAYERS[name]()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer) and restored.get_config() == config


def test_bad_arguments():
    with pytest.raises(ValueError, match="units"):
        BahdanauAttention(0)
    with pytest.raises(ValueError, match="score"):
        LuongAttention("cosine")
    with pytest.raises(ValueError, match="units"):
        LuongAttention("concat")
    with pytest.raises(ValueError, match="units"):
        LuongAttention("dot", units=3)
    with pytest.raises(ValueError, match="same width"):
        LuongAttention("dot")(QUERY, VALUE)
