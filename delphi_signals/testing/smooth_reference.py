"""Plain-numpy reference smoothers and the table that drives both the smoothing tests and the benchmark.

The references are written from the spec (spec/indicators.md §2), independently of the kernels: loops over
time, one ``np.polyfit`` with weights per point, no shared coefficient tables. They are slow on purpose
(clear, not fast); use them on a few series.

:data:`CASES` maps a case name to the keyword arguments of :func:`delphi_signals.smooth.smooth_array`
(``ours``), the same smoother spelled for delphi-utils' ``Smoother`` (``upstream``), and the speed-up the
benchmark demands over upstream (``target``, ``None`` if it is not timed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _fit_value(positions, values, degree, bandwidth, at=0.0):
    """Weighted least-squares polynomial through (positions, values), evaluated at ``at``."""
    positions = np.asarray(positions, dtype=float)
    weights = np.ones_like(positions) if bandwidth is None else np.exp(-(positions**2) / bandwidth)
    # np.polyfit's w multiplies residuals, so the least-squares weights enter as their square roots
    poly = np.polyfit(positions, np.asarray(values, dtype=float), degree, w=np.sqrt(weights))
    return np.polyval(poly, at)


def _first_valid(x):
    valid = np.flatnonzero(~np.isnan(x))
    return valid[0] if valid.size else len(x)


def reference_impute(x, window, bandwidth, how):
    """Upstream imputation of one series: zeros, or each interior NaN predicted one step ahead from the
    ``min(i, window)`` values before it by a polynomial of degree ``min(that - 1, 2)``."""
    y = np.array(x, dtype=float)
    start = _first_valid(y)
    if how in (None, "none", "identity"):
        return y
    for i in range(start + 1, len(y)):
        if not np.isnan(y[i]):
            continue
        if how == "zeros":
            y[i] = 0.0
            continue
        span = min(i - start, window)
        if span == 1:
            y[i] = y[i - 1]
        else:
            y[i] = _fit_value(np.arange(-span, 0), y[i - span:i], min(span - 1, 2), bandwidth)
    return y


def reference_smooth_series(x, method="moving_average", window=None, *, degree=2, bandwidth=144,
                            boundary="shortened_window", impute=None, min_count=None):
    """One series smoothed by the rules of spec §2, with a gap (no imputation) blanking what it touches."""
    window = window or (7 if method in ("moving_average", "identity") else 28)
    x = np.asarray(x, dtype=float)
    n = len(x)
    out = np.full(n, np.nan)
    start = _first_valid(x)
    if start == n:
        return out
    short = 2 if method != "savgol" else max(2, degree)
    if n - start < short:
        out[start:] = x[start:]
        return out
    y = np.full(n, np.nan)
    y[start:] = reference_impute(x[start:], window, bandwidth, impute)
    if method == "identity":
        return y
    for t in range(start, n):
        s = t - start
        if method == "moving_average":
            need = window if min_count is None else min_count
            seen = y[max(0, t - window + 1):t + 1]
            ok = seen[~np.isnan(seen)]
            out[t] = ok.mean() if len(ok) >= need and len(ok) else np.nan
        elif method == "savgol":
            if boundary == "nan" and s < window - 1:
                continue
            if s == 0 or (boundary == "identity" and s < window) or (s < degree):
                out[t] = y[t]
                continue
            first = max(start, t - window + 1)
            seen = y[first:t + 1]
            out[t] = np.nan if np.isnan(seen).any() else _fit_value(np.arange(first - t, 1), seen, degree, bandwidth)
        else:  # left_gauss_linear: local line on the whole past, value at today
            if s == 0:
                out[t] = y[t]
                continue
            seen = y[start:t + 1]
            # lags weighing under 1e-30 are dropped (as the kernel does); a gap there does not blank the fit
            lags = np.arange(start - t, 1)
            used = np.exp(-(lags**2) / bandwidth) >= 1e-30
            seen, lags = seen[used], lags[used]
            out[t] = np.nan if np.isnan(seen).any() else _fit_value(lags, seen, 1, bandwidth)
    return out


def reference_smooth(x, **kwargs):
    """:func:`reference_smooth_series` on every row of a 2-D array."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    return np.array([reference_smooth_series(row, **kwargs) for row in x])


def _trailing(values, window, min_count, reduce):
    """``reduce`` of the valid values of each trailing window holding at least ``min_count`` (default window)."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    out = np.full(values.shape, np.nan)
    need = window if min_count is None else min_count
    for r in range(values.shape[0]):
        for t in range(values.shape[1]):
            seen = values[r, max(0, t - window + 1):t + 1]
            ok = seen[~np.isnan(seen)]
            if len(ok) >= need and len(ok):
                out[r, t] = reduce(ok)
    return out


def reference_window_stderr(se, window, min_count=None):
    """sqrt(sum se^2) / n over the valid values of each trailing window (n >= min_count, default window)."""
    return _trailing(se, window, min_count, lambda ok: np.sqrt(np.sum(ok**2)) / len(ok))


def reference_window_sum(n, window, min_count=None):
    """Sum of the valid values of each trailing window (at least ``min_count``, default ``window``)."""
    return _trailing(n, window, min_count, np.sum)


@dataclass(frozen=True)
class Case:
    """One smoother: our keyword arguments, upstream's, and the benchmark's speed-up target."""

    ours: dict
    upstream: dict | None = None
    target: float | None = None
    library: str | None = field(default=None)
    """A library function computing the same thing without imputation (benchmark floor), if any."""


CASES = {
    "moving_average": Case(
        ours=dict(method="moving_average", window=7, impute="savgol"),
        upstream=dict(smoother_name="moving_average", window_length=7),
        target=100, library="numbagg.move_mean",
    ),
    "savgol": Case(
        ours=dict(method="savgol", window=28, degree=2, bandwidth=144, impute="savgol"),
        upstream=dict(smoother_name="savgol", window_length=28, poly_fit_degree=2, gaussian_bandwidth=144),
        target=300,
    ),
    "savgol_identity_boundary": Case(
        ours=dict(method="savgol", window=14, degree=1, bandwidth=36, boundary="identity", impute="savgol"),
        upstream=dict(smoother_name="savgol", window_length=14, poly_fit_degree=1, gaussian_bandwidth=36,
                      boundary_method="identity"),
    ),
    "savgol_nan_boundary": Case(
        ours=dict(method="savgol", window=21, degree=2, bandwidth=325, boundary="nan", impute="savgol"),
        upstream=dict(smoother_name="savgol", window_length=21, poly_fit_degree=2, gaussian_bandwidth=325,
                      boundary_method="nan"),
    ),
    "savgol_unweighted": Case(
        ours=dict(method="savgol", window=10, degree=0, bandwidth=None, impute="zeros"),
        upstream=dict(smoother_name="savgol", window_length=10, poly_fit_degree=0, gaussian_bandwidth=None,
                      impute_method="zeros"),
    ),
    "left_gauss_linear": Case(
        ours=dict(method="left_gauss_linear", bandwidth=144, impute="savgol"),
        upstream=dict(smoother_name="left_gauss_linear", gaussian_bandwidth=144),
        target=1000,
    ),
    "identity": Case(ours=dict(method="identity"), upstream=dict(smoother_name="identity")),
}
"""Smoother cases, each in upstream's semantics (its default savgol imputation included)."""
