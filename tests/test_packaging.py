"""The package as users install it: requirements, files, import names, and
the library/application boundary. (The built wheel itself is installed and
run beside the oldest and newest supported TensorFlow/Keras by
`tests/install/check_wheel.py`, which `make test` runs after this suite.)"""

import configparser
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNPINNED = ("tensorflow", "keras", "tensorflow-datasets", "gensim", "tensorboard")


def _setup_cfg():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, "setup.cfg"))
    return parser


def _requirements(text):
    return [line.split("#")[0].strip() for line in text.strip().splitlines() if line.split("#")[0].strip()]


def test_requirements_are_ranges_and_the_tested_set_is_a_constraints_file():
    config = _setup_cfg()
    requirements = _requirements(config["options"]["install_requires"])
    names = {re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0].lower(): r for r in requirements}
    for name in ("tensorflow", "keras"):
        assert re.search(r">=\s*\d", names[name]), names[name]
    for requirement in requirements:
        assert "==" not in requirement, f"exact pin in install_requires: {requirement}"
    with open(os.path.join(ROOT, "constraints", "tested.txt"), encoding="utf-8") as f:
        tested = dict(line.strip().split("==", 1) for line in f if "==" in line)
    with open(os.path.join(ROOT, "constraints", "oldest.txt"), encoding="utf-8") as f:
        oldest = dict(line.strip().split("==", 1) for line in f if "==" in line and not line.startswith("#"))
    for name in ("tensorflow", "keras"):
        low = re.search(r">=\s*([\d.]+)", names[name]).group(1)
        assert oldest[name].startswith(low), f"{name}: setup.cfg says >={low}, constraints/oldest.txt {oldest[name]}"
        assert tuple(map(int, tested[name].split(".")[:2])) >= tuple(map(int, low.split(".")[:2]))


def test_only_kerasrnn_is_a_top_level_package_and_pipelines_install_under_it():
    import kerasrnn.pipelines

    assert kerasrnn.pipelines.__name__ == "kerasrnn.pipelines"
    with open(os.path.join(ROOT, "setup.py"), encoding="utf-8") as f:
        setup = f.read()
    assert 'package_dir={"kerasrnn.pipelines": "pipelines"}' in setup
    entry = _setup_cfg()["options.entry_points"]["console_scripts"].strip()
    assert entry == "kerasrnn = kerasrnn.pipelines.__main__:main"


def test_release_files_and_version():
    import kerasrnn

    assert kerasrnn.__version__ == "0.2.0"
    with open(os.path.join(ROOT, "LICENSE"), encoding="utf-8") as f:
        assert "Apache License" in f.read(200)
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as f:
        assert f"## [{kerasrnn.__version__}]" in f.read()


def test_import_kerasrnn_gives_the_subpackages():
    code = ("import kerasrnn, keras; "
            "print(kerasrnn.seq2seq.Seq2Seq.__name__, kerasrnn.memory.read.__name__, "
            "kerasrnn.embeddings.Word2VecInitializer.__name__, kerasrnn.data.corpora.__name__, "
            "kerasrnn.training.fit.__name__, kerasrnn.layers.LSTM.__name__, "
            "keras.saving.get_registered_object('kerasrnn>LSTM').__name__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=os.path.dirname(ROOT), env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["Seq2Seq", "read", "Word2VecInitializer", "kerasrnn.data.corpora", "fit",
                                     "LSTM", "LSTM"]


def _python_files(*folders):
    for folder in folders:
        for directory, _, names in os.walk(os.path.join(ROOT, folder)):
            for name in names:
                if name.endswith((".py", ".ipynb")):
                    yield os.path.join(directory, name)


def _imports_of_pipelines(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"(?:from|import) kerasrnn\.pipelines\b[^\n\"]*", text)


def test_the_library_and_notebooks_never_import_the_applications():
    offenders = {os.path.relpath(path, ROOT): found for path in _python_files("kerasrnn", "notebooks")
                 for found in [_imports_of_pipelines(path)] if found}
    assert offenders == {}


def test_only_pipeline_tests_import_the_applications():
    allowed = (os.path.join("tests", "pipelines"), os.path.join("tests", "test_packaging.py"),
               os.path.join("tests", "install"))
    offenders = {os.path.relpath(path, ROOT): found for path in _python_files("tests")
                 for found in [_imports_of_pipelines(path)] if found
                 if not os.path.relpath(path, ROOT).startswith(allowed)}
    assert offenders == {}


@pytest.mark.parametrize("name", [
    "def epoch_order", "def array_epoch_batches", "def resume_epoch", "def early_stopping", "def read_kjv",
    "def make_strategy", "def bits_per_sequence", "def bit_errors", "class TrainingTimer", "def training_timer",
    "def plot_curves", "_maybe_symbolic_build", "reduce_per_replica", "def positive(", "def budget_settings",
])
def test_reusable_pieces_exist_once_in_the_library(name):
    in_applications = [os.path.relpath(p, ROOT) for p in _python_files("pipelines", "notebooks", "benchmarks")
                       if name in open(p, encoding="utf-8").read()]
    assert in_applications == []
    in_library = [os.path.relpath(p, ROOT) for p in _python_files("kerasrnn")
                  if name in open(p, encoding="utf-8").read()]
    assert len(in_library) <= 1 or not name.startswith(("def ", "class ")), in_library


def test_notebook_08_uses_the_librarys_ntm_metrics():
    with open(os.path.join(ROOT, "notebooks", "08_neural_turing_machine.ipynb"), encoding="utf-8") as f:
        source = "".join("".join(cell["source"]) for cell in json.load(f)["cells"] if cell["cell_type"] == "code")
    assert "from kerasrnn.metrics import" in source or "kerasrnn.metrics." in source
    assert "def bits_per_sequence" not in source and "def bit_errors" not in source
