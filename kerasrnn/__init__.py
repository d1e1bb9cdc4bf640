"""kerasrnn: recurrent-network building blocks for Keras 3.

`import kerasrnn` registers every kerasrnn layer, model and initializer with
Keras's serialization (so `keras.saving.load_model` finds them) and makes
the subpackages available as attributes:

* `kerasrnn.layers`: drop-in `SimpleRNN`/`LSTM`/`GRU` and their cells,
  bidirectional and deep stacks, feedback and tree RNNs, attention, `NTMCell`;
* `kerasrnn.ops`: the scan and fused recurrent loops;
* `kerasrnn.memory`: Neural Turing Machine addressing (pure functions);
* `kerasrnn.seq2seq`: encoder–decoder with attention, greedy/sampling/beam
  search, string-to-string export;
* `kerasrnn.embeddings`: gensim Word2Vec and `Word2VecInitializer`;
* `kerasrnn.text`: linear-chain CRF functions with `tfa.text`'s names
  (`crf_log_likelihood`, `crf_decode`, `viterbi_decode`, …);
* `kerasrnn.losses`, `kerasrnn.metrics`: e.g. the NTM's bits per sequence;
* `kerasrnn.models`, `kerasrnn.forecasting`, `kerasrnn.text_classifier`,
  `kerasrnn.seed_comparison`: model builders and evaluation for the tasks
  the pipelines train (NTM, char LM, forecasting, sentiment, …);
* `kerasrnn.data`, `kerasrnn.training`, `kerasrnn.export`, `kerasrnn.plots`,
  `kerasrnn.callbacks`, `kerasrnn.validation`: tf.data input, crash-safe
  training, SavedModel export, figures (imported on first use: they need
  TensorFlow's data stack or matplotlib);
* `kerasrnn.pipelines`: the applications behind the `kerasrnn` command.
"""

import importlib
import os
import sys

__version__ = "0.2.0"

#: Subpackages imported on first attribute access.
_SUBMODULES = (
    "analysis", "callbacks", "data", "embeddings", "export", "forecasting", "layers", "losses", "memory",
    "metrics", "models", "ops", "pipelines", "plots", "seed_comparison", "seq2seq", "text", "text_classifier",
    "training", "validation",
)
#: Subpackages that register Keras objects: imported by `import kerasrnn`.
_REGISTERING = ("layers", "embeddings", "seq2seq")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"kerasrnn.{name}")
    raise AttributeError(f"module 'kerasrnn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))


def _started_as_command():
    """Whether this process is the `kerasrnn` command (console script or
    `python -m kerasrnn.pipelines`). The command imports Keras only once a
    pipeline runs, so that `--help` and option errors answer without
    starting TensorFlow; each pipeline imports the layers it builds with."""
    argv = getattr(sys, "orig_argv", None) or sys.argv
    if sys.argv and os.path.basename(sys.argv[0]) in ("kerasrnn", "kerasrnn.exe"):
        return True
    if "-m" in argv[:-1]:
        return argv[argv.index("-m") + 1].startswith("kerasrnn.pipelines")
    return False


if not _started_as_command():
    for _name in _REGISTERING:
        importlib.import_module(f"kerasrnn.{_name}")
    del _name
