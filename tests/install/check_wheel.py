"""Installs the wheel built from this checkout into fresh virtual
environments beside the oldest and the newest supported TensorFlow/Keras,
and checks each as a user would (`make test-install` runs it):

* the wheel's only top-level package is `kerasrnn`, and its requirements pin
  none of tensorflow, keras, tensorflow-datasets, gensim, tensorboard;
* `kerasrnn --list` and `kerasrnn char-lm --quick` run, from a folder
  outside the checkout (so the installed package is what runs);
* the layer tests pass at the oldest versions (`--layer-tests`).

Usage: python tests/install/check_wheel.py [--envs oldest,tested] [--layer-tests]
The environments are kept in `.venv-<name>` and reused while their
constraints file is unchanged.
"""

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNPINNED = ("tensorflow", "keras", "tensorflow-datasets", "gensim", "tensorboard")
#: The test folders that run at the oldest versions: the library's layers
#: and the recurrences they build on, with the helpers they import.
LAYER_TESTS = ("tests/layers", "tests/ops", "tests/memory")


def run(command, **kwargs):
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)


def build_wheel(python, out):
    """The wheel of this checkout, built without network (`--no-isolation`
    uses the build tools of `python`'s environment)."""
    shutil.rmtree(out, ignore_errors=True)
    run([python, "-m", "build", "--wheel", "--no-isolation", "--outdir", out, ROOT],
        stdout=subprocess.DEVNULL)
    (wheel,) = glob.glob(os.path.join(out, "kerasrnn-*.whl"))
    return wheel


def check_metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = [line.split(":", 1)[1].strip() for line in archive.read(metadata).decode().splitlines()
                    if line.startswith("Requires-Dist:")]
    top_level = sorted({name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")})
    assert top_level == ["kerasrnn"], f"top-level packages in the wheel: {top_level}"
    assert any(n.startswith("kerasrnn/pipelines/") for n in names), "kerasrnn.pipelines is missing"
    for requirement in requires:
        specifier = requirement.split(";")[0]  # without the marker (`extra == "..."`)
        name = specifier.split("[")[0]
        for package in UNPINNED:
            if name.replace("_", "-").lower().startswith(package) and "==" in specifier:
                raise AssertionError(f"exact pin in Requires-Dist: {requirement}")
    print(f"wheel {os.path.basename(wheel)}: top level {top_level}, {len(requires)} requirements, no exact pins")


def environment(name):
    """A virtual environment for `constraints/<name>.txt`, reused while the
    constraints are unchanged."""
    constraints = os.path.join(ROOT, "constraints", f"{name}.txt")
    with open(constraints, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    venv = os.path.join(ROOT, f".venv-{name}")
    stamp = os.path.join(venv, f".constraints-{digest}")
    if not os.path.exists(stamp):
        shutil.rmtree(venv, ignore_errors=True)
        run([sys.executable, "-m", "venv", venv])
        open(stamp, "w").close()
    return os.path.join(venv, "bin", "python"), constraints


def check_environment(name, wheel, layer_tests):
    python, constraints = environment(name)
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "-c", constraints, wheel, "pytest", "pytest-xdist"])
    run([*pip, "--force-reinstall", "--no-deps", wheel])  # this checkout's code, same version number
    versions = subprocess.run([python, "-c", "import keras, tensorflow as tf, numpy; "
                               "print(f'tensorflow {tf.__version__}, keras {keras.__version__}, '"
                               "f'numpy {numpy.__version__}')"],
                              capture_output=True, text=True, check=True,
                              env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")).stdout.strip()
    print(f"[{name}] {versions}", flush=True)
    command = os.path.join(os.path.dirname(python), "kerasrnn")
    with tempfile.TemporaryDirectory() as work:
        run([command, "--list"], cwd=work, stdout=subprocess.DEVNULL)
        run([command, "char-lm", "--quick", "--progress", "none", "--output", os.path.join(work, "run")],
            cwd=work)
        assert os.path.exists(os.path.join(work, "run", "metrics.json")), "char-lm wrote no metrics.json"
        if layer_tests:
            # A copy of the tests outside the checkout: `kerasrnn` is the installed one.
            shutil.copytree(os.path.join(ROOT, "tests"), os.path.join(work, "tests"),
                            ignore=shutil.ignore_patterns("__pycache__"))
            shutil.copy(os.path.join(ROOT, "pyproject.toml"), work)
            run([python, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider", *LAYER_TESTS], cwd=work,
                env=dict(os.environ, KERAS_BACKEND="tensorflow"))
    print(f"[{name}] ok: {versions}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", default="oldest,tested", help="constraints/<name>.txt to install beside")
    parser.add_argument("--layer-tests", default="oldest",
                        help="environments that also run the layer tests (default: %(default)s)")
    args = parser.parse_args()
    wheel = build_wheel(sys.executable, os.path.join(ROOT, "build", "wheel"))
    check_metadata(wheel)
    for name in args.envs.split(","):
        check_environment(name, wheel, name in args.layer_tests.split(","))
    return 0


if __name__ == "__main__":
    sys.exit(main())
