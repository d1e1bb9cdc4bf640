"""Fixtures shared by the pipeline tests."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: Tests that read the one shared `char-lm --quick` run carry this mark, so
#: that `pytest -n N --dist loadgroup` runs them, and the run, on one worker.
CHAR_LM_RUN = pytest.mark.xdist_group("char_lm_quick_run")


@pytest.fixture(scope="session")
def char_lm_quick_run(tmp_path_factory):
    """`(run directory, CompletedProcess)` of one real `kerasrnn char-lm
    --quick` process, with TensorFlow's own logging left on (level 0) so that
    tests can check what the command hides."""
    output = str(tmp_path_factory.mktemp("char_lm") / "run")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0", PYTHONUNBUFFERED="1", PYTHONPATH=ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "kerasrnn.pipelines", "char-lm", "--quick", "--max-chars", "3000", "--prompt", "The ",
         "--sample-length", "25", "--output", output],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return output, result
