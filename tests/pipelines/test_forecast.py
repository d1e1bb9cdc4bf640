import json
import os
import warnings

import numpy as np
import pytest

from kerasrnn.pipelines.__main__ import main
from tests.helpers import load_saved_model_without_kerasrnn
from tests.helpers import run_python


def test_quick_run_outputs(tmp_path):
    """The CLI end to end (subprocess): files, metrics, export served without kerasrnn."""
    out = tmp_path / "run"
    result = run_python(
        f"""
        import sys
        from kerasrnn.pipelines.__main__ import main
        sys.exit(main(["forecast", "--quick", "--dataset", "elnino", "--output", {str(out)!r}]))
        """,
        timeout=400,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "epoch 2/2  loss" in result.stdout  # the one-line epoch summary
    assert f"are in {out}" in result.stdout.strip().splitlines()[-1]
    for name in ("config.json", "metrics.json", "history.csv", "forecast.png", "learning_curves.png", "model.keras"):
        assert (out / name).stat().st_size > 0, name
    assert not (out / "backup").exists()  # deleted once training completed
    config = json.loads((out / "config.json").read_text())  # the resolved values, not nulls
    assert (config["epochs"], config["units"], config["window"], config["horizon"]) == (2, 8, 48, 12)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["interpolated_values"] == 0 and metrics["epochs"] == 2
    assert metrics["split"] == {"train": 527, "validation": 59, "test": 146}
    assert (metrics["window"], metrics["horizon"], metrics["period"], metrics["test_origins"]) == (48, 12, 12, 135)
    for prefix in ("model", "seasonal_naive", "sarimax"):
        assert np.isfinite(metrics[f"{prefix}_mase"]) and metrics[f"{prefix}_rmse"] >= metrics[f"{prefix}_mae"]
    # Measured with the default budget: seasonal naive MASE 0.79 on elnino.
    assert 0.7 < metrics["seasonal_naive_mase"] < 0.9
    rows = (out / "history.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,loss,mae,val_loss,val_mae") and len(rows) == 3

    # The export maps raw values to raw forecasts, equal to the Keras model
    # applied to relative, scaled windows.
    import keras

    from kerasrnn.data.series import RelativeScaler
    from kerasrnn.data.series import load_dataset

    values, _, _ = load_dataset("elnino")
    history = values[:2 * 48].reshape(2, 48).astype("float32")
    scaler = RelativeScaler(metrics["scale"])
    inputs, _ = scaler.windows(values, [47, 95], window=48)
    model = keras.models.load_model(out / "model.keras")
    expected = scaler.inverse(model.predict(inputs, verbose=0), values, [47, 95])
    served = load_saved_model_without_kerasrnn(
        str(out / "export"),
        f"import numpy as np; print(m.forecast(np.array({history.tolist()}, np.float32)).numpy().tolist())",
    )
    np.testing.assert_allclose(np.array(json.loads(served)), expected, rtol=1e-5, atol=1e-3)


def test_state_space_forecasts_equal_statsmodels():
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    from kerasrnn.forecasting import fourier_terms
    from kerasrnn.forecasting import state_space_forecasts

    rng = np.random.RandomState(0)
    values = np.cumsum(rng.randn(150)) + np.sin(np.arange(150) * 2 * np.pi / 12) * 3
    exog = fourier_terms(np.arange(150), 12, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = SARIMAX(values[:120], exog=exog[:120], order=(1, 1, 1), trend="t").fit(disp=False)
        full = fitted.apply(values, exog=exog)
        origins = np.array([20, 119, 130, 143])
        expected = np.stack([
            full.get_prediction(start=t + 1, end=t + 6, dynamic=True).predicted_mean for t in origins
        ])
    np.testing.assert_allclose(state_space_forecasts(full, origins, 6), expected, rtol=1e-9, atol=1e-9)


@pytest.fixture(autouse=True)
def _restore_op_determinism():
    """In-process runs turn on TF op determinism; leave it as found."""
    from tensorflow.python.framework import config

    before = config.is_op_determinism_enabled()
    yield
    if not before:
        config.disable_op_determinism()


def _error(capsys, argv):
    assert main(argv) == 2
    return capsys.readouterr().err


@pytest.fixture
def csv_dir(tmp_path):
    def write(text):
        path = tmp_path / "series.csv"
        path.write_text(text)
        return str(path)

    return write


def test_bad_input_errors(tmp_path, capsys, csv_dir):
    out = str(tmp_path / "run")
    base = ["forecast", "--quick", "--output", out, "--no-sarimax"]
    assert "`--strategy` must be one of none, mirrored, multi-worker for this pipeline. Received: " \
           "--strategy='tpu'" in _error(capsys, base + ["--strategy", "tpu"])
    assert "`--dataset` must be one of co2, sunspots, elnino" in _error(capsys, base + ["--dataset", "airline"])
    path = csv_dir("y\n1\n2\n")
    assert "`--period` must be given with --csv" in _error(capsys, base + ["--csv", path, "--column", "y"])
    assert "`--csv` must be an existing file. Received: --csv='nope.csv'" in _error(
        capsys, base + ["--csv", "nope.csv", "--column", "y", "--period", "4"])
    assert "`--column` must be given with --csv" in _error(capsys, base + ["--csv", path])
    assert "`--csv` must be given with --column" in _error(capsys, base + ["--column", "y"])
    assert "`--window` must be a positive integer" in _error(capsys, base + ["--window", "0"])
    assert "`--test-fraction` must be a float in (0, 1)" in _error(capsys, base + ["--test-fraction", "1.5"])
    assert "`--units` must be an integer" in _error(capsys, base + ["--units", "many"])
    assert not os.path.exists(out)  # every rejected option leaves nothing behind
    body = "\n".join(str(np.sin(i / 3)) for i in range(60))
    path = csv_dir("t,y\n" + "\n".join(f"{i},{v}" for i, v in enumerate(body.split())))
    csv_args = base + ["--csv", path, "--period", "4"]
    assert "`--column` 'value' is not a column" in _error(capsys, csv_args + ["--column", "value"])
    assert "shorter than one window" in _error(capsys, csv_args + ["--column", "y", "--window", "60"])
    assert "is too short: 60 values for window=8" in _error(capsys, csv_args + ["--column", "y", "--window", "8",
                                                                                  "--horizon", "8"])
    path = csv_dir("y\n1\n2\nthree\n4\nnan\n")
    assert "non-numeric value(s) (line 4: 'three')" in _error(capsys, base + ["--csv", path, "--column", "y",
                                                                            "--period", "2"])
    path = csv_dir("y\n1\n2\n\n4\nnan\n")
    assert "missing/NaN value(s) at line(s) 6" in _error(capsys, base + ["--csv", path, "--column", "y",
                                                                       "--period", "2"])
    if not os.environ.get("TF_CONFIG"):
        assert "TF_CONFIG" in _error(capsys, base + ["--strategy", "multi-worker"])


def test_config_records_resolved_values_and_requirements(tmp_path):
    from kerasrnn.pipelines import forecast
    from kerasrnn.pipelines.config import resolve

    config = resolve(forecast.Config, {"quick": True, "output": str(tmp_path)})
    assert (config.epochs, config.units, config.batch_size, config.sarimax_maxiter) == (2, 8, 64, 25)
    assert (config.window, config.horizon, config.period) == (104, 52, 52)  # co2's, resolved
    assert config.requirements() == {"statsmodels": "corpora"}
    path = tmp_path / "s.csv"
    path.write_text("y\n1\n")
    config = resolve(forecast.Config, {"csv": str(path), "column": "y", "period": "6", "sarimax": False})
    assert (config.window, config.horizon, config.epochs) == (12, 6, 40)
    assert config.requirements() == {}  # a CSV series without SARIMAX needs no statsmodels
    assert resolve(forecast.Config, {"csv": str(path), "column": "y", "period": "6"}).requirements() == {
        "statsmodels": "corpora"}


def test_corrupt_checkpoint_message_and_fresh(tmp_path, capsys, csv_dir):
    out = tmp_path / "run"
    backup = out / "backup"
    backup.mkdir(parents=True)
    (backup / "latest.weights.h5").write_bytes(b"not an HDF5 file")
    (backup / "training_metadata.json").write_text('{"epoch": 1, "batch": 0}')
    values = np.sin(np.arange(120) / 2.0) + np.arange(120) * 0.01
    path = csv_dir("y\n" + "\n".join(map(str, values)) + "\n")
    argv = ["forecast", "--csv", path, "--column", "y", "--period", "12", "--window", "12", "--horizon", "4",
            "--epochs", "1", "--units", "4", "--no-sarimax", "--output", str(out)]
    err = _error(capsys, argv)
    assert f"The checkpoint directory {backup} is corrupt" in err and "--fresh" in err
    (backup / "training_metadata.json").write_text("{broken")
    assert "training_metadata.json cannot be read" in _error(capsys, argv)
    logdir = tmp_path / "tensorboard"
    assert main(argv + ["--fresh", "--logdir", str(logdir)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and not backup.exists()
    events = [f for _, _, files in os.walk(logdir) for f in files if f.startswith("events.out.tfevents")]
    assert len(events) >= 2  # train and validation summaries
