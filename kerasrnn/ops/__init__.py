"""Loop primitives shared by kerasrnn's recurrent layers."""

from kerasrnn.ops.linear_scan import linear_scan
from kerasrnn.ops.linear_scan import log_linear_scan
from kerasrnn.ops.rnn import rnn
from kerasrnn.ops.scan import EXPORT_TARGETS
from kerasrnn.ops.scan import export_loops
from kerasrnn.ops.scan import scan

__all__ = ["EXPORT_TARGETS", "export_loops", "linear_scan", "log_linear_scan", "rnn", "scan"]
