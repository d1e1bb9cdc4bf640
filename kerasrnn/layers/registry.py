"""One name per recurrent architecture: `"lstm"`, `"gru"`, `"simple_rnn"`, `"lnlstm"`,
and the layers run by a parallel scan: `"mingru"`, `"minlstm"`, `"lru"`,
`"rglru"`, `"hawk"`.

Pipelines, benchmarks and models that take a cell by name (a command-line
`--cell`, a `cell=` argument) look the class up here:

>>> get_recurrent_layer("gru")
<class 'kerasrnn.layers.gru.GRU'>
>>> get_cell("lstm")
<class 'kerasrnn.layers.lstm.LSTMCell'>
"""

import types

from kerasrnn.layers.gru import GRU
from kerasrnn.layers.gru import GRUCell
from kerasrnn.layers.hawk_block import HawkBlock
from kerasrnn.layers.hawk_block import HawkBlockCell
from kerasrnn.layers.layer_norm_lstm import LayerNormLSTM
from kerasrnn.layers.layer_norm_lstm import LayerNormLSTMCell
from kerasrnn.layers.lstm import LSTM
from kerasrnn.layers.lru import LRU
from kerasrnn.layers.lru import LRUCell
from kerasrnn.layers.lstm import LSTMCell
from kerasrnn.layers.min_rnn import MinGRU
from kerasrnn.layers.min_rnn import MinGRUCell
from kerasrnn.layers.min_rnn import MinLSTM
from kerasrnn.layers.min_rnn import MinLSTMCell
from kerasrnn.layers.rglru import RGLRU
from kerasrnn.layers.rglru import RGLRUCell
from kerasrnn.layers.simple_rnn import SimpleRNN
from kerasrnn.layers.simple_rnn import SimpleRNNCell
from kerasrnn.validation import ArgumentError

__all__ = ["CELLS", "CELL_NAMES", "RECURRENT_LAYERS", "get_cell", "get_recurrent_layer"]

#: The registered names, in the order they are listed to users.
CELL_NAMES = ("lstm", "gru", "simple_rnn", "lnlstm", "mingru", "minlstm", "lru", "rglru", "hawk")

#: Name -> sequence layer class (read-only).
RECURRENT_LAYERS = types.MappingProxyType(
    {"lstm": LSTM, "gru": GRU, "simple_rnn": SimpleRNN, "lnlstm": LayerNormLSTM,
     "mingru": MinGRU, "minlstm": MinLSTM, "lru": LRU, "rglru": RGLRU, "hawk": HawkBlock}
)

#: Name -> cell class (read-only), for `keras.layers.RNN` or a decoder's step.
CELLS = types.MappingProxyType(
    {"lstm": LSTMCell, "gru": GRUCell, "simple_rnn": SimpleRNNCell, "lnlstm": LayerNormLSTMCell,
     "mingru": MinGRUCell, "minlstm": MinLSTMCell, "lru": LRUCell, "rglru": RGLRUCell, "hawk": HawkBlockCell}
)


def _lookup(registry, name, argument):
    if not isinstance(name, str) or name not in registry:
        raise ArgumentError(argument, name, "one of " + ", ".join(repr(n) for n in CELL_NAMES))
    return registry[name]


def get_recurrent_layer(name, argument="name"):
    """The kerasrnn sequence layer class registered as `name`.

    Args:
        name: One of `CELL_NAMES`.
        argument: The name the error message gives the argument (e.g.
            `"cell"` or `"--cell"`).

    Raises:
        kerasrnn.validation.ArgumentError: (a `ValueError`) for an unknown
            name; the message lists the registered ones.
    """
    return _lookup(RECURRENT_LAYERS, name, argument)


def get_cell(name, argument="name"):
    """The kerasrnn cell class registered as `name` (see `get_recurrent_layer`)."""
    return _lookup(CELLS, name, argument)
