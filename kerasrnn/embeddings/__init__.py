"""Word2Vec embeddings (gensim) for kerasrnn models.

* `tokenize` / `text_vectorization`: one tokenizer for gensim and Keras;
* `train_word2vec`, `save_vectors`, `load_vectors`, `export_projector`;
* `Word2VecInitializer`, `word2vec_embedding`, `assign_vectors`;
* `analogy_accuracy`, `word_similarity`, `nearest_neighbours`;
* `kerasrnn.embeddings.plots` (imported on use): `plot_projection`.
"""

from kerasrnn.embeddings.evaluation import analogy_accuracy
from kerasrnn.embeddings.evaluation import nearest_neighbours
from kerasrnn.embeddings.evaluation import word_similarity
from kerasrnn.embeddings.tokenize import read_lines
from kerasrnn.embeddings.tokenize import text_vectorization
from kerasrnn.embeddings.tokenize import tokenize
from kerasrnn.embeddings.word2vec import EpochLogger
from kerasrnn.embeddings.word2vec import corpus_sentences
from kerasrnn.embeddings.word2vec import export_projector
from kerasrnn.embeddings.word2vec import load_vectors
from kerasrnn.embeddings.word2vec import save_vectors
from kerasrnn.embeddings.word2vec import train_word2vec
from kerasrnn.embeddings.word2vec_initializer import Word2VecInitializer
from kerasrnn.embeddings.word2vec_initializer import assign_vectors
from kerasrnn.embeddings.word2vec_initializer import word2vec_embedding

__all__ = [
    "EpochLogger",
    "Word2VecInitializer",
    "analogy_accuracy",
    "assign_vectors",
    "corpus_sentences",
    "export_projector",
    "load_vectors",
    "nearest_neighbours",
    "read_lines",
    "save_vectors",
    "text_vectorization",
    "tokenize",
    "train_word2vec",
    "word2vec_embedding",
    "word_similarity",
]
