"""What the sequence-to-sequence pipelines (`dates`, `bible-modernize`) share:
model construction, training, batched decoding, heat maps and export.

Training is crash-safe (`kerasrnn.training`): kill a run and rerun the same
command to resume from the last finished epoch (each epoch's batch order is
a function of `(--seed, epoch)`); a run that trains two models (`dates`)
reloads the one already trained.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from kerasrnn.data import translation
from kerasrnn.layers import GRUCell
from kerasrnn.layers import LSTMCell
from kerasrnn.layers import SimpleRNNCell
from kerasrnn.layers.bahdanau_attention import BahdanauAttention
from kerasrnn.layers.luong_attention import LuongAttention
from kerasrnn.seq2seq import Decoder
from kerasrnn.seq2seq import Encoder
from kerasrnn.seq2seq import MaskedTokenAccuracy
from kerasrnn.seq2seq import Seq2Seq
from kerasrnn.seq2seq import beam_search
from kerasrnn.seq2seq import greedy_search
from kerasrnn.seq2seq.export import export_translator
from kerasrnn import training
from kerasrnn.pipelines import cli_training

CELLS = {"lstm": LSTMCell, "gru": GRUCell, "simple_rnn": SimpleRNNCell}
ATTENTIONS = ("bahdanau", "luong", "none")
#: `--strategy` values: the subclassed `Seq2Seq` is not set up for replicas.
STRATEGIES = ("none",)


def add_model_arguments(parser, units, embedding_dim, cell="lstm", bidirectional=True,
                        learning_rate=2e-3):
    parser.add_argument("--units", type=int, default=units, help="encoder units per direction (default: %(default)s)")
    parser.add_argument("--embedding-dim", type=int, default=embedding_dim, help="(default: %(default)s)")
    parser.add_argument("--cell", choices=sorted(CELLS), default=cell, help="RNN cell of encoder and decoder (default: %(default)s)")
    parser.add_argument("--attention", choices=ATTENTIONS[:2], default="luong",
                        help="attention of the attention model (default: %(default)s)")
    parser.add_argument("--unidirectional", action="store_true", default=not bidirectional,
                        help="read the source in one direction only")
    parser.add_argument("--learning-rate", type=float, default=learning_rate,
                        help="Adam (default: %(default)s)")
    parser.add_argument("--beam-width", type=int, default=4, help="(default: %(default)s)")
    parser.add_argument("--length-penalty", type=float, default=0.6, help="GNMT alpha (default: %(default)s)")
    cli_training.add_training_arguments(parser, STRATEGIES)


def check_arguments(args):
    """Validates the training options and turns on op determinism."""
    cli_training.check_arguments(args, STRATEGIES)
    training.enable_determinism(args.seed, cli_training.jit_compile(args))


def build_model(source_vocab, target_vocab, args, attention, copy_attention=False):
    """A `Seq2Seq`; `attention` is `"bahdanau"`, `"luong"` or `"none"`;
    `copy_attention` needs one vocabulary for both sides."""
    bidirectional = not args.unidirectional
    encoder = Encoder(len(source_vocab), args.embedding_dim, args.units,
                      bidirectional=bidirectional, cell=args.cell)
    units = encoder.memory_dim
    if attention == "bahdanau":
        mechanism = BahdanauAttention(units, normalize=True)
    elif attention == "luong":
        mechanism = LuongAttention("general", scale=True)
    else:
        mechanism = None
    decoder = Decoder(len(target_vocab), args.embedding_dim, CELLS[args.cell](units),
                      attention=mechanism, copy_attention=copy_attention)
    model = Seq2Seq(encoder, decoder, name=f"seq2seq_{attention}")
    model.build(((None, None), (None, None)))  # so that a backup can be loaded before `fit`
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate, clipnorm=5.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
        metrics=[MaskedTokenAccuracy()],
        jit_compile=cli_training.jit_compile(args),
    )
    return model


def train(model, train_arrays, valid_arrays, args, epochs, history_path, stage=None):
    """Trains crash-safely (`training.fit`; `stage` names the model when a run
    trains several); returns the history `{metric: [per-epoch values]}`.
    Each epoch visits the pairs in an order that is a function of
    `(args.seed, epoch)`, in batches trimmed like `translation.make_dataset`'s."""
    source_ids, target_in_ids, target_out_ids = train_arrays
    epoch_batches, steps = training.array_epoch_batches(
        ((source_ids, target_in_ids), target_out_ids), args.batch_size, args.seed,
        transform=translation._trim,  # drops all-padding columns, as make_dataset does
    )
    valid_ds = translation.make_dataset(*valid_arrays, args.batch_size)
    return training.fit(model, epoch_batches, steps, epochs, validation_data=valid_ds, stage=stage,
                        output=args.output, fresh=args.fresh, logdir=args.logdir, progress=args.progress,
                        history_path=history_path)


class Decoding:
    """Batched greedy / beam decoding of id arrays through one traced graph."""

    def __init__(self, model, max_length, beam_width=None, length_penalty=0.0):
        self.max_length = max_length
        if beam_width is None:
            self.fn = tf.function(lambda x: greedy_search(model, x, max_length))
        else:
            def fn(x):
                result = beam_search(model, x, beam_width, max_length, length_penalty=length_penalty)
                return {k: (v[:, 0] if v is not None else None) for k, v in result.items()}

            self.fn = tf.function(fn)

    def __call__(self, source_ids, batch_size=256):
        ids, attention = [], []
        for start in range(0, len(source_ids), batch_size):
            out = self.fn(tf.constant(source_ids[start:start + batch_size]))
            ids.append(out["ids"].numpy())
            if out["attention"] is not None:
                attention.extend(out["attention"].numpy())
        return np.concatenate(ids), attention


def decode_strings(vocab, ids, sources=None, attention=None, max_source_length=None):
    """Output strings of id rows; with `sources` and `attention`, `<unk>`
    outputs become the most-attended source token (as in the export)."""
    if sources is None:
        return [s.decode("utf-8") for s in vocab.decode(ids)]
    tokens = translation.source_tokens(sources, vocab.level, max_source_length)
    return [s.decode("utf-8") for s in vocab.decode(ids, tokens, np.asarray(attention))]


def write_heatmaps(output, prefix, sources, source_vocab, target_vocab, source_ids, ids,
                   attention, count=4):
    """Attention heat maps of the first `count` examples; returns the paths."""
    from kerasrnn.seq2seq.plots import plot_attention

    paths = []
    for i in range(min(count, len(attention))):
        source_tokens = [t.decode("utf-8") for t in
                         translation.tokenize([sources[i]], source_vocab.level)[0].numpy()]
        source_len = int(np.sum(source_ids[i] != 0))  # tokens kept + end
        source_tokens = source_tokens[: source_len - 1] + ["</s>"]
        row = ids[i]
        out_len = int(np.argmax(row == translation.END_ID)) + 1 if (row == translation.END_ID).any() \
            else len(row)
        target_tokens = [target_vocab.tokens[t] for t in row[:out_len]]
        path = os.path.join(output, f"{prefix}_{i}.png")
        plot_attention(attention[i][:out_len, :source_len], source_tokens, target_tokens, path,
                       title=sources[i][:80])
        paths.append(os.path.basename(path))
    return paths


def save_models(output, model, source_vocab, target_vocab, max_source_length, max_length,
                beam_width, length_penalty, name="model", replace_unknown=False):
    """`.keras` file of the training model and the `translate` SavedModel."""
    model.save(os.path.join(output, f"{name}.keras"))
    export_dir = os.path.join(output, "export")
    export_translator(export_dir, model, source_vocab, target_vocab, max_source_length,
                      max_length, beam_width=beam_width, length_penalty=length_penalty,
                      replace_unknown=replace_unknown)
    return export_dir


def check_export(export_dir, sources, expected, beam_expected=None):
    """Fractions of `sources` for which the reloaded SavedModel reproduces the
    in-process greedy (and beam) translations."""
    loaded = tf.saved_model.load(export_dir)
    got = [s.decode("utf-8") for s in loaded.translate(tf.constant(sources))["translations"].numpy()]
    result = {"export_greedy_agreement": float(np.mean([a == b for a, b in zip(got, expected)]))}
    if beam_expected is not None:
        got = [s.decode("utf-8") for s in
               loaded.translate_beam(tf.constant(sources))["translations"].numpy()]
        result["export_beam_agreement"] = float(np.mean([a == b for a, b in zip(got, beam_expected)]))
    return result
