"""Plain-pandas references of the claims sensors, written from the method's description (upstream's
``update_sensor``/``sensor`` of doctor-visits and ``indicator`` of claims_hosp), independently of the kernels.

One region at a time, loops over days, one ``np.polyfit`` per smoothed point: slow on purpose, for a few
regions in tests. Input: a daily frame indexed by every day from the first day of data to the eve of the drop,
with the count columns (0 on days without rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def left_gauss_linear(y: np.ndarray, bandwidth: float = 100.0) -> np.ndarray:
    """At each day, a weighted line through that day and all earlier ones (weights ``exp(-lag**2/h)``), read at
    that day; the first day has no line (NaN)."""
    out = np.full(len(y), np.nan)
    for t in range(1, len(y)):
        lags = np.arange(-t, 1, dtype=float)
        weights = np.exp(-(lags**2) / bandwidth)
        line = np.polyfit(lags, y[: t + 1], 1, w=np.sqrt(weights))
        out[t] = line[1]
    return out


def padded_sums(den: pd.Series, num: pd.DataFrame, k: int = 7, min_visits: float = 500):
    """Sums over the shortest trailing window (at most ``k`` days back) whose visits reach ``min_visits``."""
    new_den = pd.Series(np.nan, index=den.index)
    new_num = pd.DataFrame(np.nan, index=num.index, columns=num.columns)
    for t in range(len(den)):
        width = k
        for back in range(k + 1):
            if t - back < 0:
                break
            if den.iloc[t - back: t + 1].sum() >= min_visits:
                width = back
                break
        first = max(t - width, 0)
        new_den.iloc[t] = den.iloc[first: t + 1].sum()
        new_num.iloc[t] = num.iloc[first: t + 1].sum()
    return new_den, new_num


def _minmax_smooth(x: pd.Series, base: pd.Series | None) -> np.ndarray:
    """Smooth on the series' own [0, 1] scale, subtract the base smoothed on its scale, clip at 0, scale back."""
    def unit(s):
        low, high = s.min(), s.max()
        span = high - low if high - low > 0 else 1.0
        return (s.to_numpy() - low) / span, low, span

    scaled, low, span = unit(x)
    smoothed = left_gauss_linear(scaled)
    if base is not None:
        smoothed = smoothed - left_gauss_linear(unit(base)[0])
    return np.clip(smoothed, 0, None) * span + low


def outpatient_reference(days: pd.DataFrame, *, jeffreys: bool) -> pd.DataFrame:
    """Doctor-visits' sensor for one region: ``days`` has Covid_like, Flu_like, Mixed, Flu1, Denominator.

    Returns ``rate`` (percent), ``se`` (percent, NaN where not published) and ``include`` per day.
    """
    num = pd.DataFrame({"covid": days["Covid_like"], "flu_mixed": days["Flu_like"] + days["Mixed"],
                        "flu1": days["Flu1"]})
    den, num = padded_sums(days["Denominator"], num)
    recent = days["Denominator"].rolling(3, min_periods=1).sum()
    include = (den >= 100) & (recent != 0)
    if jeffreys:
        rates = pd.DataFrame({"covid": (num["covid"] + 0.5) / (den + 1),
                              "flu_mixed": (num["flu_mixed"] + 0.5) / (den + 1), "flu1": num["flu1"] / (den + 1)})
    else:
        rates = num.div(den, axis=0)
    rates = rates.fillna(0.0)
    total = np.zeros(len(days))
    for name, base in (("covid", None), ("flu_mixed", rates["flu1"])):
        if rates[name].sum() != 0:
            total = total + _minmax_smooth(rates[name], base)
    with np.errstate(divide="ignore", invalid="ignore"):  # days without visits are never published
        se = np.sqrt(total * (1 - total) / den.to_numpy())
    return pd.DataFrame({"rate": 100 * total, "se": np.where(include, 100 * se, np.nan), "include": include},
                        index=days.index)


def inpatient_reference(days: pd.DataFrame, numerator: str) -> pd.DataFrame:
    """Hospital-admissions' sensor for one region and numerator (``days``: the numerator and Denominator)."""
    den, num = padded_sums(days["Denominator"], days[[numerator]])
    den_s = np.clip(left_gauss_linear(den.to_numpy()), 0, None)
    num_s = np.clip(left_gauss_linear(num[numerator].to_numpy()), 0, den_s)
    rate = (num_s + 0.5) / (den_s + 1)
    include = den_s >= 100
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(rate * (1 - rate) / den_s)
    return pd.DataFrame({"rate": 100 * rate, "se": np.where(include, 100 * se, np.nan), "include": include},
                        index=days.index)


def daily_frame(drop: pd.DataFrame, region_rows, first_day, drop_day, columns) -> pd.DataFrame:
    """The daily sums of ``columns`` over ``drop`` rows ``region_rows`` (a boolean mask), every day from
    ``first_day`` to the eve of ``drop_day``, 0 where there is no row."""
    index = pd.date_range(first_day, pd.Timestamp(drop_day) - pd.Timedelta(days=1), freq="D")
    sums = drop[region_rows].groupby("date")[list(columns)].sum()
    return sums.reindex(index, fill_value=0.0)
