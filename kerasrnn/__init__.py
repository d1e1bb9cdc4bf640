"""kerasrnn: recurrent-network building blocks for Keras 3."""

__version__ = "0.1.0"

from kerasrnn import layers  # noqa: E402,F401
