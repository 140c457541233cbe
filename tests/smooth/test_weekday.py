"""Weekday adjustment: spec §3 test vectors, the real national series, and the cube functions."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from delphi_signals.cube import new_cube
from delphi_signals.errors import InputError
from delphi_signals.smooth.weekday import adjust_weekday, fit_weekday, fit_weekday_arrays

SPEC_ALPHA = [-0.0599, -0.0727, -0.0562, 0.0343, 0.1253, 0.0456]
# delphi-utils 0.3.24 (cvxpy 1.5 + Clarabel) on national JHU confirmed incidence from 2020-03-15, den 3.3e8
UPSTREAM_JHU_ALPHA = [-0.147831, -0.051046, 0.009506, 0.113622, 0.164895, 0.052807]


def design(dayofweek):
    """X = [weekday indicators, Sunday rows -1 in all six | identity], as spec §3 writes it."""
    t = len(dayofweek)
    x = np.zeros((t, 6 + t))
    for row, day in enumerate(dayofweek):
        if day == 6:
            x[row, :6] = -1
        else:
            x[row, day] = 1
    x[:, 6:] = np.eye(t)
    return x


def objective(beta, num, den, dayofweek):
    t = len(num)
    eta = design(dayofweek) @ beta
    return np.sum(den * np.exp(eta) - num * eta) / t + 100 / (t - 2) * np.abs(np.diff(beta[6:], 3)).sum()


def test_spec_fit_vector():
    time = pd.date_range("2020-01-01", periods=10)
    params = fit_weekday(xr.DataArray(np.arange(1.0, 11), coords={"time": time}),
                         xr.DataArray(np.arange(11.0, 21), coords={"time": time}))
    np.testing.assert_allclose(params.weekday_effect.values[:6], SPEC_ALPHA, atol=6e-5)
    assert params.weekday_effect.sum() == pytest.approx(0, abs=1e-12)
    assert params.attrs["converged"] == 1


def test_spec_adjustment_vector_ignores_the_seventh_value():
    cube = new_cube(["ca", "pa"], pd.date_range("2020-01-01", periods=10), [np.arange(1.0, 11)] * 2,
                    source="demo", signal="cases", geo_type="state")
    params = xr.Dataset({"weekday_effect": ("day_of_week", [1.0, -1, 1, -1, 1, -1, 123])})
    out = adjust_weekday(cube, params)
    expected = [0.3679, 5.4366, 1.1036, 10.873, 5, 2.2073, 19.028, 2.9430, 24.465, 3.6788]
    np.testing.assert_allclose(out.value.values, [expected] * 2, rtol=1e-4)
    np.testing.assert_array_equal(out.sample_size.values, cube.sample_size.values)
    assert "day-of-week" in out.attrs["cell_methods"]


def test_real_national_series_reaches_upstream_optimum_or_better(realdata):
    frame = pd.read_csv(realdata / "jhu_csse" / "time_series_covid19_confirmed_US.csv")
    days = [c for c in frame.columns if c.count("/") == 2]
    national = np.diff(frame[days].to_numpy(float).sum(0))
    dates = pd.to_datetime(days[1:], format="%m/%d/%y")
    num = national[dates >= "2020-03-15"]
    dow = dates[dates >= "2020-03-15"].day_of_week.to_numpy()
    den = np.full(len(num), 3.3e8)
    beta, converged = fit_weekday_arrays(num, den, dow)
    assert converged
    np.testing.assert_allclose(beta[:6], UPSTREAM_JHU_ALPHA, atol=0.01)
    swapped = beta.copy()
    swapped[:6] = UPSTREAM_JHU_ALPHA
    assert objective(beta, num, den, dow) < objective(swapped, num, den, dow)
    # weekends are reported low: Sunday and Monday effects are the smallest
    effect = np.append(beta[:6], -beta[:6].sum())
    assert set(np.argsort(effect)[:2]) == {0, 6}


def test_fit_on_cube_sums_over_regions_and_recovers_planted_effects():
    rng = np.random.default_rng(1)
    time = pd.date_range("2021-01-01", periods=140)
    planted = np.array([0.2, 0.1, 0.0, 0.05, -0.05, -0.1, -0.2])
    rate = np.exp(planted[time.day_of_week] + np.linspace(-1, 0.5, 140) ** 2)
    den = rng.uniform(5e3, 1e4, size=(20, 140))
    num = rng.poisson(den * rate * 0.5).astype(float)
    cube = new_cube([f"{i:02d}001" for i in range(1, 21)], time, num, source="demo", signal="x", geo_type="county")
    den_cube = new_cube(cube.geo.values, time, den, source="demo", signal="d", geo_type="county")
    params = fit_weekday(cube, den_cube)
    np.testing.assert_allclose(params.weekday_effect.values, planted, atol=0.01)
    adjusted = adjust_weekday(cube, params)
    ratio = (adjusted.value.sum("geo") / den_cube.value.sum("geo")).values
    by_day = pd.Series(ratio / np.exp(np.linspace(-1, 0.5, 140) ** 2) / 0.5).groupby(time.day_of_week).mean()
    assert by_day.std() < 0.01  # the weekday pattern is gone


def test_too_short_series_is_refused():
    with pytest.raises(InputError, match="at least 7 days"):
        fit_weekday_arrays(np.ones(5), np.ones(5), np.arange(5))
