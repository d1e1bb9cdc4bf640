"""Helpers shared by the benchmark scripts (no framework imports)."""

import time

import numpy as np


def time_alternating(fns, steps, warmup, samples=False):
    """Median milliseconds of each of `fns`, timed in alternation (f0, f1, ...,
    f0, f1, ...) after `warmup` calls each, so that drift of the machine's
    load hits all of them alike. With `samples=True`, also returns every
    call's milliseconds: one list per function, in round order."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(steps):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[i].append(1000 * (time.perf_counter() - start))
    medians = [float(np.median(t)) for t in times]
    return (medians, times) if samples else medians


def paired_ratio_quartiles(ours, reference):
    """Quartiles (25 %, 75 %) of the per-round ratios `ours[k] / reference[k]`
    of two sample lists from `time_alternating`: how much the ratio moves
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
