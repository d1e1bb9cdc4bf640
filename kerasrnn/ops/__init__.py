"""Loop primitives shared by kerasrnn's recurrent layers."""

from kerasrnn.ops.rnn import rnn
from kerasrnn.ops.scan import scan

__all__ = ["rnn", "scan"]
