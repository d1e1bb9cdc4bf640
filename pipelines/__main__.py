"""Command line: `python -m pipelines` lists, `python -m pipelines NAME --help`."""

import argparse
import sys

from pipelines import PIPELINES
from pipelines import load
from pipelines.common import add_common_arguments
from pipelines.common import finish_run
from pipelines.common import prepare_run


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "list"):
        print("usage: python -m pipelines NAME [options]   (NAME --help for options)\n")
        print("pipelines:")
        for name in sorted(PIPELINES):
            try:
                description = load(name).DESCRIPTION
            except ImportError as error:  # e.g. an optional extra is missing
                description = f"(unavailable: {error})"
            print(f"  {name:<18} {description}")
        return 0
    name, rest = argv[0], argv[1:]
    try:
        module = load(name)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog=f"python -m pipelines {name}", description=module.DESCRIPTION)
    add_common_arguments(parser, default_output=f"runs/{name}")
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    try:
        prepare_run(args, name)
        metrics = module.run(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finish_run(args, metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
