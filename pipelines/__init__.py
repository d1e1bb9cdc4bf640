"""Runnable end-to-end jobs: `python -m pipelines NAME [options]`.

Each pipeline is a module in this package that defines:

* `DESCRIPTION`: one line shown by `python -m pipelines`;
* `add_arguments(parser)`: its own options (the common ones are added by
  `pipelines.common.add_common_arguments`);
* `run(args) -> dict`: trains/evaluates, writes into `args.output`, returns
  the metrics it also wrote to `metrics.json`.
"""

import importlib

#: Pipeline name -> module (imported only when that pipeline is asked for).
PIPELINES = {
    "char-lm": "pipelines.char_lm",
    "dates": "pipelines.dates",
    "bible-modernize": "pipelines.bible_modernize",
    "ntm-copy": "pipelines.ntm_copy",
    "ntm-repeat-copy": "pipelines.ntm_repeat_copy",
    "ntm-recall": "pipelines.ntm_recall",
    "ntm-sort": "pipelines.ntm_sort",
    "ntm-ngrams": "pipelines.ntm_ngrams",
    "word2vec": "pipelines.word2vec",
    "sentiment": "pipelines.sentiment",
    "forecast": "pipelines.forecast",
    "tree-arith": "pipelines.tree_arith",
    "vec2seq": "pipelines.vec2seq",
}


def load(name):
    """Returns the module of pipeline `name` (a clear error when unknown)."""
    if name not in PIPELINES:
        raise ValueError(
            f"Unknown pipeline {name!r}. Available: {', '.join(sorted(PIPELINES))}"
        )
    return importlib.import_module(PIPELINES[name])
