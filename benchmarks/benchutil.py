"""Helpers shared by the benchmark scripts (no framework imports)."""

import time

import numpy as np


def time_alternating(fns, steps, warmup):
    """Median milliseconds of each of `fns`, timed in alternation (f0, f1, ...,
    f0, f1, ...) after `warmup` calls each, so that drift of the machine's
    load hits all of them alike."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(steps):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - start)
    return [1000 * float(np.median(t)) for t in times]


def write_report(path, report):
    """Writes `report` as indented JSON to `path` (folders created); no-op for
    a `None` path."""
    import json
    import os

    if not path:
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
