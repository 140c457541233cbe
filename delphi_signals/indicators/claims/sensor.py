"""The claims sensors: counts per region and day → smoothed percentages with standard errors.

Both sensors borrow days back in time until enough visits are seen (:func:`~.kernels.backfill`), smooth with
the left Gaussian local-linear filter (bandwidth 100, :func:`delphi_signals.smooth.smooth_array`), and estimate
the proportion with :mod:`delphi_signals.estimators`. They differ in what they smooth:

* **doctor-visits** (:func:`outpatient_rates`) smooths the *rates* of COVID-like visits and of flu-like-or-mixed
  visits minus influenza (Flu1) visits, each on a min-max scale of its own series (as upstream does through
  scikit-learn's ``MinMaxScaler``: the clip at 0 happens on that scale, i.e. at the series' minimum), and adds
  the two; it publishes a day when the window's visits reach 100 and some visit was seen in the last 3 days;
* **hospital-admissions** (:func:`inpatient_rates`) smooths the padded *counts* (numerator and denominator
  apart), clips the numerator to ``[0, denominator]``, always takes the Jeffreys estimate, and publishes a day
  when the smoothed denominator reaches 100.

Arrays are ``(region, time)`` (``(region, count, time)`` for several counts), time last and dense: a day
without rows has 0 counts, as upstream fills them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ... import estimators as E
from ...cube import new_cube
from ...errors import InputError
from ...log import get_logger
from ...nancodes import Nans
from ...smooth import adjust_weekday, fit_weekday, smooth_array
from ...smooth.weekday import WeekdayFitError
from .kernels import backfill
from .regions import trailing_sum

log = get_logger(__name__)
BANDWIDTH = 100.0
"""Bandwidth ``h`` of the left Gaussian filter (weights ``exp(-lag**2 / h)``)."""
MAX_BACKFILL_WINDOW = 7
MIN_CUM_VISITS = 500
MIN_RECENT_VISITS = 100
MIN_RECENT_OBS = 3
MIN_DEN = 100


def left_gauss(x: np.ndarray, bandwidth: float = BANDWIDTH) -> np.ndarray:
    """Upstream's ``left_gauss_linear`` along the last axis: at each day, a Gaussian-weighted line fitted to that
    day and every earlier one, read at that day. The first day has no line through it and keeps its value.

    Examples
    --------
    >>> np.round(left_gauss(np.array([1.0, 2.0, 4.0, 8.0])), 4).tolist()
    [1.0, 2.0, 3.8356, 7.2185]
    """
    return smooth_array(x, "left_gauss_linear", bandwidth=bandwidth)


@dataclass(frozen=True)
class MinMaxScale:
    """scikit-learn's ``MinMaxScaler(feature_range=(0, 1))`` per row: ``x * scale + offset`` maps the row's
    minimum to 0 and maximum to 1 (a constant row gets scale 1), in scikit-learn's arithmetic."""

    scale: np.ndarray
    offset: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> "MinMaxScale":
        low, high = np.nanmin(x, axis=-1, keepdims=True), np.nanmax(x, axis=-1, keepdims=True)
        span = high - low
        span = np.where(span < 10 * np.finfo(float).eps, 1.0, span)
        scale = 1.0 / span
        return cls(scale, -low * scale)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x * self.scale + self.offset

    def inverse(self, y: np.ndarray) -> np.ndarray:
        return (y - self.offset) / self.scale


def scaled_smooth(rates: np.ndarray, base: np.ndarray | None = None, bandwidth: float = BANDWIDTH) -> np.ndarray:
    """Doctor-visits' transform of a rate series: smooth on its min-max scale, subtract the smoothed ``base`` on
    the base's own scale, clip at 0 there, and map back. Rows that are all 0 stay 0.

    Examples
    --------
    >>> rates = np.array([[0.1, 0.2, 0.3, 0.2, 0.1], [0.0, 0.0, 0.0, 0.0, 0.0]])
    >>> np.round(scaled_smooth(rates), 4).tolist()
    [[0.1, 0.2, 0.3, 0.2589, 0.1764], [0.0, 0.0, 0.0, 0.0, 0.0]]
    """
    scale = MinMaxScale.fit(rates)
    smoothed = left_gauss(scale.forward(rates), bandwidth)
    if base is not None:
        smoothed = smoothed - left_gauss(MinMaxScale.fit(base).forward(base), bandwidth)
    out = scale.inverse(np.clip(smoothed, 0, None))
    zero = np.nansum(rates, axis=-1) == 0
    out[zero] = 0.0
    return out


@dataclass(frozen=True)
class SensorResult:
    """Per region and day: the proportion ``rate`` (0..1), its ``stderr``, the visits behind it ``den`` and
    whether the day is published (``include``)."""

    rate: np.ndarray
    stderr: np.ndarray
    den: np.ndarray
    include: np.ndarray


def _finite_rates(rates: np.ndarray, what: str) -> np.ndarray:
    """0/0 is 0 (as upstream); x/0 (counts without visits) is 0 too, logged (upstream crashed on it)."""
    infinite = np.isinf(rates)
    if infinite.any():
        log.warning("counts without visits: rate set to 0", what=what, cells=int(infinite.sum()))
    return np.where(np.isfinite(rates), rates, 0.0)


def outpatient_rates(counts: np.ndarray, den: np.ndarray, *, jeffreys: bool, bandwidth: float = BANDWIDTH
                     ) -> SensorResult:
    """Doctor-visits' sensor from ``counts`` ``(R, 4, T)`` (Covid_like, Flu_like, Mixed, Flu1) and ``den`` ``(R, T)``.

    ``jeffreys``: the COVID-like and flu-like-or-mixed proportions are Jeffreys estimates (and Flu1 is divided
    by visits + 1), as upstream when standard errors are published; else plain ratios.
    """
    nums = np.stack([counts[:, 0], counts[:, 1] + counts[:, 2], counts[:, 3]], axis=1)
    new_den, new_nums = backfill(den, nums, MAX_BACKFILL_WINDOW, MIN_CUM_VISITS)
    include = (new_den >= MIN_RECENT_VISITS) & (trailing_sum(den, MIN_RECENT_OBS) != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if jeffreys:
            rates = [E.jeffreys_proportion(new_nums[:, 0], new_den), E.jeffreys_proportion(new_nums[:, 1], new_den),
                     new_nums[:, 2] / (new_den + 1)]
        else:
            rates = [new_nums[:, c] / new_den for c in range(3)]
    rates = [np.where(np.isnan(r), 0.0, r) for r in rates]
    covid, flu_mixed, flu1 = (_finite_rates(r, name) for r, name in zip(rates, ("covid", "flu_mixed", "flu1")))
    rate = scaled_smooth(covid, bandwidth=bandwidth) + scaled_smooth(flu_mixed, flu1, bandwidth=bandwidth)
    stderr = np.where(include, E.proportion_stderr(rate, new_den), np.nan)
    return SensorResult(rate, stderr, new_den, include)


def inpatient_rates(num: np.ndarray, den: np.ndarray, *, bandwidth: float = BANDWIDTH) -> SensorResult:
    """Hospital-admissions' sensor from ``num`` and ``den`` ``(R, T)``: padded, smoothed, Jeffreys estimate."""
    new_den, new_num = backfill(den, num[:, None, :], MAX_BACKFILL_WINDOW, MIN_CUM_VISITS)
    den_s = np.clip(left_gauss(new_den, bandwidth), 0, None)
    num_s = np.clip(left_gauss(new_num[:, 0], bandwidth), 0, den_s)
    rate = E.jeffreys_proportion(num_s, den_s)
    include = den_s >= MIN_DEN
    stderr = np.where(include, E.proportion_stderr(rate, den_s), np.nan)
    return SensorResult(rate, stderr, den_s, include)


def weekday_effects(dates, num: np.ndarray, den: np.ndarray, *, what: str) -> np.ndarray:
    """Day-of-week effects (Mon..Sun, log scale) of a pooled series ``num`` over ``den`` (both ``(T,)``), fitted
    by :func:`delphi_signals.smooth.fit_weekday`; all NaN when the fit cannot be made or does not converge
    (fewer than 7 days, or the solver stops short), with a warning: the adjusted signal is then left out.
    """
    time = xr.DataArray(np.asarray(dates, dtype="datetime64[ns]"), dims="time")
    num_da = xr.DataArray(np.asarray(num, dtype=float), coords={"time": time}, dims="time")
    den_da = xr.DataArray(np.asarray(den, dtype=float), coords={"time": time}, dims="time")
    try:
        params = fit_weekday(num_da, den_da, on_failure="raise")
    except (WeekdayFitError, InputError) as exc:
        log.warning("weekday fit failed: adjusted values left out", what=what, days=len(time), error=str(exc))
        return np.full(7, np.nan)
    return params["weekday_effect"].values


def adjust_counts(ids, dates, counts: np.ndarray, effects: np.ndarray, *, geo_type: str) -> np.ndarray:
    """``counts`` ``(R, T)`` divided by ``exp(effect)`` of each day's weekday, through
    :func:`delphi_signals.smooth.adjust_weekday` (the denominators are left as they are, as upstream)."""
    if np.isnan(effects).any():
        return np.full_like(counts, np.nan)
    cube = new_cube(ids, dates, counts, source="claims", signal="counts", geo_type=geo_type)
    params = xr.Dataset({"weekday_effect": ("day_of_week", np.asarray(effects, dtype=float))})
    return adjust_weekday(cube, params)["value"].values


def sensor_cube(ids, dates, result: SensorResult, *, source: str, signal: str, geo_type: str, write_se: bool,
                keep: slice = slice(None)) -> xr.Dataset:
    """A signal cube of percentages from ``result`` over ``dates[keep]``.

    A published day has ``value`` = 100 × rate; ``stderr`` = 100 × its standard error when ``write_se`` (else
    NA with code CENSORED); ``sample_size`` is never published (NA, CENSORED). Other days are empty cells (no
    row), as are days whose rate is not finite.
    """
    rate, stderr, include = result.rate[:, keep], result.stderr[:, keep], result.include[:, keep]
    publish = include & np.isfinite(rate)
    value = np.where(publish, 100.0 * rate, np.nan)
    empty = np.int8(Nans.OTHER)
    censored = np.where(publish, np.int8(Nans.CENSORED), empty).astype(np.int8)
    if write_se:
        se = np.where(publish, 100.0 * stderr, np.nan)
        se_codes = np.where(np.isnan(se), empty, np.int8(Nans.NOT_MISSING)).astype(np.int8)
    else:
        se, se_codes = np.full(value.shape, np.nan), censored
    return new_cube(ids, np.asarray(dates)[keep], value, se, np.full(value.shape, np.nan), source=source,
                    signal=signal, geo_type=geo_type, missing_value=np.where(publish, 0, empty).astype(np.int8),
                    missing_stderr=se_codes, missing_sample_size=censored, attrs={"units": "percent"})


def suspicious(cube: xr.Dataset, *, limit: float = 90.0, se_limit: float = 5.0) -> None:
    """Log (not fail, as upstream's assertions did) percentages of at least ``limit`` and standard errors of at
    least ``se_limit``."""
    high = cube["value"].values >= limit
    wide = cube["stderr"].values >= se_limit
    if high.any() or wide.any():
        geo = cube["geo"].values
        log.warning("suspicious values published", signal=cube.attrs.get("signal"),
                    geo_type=cube.attrs.get("geo_type"), percent_at_least_90=int(high.sum()),
                    stderr_at_least_5=int(wide.sum()), regions=sorted(set(geo[np.nonzero(high | wide)[0]]))[:10])
