"""The `kerasrnn` command: parse → resolve and validate → write config.json
→ run → metrics.json.

    kerasrnn --list                          the pipelines
    kerasrnn NAME --help                     a pipeline's options
    kerasrnn NAME [options]                  a run into --output (default runs/NAME)
    kerasrnn NAME --config RUN/config.json   the same run again (options given
                                             beside it override its values)

Exit status: 0 done; 2 a bad option or input (one `error:` line naming it; a
rejected command writes nothing), or multi-worker peers that did not join
within `--peer-timeout`; 130 interrupted (rerun the same command to resume
from the last finished epoch); 1 a multi-worker peer lost during the run
(one `error:` line; restart every worker to resume), or anything else, with
its traceback.
Nothing here imports TensorFlow before a run starts, so `--help` and option
errors answer at once; TensorFlow's start-up log lines are hidden unless
`--verbose`.
"""

import argparse
import difflib
import importlib.util
import json
import os
import random
import sys

from kerasrnn.pipelines import PIPELINES
from kerasrnn.pipelines import config as options
from kerasrnn.pipelines import load
from kerasrnn.pipelines.common import write_json
from kerasrnn.training.distribute import WorkerLostError
from kerasrnn.validation import ArgumentError
from kerasrnn.validation import InputError

PROG = "kerasrnn"


def main(argv=None):
    """Runs the command line `argv` (default `sys.argv[1:]`); returns the
    exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "--list", "list"):
        print_list()
        return 0
    if argv[0] == "--version":
        from kerasrnn import __version__

        print(f"{PROG} {__version__}")
        return 0
    name = argv[0]
    if name not in PIPELINES:
        close = difflib.get_close_matches(name, PIPELINES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return _error(f"unknown pipeline {name!r}; `{PROG} --list` lists them.{hint}")
    module = load(name)
    parser = make_parser(name, module)
    args = vars(parser.parse_args(argv[1:]))
    verbose = args.pop("verbose", False)
    replay = args.pop("config_file", None)
    try:
        config = resolve(name, module, args, replay)
    except InputError as error:
        return _error(error)
    if not verbose:
        quiet_tensorflow()
    return execute(name, module, config)


def print_list():
    print(f"usage: {PROG} NAME [options]      ({PROG} NAME --help for a pipeline's options)\n")
    print("pipelines:")
    for name in sorted(PIPELINES):
        print(f"  {name:<18} {load(name).DESCRIPTION}")


def make_parser(name, module):
    parser = argparse.ArgumentParser(
        prog=f"{PROG} {name}",
        description=module.DESCRIPTION,
        epilog=module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    groups = options.add_arguments(parser, module.Config, name)
    groups["run options"].add_argument(
        "--config", dest="config_file", metavar="FILE",
        help="repeat a run: read its options from its config.json (options given here override)")
    groups["run options"].add_argument("--verbose", action="store_true",
                                       help="show TensorFlow's start-up log lines")
    return parser


def quiet_tensorflow():
    """Hides TensorFlow's start-up log lines: its C++ logging below errors,
    and what its native libraries write to stderr while TensorFlow loads
    (CUDA probes, CPU features, absl's "before InitializeLog" notice), which
    no setting silences. Only the import: the runtime is not started, so a
    pipeline can still configure devices and collective ops."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        pass  # not installed: the pipeline that needs it says so
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def resolve(name, module, given, replay=None):
    """The run's validated `Config`; raises `InputError` (nothing written)."""
    replayed = read_config(replay, name) if replay else None
    config = options.resolve(module.Config, given, replayed)
    if config.output is None:
        config.output = os.path.join("runs", name)
    check_writable("--output", config.output)
    if getattr(config, "logdir", None):
        check_writable("--logdir", config.logdir)
    backends, why = config.backends()
    backend = keras_backend()
    if backend not in backends:
        supported = " or ".join(_BACKEND_NAMES.get(b, b) for b in backends)
        raise InputError(
            f"`{name}` runs on Keras's {supported} backend only{f' ({why})' if why else ''}, "
            f"not on {backend!r}: run it with KERAS_BACKEND={backends[0]}"
        )
    for package, extra in config.requirements().items():
        if importlib.util.find_spec(package) is None:
            install = f"pip install 'kerasrnn[{extra}]'" if extra else f"pip install {package}"
            raise InputError(f"`{name}` with these options needs the `{package}` package: {install}")
    return config


_BACKEND_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


def keras_backend():
    """The name of the backend Keras uses or will use, without importing it
    (which would load that backend): Keras's own rule, `KERAS_BACKEND`, else
    `backend` in `$KERAS_HOME/keras.json` (default `~/.keras`), else
    TensorFlow."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as f:
            return json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def read_config(path, name):
    """The option values of a run's config.json, for `--config`."""
    try:
        with open(path, encoding="utf-8") as f:
            values = json.load(f)
    except (OSError, json.JSONDecodeError) as error:
        raise ArgumentError("--config", path, f"a readable config.json ({error})") from None
    if not isinstance(values, dict):
        raise ArgumentError("--config", path, "a JSON object of option values")
    if values.get("pipeline", name) != name:
        raise ArgumentError("--config", path, f"a config of `{name}` (it is of `{values['pipeline']}`)")
    return values


def check_writable(option, path):
    """`path` is a writable directory, or can be created as one."""
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if os.path.exists(path) and not os.path.isdir(path):
        raise ArgumentError(option, path, "a directory (it is a file)")
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
        raise ArgumentError(option, path, f"a writable directory ({existing} is not writable)")


def execute(name, module, config):
    """Writes config.json, runs, writes metrics.json; the exit status.

    A training pipeline runs inside `kerasrnn.training.distributed` (its
    `--strategy`; `--distribution` on JAX): a non-chief worker of a
    multi-worker run writes into its own temporary directory instead of
    `--output`."""
    try:
        with _distributed(config) as distribution:
            if distribution is not None:
                config.output, config.logdir = distribution.output, distribution.logdir
            return _execute(name, module, config, distribution)
    except InputError as error:
        return _error(error)
    except WorkerLostError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print(f"\n{interrupted_message(config.output)}", file=sys.stderr, flush=True)
        # The one line is the whole report: what TensorFlow's native code logs
        # while the interrupted process shuts down (unused TensorArrays of the
        # aborted step) would bury it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
        return 130


def _distributed(config):
    import contextlib

    if not hasattr(config, "strategy"):  # not a Keras-training pipeline
        return contextlib.nullcontext()
    from kerasrnn import training

    if config.distribution != "none":
        devices = training.data_parallel(config.batch_size)
        return contextlib.nullcontext(training.Distribution(None, config.distribution, devices, True,
                                                            config.output, config.logdir))
    return training.distributed(config.strategy, config.output, logdir=config.logdir,
                                batch_size=config.batch_size, peer_timeout=config.peer_timeout,
                                jit_compile=config.jit)


def _execute(name, module, config, distribution):
    from kerasrnn import __version__

    os.makedirs(config.output, exist_ok=True)
    write_json(os.path.join(config.output, "config.json"),
               {**options.to_json(config), "pipeline": name, "kerasrnn_version": __version__})
    seed_everything(config.seed)
    metrics = module.run(config)
    if distribution is not None and distribution.replicas > 1:
        metrics.setdefault("distribution", {"strategy": distribution.name, "replicas": distribution.replicas,
                                            "chief": distribution.chief})
    write_json(os.path.join(config.output, "metrics.json"), metrics)
    print(f"Done. Outputs are in {os.path.abspath(config.output)}")
    return 0


def seed_everything(seed):
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    import keras

    keras.utils.set_random_seed(seed)


def interrupted_message(output):
    """`interrupted after epoch N; …` from the run's newest backup."""
    from kerasrnn.training import BACKUP
    from kerasrnn.training import METADATA

    newest, epoch, stage = -1.0, 0, None
    root = os.path.join(output, BACKUP)
    for directory, _, files in os.walk(root):
        if METADATA in files:
            path = os.path.join(directory, METADATA)
            try:
                with open(path, encoding="utf-8") as f:
                    saved = int(json.load(f)["epoch"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if os.path.getmtime(path) > newest:
                newest, epoch = os.path.getmtime(path), saved
                stage = os.path.relpath(directory, root) if directory != root else None
    if not epoch:
        return "interrupted before the first epoch ended; run the same command to start again"
    where = f" of {stage}" if stage else ""
    return f"interrupted after epoch {epoch}{where}; run the same command to resume"


def _error(message):
    print(f"error: {message}", file=sys.stderr)
    return 2

