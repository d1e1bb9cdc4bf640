"""Hand-written recurrent cells and layers (keras.ops only)."""

from kerasrnn.layers.bahdanau_attention import BahdanauAttention
from kerasrnn.layers.deep_rnn import DeepRNN
from kerasrnn.layers.deep_rnn import DeepRNNCell
from kerasrnn.layers.feedback import OutputFeedbackCell
from kerasrnn.layers.feedback import OutputFeedbackRNN
from kerasrnn.layers.gru import GRU
from kerasrnn.layers.gru import GRUCell
from kerasrnn.layers.lstm import LSTM
from kerasrnn.layers.lstm import LSTMCell
from kerasrnn.layers.luong_attention import LuongAttention
from kerasrnn.layers.ntm_cell import NTMCell
from kerasrnn.layers.simple_rnn import IRNN
from kerasrnn.layers.simple_rnn import SimpleRNN
from kerasrnn.layers.simple_rnn import SimpleRNNCell
from kerasrnn.layers.tree_rnn import TreeLSTM
from kerasrnn.layers.tree_rnn import TreeRNN

__all__ = [
    "BahdanauAttention",
    "DeepRNN",
    "DeepRNNCell",
    "GRU",
    "GRUCell",
    "IRNN",
    "LSTM",
    "LSTMCell",
    "LuongAttention",
    "NTMCell",
    "OutputFeedbackCell",
    "OutputFeedbackRNN",
    "SimpleRNN",
    "SimpleRNNCell",
    "TreeLSTM",
    "TreeRNN",
]
