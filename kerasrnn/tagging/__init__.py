"""Sequence tagging (part-of-speech, named entities) with recurrent networks.

* `kerasrnn.tagging.tagger`: vocabularies (`TagVocabulary`), padded encoding
  of tagged sentences, the BiLSTM(-CRF) tagger with character features
  (`build_tagger`), its loss and Viterbi/argmax decoding;
* `kerasrnn.tagging.evaluation`: token accuracy, per-tag tables, confusion
  matrices, seqeval span F1, the most-frequent-tag baseline;
* `kerasrnn.tagging.export`: `StringTagger`, a SavedModel mapping token
  strings to tag strings with the decoding (Viterbi) in the graph (imported
  on first use: it needs TensorFlow).

The corpora are read by `kerasrnn.data.tagging`; the `tagging` pipeline
trains and compares taggers on them.
"""

import importlib

from kerasrnn.tagging.evaluation import evaluate_tags
from kerasrnn.tagging.evaluation import most_frequent_tags
from kerasrnn.tagging.tagger import PAD_TAG_ID
from kerasrnn.tagging.tagger import UNKNOWN_TAG
from kerasrnn.tagging.tagger import TagVocabulary
from kerasrnn.tagging.tagger import build_tagger
from kerasrnn.tagging.tagger import chunk_long_sentences
from kerasrnn.tagging.tagger import decode_tags
from kerasrnn.tagging.tagger import encode
from kerasrnn.tagging.tagger import find_crf
from kerasrnn.tagging.tagger import predict_tags
from kerasrnn.tagging.tagger import tagger_loss


def __getattr__(name):
    if name == "export":
        return importlib.import_module("kerasrnn.tagging.export")
    raise AttributeError(f"module 'kerasrnn.tagging' has no attribute {name!r}")
