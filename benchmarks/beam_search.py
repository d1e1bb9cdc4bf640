"""Beam search speed: kerasrnn's compiled `BeamSearchDecoder` vs a Python step loop and keras-hub.

One process, one randomly initialised model: an `AttentionWrapper` around an
`LSTMCell(units)` with `LuongAttention` over a random memory (batch,
source_length, units), an embedding and a `Dense(vocab)` output layer. The
same decode (batch, beam width, `max_steps` steps) runs as

* `compiled_xla`: `BeamSearchDecoder` called inside
  `tf.function(jit_compile=True)` (one `while_loop`);
* `compiled_graph`: the same inside `tf.function` without XLA;
* `python_loop`: the same decoder's `initialize` and `step` called from an
  eager Python `for` loop (what a step-by-step decoder without a compiled
  loop does);
* `keras_hub_beam_sampler` (if keras-hub imports): `keras_hub.samplers.
  BeamSampler` over the same cell, embedding and output layer, also under
  `tf.function(jit_compile=True)`. It has no end-token handling and no
  penalties; with random weights no hypothesis ends, so both run
  `max_steps` steps of plain beam search, and their best hypotheses are
  compared.

The three run in alternation (`kerasrnn.analysis.time_alternating`) after
one warm-up call each (compilation excluded), so load from other processes
hits all alike; the medians and their ratios are reported.

    python benchmarks/beam_search.py --output benchmarks/results/beam_search.json

keras-hub is not a kerasrnn dependency; install it anywhere on `PYTHONPATH`
(e.g. `pip install --no-deps --target /tmp/kh keras-hub tokenizers` and
`PYTHONPATH=/tmp/kh`).
"""

import argparse
import os
import platform
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.benchutil import paired_ratio_quartiles  # noqa: E402
from benchmarks.benchutil import source_commit  # noqa: E402
from benchmarks.benchutil import write_report  # noqa: E402
from kerasrnn.analysis import time_alternating  # noqa: E402
from kerasrnn.seq2seq.attention import AttentionWrapper  # noqa: E402
from kerasrnn.seq2seq.attention import AttentionWrapperState  # noqa: E402
from kerasrnn.seq2seq.attention import LuongAttention  # noqa: E402
from kerasrnn.seq2seq.decoding import BeamSearchDecoder  # noqa: E402
from kerasrnn.seq2seq.decoding import BeamSearchDecoderOutput  # noqa: E402
from kerasrnn.seq2seq.decoding import tile_batch  # noqa: E402

START, END = 1, 2


def build(args):
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    memory = rng.normal(size=(args.batch_size, args.source_length, args.units)).astype("float32")
    mechanism = LuongAttention(args.units, memory=tile_batch(memory, args.beam_width))
    cell = AttentionWrapper(keras.layers.LSTMCell(args.units), mechanism, attention_layer_size=args.units)
    embedding = (rng.normal(size=(args.vocab_size, args.embedding_dim)) * 0.1).astype("float32")
    output_layer = keras.layers.Dense(args.vocab_size)
    decoder = BeamSearchDecoder(cell, args.beam_width, output_layer=output_layer,
                                maximum_iterations=args.max_steps)
    return cell, output_layer, embedding, decoder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="benchmarks/results/beam_search.json")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--beam-width", type=int, default=5)
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--max-steps", type=int, default=50)
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--embedding-dim", type=int, default=256)
    parser.add_argument("--source-length", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-keras-hub", action="store_true")
    args = parser.parse_args(argv)

    cell, output_layer, embedding, decoder = build(args)
    batch, beam = args.batch_size, args.beam_width
    start = tf.fill([batch], START)
    tiled_state = cell.get_initial_state(batch_size=batch * beam)
    embedding_t = tf.constant(embedding)

    def decode(e):
        outputs, final, lengths = decoder(e, start_tokens=start, end_token=END, initial_state=tiled_state)
        return outputs.predicted_ids[:, :, 0], final.log_probs[:, 0], lengths

    compiled = tf.function(decode, jit_compile=True)
    graph = tf.function(decode)

    def python_loop():
        finished, inputs, state = decoder.initialize(embedding_t, start_tokens=start, end_token=END,
                                                     initial_state=tiled_state)
        parents, tokens = [], []
        for t in range(args.max_steps):
            out, state, inputs, finished = decoder.step(tf.constant(t), inputs, state)
            parents.append(out.parent_ids)
            tokens.append(out.predicted_ids)
            if bool(tf.reduce_all(finished)):
                break
        final_ids, _ = decoder.finalize(
            BeamSearchDecoderOutput((), tf.stack(tokens), tf.stack(parents)), state, None)
        return tf.transpose(final_ids.predicted_ids, [1, 0, 2])[:, :, 0], state.log_probs[:, 0], state.lengths

    fns = {"compiled_xla": lambda: compiled(embedding_t), "compiled_graph": lambda: graph(embedding_t),
           "python_loop": python_loop}

    hub_error = None
    if not args.no_keras_hub:
        try:
            from keras_hub.samplers import BeamSampler
        except ImportError as error:  # not a kerasrnn dependency
            hub_error = f"keras-hub not importable: {error}"
        else:
            sampler = BeamSampler(num_beams=beam, return_all_beams=True)
            # keras-hub repeats the cache itself: one row per example.
            untiled_state = tf.nest.map_structure(lambda x: x[::beam], tuple(tiled_state))

            def hub_next(prompt, cache, index):
                tokens = prompt[:, index - 1]
                output, state = cell(tf.gather(embedding_t, tokens), AttentionWrapperState(*cache))
                return output_layer(output), None, tuple(state)

            def hub_decode(e):
                prompt = tf.concat([tf.fill([batch, 1], START),
                                    tf.zeros([batch, args.max_steps], tf.int32)], axis=1)
                mask = tf.concat([tf.ones([batch, 1], tf.bool), tf.zeros([batch, args.max_steps], tf.bool)], 1)
                ids, log_probs = sampler(hub_next, prompt, cache=untiled_state, index=1, mask=mask)
                return ids[:, 0, 1:], log_probs[:, 0]

            hub_compiled = tf.function(hub_decode, jit_compile=True)
            fns["keras_hub_beam_sampler"] = lambda: hub_compiled(embedding_t)

    names = list(fns)
    outputs = {name: fns[name]() for name in names}  # warm-up: tracing and XLA compilation
    medians, samples = time_alternating([fns[n] for n in names], args.repeats, warmup=0, samples=True)
    reference_ids = np.asarray(outputs["compiled_xla"][0])
    results = {}
    for name, median, times in zip(names, medians, samples):
        ids = np.asarray(outputs[name][0])
        results[name] = {
            "median_ms": median,
            "all_ms": times,
            "best_hypothesis_equals_compiled": bool(np.array_equal(ids, reference_ids)),
            "best_log_prob_max_abs_diff": float(np.max(np.abs(np.asarray(outputs[name][1])
                                                               - np.asarray(outputs["compiled_xla"][1])))),
        }
    base = results["compiled_xla"]
    for name in names:
        r = results[name]
        r["time_relative_to_compiled"] = r["median_ms"] / base["median_ms"]
        r["ratio_quartiles"] = paired_ratio_quartiles(samples[names.index(name)], samples[0])
    steps_run = int(np.max(np.asarray(outputs["compiled_xla"][2])))
    table = [f"beam search: batch {batch}, beam {beam}, vocab {args.vocab_size}, {steps_run} steps, "
             f"LSTM {args.units} + Luong attention (AttentionWrapper), TensorFlow {tf.__version__}, CPU"]
    for name in names:
        r = results[name]
        table.append(f"{name:<24} median {r['median_ms']:9.0f} ms  x{r['time_relative_to_compiled']:6.2f} "
                     f"of compiled  same best hypothesis: {r['best_hypothesis_equals_compiled']}")
    if hub_error:
        table.append(hub_error)
    print("\n".join(table))
    report = {
        "command": "python benchmarks/beam_search.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "source_commit": source_commit("kerasrnn/seq2seq", "benchmarks/beam_search.py"),
        "config": vars(args),
        "steps_run": steps_run,
        "model": "AttentionWrapper(LSTMCell(units), LuongAttention(units), attention_layer_size=units) "
                 "over a random memory, embedding, Dense(vocab); random weights",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
        "keras_hub": None if args.no_keras_hub else (hub_error or __import__("keras_hub").__version__),
        "results": results,
    }
    write_report(args.output, report, table=table)
    return report


if __name__ == "__main__":
    main()
