"""Neural Turing Machine memory: pure addressing and access functions."""

from kerasrnn.memory.addressing import address
from kerasrnn.memory.addressing import circular_shift
from kerasrnn.memory.addressing import content_addressing
from kerasrnn.memory.addressing import cosine_similarity
from kerasrnn.memory.addressing import interpolate
from kerasrnn.memory.addressing import read
from kerasrnn.memory.addressing import sharpen
from kerasrnn.memory.addressing import write

__all__ = [
    "address",
    "circular_shift",
    "content_addressing",
    "cosine_similarity",
    "interpolate",
    "read",
    "sharpen",
    "write",
]
