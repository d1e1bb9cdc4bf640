"""Decoding any decoder cell: samplers, `BasicDecoder`, `BeamSearchDecoder`, `dynamic_decode`.

The tfa.seq2seq decoding API in keras.ops: a decoder wraps any Keras or
kerasrnn RNN cell (`cell(inputs, states, training=None) -> (output,
new_states)`, `state_size`, `output_size`), e.g. an `AttentionWrapper`, and
`dynamic_decode` runs it in one `keras.ops.while_loop` that XLA compiles.
"""

from kerasrnn.seq2seq.decoding.base import BaseDecoder
from kerasrnn.seq2seq.decoding.base import dynamic_decode
from kerasrnn.seq2seq.decoding.basic_decoder import BasicDecoder
from kerasrnn.seq2seq.decoding.basic_decoder import BasicDecoderOutput
from kerasrnn.seq2seq.decoding.beam_ops import COVERAGE_PENALTY_SCOPES
from kerasrnn.seq2seq.decoding.beam_ops import coverage_penalty
from kerasrnn.seq2seq.decoding.beam_ops import gather_tree
from kerasrnn.seq2seq.decoding.beam_ops import gather_tree_from_array
from kerasrnn.seq2seq.decoding.beam_ops import length_penalty
from kerasrnn.seq2seq.decoding.beam_ops import ngram_blocked_tokens
from kerasrnn.seq2seq.decoding.beam_ops import tile_batch
from kerasrnn.seq2seq.decoding.beam_search_decoder import BeamSearchDecoder
from kerasrnn.seq2seq.decoding.beam_search_decoder import BeamSearchDecoderOutput
from kerasrnn.seq2seq.decoding.beam_search_decoder import BeamSearchDecoderState
from kerasrnn.seq2seq.decoding.beam_search_decoder import FinalBeamSearchDecoderOutput
from kerasrnn.seq2seq.decoding.beam_search_decoder import beam_search_step
from kerasrnn.seq2seq.decoding.samplers import CustomSampler
from kerasrnn.seq2seq.decoding.samplers import GreedyEmbeddingSampler
from kerasrnn.seq2seq.decoding.samplers import InferenceSampler
from kerasrnn.seq2seq.decoding.samplers import SampleEmbeddingSampler
from kerasrnn.seq2seq.decoding.samplers import Sampler
from kerasrnn.seq2seq.decoding.samplers import ScheduledEmbeddingTrainingSampler
from kerasrnn.seq2seq.decoding.samplers import ScheduledOutputTrainingSampler
from kerasrnn.seq2seq.decoding.samplers import TrainingSampler

__all__ = [
    "COVERAGE_PENALTY_SCOPES", "BaseDecoder", "BasicDecoder", "BasicDecoderOutput", "BeamSearchDecoder",
    "BeamSearchDecoderOutput", "BeamSearchDecoderState", "FinalBeamSearchDecoderOutput",
    "CustomSampler", "GreedyEmbeddingSampler", "InferenceSampler", "SampleEmbeddingSampler", "Sampler",
    "ScheduledEmbeddingTrainingSampler", "ScheduledOutputTrainingSampler", "TrainingSampler",
    "beam_search_step", "coverage_penalty", "dynamic_decode", "gather_tree", "gather_tree_from_array",
    "length_penalty", "ngram_blocked_tokens", "tile_batch",
]
