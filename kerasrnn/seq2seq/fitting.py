"""Building and crash-safe training of an attention `Seq2Seq` on id arrays.

`build_seq2seq` composes an `Encoder`, an attention mechanism and a
`Decoder` into a compiled, built `Seq2Seq`; `fit_seq2seq` trains it with
`kerasrnn.training.fit` on the `(source_ids, target_in_ids, target_out_ids)`
arrays of `kerasrnn.data.translation.encode_pairs`, each epoch visiting the
pairs in an order that is a function of `(seed, epoch)`, so that a run
killed and restarted ends like an uninterrupted one.

Example:

    model = build_seq2seq(len(source_vocab), len(target_vocab), units=64,
                          embedding_dim=32, attention="luong")
    history = fit_seq2seq(model, train_arrays, valid_arrays, epochs=5,
                          batch_size=128, output="runs/mine")
"""

import keras

from kerasrnn import training
from kerasrnn.data import translation
from kerasrnn.layers import get_cell
from kerasrnn.layers.bahdanau_attention import BahdanauAttention
from kerasrnn.layers.luong_attention import LuongAttention
from kerasrnn.seq2seq.decoder import Decoder
from kerasrnn.seq2seq.encoder import Encoder
from kerasrnn.seq2seq.seq2seq import MaskedTokenAccuracy
from kerasrnn.seq2seq.seq2seq import Seq2Seq

#: Values of `build_seq2seq`'s `attention`.
ATTENTIONS = ("bahdanau", "luong", "none")


def build_seq2seq(source_vocab_size, target_vocab_size, *, units, embedding_dim, cell="lstm",
                  bidirectional=True, attention="luong", copy_attention=False, learning_rate=2e-3,
                  clip_norm=5.0, jit_compile="auto"):
    """A compiled, built `Seq2Seq`.

    The encoder reads the source with `units` per direction; the decoder's
    cell has the encoder memory's width. `attention` is `"bahdanau"`
    (normalised additive), `"luong"` (scaled general) or `"none"` (the
    decoder sees the source only through its initial state).
    `copy_attention=True` makes the decoder a pointer-generator, which needs
    one vocabulary for both sides. Trained with Adam (`clip_norm`: per-
    variable gradient clipping) on sparse cross-entropy that ignores padding
    (id 0), with `MaskedTokenAccuracy` as its `accuracy`.

    The model is built, so a backup can be loaded before `fit`.
    """
    if attention not in ATTENTIONS:
        raise ValueError(f"`attention` must be one of {ATTENTIONS}. Received: attention={attention!r}")
    encoder = Encoder(source_vocab_size, embedding_dim, units, bidirectional=bidirectional, cell=cell)
    memory_units = encoder.memory_dim
    if attention == "bahdanau":
        mechanism = BahdanauAttention(memory_units, normalize=True)
    elif attention == "luong":
        mechanism = LuongAttention("general", scale=True)
    else:
        mechanism = None
    decoder = Decoder(target_vocab_size, embedding_dim, get_cell(cell, argument="cell")(memory_units),
                      attention=mechanism, copy_attention=copy_attention)
    model = Seq2Seq(encoder, decoder, name=f"seq2seq_{attention}")
    model.build(((None, None), (None, None)))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=clip_norm),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
        metrics=[MaskedTokenAccuracy()],
        jit_compile=jit_compile,
    )
    return model


def fit_seq2seq(model, train_arrays, validation_arrays, epochs, *, batch_size, output, seed=0,
                fresh=False, logdir=None, progress="auto", stage=None, history_path=None):
    """Trains `model` crash-safely (`kerasrnn.training.fit`); returns the
    history `{metric: [per-epoch values]}`.

    `train_arrays` and `validation_arrays` are `(source_ids, target_in_ids,
    target_out_ids)`. Each epoch visits the training pairs in an order that
    is a function of `(seed, epoch)`, in batches whose all-padding columns
    are trimmed (as `translation.make_dataset` does). `stage` names the
    model when a run trains several (its own backup, kept until
    `training.remove_backup`).
    """
    source_ids, target_in_ids, target_out_ids = train_arrays
    epoch_batches, steps = training.array_epoch_batches(
        ((source_ids, target_in_ids), target_out_ids), batch_size, seed, transform=translation._trim,
    )
    validation = translation.make_dataset(*validation_arrays, batch_size)
    return training.fit(model, epoch_batches, steps, epochs, validation_data=validation, stage=stage,
                        output=output, fresh=fresh, logdir=logdir, progress=progress,
                        history_path=history_path)
