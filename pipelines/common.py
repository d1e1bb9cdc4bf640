"""What the runner and pipelines share about a run directory."""

import json

import numpy as np


def write_json(path, data):
    """Writes `data` as indented, key-sorted JSON (NumPy scalars and arrays
    as plain numbers and lists)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True, default=_jsonable)
        f.write("\n")


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
