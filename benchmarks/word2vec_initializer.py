"""Time to build a `Word2VecInitializer` (and Embedding) for a large vocabulary.

    python benchmarks/word2vec_initializer.py --output benchmarks/results/word2vec_initializer.json

A gensim `KeyedVectors` of `--known` random words is aligned with a
vocabulary of `--vocabulary` tokens ("" and "[UNK]" first, 90% of the rest
known to the vectors by default). Reported: the best and median of
`--repeats` runs of the constructor (the vectorised lookup), of getting the
vocabulary from an adapted `TextVectorization`, of `word2vec_embedding` plus
`build`, and of `get_config()` (base64 of the matrix). Target: < 1 s for
100k words.
"""

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def timed(function, repeats):
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return {"best_s": min(seconds), "median_s": statistics.median(seconds), "runs": len(seconds)}, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocabulary", type=int, default=100_000, help="vocabulary size (default: %(default)s)")
    parser.add_argument("--known", type=float, default=0.9, help="fraction of words with a vector (default: %(default)s)")
    parser.add_argument("--dims", default="100,300", help="vector sizes to time (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--output", default="benchmarks/results/word2vec_initializer.json")
    args = parser.parse_args()

    import keras
    from gensim.models import KeyedVectors

    from kerasrnn.embeddings import Word2VecInitializer
    from kerasrnn.embeddings import text_vectorization
    from kerasrnn.embeddings import word2vec_embedding

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(args.vocabulary)]
    n_known = int(args.vocabulary * args.known)
    known = [words[i] for i in rng.choice(args.vocabulary, size=n_known, replace=False)]
    vocabulary = ["", "[UNK]"] + words[: args.vocabulary - 2]

    vectorize = text_vectorization(vocabulary=vocabulary[2:])
    vocab_timing, layer_vocabulary = timed(vectorize.get_vocabulary, args.repeats)
    assert layer_vocabulary == vocabulary

    results = {
        "vocabulary": args.vocabulary,
        "known_words": n_known,
        "text_vectorization_get_vocabulary": vocab_timing,
        "dims": {},
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(), "keras": keras.__version__},
    }
    for dim in (int(d) for d in args.dims.split(",")):
        kv = KeyedVectors(dim)
        kv.add_vectors(known, rng.normal(size=(n_known, dim)).astype("float32"))
        init_timing, init = timed(lambda: Word2VecInitializer(kv, vocabulary, oov="random", seed=0), args.repeats)
        layer_timing, _ = timed(
            lambda: word2vec_embedding(kv, vectorize, trainable=False, seed=0).build((None,)), args.repeats
        )
        config_timing, config = timed(init.get_config, args.repeats)
        results["dims"][str(dim)] = {
            "initializer_from_list": init_timing,
            "embedding_from_text_vectorization_and_build": layer_timing,
            "get_config": config_timing,
            "config_matrix_megabytes": len(config["matrix"]["base64"]) / 1e6,
            "coverage": init.coverage["fraction"],
        }
        print(
            f"{args.vocabulary:,} words x {dim}: initializer {init_timing['best_s'] * 1000:.0f} ms "
            f"(median {init_timing['median_s'] * 1000:.0f} ms), Embedding from a TextVectorization + build "
            f"{layer_timing['best_s'] * 1000:.0f} ms, get_config {config_timing['best_s'] * 1000:.0f} ms, "
            f"coverage {init.coverage['fraction']:.1%}"
        )
    results["target_met"] = all(d["initializer_from_list"]["median_s"] < 1.0 for d in results["dims"].values())
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
