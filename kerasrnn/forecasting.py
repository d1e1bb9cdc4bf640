"""Multi-step forecasting with a recurrent network, and the baselines it is
judged against.

* `forecaster_model`: a kerasrnn LSTM/GRU reading a relative, scaled window
  (`kerasrnn.data.series.RelativeScaler`) and predicting `horizon` values at
  once;
* `export_forecaster`: a SavedModel mapping raw windows to raw forecasts;
* `sarimax_forecasts`: an ARIMA(1,1,1) baseline with drift and Fourier terms
  (statsmodels, `pip install 'kerasrnn[corpora]'`), forecast walk-forward
  from one Kalman filter pass (`state_space_forecasts`);
* `plot_forecasts`: one origin's forecasts and the test MAE by step.

Keras, TensorFlow, statsmodels and matplotlib are imported only by the
functions that need them.
"""

import numpy as np

from kerasrnn.training.distribute import outside_strategy_scope


def forecaster_model(window, horizon, cell="lstm", units=64):
    """`(batch, window, 1)` relative window -> `(batch, horizon)` relative
    forecast: one kerasrnn recurrent layer (`cell`: a name of
    `kerasrnn.layers.get_recurrent_layer`) and a `Dense` head."""
    import keras

    from kerasrnn.layers import get_recurrent_layer

    inputs = keras.Input((window, 1), name="relative_window")
    layer = get_recurrent_layer(cell)(units, name=cell)
    outputs = keras.layers.Dense(horizon, name="relative_forecast")(layer(inputs))
    return keras.Model(inputs, outputs, name=f"{cell}_forecaster")


@outside_strategy_scope()
def export_forecaster(model, scale, window, horizon, directory):
    """Writes a SavedModel with `forecast(history)`: `(batch, window)` raw
    values -> `(batch, horizon)` raw forecasts, for a `forecaster_model`
    trained on windows relative to their last value and divided by `scale`.
    Serving it needs only TensorFlow."""
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


def fourier_terms(steps, period, harmonics):
    """`(len(steps), 2 * harmonics)`: `sin` then `cos` of `2 pi k t / period`
    for `k = 1 .. harmonics` (`period` may be fractional, e.g. 365.25 / 7)."""
    steps = np.asarray(steps, dtype="float64")[:, None]
    k = np.arange(1, harmonics + 1)[None, :]
    angle = 2 * np.pi * k * steps / period
    return np.concatenate([np.sin(angle), np.cos(angle)], axis=1)


def sarimax_forecasts(values, fit_end, origins, horizon, period, maxiter=200):
    """ARIMA(1,1,1) with drift and Fourier terms of `period` steps (a float:
    the exact season length; at most 3 harmonics, none when `period < 4`),
    fitted on `values[:fit_end]`, then run over the whole series with the
    same parameters; forecasts of `horizon` steps from each origin use only
    the values up to it.

    Returns `(forecasts, info)`: `(len(origins), horizon)` and a dict of the
    model's settings, convergence and AIC.
    """
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


def plot_forecasts(path, values, labels, test_start, origin, forecasts, maes_by_step, period, dpi=100):
    """Left: the series around `origin` with each forecaster's forecast from
    it (`forecasts`: name -> `(horizon,)`), the test part shaded; right: the
    walk-forward test MAE by step ahead (`maes_by_step`: name -> list).
    Writes a PNG to `path`; returns the figure."""
    from kerasrnn.plots import subplots

    figure, (left, right) = subplots(1, 2, figsize=(11, 4.2), width_ratios=[2, 1])
    figure.set_layout_engine("constrained")
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
    for name, maes in maes_by_step.items():
        right.plot(np.arange(1, horizon + 1), maes, label=name)
    right.set_xlabel("steps ahead")
    right.set_ylabel("test MAE")
    right.set_title("walk-forward MAE by step")
    right.legend(fontsize=8)
    if path is not None:
        import os

        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        figure.savefig(path, dpi=dpi)
    return figure
