"""kerasrnn.tagging: vocabularies, encoding, the tagger's layers and decoding,
and the scores (exact on small hand-made cases)."""

import keras
import numpy as np
import pytest

from kerasrnn import tagging
from kerasrnn.data.tagging import TaggedSentence
from kerasrnn.layers import CharEncoder
from kerasrnn.validation import InputError

TRAIN = (
    TaggedSentence(("Dan", "went", "to", "Haifa"), ("S-PER", "O", "O", "S-GPE")),
    TaggedSentence(("Dan", "Levi", "went"), ("B-PER", "E-PER", "O")),
)


def test_vocabulary_encoding_and_padding():
    vocabulary = tagging.TagVocabulary.from_sentences(TRAIN, min_count=2)
    # Words seen twice; then characters of every word; tags sorted, <unk> last.
    assert vocabulary.words == ("", "<unk>", "Dan", "went")
    assert vocabulary.chars[:3] == ("", "<unk>", "a") and "H" in vocabulary.chars
    assert vocabulary.tags == ("B-PER", "E-PER", "O", "S-GPE", "S-PER", "<unk>")
    dev = (TaggedSentence(("Dan", "saw", "Eilat"), ("S-PER", "O", "S-LOC")),)
    mapped, counts = vocabulary.map_unseen_tags(dev)
    assert counts == {"S-LOC": 1} and mapped[0].tags == ("S-PER", "O", "<unk>")
    inputs, tags = tagging.encode(TRAIN + mapped, vocabulary, max_word_chars=3)
    assert inputs["words"].tolist()[2] == [2, 1, 1, 0]
    assert tags.tolist()[2] == [4, 2, 5, -1]
    # "Haifa" cut to its first 3 characters; padding words have none.
    index = {c: i for i, c in enumerate(vocabulary.chars)}
    assert inputs["chars"][0, 3].tolist() == [index["H"], index["a"], index["i"]]
    assert inputs["chars"][1, 3].tolist() == [0, 0, 0]
    with pytest.raises(InputError, match="every sentence is empty"):
        tagging.encode((TaggedSentence((), ()),), vocabulary, 3)


def test_long_sentences_are_cut_into_pieces():
    pieces, cut = tagging.chunk_long_sentences(TRAIN, 3)
    assert cut == 1
    assert [p.tokens for p in pieces] == [("Dan", "went", "to"), ("Haifa",), ("Dan", "Levi", "went")]
    assert pieces[1].tags == ("S-GPE",)


def test_scores_and_baseline_exact():
    # Baseline: "Dan" is S-PER once and B-PER once (tie: first seen wins),
    # unknown words get the most frequent tag, O.
    predicted = tagging.most_frequent_tags(TRAIN, [TaggedSentence(("Dan", "Levi", "Eilat"), ("", "", ""))])
    assert predicted == [("S-PER", "E-PER", "O")]
    gold = [("B-PER", "E-PER", "O", "S-GPE"), ("S-PER", "O")]
    guess = [("B-PER", "E-PER", "O", "O"), ("S-PER", "S-GPE")]
    result = tagging.evaluate_tags(gold, guess, "iobes")
    assert result["token_accuracy"] == pytest.approx(4 / 6)
    # Spans: gold PER(0-1), GPE(3), PER(0); predicted PER(0-1), PER(0), GPE(1).
    assert result["span_precision"] == pytest.approx(2 / 3)
    assert result["span_recall"] == pytest.approx(2 / 3)
    assert result["span_f1"] == pytest.approx(2 / 3)
    assert result["per_type"]["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert result["per_type"]["GPE"]["f1"] == 0.0
    assert result["per_tag"]["O"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    tags = result["confusion"]["tags"]
    counts = np.array(result["confusion"]["counts"])
    assert counts[tags.index("S-GPE"), tags.index("O")] == 1 and counts.sum() == 6
    # A predicted <unk> (a tag outside the scheme) is no span, and a wrong token.
    unknown = tagging.evaluate_tags([("S-PER", "O")], [("S-PER", "<unk>")], "iobes")
    assert unknown["span_f1"] == 1.0 and unknown["token_accuracy"] == 0.5
    pos = tagging.evaluate_tags([("A", "B")], [("A", "A")], "pos")
    assert pos["token_accuracy"] == 0.5 and "span_f1" not in pos
    with pytest.raises(InputError, match="same lengths"):
        tagging.evaluate_tags([("A",)], [("A", "B")], "pos")


@pytest.mark.parametrize("encoder", ["cnn", "lstm"])
def test_char_encoder(encoder):
    layer = CharEncoder(10, char_dim=4, units=3, encoder=encoder)
    chars = np.array([[[2, 3, 0], [4, 0, 0], [0, 0, 0]]], "int32")
    out = np.asarray(layer(chars))
    assert out.shape == (1, 3, 3 if encoder == "cnn" else 6)
    assert np.all(out[0, 2] == 0) and np.any(out[0, 0] != 0)
    # A word's vector ignores the padding after its characters.
    longer = np.array([[[2, 3, 0, 0, 0]]], "int32")
    np.testing.assert_allclose(np.asarray(layer(longer))[0, 0], out[0, 0], atol=1e-6)
    clone = CharEncoder.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    with pytest.raises(ValueError, match="encoder"):
        CharEncoder(10, encoder="gru")


@pytest.mark.parametrize("output_layer", ["crf", "softmax"])
def test_tagger_decodes_only_real_tokens(output_layer):
    vocabulary = tagging.TagVocabulary.from_sentences(TRAIN)
    inputs, tags = tagging.encode(TRAIN, vocabulary, 4)
    keras.utils.set_random_seed(0)
    model = tagging.build_tagger(len(vocabulary.words), len(vocabulary.tags), len(vocabulary.chars), word_dim=4,
                                 char_dim=3, char_units=3, units=4, output_layer=output_layer, max_word_chars=4)
    assert (tagging.find_crf(model) is not None) == (output_layer == "crf")
    scores = model(inputs, training=False)
    assert tuple(scores.shape) == (2, 4, len(vocabulary.tags))
    ids = np.asarray(tagging.decode_tags(model, scores, inputs["words"] > 0))
    assert ids[1, 3] == 0 and ids.shape == (2, 4)
    predicted = tagging.predict_tags(model, inputs, vocabulary, [4, 3])
    assert [len(p) for p in predicted] == [4, 3]
    assert [list(p) for p in predicted] == [[vocabulary.tags[i] for i in row[:n]] for row, n in zip(ids, (4, 3))]
    loss = tagging.tagger_loss(model)(tags, scores)
    assert np.isfinite(float(loss)) and float(loss) > 0
