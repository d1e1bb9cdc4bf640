"""kerasrnn.seq2seq.decoding: samplers, BasicDecoder, BeamSearchDecoder, dynamic_decode.

Golden cases ported from tensorflow_addons/seq2seq/tests (beam_search_ops_test,
beam_search_decoder_test); the rest against NumPy references, brute force and
Python step loops.
"""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasrnn
from kerasrnn.seq2seq.decoding import BasicDecoder
from kerasrnn.seq2seq.decoding import BeamSearchDecoder
from kerasrnn.seq2seq.decoding import BeamSearchDecoderState
from kerasrnn.seq2seq.decoding import GreedyEmbeddingSampler
from kerasrnn.seq2seq.decoding import SampleEmbeddingSampler
from kerasrnn.seq2seq.decoding import ScheduledEmbeddingTrainingSampler
from kerasrnn.seq2seq.decoding import ScheduledOutputTrainingSampler
from kerasrnn.seq2seq.decoding import TrainingSampler
from kerasrnn.seq2seq.decoding import beam_search_step
from kerasrnn.seq2seq.decoding import coverage_penalty
from kerasrnn.seq2seq.decoding import dynamic_decode
from kerasrnn.seq2seq.decoding import gather_tree
from kerasrnn.seq2seq.decoding import gather_tree_from_array
from kerasrnn.seq2seq.decoding import length_penalty
from kerasrnn.seq2seq.decoding import ngram_blocked_tokens
from kerasrnn.seq2seq.decoding import tile_batch
from tests.helpers import assert_close

VOCAB, DIM, UNITS, END, START = 5, 3, 6, 1, 0


def _parts(cell_cls=keras.layers.LSTMCell, vocab=VOCAB, units=UNITS, seed=0, scale=2.0):
    """A built cell, output layer and embedding matrix with fixed random weights."""
    keras.utils.set_random_seed(seed)
    cell = cell_cls(units)
    cell.build((None, DIM))
    dense = keras.layers.Dense(vocab)
    dense.build((None, units))
    dense.kernel.assign(dense.kernel * scale)
    embedding = np.random.default_rng(seed).normal(size=(vocab, DIM)).astype("float32")
    return cell, dense, embedding


def _state(cell, batch, rng_seed=1):
    rng = np.random.default_rng(rng_seed)
    return [rng.normal(size=(batch, UNITS)).astype("float32") * 0.5 for _ in range(2)]


def _log_softmax(x):
    x = np.asarray(x, "float64")
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


# --- gather_tree, tile_batch -------------------------------------------------------------------

def _tm(x):
    return np.transpose(np.array(x), [1, 0, 2]).astype("int32")


def test_gather_tree_golden_cases_from_tfa():
    beams = gather_tree(_tm([[[1, 2, 3], [4, 5, 6], [7, 8, 9], [-1, -1, -1]]]),
                        _tm([[[0, 0, 0], [0, 1, 1], [2, 1, 2], [-1, -1, -1]]]), [3], 10)
    np.testing.assert_array_equal(np.asarray(beams), _tm([[[2, 2, 2], [6, 5, 6], [7, 8, 9], [10, 10, 10]]]))
    predicted = np.array([[[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[2, 3, 4], [5, 6, 7], [8, 9, 10]]]).transpose(1, 0, 2)
    parents = np.array([[[0, 0, 0], [0, 1, 1], [2, 1, 2]], [[0, 0, 0], [1, 2, 0], [2, 1, 1]]]).transpose(1, 0, 2)
    expected = np.array([[[2, 2, 2], [6, 5, 6], [7, 8, 9]], [[2, 4, 4], [7, 6, 6], [8, 9, 10]]]).transpose(1, 0, 2)
    np.testing.assert_array_equal(np.asarray(gather_tree(predicted, parents, [3, 3], 11)), expected)


def _numpy_gather_tree(step_ids, parent_ids, lengths, end):
    T, B, K = step_ids.shape
    out = np.full_like(step_ids, end)
    for b, k in itertools.product(range(B), range(K)):
        length = min(lengths[b], T)
        parent = k
        for t in range(length - 1, -1, -1):
            out[t, b, k] = step_ids[t, b, parent]
            parent = parent_ids[t, b, parent]
        done = False
        for t in range(length):
            if done:
                out[t, b, k] = end
            elif out[t, b, k] == end:
                done = True
    return out


def test_gather_tree_equals_numpy_reference_with_lengths_past_max_time():
    rng = np.random.default_rng(0)
    step_ids = rng.integers(0, 6, (8, 10, 15)).astype("int32")
    parent_ids = rng.integers(0, 14, (8, 10, 15)).astype("int32")
    lengths = np.array([0, 1, 2, 4, 7, 8, 9, 10, 11, 0])
    np.testing.assert_array_equal(np.asarray(gather_tree(step_ids, parent_ids, lengths, 5)),
                                  _numpy_gather_tree(step_ids, parent_ids, lengths, 5))


def test_gather_tree_from_array_golden_case_from_tfa():
    array = np.array([[[25, 12, 114, 89, 97]], [[9, 91, 64, 11, 162]], [[34, 34, 34, 34, 34]],
                      [[2, 4, 2, 2, 4]], [[2, 3, 6, 2, 2]], [[2, 2, 2, 3, 2]], [[2, 2, 2, 2, 2]]], "float32")
    parents = np.array([[[0, 0, 0, 0, 0]], [[0, 0, 0, 0, 0]], [[0, 1, 2, 3, 4]], [[0, 0, 1, 2, 1]],
                        [[0, 1, 1, 2, 3]], [[0, 1, 3, 1, 2]], [[0, 1, 2, 3, 4]]], "int32")
    expected = np.array([[[25, 25, 25, 25, 25]], [[9, 9, 91, 9, 9]], [[34, 34, 34, 34, 34]],
                         [[2, 4, 2, 4, 4]], [[2, 3, 6, 3, 6]], [[2, 2, 2, 3, 2]], [[2, 2, 2, 2, 2]]])
    lengths = [[4, 6, 4, 7, 6]]
    np.testing.assert_array_equal(np.asarray(gather_tree_from_array(array[..., None], parents, lengths)),
                                  expected[..., None])
    merged = gather_tree_from_array(array.reshape(7, 5), parents, lengths)  # batch and beam in one axis
    np.testing.assert_array_equal(np.asarray(merged), expected.reshape(7, 5))


def test_tile_batch():
    x = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(np.asarray(tile_batch(x, 2)), [[0, 1, 2], [0, 1, 2], [3, 4, 5], [3, 4, 5]])
    nest = tile_batch({"a": x, "b": (np.arange(2), None)}, 3)
    np.testing.assert_array_equal(np.asarray(nest["b"][0]), [0, 0, 0, 1, 1, 1])
    assert nest["b"][1] is None
    with pytest.raises(ValueError, match="multiplier=0"):
        tile_batch(x, 0)
    with pytest.raises(ValueError, match="rank >= 1"):
        tile_batch(np.float32(1.0), 2)


# --- the beam step: tfa golden cases and the penalties' formulas --------------------------------

def _step_logits(eos_case):
    logits = np.full((2, 3, 5), 0.0001, "float32")
    logits[0, 0, 2], logits[0, 0, 3], logits[0, 1, 3], logits[0, 1, 4] = 1.9, 2.1, 3.1, 0.9
    logits[1, 0, 1], logits[1, 2, 3] = 0.5, 0.2
    logits[1, 1, 2], logits[1, 2, 2] = (5.7, 1.0) if eos_case else (2.7, 10.0)
    return logits


def _beam_state(log_probs, lengths, finished, **kw):
    fields = dict(cell_state=np.zeros((6, 1), "float32"), log_probs=np.asarray(log_probs, "float32"),
                  finished=np.asarray(finished), lengths=np.asarray(lengths, "int32"),
                  accumulated_attention_probs=(), scores=np.zeros((2, 3), "float32"), history=())
    fields.update(kw)
    return BeamSearchDecoderState(**fields)


@pytest.mark.parametrize("eos_case", [False, True])
def test_beam_step_golden_cases_from_tfa(eos_case):
    log_probs0 = np.asarray(tf.nn.log_softmax(tf.ones((2, 3))))
    lengths = [[2, 1, 2], [2, 2, 1]] if eos_case else [[2, 2, 2], [2, 2, 2]]
    finished = [[False, True, False], [False, False, True]] if eos_case else np.zeros((2, 3), bool)
    logits = _step_logits(eos_case)
    out, state = beam_search_step(2, logits, np.zeros((6, 1)), _beam_state(log_probs0, lengths, finished),
                                  end_token=0, length_penalty_weight=0.6)
    logp = _log_softmax(logits)
    if eos_case:
        np.testing.assert_array_equal(out.parent_ids, [[1, 0, 0], [1, 2, 0]])
        np.testing.assert_array_equal(out.predicted_ids, [[0, 3, 2], [2, 0, 1]])
        np.testing.assert_array_equal(state.lengths, [[1, 3, 3], [3, 1, 3]])
        np.testing.assert_array_equal(state.finished, [[True, False, False], [False, True, False]])
        added = [[0, logp[0, 0, 3], logp[0, 0, 2]], [logp[1, 1, 2], 0, logp[1, 0, 1]]]
    else:
        np.testing.assert_array_equal(out.predicted_ids, [[3, 3, 2], [2, 2, 1]])
        np.testing.assert_array_equal(out.parent_ids, [[1, 0, 0], [2, 1, 0]])
        np.testing.assert_array_equal(state.lengths, [[3, 3, 3], [3, 3, 3]])
        np.testing.assert_array_equal(state.finished, np.zeros((2, 3), bool))
        added = [[logp[0, 1, 3], logp[0, 0, 3], logp[0, 0, 2]], [logp[1, 2, 2], logp[1, 1, 2], logp[1, 0, 1]]]
    assert_close(state.log_probs, log_probs0 + np.array(added, "float32"))
    # Scores: log-probability over the GNMT penalty of the new lengths.
    assert_close(state.scores, np.asarray(state.log_probs) / ((5.0 + np.asarray(state.lengths)) / 6.0) ** 0.6)


def test_large_beam_step_golden_case_from_tfa():
    beam = 8
    log_probs = np.where(np.arange(beam) == 0, 0.0, -np.inf)[None].repeat(2, 0)
    finished = np.arange(beam)[None].repeat(2, 0) != 0
    lengths = np.where(np.arange(beam) == 0, 2, 0)[None].repeat(2, 0)
    logits = np.full((2, beam, 5), 0.0001, "float32")
    logits[:, :3] = _step_logits(False)
    state = BeamSearchDecoderState(np.zeros((16, 1), "float32"), log_probs.astype("float32"), finished,
                                   lengths.astype("int32"), (), np.zeros((2, beam), "float32"), ())
    out, state = beam_search_step(2, logits, np.zeros((16, 1)), state, end_token=0, length_penalty_weight=0.6)
    assert out.predicted_ids[0, 0] == 3 and out.predicted_ids[0, 1] == 2 and out.predicted_ids[1, 0] == 1
    np.testing.assert_array_equal(np.asarray(state.log_probs)[:, -3:], -np.inf)
    assert np.all(np.asarray(state.log_probs)[:, :-3] > -np.inf)
    assert np.all(np.asarray(state.lengths)[:, :-3] > 0)
    np.testing.assert_array_equal(np.asarray(state.lengths)[:, -3:], 0)


def test_penalty_formulas():
    assert_close(length_penalty(np.array([1, 7]), 0.6), [1.0, 2.0 ** 0.6])
    assert_close(length_penalty(np.array([0, 1, 7]), 0.0, "average"), [1.0, 1.0, 7.0])
    # GNMT coverage: beta * sum_i log(min(sum_t a_ti, 1)); never-attended positions count as covered.
    acc = np.array([[0.5, 1.5, 0.0], [0.25, 0.25, 1.0]], "float32")
    assert_close(coverage_penalty(acc, 0.2), 0.2 * np.array([np.log(0.5), 2 * np.log(0.25)]), atol=1e-6)


def test_step_scores_with_average_length_and_coverage_penalties():
    log_probs = np.array([[-1.0, -2.0, -3.0]] * 2, "float32")
    lengths = np.array([[2, 3, 1]] * 2, "int32")
    finished = np.array([[False, True, False]] * 2)
    acc = np.full((2, 3, 4), 0.25, "float32")
    attention = np.full((2, 3, 4), 0.25, "float32")
    logits = np.random.default_rng(0).normal(size=(2, 3, 5)).astype("float32")
    state = _beam_state(log_probs, lengths, finished, accumulated_attention_probs=acc)
    out, _ = beam_search_step(3, logits, np.zeros((6, 1)), state, end_token=0, coverage_penalty_weight=0.5,
                              attention_probs=attention, output_all_scores=True, length_penalty_kind="average")
    logp = _log_softmax(logits)
    total = log_probs[:, :, None] + np.where(finished[:, :, None], np.where(np.arange(5) == 0, 0.0,
                                                                             np.finfo("float32").min), logp)
    new_lengths = lengths + ~finished
    covered = acc + attention * ~finished[:, :, None]
    penalty = 0.5 * np.log(np.minimum(covered, 1.0)).sum(-1) * finished  # finished hypotheses only
    expected = total / new_lengths[:, :, None] + penalty[:, :, None]
    scores = np.asarray(out.scores)
    assert_close(scores[:, [0, 2]], expected[:, [0, 2]], atol=1e-5)
    assert_close(scores[:, 1, 0], expected[:, 1, 0], atol=1e-5)  # the finished one's only continuation


@pytest.mark.parametrize("scope", ["finished", "all"])
def test_coverage_penalty_scope_by_hand(scope):
    # One entry, beam 2, end token 0, beta 0.5, no length penalty. Beam 0
    # ended with log P = -1 and coverage (0.5, 1.0); beam 1 is live with
    # log P = -2, coverage (0.25, 0.25), and attends (0.5, 0.5) this step.
    state = BeamSearchDecoderState(
        cell_state=np.zeros((2, 1), "float32"), log_probs=np.array([[-1.0, -2.0]], "float32"),
        finished=np.array([[True, False]]), lengths=np.array([[3, 2]], "int32"),
        accumulated_attention_probs=np.array([[[0.5, 1.0], [0.25, 0.25]]], "float32"),
        scores=np.zeros((1, 2), "float32"), history=())
    logits = np.log(np.array([[[1.0, 1.0, 1.0], [1.0, 2.0, 1.0]]], "float32"))  # beam 1: P = 1/4, 1/2, 1/4
    out, next_state = beam_search_step(
        2, logits, np.zeros((2, 1)), state, end_token=0, coverage_penalty_weight=0.5,
        attention_probs=np.array([[[0.3, 0.7], [0.5, 0.5]]], "float32"), output_all_scores=True,
        coverage_penalty_scope=scope)
    finished_cp = 0.5 * (np.log(0.5) + np.log(1.0))   # its coverage frozen: this step's attention not added
    live_cp = 0.5 * 2 * np.log(0.75) if scope == "all" else 0.0
    scores = np.asarray(out.scores)[0]
    assert_close(scores[0, 0], -1.0 + finished_cp, atol=1e-6)  # the finished beam's only continuation
    assert_close(scores[1], -2.0 + np.log([0.25, 0.5, 0.25]) + live_cp, atol=1e-6)
    # Kept: the finished hypothesis and the live one's best token, in score order.
    order = [0, 1] if -1.0 + finished_cp > -2.0 + np.log(0.5) + live_cp else [1, 0]
    np.testing.assert_array_equal(np.asarray(out.parent_ids)[0], order)
    assert_close(np.asarray(next_state.accumulated_attention_probs)[0][order.index(1)], [0.75, 0.75])
    with pytest.raises(ValueError, match="`coverage_penalty_scope` must be one of 'finished', 'all'.*'live'"):
        beam_search_step(2, logits, np.zeros((2, 1)), state, end_token=0, coverage_penalty_scope="live")


class _ScriptedAttentionCell(keras.layers.Layer):
    """Reads the logits and an attention vector (kept as its state) off two
    tables, by the one-hot input token."""

    def __init__(self, logits, attention):
        super().__init__()
        self.logits, self.attention = np.asarray(logits, "float32"), np.asarray(attention, "float32")
        self.state_size, self.output_size = [self.attention.shape[1]], self.logits.shape[1]

    def call(self, inputs, states, training=None):
        return keras.ops.matmul(inputs, self.logits), [keras.ops.matmul(inputs, self.attention)]


def test_with_coverage_penalty_on_all_hypotheses_a_truncated_one_no_longer_wins():
    # Tokens: 0 start, 1 end, 2 "a", 3 "b". After the start: "b" (P 0.7) or
    # "a" (P 0.3); "a" is then surely followed by the end, "b" by "b" for
    # ever. "a" covers the source ((0.5, 0.5) twice), "b" adds nothing.
    never = -30.0
    logits = [[never, never, np.log(0.3), np.log(0.7)], [0.0] * 4, [never, 0.0, never, never],
              [never, never, never, 0.0]]
    cell = _ScriptedAttentionCell(logits, [[0.5, 0.5], [0.0, 0.0], [0.5, 0.5], [0.0, 0.0]])

    def decode(scope):
        decoder = BeamSearchDecoder(cell, 2, coverage_penalty_weight=1.0, coverage_penalty_scope=scope,
                                    attention_probs_fn=lambda state: state[0], maximum_iterations=3)
        out, final, lengths = decoder(np.eye(4, dtype="float32"), start_tokens=[0], end_token=1,
                                      initial_state=[np.zeros((2, 2), "float32")])
        return (np.asarray(out.predicted_ids)[0, :, 0].tolist(), int(np.asarray(lengths)[0, 0]),
                float(np.asarray(final.scores)[0, 0]))

    # tfa's rule: "b b b", cut at maximum_iterations, never pays its penalty
    # and outranks the finished "a <end>" (log 0.7 > log 0.3).
    ids, length, score = decode("finished")
    assert (ids, length) == ([3, 3, 3], 3)
    assert_close(score, np.log(0.7), atol=1e-5)
    # Stepwise: "b b b" carries beta * 2 log 0.5 (coverage 0.5 of each
    # position), log 0.7 - 1.386 < log 0.3, so the finished hypothesis wins.
    ids, length, score = decode("all")
    assert (ids, length) == ([2, 1, 1], 2)
    assert_close(score, np.log(0.3), atol=1e-5)  # coverage (1, 1): no penalty


def test_ngram_blocked_tokens_by_hand():
    history = np.array([[5, 6, 7, 5, 6, 0, 0], [1, 2, 1, 2, 3, 0, 0]], "int32")

    def blocked(n, t):
        return [set(np.flatnonzero(row)) for row in np.asarray(ngram_blocked_tokens(history, t, n, 9))]

    assert blocked(3, 5) == [{7}, set()]          # (5, 6) was followed by 7; (2, 3) is new
    assert blocked(2, 5) == [{7}, set()]          # 6 was followed by 7; 3 never before
    assert blocked(1, 5) == [{5, 6, 7}, {1, 2, 3}]
    assert blocked(2, 4) == [{6}, {1}]            # last token 5 (row 0) / 2 (row 1)
    assert blocked(3, 1) == [set(), set()]        # too short to repeat a trigram


# --- decoders against brute force and Python loops ----------------------------------------------

def _exhaustive(cell, dense, embedding, state, max_length, score):
    """Every hypothesis of one example, scored by feeding it step by step
    (each prefix's log-probabilities and state computed once)."""
    steps = {}

    def log_probs(prefix):
        if prefix not in steps:
            previous = steps[prefix[:-1]][1] if prefix else state
            out, next_state = cell(embedding[[prefix[-1] if prefix else START]], previous)
            steps[prefix] = (_log_softmax(dense(out))[0], next_state)
        return steps[prefix][0]

    hypotheses = []
    for length in range(1, max_length + 1):
        for seq in itertools.product(range(VOCAB), repeat=length):
            if END in seq[:-1] or (length < max_length and seq[-1] != END):
                continue
            logp = sum(log_probs(seq[:i])[t] for i, t in enumerate(seq))
            hypotheses.append((score(logp, length), seq))
    return sorted(hypotheses, key=lambda h: -h[0])


@pytest.mark.parametrize("kind,weight", [("gnmt", 0.0), ("gnmt", 1.5), ("average", 0.0)])
def test_beam_search_with_beam_at_least_vocab_to_the_length_equals_exhaustive_search(kind, weight):
    cell, dense, embedding = _parts(vocab=VOCAB, scale=1.0)
    max_length, beam = 3, VOCAB ** 3
    state = _state(cell, 1)
    decoder = BeamSearchDecoder(cell, beam, output_layer=dense, length_penalty=kind,
                                length_penalty_weight=weight, maximum_iterations=max_length)
    outputs, final, lengths = decoder(embedding, start_tokens=[START], end_token=END,
                                      initial_state=tile_batch(state, beam))

    def score(logp, n):
        return logp / (n if kind == "average" else ((5.0 + n) / 6.0) ** weight)

    expected = _exhaustive(cell, dense, embedding, [s[:1] for s in state], max_length, score)
    scores = np.asarray(final.scores)[0]
    real = np.isfinite(scores) & (scores > -1e30)
    assert real.sum() == len(expected)  # every hypothesis is in the beam, once
    ids = np.asarray(outputs.predicted_ids)[0].T[real]
    lengths = np.asarray(lengths)[0][real]
    assert_close(scores[real], np.array([h[0] for h in expected], "float32"), atol=1e-4)
    for row, n, (_, seq) in zip(ids, lengths, expected):
        assert tuple(row[:n]) == seq and n == len(seq)
        assert np.all(row[n:] == END)  # tfa's gather_tree fills with the end token


def _greedy_reference(cell, dense, embedding, state, steps):
    tokens = np.full((len(state[0]),), START)
    ids, done, lengths = [], np.zeros(len(tokens), bool), np.full(len(tokens), steps)
    for t in range(steps):
        out, state = cell(embedding[tokens], state)
        tokens = np.asarray(dense(out)).argmax(-1)
        ids.append(tokens)
        lengths = np.where(~done & (tokens == END), t + 1, lengths)
        done |= tokens == END
    return np.stack(ids, 1), lengths


@pytest.mark.parametrize("cell_cls", [keras.layers.LSTMCell, kerasrnn.layers.LSTMCell])
def test_greedy_sampler_is_argmax_and_beam_width_one_equals_greedy(cell_cls):
    cell, dense, embedding = _parts(cell_cls, scale=1.0, seed=3)
    state = _state(cell, 4)
    steps = 6
    greedy = BasicDecoder(cell, GreedyEmbeddingSampler(), dense, maximum_iterations=steps)
    outputs, _, lengths = greedy(embedding, initial_state=state, start_tokens=[START] * 4, end_token=END)
    ids, ref_lengths = _greedy_reference(cell, dense, embedding, state, steps)
    np.testing.assert_array_equal(np.asarray(lengths), ref_lengths)
    for row, ref, n in zip(np.asarray(outputs.sample_id), ids, ref_lengths):
        np.testing.assert_array_equal(row[:n], ref[:n])
    beam = BeamSearchDecoder(cell, 1, output_layer=dense, length_penalty_weight=0.7, maximum_iterations=steps)
    beam_out, _, beam_lengths = beam(embedding, start_tokens=[START] * 4, end_token=END, initial_state=state)
    np.testing.assert_array_equal(np.asarray(beam_lengths)[:, 0], ref_lengths)
    for row, ref, n in zip(np.asarray(beam_out.predicted_ids)[:, :, 0], ids, ref_lengths):
        np.testing.assert_array_equal(row[:n], ref[:n])
    top1 = BasicDecoder(cell, SampleEmbeddingSampler(softmax_temperature=3.0, top_k=1, seed=1), dense,
                        maximum_iterations=steps)
    sampled, _, _ = top1(embedding, initial_state=state, start_tokens=[START] * 4, end_token=END)
    np.testing.assert_array_equal(np.asarray(sampled.sample_id), np.asarray(outputs.sample_id))


def test_top_p_and_temperature_filtering():
    probs = np.array([[0.5, 0.3, 0.15, 0.05]])
    logits = np.log(probs).astype("float32")

    def kept(**kw):
        return set(np.flatnonzero(np.asarray(SampleEmbeddingSampler(**kw).filtered_logits(logits))[0] > -1e8))

    assert kept(top_p=0.5) == {0}            # the top token alone holds 0.5
    assert kept(top_p=0.7) == {0, 1}
    assert kept(top_p=0.81) == {0, 1, 2}
    assert kept(top_p=1.0) == {0, 1, 2, 3}
    assert kept(top_k=2, top_p=0.95) == {0, 1}
    assert kept(top_p=0.01) == {0}           # the most probable token always stays
    assert_close(SampleEmbeddingSampler(softmax_temperature=2.0).filtered_logits(logits), logits / 2.0)
    # Draws stay inside the nucleus.
    sampler = SampleEmbeddingSampler(top_p=0.7, seed=0)
    draws = np.asarray(sampler.sample(0, np.repeat(logits, 400, 0), None))
    assert set(draws) == {0, 1} and 0.5 < np.mean(draws == 0) < 0.75


def test_training_sampler_is_teacher_forcing_with_lengths():
    cell, dense, _ = _parts(seed=4)
    inputs = np.random.default_rng(4).normal(size=(3, 5, DIM)).astype("float32")
    state = _state(cell, 3)
    reference = keras.layers.RNN(cell, return_sequences=True)(inputs, initial_state=state)
    decoder = BasicDecoder(cell, TrainingSampler(), dense, impute_finished=True, maximum_iterations=5)
    outputs, final, lengths = decoder(inputs, initial_state=state, sequence_length=[5, 2, 3])
    np.testing.assert_array_equal(np.asarray(lengths), [5, 2, 3])
    rnn = np.asarray(outputs.rnn_output)
    expected = np.asarray(dense(reference))
    for b, n in enumerate([5, 2, 3]):
        assert_close(rnn[b, :n], expected[b, :n], atol=1e-5)
        assert np.all(rnn[b, n:] == 0)  # impute_finished zeroes the steps after the end
    # The final state is each sequence's state at its last step.
    masked = keras.layers.RNN(cell, return_state=True)(inputs, initial_state=state,
                                                       mask=np.arange(5)[None] < np.array([[5], [2], [3]]))
    assert_close(final[0], masked[1], atol=1e-5)


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_scheduled_embedding_sampler_edge_probabilities(probability):
    cell, dense, embedding = _parts(seed=5)
    inputs = np.random.default_rng(5).normal(size=(2, 4, DIM)).astype("float32")
    state = _state(cell, 2)
    sampler = ScheduledEmbeddingTrainingSampler(probability, seed=1, scheduling_seed=2)
    outputs, _, _ = BasicDecoder(cell, sampler, dense, maximum_iterations=4)(
        inputs, initial_state=state, embedding=embedding)
    ids = np.asarray(outputs.sample_id)
    x, s, expected = inputs[:, 0], state, []
    for t in range(4):
        out, s = cell(x, s)
        expected.append(np.asarray(dense(out)))
        if t < 3:
            x = embedding[ids[:, t]] if probability == 1.0 else inputs[:, t + 1]
    assert_close(outputs.rnn_output, np.stack(expected, 1), atol=1e-5)
    if probability == 0.0:
        assert np.all(ids == -1)
    else:
        assert np.all((ids >= 0) & (ids < VOCAB))


@pytest.mark.parametrize("probability", [0.0, 1.0])
def test_scheduled_output_sampler_edge_probabilities(probability):
    cell = keras.layers.GRUCell(DIM)  # outputs fed back as inputs: same width
    inputs = np.random.default_rng(6).normal(size=(2, 4, DIM)).astype("float32")
    state = [np.zeros((2, DIM), "float32")]
    outputs, _, _ = BasicDecoder(cell, ScheduledOutputTrainingSampler(probability, seed=3),
                                 maximum_iterations=4)(inputs, initial_state=state)
    x, s, expected = inputs[:, 0], state, []
    for t in range(4):
        out, s = cell(x, s)
        expected.append(np.asarray(out))
        x = np.asarray(out) if probability == 1.0 else inputs[:, min(t + 1, 3)]
    assert_close(outputs.rnn_output, np.stack(expected, 1), atol=1e-5)
    np.testing.assert_array_equal(np.asarray(outputs.sample_id), probability == 1.0)


class _CountingCell(keras.layers.Layer):
    """An LSTM cell that counts its calls (eager loops run the body in Python)."""

    def __init__(self, cell):
        super().__init__()
        self.cell, self.calls = cell, 0
        self.state_size, self.output_size = cell.state_size, cell.output_size

    def call(self, inputs, states, training=None):
        self.calls += 1
        return self.cell(inputs, states)


def test_decoding_stops_when_every_sequence_has_ended():
    cell, dense, embedding = _parts(seed=7)
    dense.bias.assign(np.where(np.arange(VOCAB) == END, 50.0, 0.0))  # the end token at once
    counting = _CountingCell(cell)
    counting.build(None)
    outputs, _, lengths = BasicDecoder(counting, GreedyEmbeddingSampler(), dense, maximum_iterations=9)(
        embedding, initial_state=_state(cell, 2), start_tokens=[START] * 2, end_token=END)
    assert counting.calls == 1
    np.testing.assert_array_equal(np.asarray(lengths), [1, 1])
    assert np.asarray(outputs.sample_id).shape == (2, 9)  # buffers of maximum_iterations steps
    counting.calls = 0
    _, _, lengths = BeamSearchDecoder(counting, 3, output_layer=dense, maximum_iterations=9)(
        embedding, start_tokens=[START] * 2, end_token=END, initial_state=tile_batch(_state(cell, 2), 3))
    # Step 1 ends the best hypothesis; the beam's others end at step 2.
    assert counting.calls == 2
    assert np.asarray(lengths)[:, 0].tolist() == [1, 1]


def test_ngram_blocking_min_and_max_length_in_the_decoder():
    cell, dense, embedding = _parts(seed=8)
    dense.kernel.assign(np.zeros_like(dense.kernel))
    dense.bias.assign(np.array([0.5, 6.0, 0.0, 5.0, 4.0]))  # the end (1), then 3, 4, 0, 2
    state = _state(cell, 1)

    def decode(**kw):  # beam 1: the constrained greedy path, worked out by hand below
        decoder = BeamSearchDecoder(cell, 1, output_layer=dense, maximum_iterations=6, **kw)
        out, final, lengths = decoder(embedding, start_tokens=[START], end_token=END, initial_state=state)
        return np.asarray(out.predicted_ids)[0, :, 0].tolist(), int(np.asarray(lengths)[0, 0])

    assert decode() == ([END] * 6, 1)
    assert decode(min_length=3) == ([3, 3, 3, END, END, END], 4)
    assert decode(min_length=3, block_ngram_repeat=1) == ([3, 4, 0, END, END, END], 4)  # each token once
    assert decode(min_length=5, block_ngram_repeat=2) == ([3, 3, 4, 3, 0, END], 6)  # no bigram twice
    assert decode(min_length=9) == ([3] * 6, 6)  # stopped by maximum_iterations


def test_xla_compiled_beam_search_equals_eager():
    cell, dense, embedding = _parts(kerasrnn.layers.LSTMCell, seed=9, scale=1.0)
    tiled = tile_batch(_state(cell, 3), 3)
    beam = BeamSearchDecoder(cell, 3, output_layer=dense, length_penalty_weight=0.6, block_ngram_repeat=2,
                             min_length=1, maximum_iterations=5)

    def decode(e):
        outputs, final, lengths = beam(e, start_tokens=tf.fill([3], START), end_token=END, initial_state=tiled)
        return outputs.predicted_ids, final.scores, lengths

    eager = decode(embedding)
    compiled = tf.function(decode, jit_compile=True)(tf.constant(embedding))
    for a, b in zip(eager, compiled):
        assert_close(b, a, atol=1e-4)


def test_dynamic_decode_time_major_and_arguments():
    cell, dense, embedding = _parts(seed=10)
    decoder = BasicDecoder(cell, GreedyEmbeddingSampler(), dense)
    kwargs = {"decoder_init_input": embedding,
              "decoder_init_kwargs": {"start_tokens": [START] * 2, "end_token": END,
                                      "initial_state": _state(cell, 2)}}
    outputs, _, _ = dynamic_decode(decoder, output_time_major=True, maximum_iterations=4, **kwargs)
    assert np.asarray(outputs.rnn_output).shape == (4, 2, VOCAB)
    with pytest.raises(ValueError, match="maximum_iterations=None"):
        dynamic_decode(decoder, **kwargs)
    with pytest.raises(ValueError, match="impute_finished"):
        dynamic_decode(BeamSearchDecoder(cell, 2, output_layer=dense), impute_finished=True,
                       maximum_iterations=3, **kwargs)


def test_bad_input_names_the_argument_and_value():
    cell, dense, embedding = _parts(seed=11)
    state = _state(cell, 2)
    with pytest.raises(ValueError, match="beam_width=0"):
        BeamSearchDecoder(cell, 0)
    with pytest.raises(ValueError, match=r"initial_state.*2 \* 3 = 6 rows.*tile_batch"):
        BeamSearchDecoder(cell, 3, output_layer=dense, maximum_iterations=3)(
            embedding, start_tokens=[START] * 2, end_token=END, initial_state=state)
    with pytest.raises(ValueError, match=r"`end_token`.*\[0, 5\).*end_token=7"):
        BeamSearchDecoder(cell, 3, output_layer=dense, maximum_iterations=3)(
            embedding, start_tokens=[START] * 2, end_token=7, initial_state=tile_batch(state, 3))
    with pytest.raises(ValueError, match=r"`end_token`.*\[0, 5\).*end_token=5"):
        BasicDecoder(cell, GreedyEmbeddingSampler(), dense, maximum_iterations=3)(
            embedding, initial_state=state, start_tokens=[START] * 2, end_token=5)
    with pytest.raises(ValueError, match=r"`embedding`.*width the cell takes \(3.*width 4"):
        BasicDecoder(cell, GreedyEmbeddingSampler(), dense, maximum_iterations=3)(
            np.ones((VOCAB, 4), "float32"), initial_state=state, start_tokens=[START] * 2, end_token=END)
    with pytest.raises(ValueError, match="`cell`.*output_size"):
        BasicDecoder(keras.layers.Dense(3), GreedyEmbeddingSampler())
    with pytest.raises(ValueError, match="coverage_penalty_weight=0.5"):
        BeamSearchDecoder(cell, 2, output_layer=dense, coverage_penalty_weight=0.5, maximum_iterations=3)(
            embedding, start_tokens=[START] * 2, end_token=END, initial_state=tile_batch(state, 2))
    with pytest.raises(ValueError, match="coverage_penalty_scope='live'"):
        BeamSearchDecoder(cell, 2, coverage_penalty_scope="live")
    with pytest.raises(ValueError, match="length_penalty='wu'"):
        BeamSearchDecoder(cell, 2, length_penalty="wu")
    with pytest.raises(ValueError, match="block_ngram_repeat"):
        BeamSearchDecoder(cell, 2, block_ngram_repeat=2)  # needs maximum_iterations
    with pytest.raises(ValueError, match="top_p=0.0"):
        SampleEmbeddingSampler(top_p=0.0)
    with pytest.raises(ValueError, match="sampling_probability=1.5"):
        ScheduledEmbeddingTrainingSampler(1.5)


def test_beam_search_over_an_attention_wrapper_with_coverage_penalty():
    from kerasrnn.seq2seq.attention import AttentionWrapper
    from kerasrnn.seq2seq.attention import LuongAttention

    rng = np.random.default_rng(12)
    memory = rng.normal(size=(2, 4, UNITS)).astype("float32")
    memory_lengths = np.array([4, 2])
    _, dense, embedding = _parts(seed=12, scale=1.0)
    beam, weight = 3, 0.3
    mechanism = LuongAttention(UNITS, memory=memory, memory_sequence_length=memory_lengths)
    cell = AttentionWrapper(keras.layers.LSTMCell(UNITS), mechanism, attention_layer_size=UNITS)
    # Beam width 1 (nothing to tile) finds the greedy path.
    greedy, _, greedy_lengths = BasicDecoder(cell, GreedyEmbeddingSampler(), dense, maximum_iterations=6)(
        embedding, start_tokens=[START] * 2, end_token=END)
    one, _, one_lengths = BeamSearchDecoder(cell, 1, output_layer=dense, maximum_iterations=6)(
        embedding, start_tokens=[START] * 2, end_token=END, initial_state=cell.get_initial_state(batch_size=2))
    np.testing.assert_array_equal(np.asarray(one_lengths)[:, 0], greedy_lengths)
    for a, b, n in zip(np.asarray(one.predicted_ids)[:, :, 0], np.asarray(greedy.sample_id), np.asarray(greedy_lengths)):
        np.testing.assert_array_equal(a[:n], b[:n])

    decoder = BeamSearchDecoder(cell, beam, output_layer=dense, coverage_penalty_weight=weight,
                                length_penalty_weight=0.5, maximum_iterations=8)
    with pytest.raises(ValueError, match=r"`memory`.*2 \* 3 = 6 rows.*tile_batch.*memory of 2 rows"):
        decoder(embedding, start_tokens=[START] * 2, end_token=END,  # a tiled state, an untiled memory
                initial_state=tile_batch(cell.get_initial_state(batch_size=2), beam))
    mechanism.setup_memory(tile_batch(memory, beam), memory_sequence_length=tile_batch(memory_lengths, beam))
    _, final, lengths = decoder(embedding, start_tokens=[START] * 2, end_token=END,
                                initial_state=cell.get_initial_state(batch_size=2 * beam))
    accumulated, lengths = np.asarray(final.accumulated_attention_probs), np.asarray(lengths)
    assert np.all(accumulated[1, :, 2:] == 0)  # padded memory is never attended
    assert_close(accumulated.sum(-1), lengths.astype("float32"), atol=1e-4)  # one unit of attention a step
    # Hypotheses that ended before the last step carry the coverage penalty (tfa's rule).
    ended_before = lengths < lengths.max()
    covered = np.log(np.minimum(np.where(accumulated == 0, 1.0, accumulated), 1.0)).sum(-1)
    expected = np.asarray(final.log_probs) / ((5.0 + lengths) / 6.0) ** 0.5 + weight * covered * ended_before
    assert_close(final.scores, expected, atol=1e-5)
    assert np.any(ended_before & (covered < -1e-3))  # the case is not trivial
