"""forecast: multi-step forecasting of a real series with a kerasrnn LSTM/GRU.

Data: a series shipped with statsmodels (default `co2`, weekly CO2 at Mauna
Loa 1958-2001, whose 59 missing weeks are filled by linear interpolation and
counted in metrics.json; `--dataset sunspots|elnino`) or `--csv FILE
--column NAME` (user data is never filled: missing or non-numeric values are
errors naming their rows).

Split in time: the last `--test-fraction` is the test part, the last
`--validation-fraction` of the rest is validation (monitored, not trained
on). The model reads `--window` past values relative to the last one,
divided by a scale fitted on the training part only
(`kerasrnn.data.series.RelativeScaler`), and predicts the next `--horizon`
values at once. Walk-forward evaluation forecasts from every origin of the
test part (history up to the origin is known, the model is fixed) and
reports MAE, RMSE and MASE (scaled by the in-sample seasonal-naive MAE of
the training part) for the model, the seasonal-naive forecast and a SARIMAX
baseline (statsmodels; ARIMA(1,1,1) with drift and Fourier terms of the
season (co2: 365.25 / 7 weeks), fitted on the training + validation part)
on the same origins.

Training is crash-safe (`kerasrnn.training`): kill it and rerun the same
command to resume; `--strategy mirrored|multi-worker` distributes it.

Run directory: config.json, metrics.json, history.csv, forecast.png,
learning_curves.png, model.keras, export/ (SavedModel with a `forecast`
signature: `(batch, window)` raw values -> `(batch, horizon)` forecasts).
"""

import os
import time

import numpy as np

from kerasrnn import training
from kerasrnn.pipelines import cli_training
from kerasrnn.pipelines.common import positive

DESCRIPTION = "LSTM/GRU multi-step forecasting of real series (MASE vs seasonal-naive and SARIMAX, walk-forward)"

DEFAULTS = {"epochs": 40, "batch_size": 32, "units": 64}
QUICK = {"epochs": 2, "batch_size": 64, "units": 8}


def add_arguments(parser):
    parser.add_argument("--dataset", default="co2", help="co2 | sunspots | elnino (default: co2)")
    parser.add_argument("--csv", default=None, metavar="FILE", help="forecast a column of this CSV file instead")
    parser.add_argument("--column", default=None, help="numeric column of --csv to forecast")
    parser.add_argument("--period", type=int, default=None,
                        help="seasonal period in steps (datasets: 52, 11, 12; required with --csv)")
    parser.add_argument("--window", type=int, default=None, help="past values the model reads (default: 2 periods)")
    parser.add_argument("--horizon", type=int, default=None, help="values forecast at once (default: 1 period)")
    parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm", help="recurrent layer (default: lstm)")
    parser.add_argument("--units", type=int, default=None, help="recurrent units (default: 64; quick: 8)")
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="Adam learning rate (default: 3e-3)")
    parser.add_argument("--test-fraction", type=float, default=0.2, help="last fraction held out (default: 0.2)")
    parser.add_argument("--validation-fraction", type=float, default=0.1,
                        help="last fraction of the rest used for validation (default: 0.1)")
    parser.add_argument("--no-sarimax", action="store_true", help="skip the SARIMAX baseline")
    cli_training.add_training_arguments(parser)


def resolve_settings(args):
    """Validates the options and fills in defaults (`--quick`: seconds)."""
    cli_training.check_arguments(args)
    for name in ("period", "window", "horizon", "units"):
        positive(name, getattr(args, name))
    for name in ("test_fraction", "validation_fraction"):
        value = getattr(args, name)
        if not 0 < value < 1:
            raise ValueError(f"`--{name.replace('_', '-')}` must be in (0, 1). Received: {name}={value!r}")
    if not args.learning_rate > 0:
        raise ValueError(f"`--learning-rate` must be positive. Received: learning_rate={args.learning_rate!r}")
    if (args.csv is None) != (args.column is None):
        raise ValueError("`--csv` and `--column` go together. Received: "
                         f"csv={args.csv!r}, column={args.column!r}")
    if args.csv is not None and args.period is None:
        raise ValueError("`--period` (seasonal period in steps, 1 for none) is required with --csv")
    budget = QUICK if args.quick else DEFAULTS
    return {
        "epochs": args.epochs or budget["epochs"],
        "batch_size": args.batch_size or budget["batch_size"],
        "units": args.units or budget["units"],
    }


def load_series(args):
    """`(values, labels, info)` of the chosen dataset or CSV column."""
    from kerasrnn.data import series

    if args.csv is not None:
        if not os.path.exists(args.csv):
            raise FileNotFoundError(f"`--csv` file not found: {args.csv}")
        values = series.read_csv_series(args.csv, args.column)
        info = {"period": args.period, "season": float(args.period),
                "about": f"column {args.column!r} of {args.csv}", "interpolated": 0}
        info["window"], info["horizon"] = 2 * args.period, args.period
        return values, [str(i) for i in range(len(values))], info
    values, labels, info = series.load_dataset(args.dataset)
    if args.period:
        info["period"], info["season"] = args.period, float(args.period)
    return values, labels, info


def build_model(window, horizon, cell="lstm", units=64):
    import keras

    from kerasrnn.layers import GRU
    from kerasrnn.layers import LSTM

    inputs = keras.Input((window, 1), name="relative_window")
    layer = (LSTM if cell == "lstm" else GRU)(units, name=cell)
    outputs = keras.layers.Dense(horizon, name="relative_forecast")(layer(inputs))
    return keras.Model(inputs, outputs, name=f"{cell}_forecaster")


def fourier_terms(steps, period, harmonics):
    steps = np.asarray(steps, dtype="float64")[:, None]
    k = np.arange(1, harmonics + 1)[None, :]
    angle = 2 * np.pi * k * steps / period
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=1)


def sarimax_forecasts(values, fit_end, origins, horizon, period, maxiter=200):
    """ARIMA(1,1,1) with drift and Fourier terms of `period` steps (a float:
    the exact season length; at most 3 harmonics, none when `period < 4`), fitted on `values[:fit_end]`, then
    run over the whole series with the same parameters; forecasts of
    `horizon` steps from each origin use only the values up to it."""
    import warnings

    from statsmodels.tsa.statespace.sarimax import SARIMAX

    harmonics = min(3, int(period // 2))
    exog = fourier_terms(np.arange(len(values)), period, harmonics) if harmonics else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SARIMAX(values[:fit_end], exog=None if exog is None else exog[:fit_end], order=(1, 1, 1), trend="t")
        fitted = model.fit(disp=False, maxiter=maxiter)
        full = fitted.apply(values, exog=exog)
    forecasts = state_space_forecasts(full, origins, horizon)
    return forecasts, {"order": [1, 1, 1], "trend": "drift", "fourier_harmonics": harmonics, "fourier_period": period,
                       "maxiter": maxiter, "converged": bool(fitted.mle_retvals.get("converged", False)),
                       "aic": float(fitted.aic)}


def state_space_forecasts(results, origins, horizon):
    """Mean forecasts of `horizon` steps from each origin of a fitted
    statsmodels state-space model (time-invariant `design`/`transition`),
    from one Kalman filter pass: with the filtered state `a = E[x_t | y_1..t]`,
    `a <- c_{t+h-1} + T a` and `y_{t+h} = d_{t+h} + Z a`. Equals
    `get_prediction(start=t + 1, end=t + horizon, dynamic=True)` per origin,
    without re-running the filter for every origin."""
    ssm = results.model.ssm
    design, transition = ssm["design"], ssm["transition"]
    if design.ndim == 3 and design.shape[-1] > 1 or transition.ndim == 3 and transition.shape[-1] > 1:
        raise ValueError("state_space_forecasts needs time-invariant design and transition matrices")
    design, transition = design.reshape(design.shape[:2]), transition.reshape(transition.shape[:2])
    obs_intercept = np.broadcast_to(ssm["obs_intercept"], (1, ssm.nobs))[0]
    state_intercept = np.broadcast_to(ssm["state_intercept"], (transition.shape[0], ssm.nobs))
    origins = np.asarray(origins)
    state = results.filtered_state[:, origins].T  # (origins, k_states)
    forecasts = np.empty((len(origins), horizon))
    for h in range(1, horizon + 1):
        state = state @ transition.T + state_intercept[:, origins + h - 1].T
        forecasts[:, h - 1] = state @ design[0] + obs_intercept[origins + h]
    return forecasts


def export_forecaster(model, scale, window, horizon, directory):
    """SavedModel with `forecast(history)`: `(batch, window)` raw values ->
    `(batch, horizon)` raw forecasts (needs only TensorFlow to serve)."""
    import keras
    import tensorflow as tf

    scale = float(scale)

    def forecast(history):
        last = history[:, -1:]
        relative = (history - last) / scale
        return model(relative[:, :, None], training=False) * scale + last

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("forecast", forecast, input_signature=[tf.TensorSpec([None, window], tf.float32)])
    archive.write_out(directory, verbose=False)


def plot_forecasts(path, values, labels, test_start, origin, forecasts, maes_by_step, names, period):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2, width_ratios=[2, 1])
    horizon = len(next(iter(forecasts.values())))
    start = max(0, origin - 3 * max(period, horizon))
    stop = min(len(values), origin + 1 + horizon + period)
    steps = np.arange(start, stop)
    left.plot(steps, values[start:stop], color="black", lw=1.2, label="observed")
    future = np.arange(origin + 1, origin + 1 + horizon)
    for name, forecast in forecasts.items():
        left.plot(future, forecast, lw=1.5, label=name)
    left.axvline(origin + 0.5, color="grey", ls=":", lw=1)
    left.axvspan(max(start, test_start), stop - 1, color="grey", alpha=0.08, lw=0)
    ticks = np.linspace(start, stop - 1, 5).astype(int)
    left.set_xticks(ticks, [labels[i] for i in ticks])
    left.set_title(f"forecast from {labels[origin]} (shaded: test part)")
    left.legend(fontsize=8)
    for name in names:
        right.plot(np.arange(1, horizon + 1), maes_by_step[name], label=name)
    right.set_xlabel("steps ahead")
    right.set_ylabel("test MAE")
    right.set_title("walk-forward MAE by step")
    right.legend(fontsize=8)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=100)


def run(args):
    settings = resolve_settings(args)
    from kerasrnn.data import series

    values, labels, info = load_series(args)
    period = info["period"]
    window = args.window or info["window"]
    horizon = args.horizon or info["horizon"]
    n = len(values)
    what = f"series ({info['about']})"
    if n < window + horizon + 1:
        raise ValueError(f"The {what} has {n} values, shorter than one window ({window} + horizon {horizon} + 1); "
                         "lower --window/--horizon")
    val_start, test_start = series.check_length(n, window, horizon, args.test_fraction,
                                                args.validation_fraction, what=what)
    if info["interpolated"]:
        print(f"Note: {info['interpolated']} missing values of {args.dataset} filled by linear interpolation")

    import keras

    strategy = training.make_strategy(args.strategy)
    training.enable_determinism(args.seed, cli_training.jit_compile(args))
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
          f"strategy {args.strategy} ({strategy.num_replicas_in_sync} replica(s))")

    with strategy.scope():
        model = build_model(window, horizon, args.cell, settings["units"])
        model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss="mse", metrics=["mae"],
                      jit_compile=cli_training.jit_compile(args))
    epoch_batches, steps = training.array_epoch_batches((x_train, y_train), settings["batch_size"], args.seed)
    start = time.perf_counter()
    history = training.fit(model, epoch_batches, steps, settings["epochs"], output=args.output, fresh=args.fresh, logdir=args.logdir, progress=args.progress,
                           validation_data=(x_val, y_val), strategy=strategy)
    train_seconds = time.perf_counter() - start

    actual = series.targets_at(values, test_origins, horizon)
    scale = series.mase_scale(values[:val_start], period)
    forecasts = {f"kerasrnn {args.cell.upper()}": scaler.inverse(
        model.predict(x_test, batch_size=256, verbose=0), values, test_origins)}
    forecasts["seasonal naive"] = series.seasonal_naive(values, test_origins, horizon, period)
    sarimax_info = None
    if not args.no_sarimax:
        start_sarimax = time.perf_counter()
        forecasts["SARIMAX"], sarimax_info = sarimax_forecasts(
            values, test_start, test_origins, horizon, info["season"], maxiter=25 if args.quick else 200)
        sarimax_info["seconds"] = round(time.perf_counter() - start_sarimax, 2)
    errors = {name: series.forecast_errors(f, actual, scale) for name, f in forecasts.items()}
    model_name = next(iter(forecasts))
    for name, e in errors.items():
        print(f"  {name:<16} MAE {e['mae']:.4f}  RMSE {e['rmse']:.4f}  MASE {e['mase']:.4f}")

    model.save(os.path.join(args.output, "model.keras"))
    export_forecaster(model, scaler.scale, window, horizon, os.path.join(args.output, "export"))
    middle = len(test_origins) // 2
    plot_forecasts(os.path.join(args.output, "forecast.png"), values, labels, test_start, int(test_origins[middle]),
                   {name: f[middle] for name, f in forecasts.items()},
                   {name: e["mae_by_step"] for name, e in errors.items()}, list(forecasts), period)
    from kerasrnn.plots import learning_curves

    learning_curves({k: v for k, v in history.items() if k in ("loss", "val_loss")},
                    path=os.path.join(args.output, "learning_curves.png"), ylabel="MSE (scaled)")

    def short(name):
        return {"seasonal naive": "seasonal_naive", "SARIMAX": "sarimax"}.get(name, "model")

    metrics = {
        "dataset": args.dataset if args.csv is None else args.csv,
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
        "strategy": args.strategy, "replicas": int(strategy.num_replicas_in_sync),
        "model": model_name,
        "sarimax": sarimax_info,
    }
    for name, e in errors.items():
        for key in ("mae", "rmse", "mase"):
            metrics[f"{short(name)}_{key}"] = e[key]
    metrics["beats_seasonal_naive"] = bool(metrics["model_mase"] < metrics["seasonal_naive_mase"])
    if sarimax_info is not None:
        metrics["beats_sarimax"] = bool(metrics["model_mase"] < metrics["sarimax_mase"])
    return metrics
