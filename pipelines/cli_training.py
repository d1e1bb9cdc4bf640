"""Command-line options of training (`--strategy`, `--logdir`, `--fresh`,
`--progress`, `--jit-compile`) shared by the pipelines.

Temporary home: these move into the pipelines' option system; the training
itself is `kerasrnn.training`.
"""

from kerasrnn.training import STRATEGIES
from kerasrnn.training import check_strategy

#: `--jit-compile` values and what `model.compile(jit_compile=...)` gets.
JIT_COMPILE = {"auto": "auto", "on": True, "off": False}


def add_training_arguments(parser, strategies=STRATEGIES, jit_compile="auto"):
    """Adds `--strategy`, `--logdir`, `--fresh`, `--progress` and `--jit-compile`.

    `strategies` are the values this pipeline supports; `check_arguments`
    rejects the others with a clear error. `jit_compile` is the pipeline's
    default for `--jit-compile` (see `jit_compile`)."""
    if tuple(strategies) == STRATEGIES:
        help_text = "none | mirrored (all local devices) | multi-worker (TF_CONFIG) (default: none)"
    else:
        help_text = f"{' | '.join(strategies)}: this pipeline supports only these (default: none)"
    parser.add_argument("--strategy", default="none", help=help_text)
    parser.add_argument("--logdir", default=None, help="write TensorBoard logs here (default: off)")
    add_fresh_argument(parser)
    parser.add_argument("--progress", choices=("auto", "bar", "none"), default="auto",
                        help="Keras progress bars: auto (only on a terminal), bar, none (default: auto)")
    parser.add_argument("--jit-compile", choices=JIT_COMPILE, default=jit_compile,
                        help="XLA-compile the training step: on, off, or auto (Keras's choice, which is off "
                             "on a machine without a GPU) (default: %(default)s)")


def jit_compile(args):
    """The `jit_compile` argument of `model.compile` for `--jit-compile`."""
    return JIT_COMPILE[getattr(args, "jit_compile", "auto")]


def add_fresh_argument(parser):
    """`--fresh`: delete the run directory's backup and start over."""
    parser.add_argument("--fresh", action="store_true",
                        help="delete an existing backup in the run directory and start over")


def check_arguments(args, strategies=STRATEGIES):
    """Validates the training options before any work is done; `strategies`
    as passed to `add_training_arguments`."""
    check_strategy(args.strategy)
    if args.strategy not in strategies:
        raise ValueError(f"`--strategy {args.strategy}` is not supported by this pipeline (supported: "
                         f"{', '.join(strategies)}). Received: strategy={args.strategy!r}")
    if getattr(args, "logdir", None):
        import importlib.util

        if importlib.util.find_spec("tensorboard") is None:
            raise ValueError(f"`--logdir` needs the tensorboard package (pip install tensorboard). "
                             f"Received: logdir={args.logdir!r}")

