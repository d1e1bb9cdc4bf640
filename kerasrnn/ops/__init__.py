"""Loop primitives shared by kerasrnn's recurrent layers."""

from kerasrnn.ops.linear_scan import linear_scan
from kerasrnn.ops.linear_scan import log_linear_scan
from kerasrnn.ops.rnn import rnn
from kerasrnn.ops.scan import scan

__all__ = ["linear_scan", "log_linear_scan", "rnn", "scan"]
