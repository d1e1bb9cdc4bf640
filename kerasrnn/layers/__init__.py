"""Hand-written recurrent cells and layers (keras.ops only)."""

from kerasrnn.layers.gru import GRU
from kerasrnn.layers.gru import GRUCell
from kerasrnn.layers.lstm import LSTM
from kerasrnn.layers.lstm import LSTMCell
from kerasrnn.layers.simple_rnn import IRNN
from kerasrnn.layers.simple_rnn import SimpleRNN
from kerasrnn.layers.simple_rnn import SimpleRNNCell

__all__ = ["GRU", "GRUCell", "IRNN", "LSTM", "LSTMCell", "SimpleRNN", "SimpleRNNCell"]
