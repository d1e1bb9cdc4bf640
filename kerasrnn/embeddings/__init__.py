"""Word2Vec embeddings (gensim) for kerasrnn models.

* `tokenize` / `text_vectorization`: one tokenizer for gensim and Keras;
* `Word2VecInitializer`, `word2vec_embedding`, `assign_vectors`, `CoverageWarning`;
* `train_word2vec`, `EpochLogger`, `corpus_sentences`, `save_vectors`,
  `load_vectors`, `read_vectors`, `export_projector` (gensim),
  `write_loss_summaries` (TensorBoard);
* `analogy_accuracy`, `word_similarity`, `nearest_neighbours` (gensim, scipy);
* `kerasrnn.embeddings.plots`: `plot_projection`, `plot_curves` (matplotlib).

Importing this package registers `Word2VecInitializer` (needed before
`keras.models.load_model` of a model whose config holds one) and imports
only Keras and NumPy; the gensim-based names are imported on first use.
"""

import importlib

from kerasrnn.embeddings.tokenize import read_lines
from kerasrnn.embeddings.tokenize import text_vectorization
from kerasrnn.embeddings.tokenize import tokenize
from kerasrnn.embeddings.word2vec_initializer import CoverageWarning
from kerasrnn.embeddings.word2vec_initializer import Word2VecInitializer
from kerasrnn.embeddings.word2vec_initializer import assign_vectors
from kerasrnn.embeddings.word2vec_initializer import word2vec_embedding

_LAZY = {
    "EpochLogger": "kerasrnn.embeddings.word2vec",
    "corpus_sentences": "kerasrnn.embeddings.word2vec",
    "export_projector": "kerasrnn.embeddings.word2vec",
    "load_vectors": "kerasrnn.embeddings.word2vec",
    "read_vectors": "kerasrnn.embeddings.word2vec",
    "save_vectors": "kerasrnn.embeddings.word2vec",
    "train_word2vec": "kerasrnn.embeddings.word2vec",
    "write_loss_summaries": "kerasrnn.embeddings.word2vec",
    "analogy_accuracy": "kerasrnn.embeddings.evaluation",
    "nearest_neighbours": "kerasrnn.embeddings.evaluation",
    "word_similarity": "kerasrnn.embeddings.evaluation",
}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(
    ["CoverageWarning", "Word2VecInitializer", "assign_vectors", "read_lines", "text_vectorization", "tokenize",
     "word2vec_embedding"]
    + list(_LAZY)
)
