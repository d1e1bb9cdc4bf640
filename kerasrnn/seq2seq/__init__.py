"""Encoder–decoder models with attention, and greedy/sampling/beam search.

The reserved target ids (`PAD_ID`, `START_ID`, `END_ID`, `OOV_ID`) are those
of `kerasrnn.data.ids`, re-exported here.
"""

from kerasrnn.data.ids import END_ID
from kerasrnn.data.ids import OOV_ID
from kerasrnn.data.ids import PAD_ID
from kerasrnn.data.ids import START_ID

from kerasrnn.seq2seq.decoder import Decoder
from kerasrnn.seq2seq.encoder import Encoder
from kerasrnn.seq2seq.search import beam_search
from kerasrnn.seq2seq.search import greedy_search
from kerasrnn.seq2seq.search import sample
from kerasrnn.seq2seq.seq2seq import MaskedTokenAccuracy
from kerasrnn.seq2seq.seq2seq import Seq2Seq

__all__ = [
    "Decoder", "Encoder", "MaskedTokenAccuracy", "Seq2Seq",
    "beam_search", "greedy_search", "sample",
    "PAD_ID", "START_ID", "END_ID", "OOV_ID",
]
