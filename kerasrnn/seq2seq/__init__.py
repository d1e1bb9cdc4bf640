"""Encoder–decoder models with attention, and greedy/sampling/beam search;
the `tfa.seq2seq` toolkit for any cell (`AttentionWrapper` and its attention
mechanisms, `sequence_loss`/`SequenceLoss`).

The reserved target ids (`PAD_ID`, `START_ID`, `END_ID`, `OOV_ID`) are those
of `kerasrnn.data.ids`, re-exported here.
"""

from kerasrnn.data.ids import END_ID
from kerasrnn.data.ids import OOV_ID
from kerasrnn.data.ids import PAD_ID
from kerasrnn.data.ids import START_ID

from kerasrnn.seq2seq.attention import AttentionMechanism
from kerasrnn.seq2seq.attention import AttentionWrapper
from kerasrnn.seq2seq.attention import AttentionWrapperState
from kerasrnn.seq2seq.attention import BahdanauAttention
from kerasrnn.seq2seq.attention import BahdanauMonotonicAttention
from kerasrnn.seq2seq.attention import LuongAttention
from kerasrnn.seq2seq.attention import LuongMonotonicAttention
from kerasrnn.seq2seq.attention import hardmax
from kerasrnn.seq2seq.attention import monotonic_attention
from kerasrnn.seq2seq.attention import safe_cumprod
from kerasrnn.seq2seq.decoder import Decoder
from kerasrnn.seq2seq.decoding import BaseDecoder
from kerasrnn.seq2seq.decoding import BasicDecoder
from kerasrnn.seq2seq.decoding import BasicDecoderOutput
from kerasrnn.seq2seq.decoding import BeamSearchDecoder
from kerasrnn.seq2seq.decoding import BeamSearchDecoderOutput
from kerasrnn.seq2seq.decoding import BeamSearchDecoderState
from kerasrnn.seq2seq.decoding import FinalBeamSearchDecoderOutput
from kerasrnn.seq2seq.decoding import CustomSampler
from kerasrnn.seq2seq.decoding import GreedyEmbeddingSampler
from kerasrnn.seq2seq.decoding import InferenceSampler
from kerasrnn.seq2seq.decoding import SampleEmbeddingSampler
from kerasrnn.seq2seq.decoding import Sampler
from kerasrnn.seq2seq.decoding import ScheduledEmbeddingTrainingSampler
from kerasrnn.seq2seq.decoding import ScheduledOutputTrainingSampler
from kerasrnn.seq2seq.decoding import TrainingSampler
from kerasrnn.seq2seq.decoding import dynamic_decode
from kerasrnn.seq2seq.decoding import gather_tree
from kerasrnn.seq2seq.decoding import gather_tree_from_array
from kerasrnn.seq2seq.decoding import tile_batch
from kerasrnn.seq2seq.encoder import Encoder
from kerasrnn.seq2seq.search import beam_search
from kerasrnn.seq2seq.search import greedy_search
from kerasrnn.seq2seq.search import sample
from kerasrnn.seq2seq.seq2seq import MaskedTokenAccuracy
from kerasrnn.seq2seq.seq2seq import Seq2Seq
from kerasrnn.seq2seq.sequence_loss import SequenceLoss
from kerasrnn.seq2seq.sequence_loss import sequence_loss

__all__ = [
    "Decoder", "Encoder", "MaskedTokenAccuracy", "Seq2Seq",
    "beam_search", "greedy_search", "sample",
    "BaseDecoder", "BasicDecoder", "BasicDecoderOutput", "BeamSearchDecoder", "BeamSearchDecoderOutput",
    "BeamSearchDecoderState", "FinalBeamSearchDecoderOutput", "CustomSampler", "GreedyEmbeddingSampler",
    "InferenceSampler", "SampleEmbeddingSampler", "Sampler", "ScheduledEmbeddingTrainingSampler",
    "ScheduledOutputTrainingSampler", "TrainingSampler", "dynamic_decode", "gather_tree",
    "gather_tree_from_array", "tile_batch",
    "PAD_ID", "START_ID", "END_ID", "OOV_ID",
    # tfa.seq2seq: attention for any cell, sequence loss.
    "AttentionMechanism", "AttentionWrapper", "AttentionWrapperState", "BahdanauAttention",
    "BahdanauMonotonicAttention", "LuongAttention", "LuongMonotonicAttention", "SequenceLoss",
    "hardmax", "monotonic_attention", "safe_cumprod", "sequence_loss",
]
