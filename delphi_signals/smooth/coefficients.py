"""Filter coefficients of the causal smoothers, computed once per parameter set (numpy, cached).

Every smoother here is linear in the data, so it is a table of weights: steady-state *taps* applied once
``N`` values are available, *boundary rows* for the first ``N - 1`` points of a series, and *imputation rows*
that predict a missing value from the values before it. The kernels in :mod:`.kernels` only apply them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

LEFT_GAUSS_TAIL = 1e-30
"""left_gauss_linear drops lags whose Gaussian weight is below this (lags 0..99 for bandwidth 144)."""


def local_poly_coeffs(positions, degree: int, bandwidth: float | None, at: float = 0.0) -> np.ndarray:
    """Weights ``c`` with ``c @ y`` = the value at ``at`` of the weighted least-squares polynomial through
    ``(positions, y)``, weights ``exp(-position**2 / bandwidth)`` (``None``: unweighted).

    Examples
    --------
    >>> np.round(local_poly_coeffs([-2, -1, 0], 1, None), 6).tolist()   # line through 3 points, at 0
    [-0.166667, 0.333333, 0.833333]
    """
    pos = np.asarray(positions, dtype=np.float64)
    design = np.vander(pos - at, degree + 1, increasing=True)
    weights = np.ones_like(pos) if bandwidth is None else np.exp(-(pos**2) / bandwidth)
    gram = (design.T * weights) @ design
    # the intercept row of (A'WA)^-1 A'W: solve instead of inverting
    return np.linalg.solve(gram, design.T * weights)[0]


@lru_cache(maxsize=64)
def savgol_table(window: int, degree: int, bandwidth: float | None, boundary: str):
    """``(taps, boundary_rows, lead_nan, lead_raw)`` of the causal Gaussian savgol filter.

    ``taps[j]`` weighs ``x[t - window + 1 + j]``; boundary row ``s`` (``1 <= s < window - 1``) refits on the
    ``s + 1`` values seen so far (``shortened_window``); points ``s < degree`` have an underdetermined fit
    and keep the raw value, as upstream's singular-matrix fallback does. ``identity`` keeps the first
    ``window`` points raw (upstream's loop includes index ``window - 1``); ``nan`` blanks the first
    ``window - 1``.
    """
    taps = local_poly_coeffs(np.arange(-window + 1, 1), degree, bandwidth)
    rows = np.zeros((window, window))
    lead_nan, lead_raw = 0, 0
    if boundary == "nan":
        lead_nan = window - 1
    elif boundary == "identity":
        lead_raw = window
    else:
        lead_raw = max(1, degree)
        for s in range(lead_raw, window - 1):
            rows[s, : s + 1] = local_poly_coeffs(np.arange(-s, 1), degree, bandwidth)
    return _frozen(taps), _frozen(rows), lead_nan, lead_raw


@lru_cache(maxsize=16)
def left_gauss_table(bandwidth: float):
    """``(taps, boundary_rows, lead_nan, lead_raw)`` of left_gauss_linear: a Gaussian-weighted local line
    over the whole past, truncated where the weights fall below :data:`LEFT_GAUSS_TAIL` (exact otherwise).
    """
    longest_lag = int(np.floor(np.sqrt(bandwidth * -np.log(LEFT_GAUSS_TAIL))))
    taps, rows, _, _ = savgol_table(longest_lag + 1, 1, float(bandwidth), "shortened_window")
    return taps, rows, 0, 1


@lru_cache(maxsize=64)
def impute_table(window: int, bandwidth: float | None, order: int = 2) -> np.ndarray:
    """Rows predicting the next value: row ``L`` (2..window) extrapolates a degree ``min(L - 1, order)``
    weighted polynomial through the ``L`` previous values one step ahead (positions ``-L..-1``, value at 0).
    """
    table = np.zeros((window + 1, window))
    for span in range(2, window + 1):
        table[span, :span] = local_poly_coeffs(np.arange(-span, 0), min(span - 1, order), bandwidth)
    return _frozen(table)


def _frozen(arr):
    # cached and shared between calls; numba's eager signatures take writeable arrays, so not read-only
    return np.ascontiguousarray(arr, dtype=np.float64)
