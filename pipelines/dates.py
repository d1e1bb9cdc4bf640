"""dates: human-written dates → ISO dates, character level, with and without attention.

Data are generated locally (`kerasrnn.data.dates`): 16 formats such as
"tuesday 3 march 1998", "3/3/98", "March 3rd, 1998" → "1998-03-03"; the test
set shares no input string with the training set. Two models are trained with
the same budget: an attention model (bidirectional encoder, decoder with
Luong or Bahdanau attention and input feeding) and, unless `--no-baseline`,
a context-vector-only model (the decoder sees the source only through its
initial state).

Training is crash-safe: kill a run and rerun the same command to reload the
model already trained and resume the other from its last finished epoch.

Outputs: metrics.json (exact match of greedy and beam decoding, per input
length), history.csv / history_no_attention.csv, accuracy_vs_length.png,
attention_*.png heat maps, model.keras, model_no_attention.keras and export/
(a SavedModel with `translate` and `translate_beam` signatures).

Example: kerasrnn dates --quick
"""

import dataclasses
import os

from kerasrnn.pipelines.config import option
from kerasrnn.pipelines.seq2seq_common import Seq2SeqConfig
from kerasrnn.validation import check_positive_int

DESCRIPTION = "human-written dates -> ISO dates (char seq2seq, attention vs none)"
TARGET_LENGTH = 10  # yyyy-mm-dd


@dataclasses.dataclass
class Config(Seq2SeqConfig):
    """dates' options."""

    train_size: int = option(30000, "generated training dates (a twentieth held out for validation)",
                             quick=512, check=check_positive_int)
    test_size: int = option(2000, "generated test dates", quick=64, check=check_positive_int)
    baseline: bool = option(True, "also train the model without attention, on the same budget; on by default")
    units: int = option(64, "encoder units per direction", quick=16, check=check_positive_int)
    embedding_dim: int = option(32, "character embedding size", quick=8, check=check_positive_int)
    epochs: int = option(5, "training epochs of each model", quick=1, check=check_positive_int)
    batch_size: int = option(128, "batch size", quick=64, check=check_positive_int)


def run(config):
    from kerasrnn import training
    from kerasrnn.data import translation
    from kerasrnn.data.dates import split_dates
    from kerasrnn.pipelines import seq2seq_common as common
    from kerasrnn.seq2seq import evaluation
    from kerasrnn.seq2seq.plots import plot_accuracy_by_length

    training.enable_determinism(config.seed, config.jit)
    train_pairs, test_pairs = split_dates(config.train_size, config.test_size, seed=config.seed)
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

    metrics = {
        "train_examples": len(train_pairs),
        "test_examples": len(test_pairs),
        "source_vocab_size": len(source_vocab),
        "target_vocab_size": len(target_vocab),
        "max_source_length": max_source_length,
        "epochs": config.epochs,
    }
    curves = {}
    for variant in [config.attention] + (["none"] if config.baseline else []):
        key = "attention" if variant != "none" else "no_attention"
        suffix = "" if variant != "none" else "_no_attention"
        print(f"== training the {variant} model ({config.epochs} epochs) ==")
        model = common.build_model(config, source_vocab, target_vocab, variant)
        history = common.train(config, model, train_arrays, valid_arrays, f"history{suffix}.csv", stage=key)
        greedy_ids, attention = evaluation.BatchedSearch(model, max_length)(test_ids)
        greedy = evaluation.decode_strings(target_vocab, greedy_ids)
        hits = evaluation.exact_match(greedy, test_targets)
        table = evaluation.accuracy_by_length([len(s) for s in test_sources], hits)
        metrics[f"{key}_exact_match_greedy"] = float(hits.mean())
        metrics[f"{key}_val_token_accuracy"] = float(history["val_accuracy"][-1])
        metrics[f"{key}_exact_match_by_length"] = table
        curves[variant if variant != "none" else "no attention"] = (
            list(table), [v["accuracy"] for v in table.values()])
        if variant == "none":
            model.save(os.path.join(config.output, "model_no_attention.keras"))
            continue
        beam_ids, _ = evaluation.BatchedSearch(model, max_length, config.beam_width, config.length_penalty,
                                               config.beam_options())(test_ids)
        beam = evaluation.decode_strings(target_vocab, beam_ids)
        metrics[f"{key}_exact_match_beam{config.beam_width}"] = float(
            evaluation.exact_match(beam, test_targets).mean())
        metrics["heatmaps"] = evaluation.attention_heatmaps(
            config.output, "attention", test_sources, source_vocab, target_vocab, test_ids, greedy_ids,
            attention)
        metrics["examples"] = [
            {"source": s, "target": t, "greedy": g, "beam": b}
            for s, t, g, b in list(zip(test_sources, test_targets, greedy, beam))[:8]
        ]
        export_dir = common.save_and_export(config, model, source_vocab, target_vocab, max_source_length,
                                            max_length)
        metrics.update(evaluation.export_agreement(export_dir, test_sources[:64], greedy[:64], beam[:64]))
    plot_accuracy_by_length(curves, os.path.join(config.output, "accuracy_vs_length.png"),
                            title="dates: exact match vs input length (greedy)")
    training.remove_backup(config.output)  # every model is trained
    return metrics
