"""Encoder–decoder models with attention, and greedy/sampling/beam search."""

from kerasrnn.seq2seq.decoder import Decoder
from kerasrnn.seq2seq.encoder import Encoder
from kerasrnn.seq2seq.search import beam_search
from kerasrnn.seq2seq.search import greedy_search
from kerasrnn.seq2seq.search import sample
from kerasrnn.seq2seq.seq2seq import MaskedTokenAccuracy
from kerasrnn.seq2seq.seq2seq import Seq2Seq

#: Reserved ids shared by the data helpers and the search functions.
PAD_ID, START_ID, END_ID, OOV_ID = 0, 1, 2, 3

__all__ = [
    "Decoder", "Encoder", "MaskedTokenAccuracy", "Seq2Seq",
    "beam_search", "greedy_search", "sample",
    "PAD_ID", "START_ID", "END_ID", "OOV_ID",
]
