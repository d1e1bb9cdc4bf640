import numpy as np
import pytest

from kerasrnn.embeddings import read_lines
from kerasrnn.embeddings import text_vectorization
from kerasrnn.embeddings import tokenize

# Awkward on purpose: ASCII and non-ASCII capitals, every punctuation mark,
# non-ASCII punctuation, tabs, no-break and other Unicode spaces, apostrophes,
# ranges inside Keras's regex (`,-.`), digits, empty and blank strings.
TEXTS = [
    "Hello, World! It's a TEST.",
    "ÉCOLE Ärger STRASSE ß İstanbul — “quoted” ‘text’ …",
    "tabs\tand\nnew\r\nlines\x0b\x0cform  feeds   ",
    "no\u00a0break\u2003em\u3000ideographic spaces",
    "a-b,c.d;e:f(g)[h]{i}<j>k/l\\m|n_o~p`q^r@s#t$u%v&w*x+y=z?\"'!",
    "rock'n'roll state-of-the-art U.S.A. 3.14 1,000,000 don't",
    "",
    "   ",
    "AMÉLIE's Audrey Tautou clichés -- i . e . , fabuleux",
]


def keras_tokens(texts):
    """Tokens as a kerasrnn TextVectorization sees them (ids mapped back)."""
    layer = text_vectorization(output_mode="int", ragged=True)
    layer.adapt(texts)
    vocabulary = layer.get_vocabulary()
    return [[vocabulary[i] for i in row] for row in layer(texts).numpy().tolist()]


def test_python_tokens_equal_text_vectorization_tokens():
    expected = keras_tokens(TEXTS)
    assert [tokenize(t) for t in TEXTS] == expected
    # The awkward cases really are there: ASCII-only lower-casing, no split on
    # Unicode spaces, non-ASCII punctuation kept, ASCII punctuation removed.
    flat = {token for row in expected for token in row}
    assert {"École", "Ärger", "İstanbul", "amÉlies"} <= flat
    assert "no\u00a0break\u2003em\u3000ideographic" in flat
    assert {"—", "…", "rocknroll", "stateoftheart", "usa", "314", "1000000"} <= flat
    assert expected[6] == [] and expected[7] == []


def test_tokens_equal_on_shipped_polarity_sentences():
    from gensim.test.utils import datapath

    lines = read_lines(datapath("pang_lee_polarity.cor"), encoding="cp1252")
    assert [tokenize(t) for t in lines] == keras_tokens(lines)


def test_text_vectorization_refuses_other_tokenizer():
    with pytest.raises(ValueError, match="standardize"):
        text_vectorization(standardize="lower")


def test_read_lines_names_encoding_problem(tmp_path):
    from gensim.test.utils import datapath

    with pytest.raises(ValueError, match=r"not valid utf-8.*offset \d+.*cp1252"):
        read_lines(datapath("pang_lee_polarity.cor"))
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        read_lines(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="encoding='nope'"):
        (tmp_path / "a.txt").write_text("a b")
        read_lines(tmp_path / "a.txt", encoding="nope")
    assert np.array_equal(read_lines(tmp_path / "a.txt"), ["a b"])
