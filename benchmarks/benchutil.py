"""Helpers shared by the benchmark scripts (no framework imports)."""

import numpy as np


def paired_ratio_quartiles(ours, reference):
    """Quartiles (25 %, 75 %) of the per-round ratios `ours[k] / reference[k]`
    of two sample lists from `kerasrnn.analysis.time_alternating`: how much the ratio moves
    within one run."""
    ratios = np.asarray(ours) / np.asarray(reference)
    return float(np.percentile(ratios, 25)), float(np.percentile(ratios, 75))


def write_report(path, report, table=None):
    """Writes `report` as indented JSON to `path` (folders created) and, if
    given, the printed `table` lines next to it as `.txt`; no-op for a
    `None` path."""
    import json
    import os

    if not path:
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    if table is not None:
        with open(os.path.splitext(path)[0] + ".txt", "w") as f:
            f.write("\n".join(table) + "\n")


def source_commit(*paths):
    """The checkout's short commit, with `-dirty` where `paths` (relative to
    the repository; default: everything tracked) hold uncommitted changes;
    None outside a git checkout."""
    import os
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *paths], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("-dirty" if dirty else "")) or None


def environment(*paths):
    """The report's `machine` and `versions` entries: processor and CPU
    count; TensorFlow, Keras and kerasrnn versions and `source_commit(*paths)`."""
    import os
    import platform

    import keras
    import tensorflow as tf

    import kerasrnn

    return {
        "machine": {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "kerasrnn": kerasrnn.__version__,
            "commit": source_commit(*paths),
        },
    }


def resident_mib(field="VmRSS", pid="self"):
    """A memory field of `/proc/<pid>/status` in MiB (Linux): `VmRSS`, the
    resident memory now, or `VmHWM`, its peak since the process started or
    since the last `reset_peak_resident`; None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reset_peak_resident():
    """Resets this process's peak resident memory (`VmHWM`) to its current
    resident memory (Linux 4.0 and later: writing 5 to
    `/proc/self/clear_refs`); True where it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def sequence_layers(*names):
    """`{name: units -> layer}` for the recurrent layers the benchmarks
    compare, in the order of `names`; each layer returns sequences."""
    import keras

    import kerasrnn

    layers = {
        "lstm": kerasrnn.layers.LSTM,
        "gru": kerasrnn.layers.GRU,
        "keras_lstm": keras.layers.LSTM,
        "mingru": kerasrnn.layers.MinGRU,
        "minlstm": kerasrnn.layers.MinLSTM,
        "lru": kerasrnn.layers.LRU,
        "rglru": kerasrnn.layers.RGLRU,
        "hawk": kerasrnn.layers.HawkBlock,
    }
    return {name: (lambda units, layer=layers[name]: layer(units, return_sequences=True)) for name in names}

