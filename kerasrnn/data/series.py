"""Time series for forecasting: loading, checks, windows, scaling, baselines.

Series are 1-D float64 NumPy arrays indexed by time step. A forecast made at
*origin* `t` uses `y[: t + 1]` and predicts `y[t + 1 : t + 1 + horizon]`.
Walk-forward evaluation makes one forecast from every origin of the test
part (the model is fixed, the history grows by one true value per origin).

The neural model sees windows *relative to their last value*, divided by a
scale fitted on the training part only (`RelativeScaler`): a window
`y[t - window + 1 : t + 1]` becomes `(window - y[t]) / scale` and the
target `(y[t + 1 : t + 1 + horizon] - y[t]) / scale`, so a trending series
(CO2) never leaves the range seen in training.
"""

import csv
import math

import numpy as np

from kerasrnn.validation import InputError

#: Built-in datasets (all ship inside statsmodels): name -> seasonal period
#: in whole steps (seasonal naive, MASE), its exact length in steps
#: (`season`, for Fourier terms: a year is 365.25 / 7 weeks), default window
#: and horizon, description.
DATASETS = {
    "co2": dict(period=52, season=365.25 / 7, window=104, horizon=52,
                about="weekly atmospheric CO2 at Mauna Loa (ppm), 1958-2001, statsmodels.datasets.co2"),
    "sunspots": dict(period=11, season=11.0, window=44, horizon=11,
                     about="yearly sunspot activity, 1700-2008, statsmodels.datasets.sunspots"),
    "elnino": dict(period=12, season=12.0, window=48, horizon=12,
                   about="monthly sea surface temperature (El Nino region), 1950-2010, statsmodels.datasets.elnino"),
}


def interpolate_missing(values):
    """Fills NaNs by linear interpolation in time (ends: nearest value).
    Returns `(filled, missing_rows)` with the 0-based indices filled."""
    values = np.asarray(values, dtype="float64")
    missing = np.flatnonzero(np.isnan(values))
    if len(missing) == len(values):
        raise InputError("The series holds no value (all NaN)")
    if len(missing):
        known = np.flatnonzero(~np.isnan(values))
        values = values.copy()
        values[missing] = np.interp(missing, known, values[known])
    return values, missing


def load_dataset(name):
    """Loads a statsmodels dataset as `(values, labels, info)`.

    `labels` are strings for plotting (dates or years); `info` holds
    `period`, `window`, `horizon`, `about` and `interpolated` (the number of
    missing values filled by linear interpolation: co2 has 59 weeks missing).
    """
    if name not in DATASETS:
        raise InputError(f"`--dataset` must be one of {sorted(DATASETS)}. Received: dataset={name!r}")
    info = dict(DATASETS[name])
    if name == "co2":
        from statsmodels.datasets import co2

        frame = co2.load_pandas().data
        raw, labels = frame["co2"].to_numpy(), [str(d.date()) for d in frame.index]
    elif name == "sunspots":
        from statsmodels.datasets import sunspots

        frame = sunspots.load_pandas().data
        raw, labels = frame["SUNACTIVITY"].to_numpy(), [str(int(y)) for y in frame["YEAR"]]
    else:
        from statsmodels.datasets import elnino

        frame = elnino.load_pandas().data
        months = [c for c in frame.columns if c != "YEAR"]
        raw = frame[months].to_numpy().reshape(-1)
        labels = [f"{int(y)}-{m + 1:02d}" for y in frame["YEAR"] for m in range(12)]
    values, missing = interpolate_missing(raw)
    info["interpolated"] = int(len(missing))
    return values, labels, info


def read_csv_series(path, column):
    """Reads one numeric column of a CSV file (with a header row).

    Raises `kerasrnn.validation.InputError` (a `ValueError`) for a missing or
    empty file, an unknown column, and values that are empty, NaN or not
    numbers, naming the line numbers in the file (the header is line 1): no
    silent filling for user data.
    Entirely empty lines are skipped.
    """
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise InputError(f"`--csv` file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"`--csv` file {path!r} cannot be read as UTF-8 CSV ({error})") from None
    if not rows:
        raise InputError(f"`--csv` file {path!r} is empty")
    header = [h.strip() for h in rows[0]]
    if column not in header:
        raise InputError(f"`--column` {column!r} is not a column of {path!r}. Columns: {header}")
    index = header.index(column)
    values, bad, missing = [], [], []
    for row_number, row in enumerate(rows[1:], start=2):
        if not row:
            continue  # blank line
        cell = row[index].strip() if index < len(row) else ""
        try:
            value = float(cell)
        except ValueError:
            if cell.lower() in ("", "na", "nan", "null", "none"):
                missing.append(row_number)
            else:
                bad.append((row_number, cell))
            continue
        if math.isnan(value):
            missing.append(row_number)
        elif math.isinf(value):
            bad.append((row_number, cell))
        values.append(value)
    if bad:
        shown = ", ".join(f"line {r}: {c!r}" for r, c in bad[:10])
        raise InputError(f"Column {column!r} of {path!r} has {len(bad)} non-numeric value(s) ({shown})")
    if missing:
        shown = ", ".join(str(r) for r in missing[:20])
        raise InputError(
            f"Column {column!r} of {path!r} has {len(missing)} missing/NaN value(s) at line(s) {shown}"
            f"{' ...' if len(missing) > 20 else ''}; fill or remove them first"
        )
    return np.asarray(values, dtype="float64")


class RelativeScaler:
    """Windows relative to their last value, divided by a fitted scale.

    `fit(train)` sets `scale` to the standard deviation of the one-step
    changes of the training part (1 if they are constant).
    """

    def __init__(self, scale=None):
        self.scale = scale

    def fit(self, train):
        changes = np.diff(np.asarray(train, dtype="float64"))
        scale = float(np.std(changes)) if len(changes) > 1 else 0.0
        self.scale = scale if scale > 0 else 1.0
        return self

    def windows(self, values, origins, window, horizon=None):
        """`(inputs, targets)`: inputs `(n, window, 1)` float32, targets
        `(n, horizon)` float32 (`None` when `horizon` is None)."""
        values = np.asarray(values, dtype="float64")
        origins = np.asarray(origins, dtype="int64")
        last = values[origins][:, None]
        past = values[origins[:, None] + np.arange(-window + 1, 1)[None, :]]
        inputs = ((past - last) / self.scale)[..., None].astype("float32")
        if horizon is None:
            return inputs, None
        future = values[origins[:, None] + np.arange(1, horizon + 1)[None, :]]
        return inputs, ((future - last) / self.scale).astype("float32")

    def inverse(self, predictions, values, origins):
        """Scaled model outputs back to the series' units."""
        last = np.asarray(values, dtype="float64")[np.asarray(origins)][:, None]
        return np.asarray(predictions, dtype="float64") * self.scale + last


def origins_between(first_target, last_target, window, horizon, stride=1):
    """Origins `t` whose window starts at `>= 0` and whose targets
    `t + 1 .. t + horizon` lie in `[first_target, last_target)`."""
    start = max(window - 1, first_target - 1)
    stop = last_target - 1 - horizon  # last origin (inclusive)
    return np.arange(start, stop + 1, stride, dtype="int64")


def check_length(n, window, horizon, test_fraction, validation_fraction, what="series"):
    """Raises a clear `InputError` (a `ValueError`) when a series of `n` steps is too short
    for at least one training window, one validation and one test origin."""
    test_start = n - int(round(n * test_fraction))
    val_start = test_start - int(round(test_start * validation_fraction))
    needed = window + horizon
    if val_start - needed < 1 or test_start - val_start < horizon or n - test_start < horizon:
        minimum = int(math.ceil((needed + 2 * horizon) / max(1e-9, (1 - test_fraction) * (1 - validation_fraction))))
        raise InputError(
            f"The {what} is too short: {n} values for window={window}, horizon={horizon}, "
            f"test_fraction={test_fraction}, validation_fraction={validation_fraction} "
            f"(needs about {minimum} or more; lower --window/--horizon)"
        )
    return val_start, test_start


def seasonal_naive(values, origins, horizon, period):
    """Forecasts `y[t + h] = y[t + h - period * ceil(h / period)]`: the last
    observed value of the same season. Shape `(len(origins), horizon)`."""
    values = np.asarray(values, dtype="float64")
    h = np.arange(1, horizon + 1)
    lag = period * np.ceil(h / period).astype("int64")
    return values[np.asarray(origins)[:, None] + h[None, :] - lag[None, :]]


def mase_scale(train, period):
    """In-sample MAE of the seasonal-naive one-step forecast on `train`
    (Hyndman & Koehler 2006), the denominator of MASE."""
    train = np.asarray(train, dtype="float64")
    if len(train) <= period:
        raise InputError(f"The training part ({len(train)} values) must be longer than the period ({period})")
    return float(np.mean(np.abs(train[period:] - train[:-period])))


def targets_at(values, origins, horizon):
    """The `horizon` values after each forecast origin: row `i` is
    `values[origins[i] + 1 : origins[i] + horizon + 1]`, shape
    `(len(origins), horizon)`."""
    values = np.asarray(values, dtype="float64")
    return values[np.asarray(origins)[:, None] + np.arange(1, horizon + 1)[None, :]]


def forecast_errors(forecasts, actual, scale):
    """MAE, RMSE and MASE (MAE / `scale`) over every origin and step, and
    the MAE per forecast step."""
    errors = np.asarray(forecasts, dtype="float64") - np.asarray(actual, dtype="float64")
    mae = float(np.mean(np.abs(errors)))
    return {
        "mae": mae,
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mase": mae / scale,
        "mae_by_step": np.mean(np.abs(errors), axis=0).tolist(),
    }
