"""Human-written dates → ISO dates, character level, with and without attention.

Data are generated locally (`kerasrnn.data.dates`): 16 formats such as
"tuesday 3 march 1998", "3/3/98", "March 3rd, 1998" → "1998-03-03"; the test
set shares no input string with the training set. Two models are trained with
the same budget: an attention model (bidirectional encoder, decoder with
Luong or Bahdanau attention and input feeding) and a context-vector-only
model (the decoder sees the source only through its initial state).

Outputs: metrics.json (exact match of greedy and beam decoding, per input
length), history.csv / history_no_attention.csv, accuracy_vs_length.png,
attention_*.png heat maps, model.keras, model_no_attention.keras and export/
(a SavedModel with `translate` and `translate_beam` signatures).
"""

import os

import numpy as np

from kerasrnn.data import translation
from kerasrnn.data.dates import split_dates
from kerasrnn.pipelines import seq2seq_common as common
from kerasrnn import training

DESCRIPTION = "human-written dates -> ISO dates (char seq2seq, attention vs none)"
TARGET_LENGTH = 10  # yyyy-mm-dd


def add_arguments(parser):
    parser.add_argument("--train-size", type=int, default=30000, help="(default: %(default)s)")
    parser.add_argument("--test-size", type=int, default=2000, help="(default: %(default)s)")
    parser.add_argument("--skip-no-attention", action="store_true",
                        help="train only the attention model")
    common.add_model_arguments(parser, units=64, embedding_dim=32)


def _exact_match(predictions, targets):
    return np.array([p == t for p, t in zip(predictions, targets)], dtype=float)


def _by_length(lengths, hits):
    table = {}
    for length in sorted(set(lengths)):
        mask = np.array(lengths) == length
        table[int(length)] = {"accuracy": float(hits[mask].mean()), "count": int(mask.sum())}
    return table


def run(args):
    for name in ("train_size", "test_size", "units", "embedding_dim", "beam_width"):
        common_positive(name, getattr(args, name))
    common.check_arguments(args)
    if args.quick:
        args.train_size, args.test_size, args.units, args.embedding_dim = 512, 64, 16, 8
    epochs = args.epochs or (1 if args.quick else 5)
    args.batch_size = args.batch_size or (64 if args.quick else 128)

    train_pairs, test_pairs = split_dates(args.train_size, args.test_size, seed=args.seed)
    n_valid = max(1, len(train_pairs) // 20)
    valid_pairs, train_pairs = train_pairs[:n_valid], train_pairs[n_valid:]
    source_vocab = translation.Vocabulary.build([s for s, _ in train_pairs], "char")
    target_vocab = translation.Vocabulary.build([t for _, t in train_pairs], "char")
    max_source_length = max(len(s) for s, _ in train_pairs)
    max_length = TARGET_LENGTH + 2

    def arrays(pairs):
        return translation.encode_pairs([s for s, _ in pairs], [t for _, t in pairs],
                                        source_vocab, target_vocab, max_source_length)

    train_arrays, valid_arrays = arrays(train_pairs), arrays(valid_pairs)
    test_sources = [s for s, _ in test_pairs]
    test_targets = [t for _, t in test_pairs]
    test_ids = arrays(test_pairs)[0]
    test_lengths = [len(s) for s in test_sources]

    metrics = {
        "train_examples": len(train_pairs),
        "test_examples": len(test_pairs),
        "source_vocab_size": len(source_vocab),
        "target_vocab_size": len(target_vocab),
        "max_source_length": max_source_length,
        "epochs": epochs,
    }
    variants = [args.attention] + ([] if args.skip_no_attention else ["none"])
    curves = {}
    for variant in variants:
        suffix = "" if variant != "none" else "_no_attention"
        print(f"== training the {variant} model ({epochs} epochs) ==")
        model = common.build_model(source_vocab, target_vocab, args, variant)
        key = "attention" if variant != "none" else "no_attention"
        history = common.train(model, train_arrays, valid_arrays, args, epochs,
                               os.path.join(args.output, f"history{suffix}.csv"), stage=key)
        greedy_ids, attention = common.Decoding(model, max_length)(test_ids)
        greedy = common.decode_strings(target_vocab, greedy_ids)
        hits = _exact_match(greedy, test_targets)
        metrics[f"{key}_exact_match_greedy"] = float(hits.mean())
        metrics[f"{key}_val_token_accuracy"] = float(history["val_accuracy"][-1])
        metrics[f"{key}_exact_match_by_length"] = _by_length(test_lengths, hits)
        table = metrics[f"{key}_exact_match_by_length"]
        curves[variant if variant != "none" else "no attention"] = (
            list(table), [v["accuracy"] for v in table.values()])
        beam = None
        if variant != "none":
            beam_ids, _ = common.Decoding(model, max_length, args.beam_width,
                                          args.length_penalty)(test_ids)
            beam = common.decode_strings(target_vocab, beam_ids)
            metrics[f"{key}_exact_match_beam{args.beam_width}"] = float(
                _exact_match(beam, test_targets).mean())
            metrics["heatmaps"] = common.write_heatmaps(
                args.output, "attention", test_sources, source_vocab, target_vocab, test_ids,
                greedy_ids, attention)
            metrics["examples"] = [
                {"source": s, "target": t, "greedy": g, "beam": b}
                for s, t, g, b in list(zip(test_sources, test_targets, greedy, beam))[:8]
            ]
            export_dir = common.save_models(args.output, model, source_vocab, target_vocab,
                                            max_source_length, max_length, args.beam_width,
                                            args.length_penalty)
            metrics.update(common.check_export(export_dir, test_sources[:64], greedy[:64],
                                               beam[:64]))
        else:
            model.save(os.path.join(args.output, "model_no_attention.keras"))
    from kerasrnn.seq2seq.plots import plot_accuracy_by_length

    plot_accuracy_by_length(curves, os.path.join(args.output, "accuracy_vs_length.png"),
                            title="dates: exact match vs input length (greedy)")
    training.remove_backup(args.output)  # both models are trained
    return metrics


def common_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`--{name.replace('_', '-')}` must be a positive integer. "
                         f"Received: {name}={value!r}")
