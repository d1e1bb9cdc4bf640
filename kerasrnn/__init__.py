"""kerasrnn: recurrent-network building blocks for Keras 3."""

__version__ = "0.1.0"

from kerasrnn import embeddings  # noqa: E402,F401  (registers Word2VecInitializer; gensim loads lazily)
from kerasrnn import layers  # noqa: E402,F401
