import itertools

import numpy as np
import pytest
import tensorflow as tf

from kerasrnn.layers import GRUCell
from kerasrnn.layers import LSTMCell
from kerasrnn.layers.bahdanau_attention import BahdanauAttention
from kerasrnn.layers.luong_attention import LuongAttention
from kerasrnn.seq2seq import Decoder
from kerasrnn.seq2seq import Encoder
from kerasrnn.seq2seq import Seq2Seq
from kerasrnn.seq2seq import beam_search
from kerasrnn.seq2seq import greedy_search
from kerasrnn.seq2seq import sample
from kerasrnn.seq2seq.search import length_normalizer
from tests.helpers import assert_close

START, END = 1, 2
SOURCE = np.array([[4, 5, 6, 2, 0], [7, 4, 2, 0, 0], [5, 5, 5, 6, 2]], dtype="int32")


def _model(vocab=6, attention=True, cell=LSTMCell, scale=3.0, copy=False):
    """A fixed random model; `scale` sharpens the output distribution;
    `copy` adds copy attention (source and target share `vocab`)."""
    mechanism = BahdanauAttention(5) if attention else None
    model = Seq2Seq(Encoder(vocab if copy else 8, 4, 6),
                    Decoder(vocab, 4, cell(6), attention=mechanism, copy_attention=copy))
    model((SOURCE, np.ones((3, 2), "int32")))
    kernel = model.decoder.output_layer.kernel
    kernel.assign(kernel * scale)
    return model


def _exhaustive(model, source, max_length, length_penalty):
    """All hypotheses of one source, scored step by step in Python."""
    vocab = model.decoder.vocab_size
    free = [t for t in range(vocab) if t not in (0, START)]
    encoded, states0 = model.encode(source[None])
    cache = {}

    def log_probs(prefix):
        if prefix not in cache:
            states, token = states0, np.array([START], "int32")
            for t in prefix:
                _, states, _ = model.decode_step(token, states, encoded)
                token = np.array([t], "int32")
            logits, _, _ = model.decode_step(token, states, encoded)
            logits = np.asarray(logits, "float64")[0]
            logits[[0, START]] = -np.inf
            cache[prefix] = logits - np.log(np.sum(np.exp(logits - logits.max()))) - logits.max()
        return cache[prefix]

    hypotheses = []
    for length in range(1, max_length + 1):
        for seq in itertools.product(free, repeat=length):
            if END in seq[:-1] or (length < max_length and seq[-1] != END):
                continue
            logp = sum(log_probs(seq[:i])[t] for i, t in enumerate(seq))
            score = logp / ((5.0 + length) / 6.0) ** length_penalty
            hypotheses.append((score, seq + (0,) * (max_length - length), logp, length))
    return sorted(hypotheses, key=lambda h: -h[0])


@pytest.mark.parametrize("length_penalty,copy", [(0.0, False), (1.0, False), (0.6, True)])
def test_beam_search_equals_exhaustive_search(length_penalty, copy):
    model = _model(vocab=8 if copy else 6, copy=copy)
    # 4 (6 with copy) generatable tokens: a beam of 4**2 (6**2) keeps every prefix.
    max_length, beam = 3, 36 if copy else 16
    result = beam_search(model, SOURCE, beam, max_length, length_penalty=length_penalty)
    for b in range(len(SOURCE)):
        expected = _exhaustive(model, SOURCE[b], max_length, length_penalty)[:beam]
        np.testing.assert_array_equal(np.asarray(result["ids"])[b], [h[1] for h in expected])
        assert_close(np.asarray(result["scores"])[b], np.array([h[0] for h in expected], "float32"), atol=1e-4)
        assert_close(np.asarray(result["log_probs"])[b], np.array([h[2] for h in expected], "float32"), atol=1e-4)
        np.testing.assert_array_equal(np.asarray(result["lengths"])[b], [h[3] for h in expected])


@pytest.mark.parametrize("attention,cell,copy", [(True, LSTMCell, False), (False, GRUCell, False),
                                                 (True, GRUCell, True)])
def test_beam_width_one_equals_greedy(attention, cell, copy):
    model = _model(vocab=9, attention=attention, cell=cell, scale=1.0, copy=copy)
    greedy = greedy_search(model, SOURCE, 7)
    beam = beam_search(model, SOURCE, 1, 7, length_penalty=0.8)
    np.testing.assert_array_equal(np.asarray(beam["ids"])[:, 0], np.asarray(greedy["ids"]))
    np.testing.assert_array_equal(np.asarray(beam["lengths"])[:, 0], np.asarray(greedy["lengths"]))
    assert_close(np.asarray(beam["log_probs"])[:, 0], greedy["log_probs"])
    if attention:
        assert_close(np.asarray(beam["attention"])[:, 0], greedy["attention"])
    else:
        assert greedy["attention"] is None and beam["attention"] is None


def test_greedy_matches_step_by_step_python_loop():
    model = _model(vocab=9, scale=1.0)
    result = greedy_search(model, SOURCE, 6)
    encoded, states = model.encode(SOURCE)
    token = np.full((3,), START, "int32")
    done = np.zeros(3, bool)
    ids = np.zeros((3, 6), "int32")
    for t in range(6):
        logits, states, alignment = model.decode_step(token, states, encoded)
        logits = np.array(logits)
        logits[:, [0, START]] = -np.inf
        token = np.where(done, 0, logits.argmax(-1)).astype("int32")
        ids[:, t] = token
        assert_close(np.asarray(result["attention"])[~done, t], np.asarray(alignment)[~done])
        done |= token == END
    np.testing.assert_array_equal(np.asarray(result["ids"]), ids)
    # Attention on padded source positions is zero.
    assert np.all(np.asarray(result["attention"]).transpose(0, 2, 1)[SOURCE == 0] == 0)


def test_outputs_are_padded_after_end_and_lengths_count_end():
    model = _model(vocab=9, scale=1.0)
    for result in (greedy_search(model, SOURCE, 8), beam_search(model, SOURCE, 3, 8)):
        ids = np.asarray(result["ids"]).reshape(-1, 8)
        lengths = np.asarray(result["lengths"]).reshape(-1)
        for row, length in zip(ids, lengths):
            assert np.all(row[length:] == 0) and np.all(row[:length] != 0)
            assert row[length - 1] == END or length == 8
            assert not np.any(row[: length - 1] == END)


@pytest.mark.parametrize("copy", [False, True])
def test_xla_compiled_searches_equal_eager(copy):
    model = _model(vocab=9, attention=True, scale=1.0, copy=copy)
    x = tf.constant(SOURCE)
    for search in (lambda s: greedy_search(model, s, 6), lambda s: beam_search(model, s, 3, 6, 0.6)):
        eager = search(x)
        compiled = tf.function(search, jit_compile=True)(x)
        np.testing.assert_array_equal(compiled["ids"].numpy(), np.asarray(eager["ids"]))
        assert_close(compiled["scores"].numpy(), np.asarray(eager["scores"]), atol=1e-4)


def test_sampling():
    model = _model(vocab=9, scale=1.0)
    greedy = greedy_search(model, SOURCE, 6)
    top1 = sample(model, SOURCE, 6, temperature=0.5, top_k=1, seed=3)
    np.testing.assert_array_equal(np.asarray(top1["ids"]), np.asarray(greedy["ids"]))
    a = sample(model, SOURCE, 6, temperature=2.0, seed=7)
    b = sample(model, SOURCE, 6, temperature=2.0, seed=7)
    np.testing.assert_array_equal(np.asarray(a["ids"]), np.asarray(b["ids"]))
    ids = np.asarray(sample(model, np.repeat(SOURCE, 20, 0), 6, temperature=5.0, seed=1)["ids"])
    assert len({tuple(r) for r in ids}) > 3  # hot sampling explores
    assert not np.any(np.isin(ids[:, 0], [0, START]))  # pad/start never drawn


def test_length_normalizer():
    np.testing.assert_allclose(np.asarray(length_normalizer(np.array([1, 7]), 0.6)),
                               [1.0, 2.0 ** 0.6], rtol=1e-6)


def test_bad_arguments():
    model = _model()
    with pytest.raises(ValueError, match="beam_width=0"):
        beam_search(model, SOURCE, 0, 5)
    with pytest.raises(ValueError, match="max_length=0"):
        greedy_search(model, SOURCE, 0)
    with pytest.raises(ValueError, match="max_length=-1"):
        beam_search(model, SOURCE, 2, -1)
    with pytest.raises(ValueError, match="length_penalty"):
        beam_search(model, SOURCE, 2, 5, length_penalty=-1.0)
    with pytest.raises(ValueError, match="temperature=0"):
        sample(model, SOURCE, 5, temperature=0)
    with pytest.raises(ValueError, match="top_k=99"):
        sample(model, SOURCE, 5, top_k=99)
    with pytest.raises(ValueError, match="source_ids"):
        greedy_search(model, SOURCE[0], 5)


def test_empty_sources_and_empty_batches():
    from kerasrnn.validation import InputError

    model = _model()
    for search in (lambda ids: greedy_search(model, ids, 5), lambda ids: beam_search(model, ids, 2, 5),
                   lambda ids: sample(model, ids, 5, seed=0)):
        with pytest.raises(InputError, match=r"at least one step.*\[\[2\]\].*shape \(3, 0\)"):
            search(np.zeros((3, 0), "int32"))
        result = search(np.zeros((0, 4), "int32"))  # no example: nothing to decode
        assert np.asarray(result["ids"]).shape[:1] == (0,) and np.asarray(result["lengths"]).shape[:1] == (0,)


def test_luong_model_searches_run():
    model = Seq2Seq(Encoder(8, 4, 3, bidirectional=True, cell="gru"),
                    Decoder(9, 4, GRUCell(6), attention=LuongAttention("dot")))
    model((SOURCE, np.ones((3, 2), "int32")))
    result = beam_search(model, SOURCE, 2, 4)
    assert np.asarray(result["attention"]).shape == (3, 2, 4, 5)


def test_source_ids_outside_the_vocabulary_raise():
    from kerasrnn.validation import InputError

    model = _model()  # encoder vocabulary of 8 ids
    for bad in (8, -1):
        source = SOURCE.copy()
        source[1, 2] = bad
        for search in (lambda s: greedy_search(model, s, 4), lambda s: beam_search(model, s, 2, 4),
                       lambda s: sample(model, s, 4, seed=0)):
            with pytest.raises(InputError, match=rf"source_ids.*\[0, 8\).*e\.g\. {bad} at index \(1, 2\)"):
                search(source)


def test_beam_search_decoding_options():
    model = _model(vocab=9, scale=1.0)
    plain = beam_search(model, SOURCE, 3, 6)
    blocked = beam_search(model, SOURCE, 3, 6, block_ngram_repeat=1, min_length=2)
    ids, lengths = np.asarray(blocked["ids"]), np.asarray(blocked["lengths"])
    assert np.all(lengths >= 3)  # at least min_length tokens before the end
    for row, n in zip(ids.reshape(-1, 6), lengths.reshape(-1)):
        tokens = row[: n - 1] if row[n - 1] == END else row[:n]
        assert len(set(tokens.tolist())) == len(tokens)  # no token twice
    covered = beam_search(model, SOURCE, 5, 3, coverage_penalty=0.4)
    # Hypotheses that ended before the last step carry the GNMT coverage
    # penalty of the attention they paid (tfa.seq2seq's rule).
    lengths = np.asarray(covered["lengths"])
    attention = np.asarray(covered["attention"]).sum(axis=2)
    attention = np.where(attention == 0, 1.0, attention)
    penalty = 0.4 * np.log(np.minimum(attention, 1.0)).sum(-1) * (lengths < lengths.max())
    assert_close(covered["scores"], np.asarray(covered["log_probs"]) + penalty, atol=1e-4)
    assert np.any(penalty < -1e-3)
    # coverage_penalty_scope="all": every hypothesis carries it, cut ones included.
    stepwise = beam_search(model, SOURCE, 5, 3, coverage_penalty=0.4, coverage_penalty_scope="all")
    attention = np.asarray(stepwise["attention"]).sum(axis=2)
    penalty = 0.4 * np.log(np.minimum(np.where(attention == 0, 1.0, attention), 1.0)).sum(-1)
    assert_close(stepwise["scores"], np.asarray(stepwise["log_probs"]) + penalty, atol=1e-4)
    assert np.any((np.asarray(stepwise["lengths"]) == 3) & (penalty < -1e-3))
    average = beam_search(model, SOURCE, 3, 6, length_penalty_type="average")
    assert_close(average["scores"], np.asarray(average["log_probs"]) / np.asarray(average["lengths"]), atol=1e-5)
    assert np.asarray(plain["ids"]).shape == ids.shape
