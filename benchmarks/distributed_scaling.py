"""char-lm training speed with 1 and 2 worker processes on this machine, and
the communication time of one training step.

Runs `python -m kerasrnn.pipelines char-lm ...` once as a single process
(`--strategy none`) and once as 2 worker processes on 127.0.0.1
(`--strategy multi-worker`, TF_CONFIG, free ports), both at the same global
batch, and reads the training steps per second from each run's
metrics.json (`chars_per_second` / (batch x sequence length): training
time only, validation excluded). Then 2 processes time the all-reduce of a
float32 vector as large as the model (what one step exchanges: the
gradients) through `MultiWorkerMirroredStrategy`, as the communication time
per step.

On a machine with 2 CPU cores shared with other work no speed-up is
expected: the 2 workers share the cores one process already uses, and every
step adds an all-reduce over gRPC. The report records the load average
before and after, and the numbers are what this machine gave, not what a
cluster would.

    python benchmarks/distributed_scaling.py            # ~5 min on 2 idle CPU cores
    python benchmarks/distributed_scaling.py --quick    # smoke test
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchutil import source_commit  # noqa: E402
from benchutil import write_report  # noqa: E402

from kerasrnn.training.distribute import free_local_ports  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results", "distributed_scaling.json")
TIMEOUT = 1800

ALL_REDUCE = textwrap.dedent("""
    import json, sys, time
    import tensorflow as tf
    from kerasrnn.training import make_strategy
    size, rounds = int(sys.argv[1]), int(sys.argv[2])
    strategy = make_strategy("multi-worker")
    vector = tf.ones([size], tf.float32)

    @tf.function
    def all_reduce():
        return strategy.reduce("SUM", strategy.run(lambda: vector), axis=None)

    for _ in range(5):
        all_reduce().numpy()
    start = time.perf_counter()
    for _ in range(rounds):
        all_reduce().numpy()
    print("ALL_REDUCE_MS", json.dumps(1000 * (time.perf_counter() - start) / rounds))
""")


def run_workers(commands, env=None):
    """Runs one command per worker of a cluster on 127.0.0.1; their stdouts."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_local_ports(len(commands))]}
    processes = []
    for index, command in enumerate(commands):
        worker_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT, **(env or {}),
                          TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                          env=worker_env, cwd=ROOT))
    try:
        outputs = [p.communicate(timeout=TIMEOUT)[0] for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    for process, output in zip(processes, outputs):
        if process.returncode != 0:
            raise SystemExit(f"a worker failed ({process.returncode}):\n{output[-3000:]}")
    return outputs


def steps_per_second(metrics):
    return metrics["chars_per_second"] / (metrics["batch_size"] * metrics["sequence_length"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: the first 6,000 characters, 1 epoch")
    parser.add_argument("--output", default=RESULTS, help="report JSON (default: %(default)s)")
    args = parser.parse_args(argv)

    common = ["char-lm", "--max-chars", "6000" if args.quick else "60000", "--epochs", "1" if args.quick else "2",
              "--units", "128", "--batch-size", "32", "--sample-length", "10", "--progress", "none"]
    load_before = os.getloadavg()
    runs = {}
    with tempfile.TemporaryDirectory() as directory:
        one = os.path.join(directory, "one")
        subprocess.run([sys.executable, "-m", "kerasrnn.pipelines", *common, "--output", one], check=True,
                       capture_output=True, timeout=TIMEOUT, cwd=ROOT,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT))
        two = os.path.join(directory, "two")
        run_workers([[sys.executable, "-m", "kerasrnn.pipelines", *common, "--strategy", "multi-worker",
                      "--output", two]] * 2)
        for name, path in (("1 process", one), ("2 workers", two)):
            with open(os.path.join(path, "metrics.json")) as f:
                runs[name] = json.load(f)
    parameters = runs["1 process"]["parameters"]
    rounds = 20 if args.quick else 100
    outputs = run_workers([[sys.executable, "-c", ALL_REDUCE, str(parameters), str(rounds)]] * 2)
    all_reduce_ms = max(json.loads(line.split(" ", 1)[1]) for output in outputs for line in output.splitlines()
                        if line.startswith("ALL_REDUCE_MS"))
    speeds = {name: steps_per_second(metrics) for name, metrics in runs.items()}
    report = {
        "what": "char-lm training steps per second (global batch 32), 1 process vs 2 worker processes "
                "(MultiWorkerMirroredStrategy on 127.0.0.1), and one all-reduce of the model's gradient size",
        "machine": f"{os.cpu_count()} CPU cores, shared with other work (load average before "
                   f"{load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}): timings are inflated and noisy",
        "date": datetime.date.today().isoformat(),
        "source_commit": source_commit("kerasrnn", "pipelines", "benchmarks/distributed_scaling.py"),
        "command": "python benchmarks/distributed_scaling.py" + (" --quick" if args.quick else ""),
        "pipeline_options": " ".join(common),
        "load_average": {"before": round(load_before[0], 1), "after": round(os.getloadavg()[0], 1)},
        "parameters": parameters,
        "steps_per_second": {name: round(speed, 3) for name, speed in speeds.items()},
        "speedup_2_workers": round(speeds["2 workers"] / speeds["1 process"], 3),
        "step_ms": {name: round(1000 / speed, 1) for name, speed in speeds.items()},
        "all_reduce_ms_per_step": round(all_reduce_ms, 2),
        "all_reduce_share_of_2_worker_step": round(all_reduce_ms * speeds["2 workers"] / 1000, 3),
        "final_val_bits_per_char": {name: m["val_bits_per_char"] for name, m in runs.items()},
    }
    table = [f"{name:<10} {speeds[name]:7.2f} steps/s  {1000 / speeds[name]:8.1f} ms/step" for name in speeds]
    table.append(f"2 workers / 1 process: {report['speedup_2_workers']:.2f}x; all-reduce of {parameters:,} floats: "
                 f"{all_reduce_ms:.2f} ms per step ({report['all_reduce_share_of_2_worker_step']:.0%} of a 2-worker step)")
    print("\n".join(table))
    write_report(args.output if not args.quick else None, report, table)
    return report


if __name__ == "__main__":
    main()
