"""`python -m kerasrnn.pipelines …`: the same as the `kerasrnn` command."""

import sys

from kerasrnn.pipelines.runner import main

if __name__ == "__main__":
    sys.exit(main())
