import json
import os

import numpy as np
import pytest

from kerasrnn.data import translation
from kerasrnn.layers import LSTMCell
from kerasrnn.layers.bahdanau_attention import BahdanauAttention
from kerasrnn.seq2seq import Decoder
from kerasrnn.seq2seq import Encoder
from kerasrnn.seq2seq import Seq2Seq
from kerasrnn.seq2seq import beam_search
from kerasrnn.seq2seq import greedy_search
from kerasrnn.seq2seq.export import export_translator
from tests.helpers import load_saved_model_without_kerasrnn

SOURCE_VOCAB = translation.Vocabulary(list("abcd "), "char")
TARGET_VOCAB = translation.Vocabulary(list("wxyz-"), "char")
MAX_SOURCE, MAX_LENGTH = 6, 7
SOURCES = ["abc", "", "a?b€c", "dddddddddddddd", "ab cd"]  # empty, unknown chars, too long


def _model():
    model = Seq2Seq(Encoder(len(SOURCE_VOCAB), 4, 6, bidirectional=True),
                    Decoder(len(TARGET_VOCAB), 4, LSTMCell(12), attention=BahdanauAttention(5)))
    model((np.ones((1, 3), "int32"), np.ones((1, 2), "int32")))
    return model


#: Decoding options baked into the exported beam search.
BEAM_OPTIONS = {"block_ngram_repeat": 2, "coverage_penalty": 0.2, "coverage_penalty_scope": "all"}


def _in_process(model, sources, beam, beam_options=BEAM_OPTIONS):
    ids = SOURCE_VOCAB.encode(sources, MAX_SOURCE, add_end=True).to_tensor().numpy()
    if beam:
        out = np.asarray(beam_search(model, ids, 3, MAX_LENGTH, length_penalty=0.6, **beam_options)["ids"])[:, 0]
    else:
        out = np.asarray(greedy_search(model, ids, MAX_LENGTH)["ids"])
    return [s.decode("utf-8") for s in TARGET_VOCAB.decode(out)]


def test_vocabulary_encode_decode():
    ids = SOURCE_VOCAB.encode(["ab?", "", "abcdabcd"], max_length=4, add_end=True).to_list()
    a, b = SOURCE_VOCAB.tokens.index("a"), SOURCE_VOCAB.tokens.index("b")
    assert ids[0] == [a, b, translation.OOV_ID, translation.END_ID]  # unknown -> OOV
    assert ids[1] == [translation.END_ID]  # empty source: just the end token
    assert len(ids[2]) == 5  # truncated to 4 tokens + end
    w = TARGET_VOCAB.tokens.index("w")
    decoded = TARGET_VOCAB.decode(np.array([[w, 3, w, 2, w], [1, w, 0, 0, 0]]))
    assert list(decoded) == [b"w<unk>w", b"w"]  # stops at end; start/pad dropped
    words = translation.Vocabulary.build(["Thou shalt not, saith he.", "He said: not so"], "word")
    assert "," in words.tokens and "shalt" in words.tokens
    text = words.decode(words.encode(["Thou shalt not, saith he."]).to_tensor().numpy())[0]
    assert text == b"Thou shalt not, saith he."
    with pytest.raises(ValueError, match="level"):
        translation.Vocabulary(["a"], "byte")


def test_unknown_word_replacement():
    words = translation.Vocabulary(["the", "king", "said"], "word")
    unk, end, the, said = translation.OOV_ID, translation.END_ID, 4, 6
    sources = ["the Pharaoh said", "Zerubbabel"]
    source_tokens = translation.source_tokens(sources, "word", max_length=3)
    assert source_tokens.numpy().tolist() == [[b"the", b"Pharaoh", b"said"], [b"Zerubbabel", b"", b""]]
    ids = np.array([[the, unk, said, end], [unk, unk, end, 0]])
    attention = np.zeros((2, 4, 4), "float32")  # source tokens + the end token
    attention[0, :, 1] = 1.0  # row 0 attends to "Pharaoh"
    attention[1, 0, 0] = 1.0  # "Zerubbabel"
    attention[1, 1, 1] = 1.0  # the end token: nothing to copy, stays <unk>
    decoded = words.decode(ids, source_tokens, attention)
    assert list(decoded) == [b"the Pharaoh said", b"Zerubbabel <unk>"]
    assert list(words.decode(ids)) == [b"the <unk> said", b"<unk> <unk>"]
    with pytest.raises(ValueError, match="both"):
        words.decode(ids, source_tokens)


@pytest.fixture(scope="module")
def translator(tmp_path_factory):
    """`(model, export_dir)`: one exported translator for the tests below."""
    model = _model()
    export_dir = os.path.join(str(tmp_path_factory.mktemp("translator")), "export")
    export_translator(export_dir, model, SOURCE_VOCAB, TARGET_VOCAB, MAX_SOURCE, MAX_LENGTH,
                      beam_width=3, length_penalty=0.6, beam_options=BEAM_OPTIONS)
    return model, export_dir


def test_exported_translate_runs_without_kerasrnn(translator):
    model, export_dir = translator
    out = load_saved_model_without_kerasrnn(export_dir, f"""
        import json
        x = tf.constant({SOURCES!r})
        g = m.translate(x)
        b = m.translate_beam(x)
        s = m.signatures["translate"](x)
        print(json.dumps({{
            "greedy": [t.decode() for t in g["translations"].numpy()],
            "beam": [t.decode() for t in b["translations"].numpy()],
            "signature": [t.decode() for t in s["translations"].numpy()],
            "lengths": g["lengths"].numpy().tolist(),
            "truncated": [g["truncated"].numpy().tolist(), b["truncated"].numpy().tolist()],
        }}))
    """)
    result = json.loads(out.strip().splitlines()[-1])
    greedy = _in_process(model, SOURCES, beam=False)
    assert result["greedy"] == greedy == result["signature"]
    assert result["beam"] == _in_process(model, SOURCES, beam=True)
    assert result["beam"] != _in_process(model, SOURCES, beam=True, beam_options={})  # the options are baked in
    assert all(1 <= n <= MAX_LENGTH for n in result["lengths"])
    # A source longer than max_source_length is truncated: same as its prefix,
    # and flagged.
    assert greedy[3] == _in_process(model, ["d" * MAX_SOURCE], beam=False)[0]
    assert result["truncated"] == [[False, False, False, True, False]] * 2


def test_exported_translator_edge_inputs(translator):
    import tensorflow as tf

    loaded = tf.saved_model.load(translator[1])
    for name in ("translate", "translate_beam"):
        endpoint = getattr(loaded, name)
        empty = endpoint(tf.constant([], tf.string))  # an empty batch: empty outputs
        assert {k: tuple(v.shape) for k, v in empty.items()} == {
            "translations": (0,), "scores": (0,), "lengths": (0,), "truncated": (0,)}, name
        # Exactly max_source_length tokens is not truncated; one more is.
        edge = endpoint(tf.constant(["a" * MAX_SOURCE, "a" * (MAX_SOURCE + 1), "a" * 10_000]))
        assert edge["truncated"].numpy().tolist() == [False, True, True], name
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"valid UTF-8; invalid at batch indices.*\[1 3\]"):
            endpoint(tf.constant([b"abc", b"a\xff", "b€".encode(), b"\xc3("]))


def test_export_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="beam_width=0"):
        export_translator(str(tmp_path), _model(), SOURCE_VOCAB, TARGET_VOCAB, 4, 4, beam_width=0)
    with pytest.raises(ValueError, match="max_length=0"):
        export_translator(str(tmp_path), _model(), SOURCE_VOCAB, TARGET_VOCAB, 4, 0)
    with pytest.raises(ValueError, match="beam_options.*block_ngram_repeat.*beam_size"):
        export_translator(str(tmp_path), _model(), SOURCE_VOCAB, TARGET_VOCAB, 4, 4, beam_options={"beam_size": 2})
    no_attention = Seq2Seq(Encoder(len(SOURCE_VOCAB), 4, 6), Decoder(len(TARGET_VOCAB), 4, LSTMCell(6)))
    with pytest.raises(ValueError, match="replace_unknown=True"):
        export_translator(str(tmp_path), no_attention, SOURCE_VOCAB, TARGET_VOCAB, 4, 4,
                          replace_unknown=True)


def test_exported_unknown_word_replacement_matches_in_process(tmp_path):
    # A target vocabulary without "c": the model's <unk> outputs are replaced
    # by the attended source character, in the graph and in process alike.
    import keras

    keras.utils.set_random_seed(1)  # an initialisation whose attention peaks on source characters
    target_vocab = translation.Vocabulary(list("abd "), "char")
    model = Seq2Seq(Encoder(len(SOURCE_VOCAB), 4, 6, bidirectional=True),
                    Decoder(len(target_vocab), 4, LSTMCell(12), attention=BahdanauAttention(5)))
    model((np.ones((1, 3), "int32"), np.ones((1, 2), "int32")))
    bias = model.decoder.output_layer.bias
    bias.assign(np.where(np.arange(len(target_vocab)) == translation.OOV_ID, 3.0, 0.0).astype("float32"))
    export_dir = os.path.join(str(tmp_path), "export")
    export_translator(export_dir, model, SOURCE_VOCAB, target_vocab, MAX_SOURCE, MAX_LENGTH,
                      beam_width=2, replace_unknown=True)
    import tensorflow as tf

    loaded = tf.saved_model.load(export_dir)
    for name, search in (("translate", lambda ids: greedy_search(model, ids, MAX_LENGTH)),
                         ("translate_beam", lambda ids: {
                             k: (None if v is None else np.asarray(v)[:, 0])
                             for k, v in beam_search(model, ids, 2, MAX_LENGTH).items()})):
        got = [t.decode() for t in getattr(loaded, name)(tf.constant(SOURCES))["translations"].numpy()]
        ids = SOURCE_VOCAB.encode(SOURCES, MAX_SOURCE, add_end=True).to_tensor().numpy()
        result = search(ids)
        tokens = translation.source_tokens(SOURCES, "char", MAX_SOURCE)
        expected = [t.decode() for t in target_vocab.decode(np.asarray(result["ids"]), tokens,
                                                            np.asarray(result["attention"]))]
        assert got == expected, name
        plain = [t.decode() for t in target_vocab.decode(np.asarray(result["ids"]))]
        # Replacement happened: fewer <unk> than without it.
        assert sum(t.count("<unk>") for t in got) < sum(t.count("<unk>") for t in plain), name
