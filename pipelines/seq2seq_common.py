"""What the sequence-to-sequence pipelines (`dates`, `bible-modernize`)
share: their model options, and building, training and exporting a model
from them (`kerasrnn.seq2seq.fitting`, `kerasrnn.seq2seq.export`)."""

import dataclasses
import os

from kerasrnn.pipelines.config import TrainingConfig
from kerasrnn.pipelines.config import option
from kerasrnn.validation import check_non_negative_int
from kerasrnn.validation import check_non_negative_number
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number


@dataclasses.dataclass
class Seq2SeqConfig(TrainingConfig):
    """Options of an attention encoder-decoder; a pipeline's `Config`
    overrides the defaults."""

    BACKENDS = ("tensorflow",)
    BACKENDS_BECAUSE = "its translator export traces the decoder's search with tf.function"

    units: int = option(64, "encoder units per direction (the decoder gets the encoder memory's width)",
                        check=check_positive_int)
    embedding_dim: int = option(32, "token embedding size", check=check_positive_int)
    cell: str = option("lstm", "recurrent cell of encoder and decoder",
                       choices=("lstm", "gru", "simple_rnn", "lnlstm"))
    attention: str = option("luong", "attention of the attention model", choices=("bahdanau", "luong"))
    bidirectional: bool = option(True, "read the source in both directions; on by default")
    # bible-modernize without copying: 2e-3 left a 64-unit model stuck at the
    # unigram loss (~5.7 nats) for 4 epochs where 1e-3 learned; with copy
    # attention (its default) 2e-3 learns from the first epoch.
    learning_rate: float = option(2e-3, "Adam learning rate", check=check_positive_number)
    beam_width: int = option(4, "beam width of beam-search decoding", check=check_positive_int)
    length_penalty: float = option(0.6, "GNMT length-penalty alpha of beam search",
                                   check=check_non_negative_number)
    length_penalty_type: str = option("gnmt", "beam ranking: gnmt (length penalty alpha) or average "
                                      "(mean log-probability per token)", choices=("gnmt", "average"))
    coverage_penalty: float = option(0.0, "GNMT coverage-penalty beta of beam search (0: none)",
                                     check=check_non_negative_number)
    coverage_penalty_scope: str = option("finished", "hypotheses the coverage penalty scores: finished "
                                         "(tfa.seq2seq, GNMT) or all (every live one at every step, "
                                         "OpenNMT-py's stepwise penalty)", choices=("finished", "all"))
    block_ngram_repeat: int = option(0, "beam search never repeats an n-gram of this length (0: no blocking)",
                                     check=check_non_negative_int)
    min_length: int = option(0, "beam search emits at least this many tokens before the end token",
                             check=check_non_negative_int)

    def beam_options(self):
        """The further `beam_search` options (`kerasrnn.seq2seq.search`)
        these options ask for, for evaluation and for the export."""
        return {name: getattr(self, name) for name in BEAM_OPTION_FIELDS}

    def default_beam_options(self):
        """`beam_options()` with every option at its default (plain beam
        search), to compare the chosen options against."""
        defaults = {field.name: field.default for field in dataclasses.fields(Seq2SeqConfig)}
        return {name: defaults[name] for name in BEAM_OPTION_FIELDS}


#: The options of `Seq2SeqConfig` that are `beam_search` options under the
#: same names (`kerasrnn.seq2seq.search.BEAM_OPTIONS`).
BEAM_OPTION_FIELDS = ("coverage_penalty", "block_ngram_repeat", "min_length", "length_penalty_type",
                      "coverage_penalty_scope")


def build_model(config, source_vocab, target_vocab, attention, copy_attention=False):
    """A compiled `Seq2Seq` with `attention` ("bahdanau", "luong" or "none")."""
    from kerasrnn.seq2seq.fitting import build_seq2seq

    return build_seq2seq(len(source_vocab), len(target_vocab), units=config.units,
                         embedding_dim=config.embedding_dim, cell=config.cell,
                         bidirectional=config.bidirectional, attention=attention,
                         copy_attention=copy_attention, learning_rate=config.learning_rate,
                         jit_compile=config.jit)


def train(config, model, train_arrays, validation_arrays, history_file, stage=None):
    """Trains crash-safely into the run directory; the history."""
    from kerasrnn.seq2seq.fitting import fit_seq2seq

    return fit_seq2seq(model, train_arrays, validation_arrays, config.epochs, batch_size=config.batch_size,
                       seed=config.seed, output=config.output, fresh=config.fresh, logdir=config.logdir,
                       progress=config.progress, stage=stage,
                       history_path=os.path.join(config.output, history_file))


def save_and_export(config, model, source_vocab, target_vocab, max_source_length, max_length,
                    replace_unknown=False):
    """model.keras and export/ (the `translate` / `translate_beam`
    SavedModel); the export directory."""
    from kerasrnn.seq2seq.export import export_translator

    model.save(os.path.join(config.output, "model.keras"))
    return export_translator(os.path.join(config.output, "export"), model, source_vocab, target_vocab,
                             max_source_length, max_length, beam_width=config.beam_width,
                             length_penalty=config.length_penalty, replace_unknown=replace_unknown,
                             beam_options=config.beam_options())
