"""Decoding speed: one compiled loop vs a Python loop calling the decoder per token.

Measures, in one process and on the same randomly initialised model and batch:

* `python_loop`: eager Python `for` loop over time steps, one
  `model.decode_step` call per generated token (batched), bookkeeping in NumPy
  (greedy), and the same for beam search (top-k over `beam * vocab` in NumPy);
* `compiled`: kerasrnn's `greedy_search` / `beam_search` (one
  `keras.ops.while_loop`) under `tf.function` (graph) and with
  `jit_compile=True` (XLA).

All variants must produce the same token ids (checked). Throughput is counted
in generated tokens (sum of hypothesis lengths, end token included; a beam
counts all `beam_width` hypotheses) per second, from the fastest of
`--repeats` timed runs after one warm-up run (compilation excluded); the best
run is the estimate least disturbed by other processes on a shared machine
(the median is recorded too).

    python benchmarks/seq2seq_decoding.py --output benchmarks/results/seq2seq_decoding.json
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerasrnn.layers import LSTMCell  # noqa: E402
from kerasrnn.layers.luong_attention import LuongAttention  # noqa: E402
from kerasrnn.seq2seq import Decoder  # noqa: E402
from kerasrnn.seq2seq import Encoder  # noqa: E402
from kerasrnn.seq2seq import Seq2Seq  # noqa: E402
from kerasrnn.seq2seq import beam_search  # noqa: E402
from kerasrnn.seq2seq import greedy_search  # noqa: E402

START, END, PAD = 1, 2, 0
NEG = -1e9


def python_greedy(model, source, max_length):
    encoded, states = model.encode(source)
    batch = source.shape[0]
    tokens = np.full((batch,), START, "int32")
    finished = np.zeros((batch,), bool)
    ids = np.zeros((batch, max_length), "int32")
    lengths = np.zeros((batch,), "int32")
    for t in range(max_length):
        logits, states, _ = model.decode_step(tokens, states, encoded)
        logits = np.array(logits)
        logits[:, [PAD, START]] = NEG
        token = np.where(finished, PAD, logits.argmax(-1)).astype("int32")
        ids[:, t] = token
        lengths += ~finished
        finished |= token == END
        tokens = token
        if finished.all():
            break
    return ids, lengths


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def python_beam(model, source, beam, max_length):
    encoded, states = model.encode(source)
    batch = source.shape[0]
    encoded = {k: None if v is None else keras.ops.repeat(v, beam, axis=0) for k, v in encoded.items()}
    states = [keras.ops.repeat(s, beam, axis=0) for s in states]
    log_probs = np.full((batch, beam), NEG, "float32")
    log_probs[:, 0] = 0.0
    finished = np.zeros((batch, beam), bool)
    lengths = np.zeros((batch, beam), "int32")
    ids = np.zeros((batch, beam, max_length), "int32")
    tokens = np.full((batch * beam,), START, "int32")
    offsets = np.arange(batch)[:, None] * beam
    for t in range(max_length):
        logits, states, _ = model.decode_step(tokens, states, encoded)
        logits = np.array(logits)
        logits[:, [PAD, START]] = NEG
        vocab = logits.shape[-1]
        logp = _log_softmax(logits).reshape(batch, beam, vocab)
        end_row = np.full((vocab,), NEG, "float32")
        end_row[END] = 0.0
        logp = np.where(finished[:, :, None], end_row, logp)
        total = (log_probs[:, :, None] + logp).reshape(batch, beam * vocab)
        best = np.argsort(-total, axis=1, kind="stable")[:, :beam]
        parent, token = best // vocab, best % vocab
        flat = (parent + offsets).reshape(-1)
        log_probs = np.take_along_axis(total, best, axis=1)
        parent_finished = finished.reshape(-1)[flat].reshape(batch, beam)
        lengths = (lengths + ~finished).reshape(-1)[flat].reshape(batch, beam)
        token = np.where(parent_finished, PAD, token).astype("int32")
        ids = ids.reshape(batch * beam, max_length)[flat].reshape(batch, beam, max_length)
        ids[:, :, t] = token
        states = [keras.ops.take(s, flat, axis=0) for s in states]
        finished = parent_finished | (token == END)
        tokens = token.reshape(-1)
        if finished.all():
            break
    return ids, lengths


def timed(fn, repeats):
    out = fn()  # warm-up (tracing / XLA compilation)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, min(times), times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="benchmarks/results/seq2seq_decoding.json")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--source-length", type=int, default=20)
    parser.add_argument("--max-length", type=int, default=30)
    parser.add_argument("--vocab-size", type=int, default=1000)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    model = Seq2Seq(
        Encoder(args.vocab_size, 64, args.units // 2, bidirectional=True),
        Decoder(args.vocab_size, 64, LSTMCell(args.units), attention=LuongAttention("general")),
    )
    rng = np.random.default_rng(args.seed)
    source = rng.integers(4, args.vocab_size, (args.batch_size, args.source_length)).astype("int32")
    source[:, -1] = END
    model((source, np.ones((args.batch_size, 2), "int32")))
    x = tf.constant(source)
    L, K = args.max_length, args.beam_width

    def count(lengths):
        return int(np.sum(np.asarray(lengths)))

    results = {}
    reference = {}
    runs = {
        "greedy": {
            "python_loop": lambda: python_greedy(model, source, L),
            "compiled_graph": tf.function(lambda s: greedy_search(model, s, L)),
            "compiled_xla": tf.function(lambda s: greedy_search(model, s, L), jit_compile=True),
        },
        f"beam{K}": {
            "python_loop": lambda: python_beam(model, source, K, L),
            "compiled_graph": tf.function(lambda s: beam_search(model, s, K, L)),
            "compiled_xla": tf.function(lambda s: beam_search(model, s, K, L), jit_compile=True),
        },
    }
    for search, variants in runs.items():
        results[search] = {}
        for name, fn in variants.items():
            call = fn if name == "python_loop" else (lambda fn=fn: fn(x))
            out, seconds, times = timed(call, args.repeats)
            if name == "python_loop":
                ids, lengths = out
                reference[search] = ids
            else:
                ids, lengths = np.asarray(out["ids"]), np.asarray(out["lengths"])
            tokens = count(lengths)
            results[search][name] = {
                "seconds_best": seconds,
                "seconds_median": statistics.median(times),
                "seconds_all": times,
                "generated_tokens": tokens,
                "tokens_per_second": tokens / seconds,
                "tokens_per_second_median": tokens / statistics.median(times),
                "same_ids_as_python_loop": bool(np.array_equal(ids, reference[search])),
            }
            print(f"{search:>7} {name:<15} best {seconds * 1e3:9.1f} ms  {tokens / seconds:12.0f} tokens/s"
                  f"  same ids: {results[search][name]['same_ids_as_python_loop']}", flush=True)
        base = results[search]["python_loop"]
        for name in variants:
            r = results[search][name]
            r["speedup_vs_python_loop"] = r["tokens_per_second"] / base["tokens_per_second"]
            r["speedup_vs_python_loop_median"] = (
                r["tokens_per_second_median"] / base["tokens_per_second_median"])

    report = {
        "command": "python benchmarks/seq2seq_decoding.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "config": vars(args),
        "model": "bidirectional LSTM encoder (units/2 per direction), LSTM decoder with Luong "
                 "'general' attention and input feeding, embeddings 64, random weights",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
        "results": results,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"wrote {args.output}")
    return report


if __name__ == "__main__":
    main()
