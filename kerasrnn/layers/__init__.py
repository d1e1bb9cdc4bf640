"""Hand-written recurrent cells and layers (keras.ops only)."""

from kerasrnn.layers.bahdanau_attention import BahdanauAttention
from kerasrnn.layers.cell import RecurrentCell
from kerasrnn.layers.char_encoder import CharEncoder
from kerasrnn.layers.crf import CRF
from kerasrnn.layers.crf import CRFLoss
from kerasrnn.layers.deep_rnn import DeepRNN
from kerasrnn.layers.deep_rnn import DeepRNNCell
from kerasrnn.layers.feedback import OutputFeedbackCell
from kerasrnn.layers.feedback import OutputFeedbackRNN
from kerasrnn.layers.gru import GRU
from kerasrnn.layers.gru import GRUCell
from kerasrnn.layers.hawk_block import HawkBlock
from kerasrnn.layers.hawk_block import HawkBlockCell
from kerasrnn.layers.layer_norm_lstm import LayerNormLSTM
from kerasrnn.layers.layer_norm_lstm import LayerNormLSTMCell
from kerasrnn.layers.linear_recurrence import LinearRecurrentCell
from kerasrnn.layers.linear_recurrence import LinearRecurrentLayer
from kerasrnn.layers.lru import LRU
from kerasrnn.layers.lru import LRUCell
from kerasrnn.layers.lstm import LSTM
from kerasrnn.layers.lstm import LSTMCell
from kerasrnn.layers.luong_attention import LuongAttention
from kerasrnn.layers.min_rnn import MinGRU
from kerasrnn.layers.min_rnn import MinGRUCell
from kerasrnn.layers.min_rnn import MinLSTM
from kerasrnn.layers.min_rnn import MinLSTMCell
from kerasrnn.layers.ntm_cell import NTMCell
from kerasrnn.layers.registry import CELL_NAMES
from kerasrnn.layers.registry import CELLS
from kerasrnn.layers.registry import RECURRENT_LAYERS
from kerasrnn.layers.registry import get_cell
from kerasrnn.layers.registry import get_recurrent_layer
from kerasrnn.layers.rglru import RGLRU
from kerasrnn.layers.rglru import RGLRUCell
from kerasrnn.layers.sequence import RecurrentLayer
from kerasrnn.layers.simple_rnn import IRNN
from kerasrnn.layers.simple_rnn import SimpleRNN
from kerasrnn.layers.simple_rnn import SimpleRNNCell
from kerasrnn.layers.tree_rnn import TreeLSTM
from kerasrnn.layers.tree_rnn import TreeRNN
from kerasrnn.layers.zoneout import ZoneoutCell

__all__ = [
    "CELLS",
    "CELL_NAMES",
    "RECURRENT_LAYERS",
    "BahdanauAttention",
    "CRF",
    "CharEncoder",
    "CRFLoss",
    "DeepRNN",
    "DeepRNNCell",
    "GRU",
    "GRUCell",
    "HawkBlock",
    "HawkBlockCell",
    "IRNN",
    "LRU",
    "LRUCell",
    "LSTM",
    "LSTMCell",
    "LayerNormLSTM",
    "LayerNormLSTMCell",
    "LinearRecurrentCell",
    "LinearRecurrentLayer",
    "LuongAttention",
    "MinGRU",
    "MinGRUCell",
    "MinLSTM",
    "MinLSTMCell",
    "NTMCell",
    "OutputFeedbackCell",
    "OutputFeedbackRNN",
    "RGLRU",
    "RGLRUCell",
    "RecurrentCell",
    "RecurrentLayer",
    "SimpleRNN",
    "SimpleRNNCell",
    "TreeLSTM",
    "TreeRNN",
    "ZoneoutCell",
    "get_cell",
    "get_recurrent_layer",
]
