import numpy as np
import pytest

from kerasrnn.data import series


def test_windows_are_relative_and_invert():
    values = np.arange(30, dtype="float64") ** 1.5
    scaler = series.RelativeScaler().fit(values[:20])
    assert scaler.scale == pytest.approx(np.std(np.diff(values[:20])))
    origins = series.origins_between(0, 20, window=4, horizon=3)
    inputs, targets = scaler.windows(values, origins, window=4, horizon=3)
    assert inputs.shape == (len(origins), 4, 1) and targets.shape == (len(origins), 3)
    np.testing.assert_allclose(inputs[:, -1, 0], 0)  # relative to the last value
    # Targets stay inside the part: last origin's last target is index 19.
    assert origins[0] == 3 and origins[-1] + 3 == 19
    np.testing.assert_allclose(scaler.inverse(targets, values, origins),
                               series.targets_at(values, origins, 3), rtol=1e-6)


def test_scale_fitted_on_training_part_only():
    values = np.concatenate([np.arange(10.0), np.arange(10.0) * 100])
    assert series.RelativeScaler().fit(values[:10]).scale == 1.0  # constant steps -> 1
    assert series.RelativeScaler().fit(values).scale > 10


def test_seasonal_naive_and_mase():
    period = 4
    values = np.tile([1.0, 2.0, 3.0, 4.0], 5) + np.repeat(np.arange(5.0), 4)
    forecasts = series.seasonal_naive(values, origins=[7], horizon=6, period=period)
    # Steps 1-4 repeat the last season (indices 4..7), steps 5-6 repeat it again.
    np.testing.assert_array_equal(forecasts[0], values[[4, 5, 6, 7, 4, 5]])
    assert series.mase_scale(values, period) == pytest.approx(1.0)
    errors = series.forecast_errors(forecasts, series.targets_at(values, [7], 6), scale=2.0)
    assert errors["mase"] == pytest.approx(errors["mae"] / 2.0)
    assert errors["rmse"] >= errors["mae"] > 0


def test_interpolate_missing():
    filled, missing = series.interpolate_missing([1.0, np.nan, 3.0, np.nan])
    np.testing.assert_allclose(filled, [1, 2, 3, 3])
    assert list(missing) == [1, 3]
    with pytest.raises(ValueError, match="all NaN"):
        series.interpolate_missing([np.nan])


def test_co2_is_interpolated():
    values, labels, info = series.load_dataset("co2")
    assert len(values) == len(labels) == 2284
    assert info["interpolated"] == 59 and not np.isnan(values).any()


def _csv(tmp_path, text):
    path = tmp_path / "data.csv"
    path.write_text(text)
    return str(path)


def test_csv_reading_and_errors(tmp_path):
    good = _csv(tmp_path, "date,y\n2020,1.5\n2021,2\n\n2022,3e0\n")
    np.testing.assert_allclose(series.read_csv_series(good, "y"), [1.5, 2, 3])
    with pytest.raises(ValueError, match=r"'z' is not a column.*\['date', 'y'\]"):
        series.read_csv_series(good, "z")
    bad = _csv(tmp_path, "y\n1\nabc\n3\nx1\n")
    with pytest.raises(ValueError, match=r"2 non-numeric.*line 3: 'abc', line 5: 'x1'"):
        series.read_csv_series(bad, "y")
    nans = _csv(tmp_path, "y\n1\n\nNaN\n2\n,\n")
    # Line numbers of the file (header = line 1); the blank line 3 is skipped.
    with pytest.raises(ValueError, match=r"2 missing/NaN value\(s\) at line\(s\) 4, 6;"):
        series.read_csv_series(nans, "y")


def test_check_length():
    assert series.check_length(1000, 20, 10, 0.2, 0.1) == (720, 800)
    with pytest.raises(ValueError, match="too short: 50 values for window=20, horizon=10"):
        series.check_length(50, 20, 10, 0.2, 0.1)
