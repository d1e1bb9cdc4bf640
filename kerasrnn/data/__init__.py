"""Input data for recurrent networks: tf.data transforms, corpora and
generated tasks.

Submodules load on first use (`kerasrnn.data.text` or
`from kerasrnn.data import text`), since most need TensorFlow:

* `kerasrnn.data.corpora`: one reader per bundled corpus (Lee news text,
  polarity sentences, the King James and World English Bibles), each
  returning a `Corpus`;
* `kerasrnn.data.text`: character vocabulary, encoding, a validation part
  held out from the end, windows and next-character targets, language-model
  batches (shuffled windows or truncated-BPTT streams);
* `kerasrnn.data.tbptt`: consecutive stateful batches of a token stream;
* `kerasrnn.data.translation`: token vocabularies and encoding for
  sequence-to-sequence tasks; `kerasrnn.data.ids`: their reserved ids;
* `kerasrnn.data.series`: time series, windows and forecast targets;
* `kerasrnn.data.labelled_text`: labelled sentences for classification;
* `kerasrnn.data.tasks`: the NTM's generated algorithmic tasks (copy,
  repeat copy, associative recall, N-grams, priority sort) and tfds builders;
* `kerasrnn.data.selective_copy`: the selective-copy task of the Mamba
  paper (data tokens among blanks, copied in order after the markers);
* `kerasrnn.data.adding`, `dates`, `progressions`, `trees`, `bible`: data of
  the adding problem, date normalisation, vector-to-sequence progressions,
  expression trees, and verse-aligned Bible translations.
"""

import importlib

_SUBMODULES = (
    "adding", "bible", "corpora", "dates", "ids", "labelled_text", "progressions", "selective_copy", "series",
    "tasks", "tbptt", "text", "translation", "trees",
)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"kerasrnn.data.{name}")
    raise AttributeError(f"module 'kerasrnn.data' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
