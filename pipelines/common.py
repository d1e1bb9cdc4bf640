"""What every pipeline shares: options, run directory, metrics and history."""

import csv
import json
import os
import random

import numpy as np


def add_common_arguments(parser, default_output):
    parser.add_argument("--output", default=default_output, help="run directory (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (pipeline default if omitted)")
    parser.add_argument("--batch-size", type=int, default=None, help="batch size (pipeline default if omitted)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="tiny budget, for tests and smoke runs")


def positive(name, value):
    """Raises a clear `ValueError` unless `value` is a positive integer."""
    if value is not None and (not isinstance(value, int) or value < 1):
        raise ValueError(f"`--{name}` must be a positive integer. Received: {name}={value!r}")
    return value


def budget_settings(args, quick, defaults):
    """Each budget key: the explicit option if given, else the `--quick` or
    default budget's value."""
    budget = quick if args.quick else defaults
    return {key: default if getattr(args, key, None) is None else getattr(args, key) for key, default in budget.items()}


def prepare_run(args, name):
    """Validates common options, seeds everything, creates the run directory."""
    positive("epochs", args.epochs)
    positive("batch-size", args.batch_size)
    if not 0 <= args.seed < 2**32:
        raise ValueError(f"`--seed` must be an integer in [0, 2**32). Received: seed={args.seed}")
    import keras

    os.makedirs(args.output, exist_ok=True)
    random.seed(args.seed)
    np.random.seed(args.seed)
    keras.utils.set_random_seed(args.seed)
    config = {k: v for k, v in sorted(vars(args).items())}
    config["pipeline"] = name
    write_json(os.path.join(args.output, "config.json"), config)


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True, default=_jsonable)
        f.write("\n")


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def write_history(path, history):
    """Writes a Keras `History.history` dict as CSV, one row per epoch."""
    keys = list(history)
    rows = len(history[keys[0]]) if keys else 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch"] + keys)
        for i in range(rows):
            writer.writerow([i + 1] + [float(history[k][i]) for k in keys])


def finish_run(args, metrics):
    write_json(os.path.join(args.output, "metrics.json"), metrics)
    print(f"Done. Outputs (metrics.json, history.csv, plots, export) are in {os.path.abspath(args.output)}")
