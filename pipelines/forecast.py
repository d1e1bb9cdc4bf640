"""forecast: multi-step forecasting of a real series with a kerasrnn LSTM/GRU.

Data: a series shipped with statsmodels (default `co2`, weekly CO2 at Mauna
Loa 1958-2001, its 59 missing weeks filled by linear interpolation and
counted in metrics.json; `--dataset sunspots|elnino`), or `--csv FILE
--column NAME --period N` (your data is never filled: missing or non-numeric
values are errors naming their lines).

The last `--test-fraction` of the series is the test part and the last
`--validation-fraction` of the rest is validation. The model reads
`--window` past values and predicts the next `--horizon` at once.
Walk-forward evaluation forecasts from every origin of the test part and
reports MAE, RMSE and MASE for the model, the seasonal-naive forecast and a
SARIMAX baseline (`--no-sarimax` skips it).

The datasets and SARIMAX need statsmodels: pip install 'kerasrnn[corpora]'.
Training is crash-safe: kill it and rerun the same command to resume;
`--strategy mirrored|multi-worker` distributes it.

Run directory: config.json, metrics.json, history.csv, forecast.png,
learning_curves.png, model.keras and export/ (a SavedModel whose
`forecast` maps `(batch, window)` raw values to `(batch, horizon)` forecasts).

Example: kerasrnn forecast --quick --dataset elnino
"""

import dataclasses
import os
import time
import typing

from kerasrnn.pipelines.config import TrainingConfig
from kerasrnn.pipelines.config import existing_file
from kerasrnn.pipelines.config import option
from kerasrnn.validation import ArgumentError
from kerasrnn.validation import check_fraction
from kerasrnn.validation import check_positive_int
from kerasrnn.validation import check_positive_number

DESCRIPTION = "LSTM/GRU multi-step forecasting of real series (MASE vs seasonal-naive and SARIMAX, walk-forward)"
#: Built-in datasets (`kerasrnn.data.series.DATASETS`, all from statsmodels).
DATASETS = ("co2", "sunspots", "elnino")


@dataclasses.dataclass
class Config(TrainingConfig):
    """forecast's options."""

    BACKENDS = ("tensorflow", "jax")
    BACKENDS_BECAUSE = "its forecaster export needs `ExportArchive.track`, which Keras's torch backend lacks"

    dataset: str = option("co2", "statsmodels series to forecast (when no --csv)", choices=DATASETS)
    csv: typing.Optional[str] = option(None, "forecast a column of this CSV file instead", metavar="FILE",
                                       check=existing_file)
    column: typing.Optional[str] = option(None, "numeric column of --csv to forecast", metavar="NAME")
    period: typing.Optional[int] = option(None, "seasonal period in steps (default: co2 52, sunspots 11, "
                                          "elnino 12; required with --csv, 1 for none)", check=check_positive_int)
    window: typing.Optional[int] = option(None, "past values the model reads (default: the dataset's, "
                                          "2 periods)", check=check_positive_int)
    horizon: typing.Optional[int] = option(None, "values forecast at once (default: the dataset's, 1 period)",
                                           check=check_positive_int)
    cell: str = option("lstm", "recurrent layer",
                       choices=("lstm", "gru", "lnlstm", "mingru", "minlstm", "lru", "rglru", "hawk"))
    units: int = option(64, "recurrent units", quick=8, check=check_positive_int)
    learning_rate: float = option(3e-3, "Adam learning rate", check=check_positive_number)
    test_fraction: float = option(0.2, "last fraction of the series held out for testing", check=check_fraction)
    validation_fraction: float = option(0.1, "last fraction of the rest used for validation", check=check_fraction)
    sarimax: bool = option(True, "fit the SARIMAX baseline (needs statsmodels)")
    sarimax_maxiter: int = option(200, "optimizer iterations of the SARIMAX fit", quick=25,
                                  check=check_positive_int)
    epochs: int = option(40, "training epochs", quick=2, check=check_positive_int)
    batch_size: int = option(32, "batch size", quick=64, check=check_positive_int)

    def validate(self):
        super().validate()
        if (self.csv is None) != (self.column is None):
            given, missing = ("--csv", "--column") if self.column is None else ("--column", "--csv")
            raise ArgumentError(missing, None, f"given with {given} (`--csv` and `--column` go together)")
        if self.csv is not None and self.period is None:
            raise ArgumentError("--period", None, "given with --csv (seasonal period in steps, 1 for none)")
        if self.csv is None:  # the dataset's defaults, so that config.json holds the values used
            from kerasrnn.data.series import DATASETS as INFO

            info = INFO[self.dataset]
            self.window, self.horizon = self.window or info["window"], self.horizon or info["horizon"]
            self.period = self.period or info["period"]
        else:
            self.window, self.horizon = self.window or 2 * self.period, self.horizon or self.period

    def requirements(self):
        needs = {"statsmodels": "corpora"} if self.sarimax or self.csv is None else {}
        return {**super().requirements(), **needs}


def load_series(config):
    """`(values, labels, info)` of the dataset or CSV column (`info`: period,
    season, about, interpolated)."""
    from kerasrnn.data import series

    if config.csv is not None:
        values = series.read_csv_series(config.csv, config.column)
        info = {"about": f"column {config.column!r} of {config.csv}", "interpolated": 0}
        labels = [str(i) for i in range(len(values))]
    else:
        values, labels, info = series.load_dataset(config.dataset)
    if config.csv is not None or config.period != info["period"]:
        info["season"] = float(config.period)  # the exact season, for SARIMAX's Fourier terms
    info["period"] = config.period
    return values, labels, info


def run(config):
    from kerasrnn import training
    from kerasrnn.data import series
    from kerasrnn.validation import InputError

    values, labels, info = load_series(config)
    window, horizon, period, n = config.window, config.horizon, config.period, len(values)
    what = f"series ({info['about']})"
    if n < window + horizon + 1:
        raise InputError(f"The {what} has {n} values, shorter than one window ({window} + horizon {horizon} + 1); "
                         "lower --window/--horizon")
    val_start, test_start = series.check_length(n, window, horizon, config.test_fraction,
                                                config.validation_fraction, what=what)
    if info["interpolated"]:
        print(f"Note: {info['interpolated']} missing values of {config.dataset} filled by linear interpolation")

    import keras

    from kerasrnn import forecasting
    from kerasrnn.plots import learning_curves

    replicas = training.num_replicas()  # the runner's `training.distributed` strategy
    training.enable_determinism(config.seed, config.jit)
    scaler = series.RelativeScaler().fit(values[:val_start])
    train_origins = series.origins_between(0, val_start, window, horizon)
    val_origins = series.origins_between(val_start, test_start, window, horizon)
    test_origins = series.origins_between(test_start, n, window, horizon)
    x_train, y_train = scaler.windows(values, train_origins, window, horizon)
    x_val, y_val = scaler.windows(values, val_origins, window, horizon)
    x_test, _ = scaler.windows(values, test_origins, window)
    print(f"{info['about']}: {n} values; train {val_start}, validation {test_start - val_start}, "
          f"test {n - test_start}; window {window}, horizon {horizon}, period {period}; "
          f"{len(train_origins)} training windows, {len(test_origins)} test origins; "
          f"strategy {config.strategy} ({replicas} replica(s))")

    model = forecasting.forecaster_model(window, horizon, config.cell, config.units)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse", metrics=["mae"],
                  jit_compile=config.jit)
    epoch_batches, steps = training.array_epoch_batches((x_train, y_train), config.batch_size, config.seed)
    start = time.perf_counter()
    history = training.fit(model, epoch_batches, steps, config.epochs, output=config.output, fresh=config.fresh,
                           logdir=config.logdir, progress=config.progress, validation_data=(x_val, y_val))
    train_seconds = time.perf_counter() - start

    # Walk-forward evaluation on the test origins.
    actual = series.targets_at(values, test_origins, horizon)
    scale = series.mase_scale(values[:val_start], period)
    model_name = f"kerasrnn {config.cell.upper()}"
    forecasts = {model_name: scaler.inverse(model.predict(x_test, batch_size=256, verbose=0), values, test_origins),
                 "seasonal naive": series.seasonal_naive(values, test_origins, horizon, period)}
    sarimax_info = None
    if config.sarimax:
        start_sarimax = time.perf_counter()
        forecasts["SARIMAX"], sarimax_info = forecasting.sarimax_forecasts(
            values, test_start, test_origins, horizon, info["season"], maxiter=config.sarimax_maxiter)
        sarimax_info["seconds"] = round(time.perf_counter() - start_sarimax, 2)
    errors = {name: series.forecast_errors(f, actual, scale) for name, f in forecasts.items()}
    for name, e in errors.items():
        print(f"  {name:<16} MAE {e['mae']:.4f}  RMSE {e['rmse']:.4f}  MASE {e['mase']:.4f}")

    output = config.output
    model.save(os.path.join(output, "model.keras"))
    forecasting.export_forecaster(model, scaler.scale, window, horizon, os.path.join(output, "export"))
    middle = len(test_origins) // 2
    forecasting.plot_forecasts(os.path.join(output, "forecast.png"), values, labels, test_start,
                               int(test_origins[middle]), {name: f[middle] for name, f in forecasts.items()},
                               {name: e["mae_by_step"] for name, e in errors.items()}, period)
    learning_curves({k: v for k, v in history.items() if k in ("loss", "val_loss")},
                    path=os.path.join(output, "learning_curves.png"), ylabel="MSE (scaled)")

    metrics = {
        "dataset": config.dataset if config.csv is None else config.csv,
        "about": info["about"],
        "interpolated_values": info["interpolated"],
        "n_values": n,
        "split": {"train": int(val_start), "validation": int(test_start - val_start), "test": int(n - test_start)},
        "window": window, "horizon": horizon, "period": period,
        "scale": scaler.scale, "mase_denominator": scale,
        "test_origins": len(test_origins),
        "epochs": len(history.get("loss", [])),
        "final_loss": history["loss"][-1], "final_val_loss": history["val_loss"][-1],
        "train_seconds": round(train_seconds, 2),
        "strategy": config.strategy, "replicas": replicas,
        "model": model_name,
        "sarimax": sarimax_info,
    }
    short = {model_name: "model", "seasonal naive": "seasonal_naive", "SARIMAX": "sarimax"}
    for name, e in errors.items():
        for key in ("mae", "rmse", "mase"):
            metrics[f"{short[name]}_{key}"] = e[key]
    metrics["beats_seasonal_naive"] = bool(metrics["model_mase"] < metrics["seasonal_naive_mase"])
    if sarimax_info is not None:
        metrics["beats_sarimax"] = bool(metrics["model_mase"] < metrics["sarimax_mase"])
    return metrics
