"""What a CRF output layer costs over a softmax: training step and decoding.

    python benchmarks/crf_overhead.py --output benchmarks/results/crf_overhead.json

Two models that differ only in their output layer are timed in one process,
in alternation (`kerasrnn.analysis.time_alternating`), so that the machine's
load hits both alike and their ratio is the result:

* `tagger`: the tagging pipeline's model (`kerasrnn.tagging.build_tagger`,
  word embedding, BiLSTM of `--units`, no character features) with a
  softmax or a `kerasrnn.layers.CRF`: one `train_on_batch` (forward
  algorithm and its gradient for the CRF) and one decoding `predict_on_batch`
  (Viterbi vs argmax);
* `head`: the output layer alone on given features (`Dense` then softmax
  cross-entropy or CRF negative log-likelihood), where the CRF's share is
  largest.

Shapes: `--batch` sentences of `--steps` tokens, `--tags` tags; each with
`jit_compile` off and on (XLA).
"""

import argparse
import os
import platform
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchutil import paired_ratio_quartiles  # noqa: E402
from benchutil import source_commit  # noqa: E402
from benchutil import write_report  # noqa: E402


def build(kind, output_layer, args, jit):
    """The compiled model of one case."""
    import keras

    from kerasrnn import tagging
    from kerasrnn.layers import CRF
    from kerasrnn.layers import CRFLoss

    keras.utils.set_random_seed(0)
    if kind == "tagger":
        model = tagging.build_tagger(args.vocabulary, args.tags, char_encoder="none", units=args.units,
                                     word_dim=args.units, output_layer=output_layer, dropout=0.0)
        loss = tagging.tagger_loss(model)
    else:
        features = keras.Input((None, args.units))
        scores = keras.layers.Dense(args.tags)(features)
        if output_layer == "crf":
            crf = CRF()
            model = keras.Model(features, crf(scores))
            loss = CRFLoss(crf)
        else:
            model = keras.Model(features, scores)
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(keras.optimizers.Adam(1e-3), loss=loss, jit_compile=jit)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=50, help="tokens per sentence (default: %(default)s)")
    parser.add_argument("--tags", type=int, default=20)
    parser.add_argument("--units", type=int, default=100, help="LSTM units per direction and feature size")
    parser.add_argument("--vocabulary", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=20, help="timed calls of each (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--jit", default="false,true", help="jit_compile values (default: %(default)s)")
    parser.add_argument("--output", default="benchmarks/results/crf_overhead.json")
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    from kerasrnn import tagging
    from kerasrnn.analysis import time_alternating

    rng = np.random.default_rng(0)
    lengths = rng.integers(args.steps // 2, args.steps + 1, size=args.batch)
    lengths[0] = args.steps
    mask = np.arange(args.steps)[None, :] < lengths[:, None]
    tags = np.where(mask, rng.integers(0, args.tags, size=(args.batch, args.steps)), -1).astype("int32")
    words = np.where(mask, rng.integers(2, args.vocabulary, size=(args.batch, args.steps)), 0).astype("int32")
    inputs = {"tagger": {"words": words, "chars": np.zeros((args.batch, args.steps, 1), "int32")},
              "head": rng.normal(size=(args.batch, args.steps, args.units)).astype("float32")}
    softmax_tags = np.maximum(tags, 0)  # the head's plain cross-entropy has no ignore_class

    results, table = [], []
    header = f"{'case':<8} {'jit':<5} {'softmax ms':>10} {'crf ms':>8} {'ratio':>6} {'quartiles':>13}   what"
    table.append(header)
    start = time.perf_counter()
    for jit in [value.strip().lower() == "true" for value in args.jit.split(",")]:
        for kind in ("tagger", "head"):
            soft, crf = build(kind, "softmax", args, jit), build(kind, "crf", args, jit)
            x = inputs[kind]
            y_soft = tags if kind == "tagger" else softmax_tags
            fns = [lambda: soft.train_on_batch(x, y_soft), lambda: crf.train_on_batch(x, tags)]
            (soft_ms, crf_ms), samples = time_alternating(fns, args.repeats, args.warmup, samples=True)
            case = {"case": kind, "what": "train step", "jit_compile": jit, "softmax_ms": soft_ms, "crf_ms": crf_ms,
                    "ratio": crf_ms / soft_ms, "ratio_quartiles": paired_ratio_quartiles(samples[1], samples[0])}
            results.append(case)
            if kind == "tagger":
                crf_layer = tagging.find_crf(crf)
                argmax = tf.function(lambda x: tf.argmax(soft(x, training=False), axis=-1), jit_compile=jit)
                viterbi = tf.function(lambda x: crf_layer.decode(crf(x, training=False), x["words"] > 0)[0],
                                      jit_compile=jit)
                fns = [lambda: argmax(x).numpy(), lambda: viterbi(x).numpy()]
                (soft_ms, crf_ms), samples = time_alternating(fns, args.repeats, args.warmup, samples=True)
                results.append({"case": kind, "what": "decode (argmax vs Viterbi)", "jit_compile": jit,
                                "softmax_ms": soft_ms, "crf_ms": crf_ms, "ratio": crf_ms / soft_ms,
                                "ratio_quartiles": paired_ratio_quartiles(samples[1], samples[0])})
            keras.backend.clear_session(free_memory=False)
    for case in results:
        low, high = case["ratio_quartiles"]
        row = (f"{case['case']:<8} {str(case['jit_compile']).lower():<5} {case['softmax_ms']:10.1f} "
               f"{case['crf_ms']:8.1f} {case['ratio']:6.2f}   [{low:.2f}, {high:.2f}]   {case['what']}")
        table.append(row)
    print("\n".join(table))
    report = {
        "batch": args.batch, "steps": args.steps, "tags": args.tags, "units": args.units,
        "repeats": args.repeats, "results": results, "elapsed_s": time.perf_counter() - start,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version(),
                     "commit": source_commit("kerasrnn", "benchmarks/crf_overhead.py")},
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "note": "medians of calls timed in alternation in one process; the machine was shared (loaded), so "
                "compare ratios, not milliseconds",
    }
    write_report(args.output, report, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
