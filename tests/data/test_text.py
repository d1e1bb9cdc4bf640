"""kerasrnn.data.text: vocabulary, unknown characters, encoding, split, windows."""

import pytest
import tensorflow as tf

from kerasrnn.data.text import UNKNOWN_CHAR
from kerasrnn.data.text import UNKNOWN_CHAR_ID
from kerasrnn.data.text import build_vocabulary
from kerasrnn.data.text import chars_to_ids
from kerasrnn.data.text import count_windows
from kerasrnn.data.text import encode_chars
from kerasrnn.data.text import ids_to_text
from kerasrnn.data.text import lookup_table
from kerasrnn.data.text import next_char_targets
from kerasrnn.data.text import read_text
from kerasrnn.data.text import split_sizes
from kerasrnn.data.text import split_tail
from kerasrnn.data.text import windows


def _elements(dataset):
    return [tuple(t.numpy().tolist() for t in e) if isinstance(e, tuple) else e.numpy().tolist()
            for e in dataset]


def test_vocabulary_is_oov_then_sorted_characters():
    assert build_vocabulary("cabbé") == [UNKNOWN_CHAR, "a", "b", "c", "é"]


def test_lookup_maps_known_characters_and_unknown_to_oov():
    table = lookup_table(build_vocabulary("abc"))
    ids = chars_to_ids(tf.constant("cazb€"), table).numpy().tolist()
    assert ids == [3, 1, UNKNOWN_CHAR_ID, 2, UNKNOWN_CHAR_ID]
    # The unknown-character entry itself is not a training character either.
    assert chars_to_ids(tf.constant(UNKNOWN_CHAR), table).numpy().tolist() == [UNKNOWN_CHAR_ID]


def test_ids_to_text_round_trips():
    vocabulary = build_vocabulary("héllo wörld")
    table = lookup_table(vocabulary)
    ids = chars_to_ids(tf.constant("wörld héllo"), table)
    assert ids_to_text(ids, vocabulary).numpy().decode() == "wörld héllo"


@pytest.mark.parametrize(
    "vocabulary", [["a", "b"], [UNKNOWN_CHAR], [UNKNOWN_CHAR, "ab"], [UNKNOWN_CHAR, "a", "a"]]
)
def test_bad_vocabulary_is_rejected(vocabulary):
    with pytest.raises(ValueError, match="vocabulary"):
        lookup_table(vocabulary)


def test_windows_inputs_targets_and_split_boundaries():
    # "abcdefghij" -> ids 1..10; 10% held out = the last id ("j").
    text = "abcdefghij"
    table = lookup_table(build_vocabulary(text))
    train_part, validation_part = split_tail(0.25)  # floor(10 * 0.25) = 2 held out
    encoded = tf.data.Dataset.from_tensors(text).apply(encode_chars(table))
    train_ids = _elements(encoded.apply(train_part))
    validation_ids = _elements(encoded.apply(validation_part))
    assert train_ids == [[1, 2, 3, 4, 5, 6, 7, 8]]
    assert validation_ids == [[9, 10]]
    assert split_sizes(10, 0.25) == (8, 2)

    examples = _elements(
        encoded.apply(train_part).apply(windows(3 + 1, shift=3)).apply(next_char_targets())
    )
    # Windows of 4 starting every 3: [1..4], [4..7]; the tail [7, 8] is dropped.
    assert examples == [([1, 2, 3], [2, 3, 4]), ([4, 5, 6], [5, 6, 7])]
    assert count_windows(8, 4, 3) == 2


def test_windows_default_shift_and_short_elements():
    dataset = tf.data.Dataset.from_tensor_slices(tf.ragged.constant([[1, 2, 3, 4, 5], [6, 7]]))
    dataset = dataset.map(lambda r: r)  # ragged rows -> dense 1-D elements
    # Windows never cross elements (documents); a short element gives none.
    assert _elements(dataset.apply(windows(2))) == [[1, 2], [3, 4], [6, 7]]
    assert _elements(dataset.apply(windows(3, shift=1))) == [[1, 2, 3], [2, 3, 4], [3, 4, 5]]
    assert count_windows(5, 3, 1) == 3
    assert count_windows(2, 3) == 0


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, True])
def test_split_fraction_must_be_in_open_unit_interval(fraction):
    with pytest.raises(ValueError, match="validation_fraction"):
        split_tail(fraction)


@pytest.mark.parametrize("kwargs", [{"size": 0}, {"size": 3, "shift": 0}, {"size": 2.5}])
def test_windows_arguments_are_checked(kwargs):
    with pytest.raises(ValueError, match="must be a positive integer"):
        windows(**kwargs)


def test_read_text_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        read_text(str(tmp_path / "missing.txt"), argument="--text")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="`--text`.*empty"):
        read_text(str(empty), argument="--text")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café".encode("cp1252"))
    with pytest.raises(ValueError, match="not UTF-8.*0xe9 at offset 3"):
        read_text(str(latin), argument="--text")
    with pytest.raises(ValueError, match="cannot read"):
        read_text(str(tmp_path), argument="--text")
    good = tmp_path / "good.txt"
    good.write_bytes("\ufeffnaïve".encode("utf-8"))
    assert read_text(str(good)) == "naïve"


def test_unknown_char_id_is_not_the_token_vocabularies_oov_id():
    from kerasrnn.data import ids
    from kerasrnn.data import text

    # Two layouts, two names: the char LM maps unknown characters to id 0, the
    # token vocabularies keep 0 for padding and map unknown tokens to OOV_ID.
    assert text.UNKNOWN_CHAR_ID == 0 != ids.OOV_ID
    assert not hasattr(text, "OOV_ID")
    assert build_vocabulary("ab")[text.UNKNOWN_CHAR_ID] == text.UNKNOWN_CHAR
