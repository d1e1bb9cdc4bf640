"""The applications behind the `kerasrnn` command (`kerasrnn --list`).

Each pipeline is a module of this package (installed as
`kerasrnn.pipelines`) that reads as its recipe, built from the library:

* `DESCRIPTION`: one line shown by `kerasrnn --list`;
* `Config`: a dataclass of its options (`kerasrnn.pipelines.config`): the
  defaults, the `--quick` values, the checks; the command line is generated
  from it and the resolved values are the run's config.json;
* `run(config) -> dict`: data, model, training, evaluation, export into
  `config.output`; returns the metrics the runner writes to metrics.json.

Importing a pipeline module must not import TensorFlow (the command answers
`--help` without it); each imports what it needs inside `run`.
"""

import importlib

#: Pipeline name -> module (imported only when that pipeline is asked for).
PIPELINES = {
    "char-lm": "kerasrnn.pipelines.char_lm",
    "dates": "kerasrnn.pipelines.dates",
    "bible-modernize": "kerasrnn.pipelines.bible_modernize",
    "ntm-copy": "kerasrnn.pipelines.ntm_copy",
    "ntm-repeat-copy": "kerasrnn.pipelines.ntm_repeat_copy",
    "ntm-recall": "kerasrnn.pipelines.ntm_recall",
    "ntm-sort": "kerasrnn.pipelines.ntm_sort",
    "ntm-ngrams": "kerasrnn.pipelines.ntm_ngrams",
    "word2vec": "kerasrnn.pipelines.word2vec",
    "sentiment": "kerasrnn.pipelines.sentiment",
    "forecast": "kerasrnn.pipelines.forecast",
    "tree-arith": "kerasrnn.pipelines.tree_arith",
    "vec2seq": "kerasrnn.pipelines.vec2seq",
    "tagging": "kerasrnn.pipelines.tagging",
}


def load(name):
    """The module of pipeline `name`."""
    if name not in PIPELINES:
        raise ValueError(f"Unknown pipeline {name!r}. Available: {', '.join(sorted(PIPELINES))}")
    return importlib.import_module(PIPELINES[name])
