"""Numba kernels for smoothing along time: plain loops over 2-D arrays whose last axis is time.

No xarray, no pandas. Every kernel takes C-contiguous ``(rows, time)`` arrays of float64 or float32 and
writes into ``out`` (same shape and dtype). Each comes twice: a ``*_parallel`` driver (``prange`` over rows,
for numpy-backed data) and a ``*_serial`` driver (for dask blocks, whose threads must not start numba
thread pools of their own). The float64 parallel drivers compile eagerly; everything is cached on disk.

A series' *span* starts at its first non-NaN value: leading NaNs stay NaN and the boundary rules count
from there, as upstream strips them, smooths, and pads them back. A span of fewer than ``short_len``
points is copied unchanged (upstream returns a length-1 series raw, even for the moving average).

Coefficient tables (taps, boundary rows, imputation rows) are built in :mod:`.coefficients`.
"""

from __future__ import annotations

import numba
import numpy as np

# Not fastmath=True: it includes 'nnan', which lets LLVM fold the isnan tests away.
# 'reassoc' lets tap reductions vectorize; results move by <= 1e-15 relative.
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}

MEAN, SUM, ROOT_SUM_SQUARES = 0, 1, 2
"""Modes of :func:`moving_parallel`: window mean, window sum, sqrt(sum of squares) / count."""

IMPUTE_NONE, IMPUTE_ZEROS, IMPUTE_SAVGOL = 0, 1, 2
"""Modes of :func:`impute_parallel`."""


def _signatures(*args):
    """The eager signature ``(x, *args, out)`` for float64; coefficient tables stay float64."""
    return [numba.void(numba.float64[:, ::1], *args, numba.float64[:, ::1])]


_T1 = numba.float64[::1]
_T2 = numba.float64[:, ::1]
_I = numba.int64


@numba.njit(inline="always")
def _first_valid(row):
    n = row.shape[0]
    for t in range(n):
        if not np.isnan(row[t]):
            return t
    return n


@numba.njit(fastmath=FASTMATH, cache=True)
def _impute_row(x, table, mode, out):
    """Fill interior NaNs of one series. zeros: NaN -> 0; savgol: one-step polynomial prediction.

    NaN rule: leading NaNs are never filled; with savgol, each gap value is predicted from the ``L =
    min(i, W)`` values before it (earlier fills included): ``out[i] = table[L, :L] @ out[i-L:i]``.
    """
    n = x.shape[0]
    start = _first_valid(x)
    for t in range(n):
        out[t] = x[t]
    if mode == IMPUTE_NONE:
        return
    window = table.shape[0] - 1
    for i in range(start + 1, n):
        if not np.isnan(out[i]):
            continue
        if mode == IMPUTE_ZEROS:
            out[i] = 0.0
            continue
        span = min(i - start, window)
        if span == 1:
            out[i] = out[i - 1]
            continue
        acc = 0.0
        for k in range(span):
            acc += table[span, k] * out[i - span + k]
        out[i] = acc


@numba.njit(fastmath=FASTMATH, cache=True)
def _moving_row(x, window, min_count, mode, short_len, out):
    """Trailing window statistic: mean / sum / sqrt(sum x^2)/count of the valid values in ``x[t-N+1..t]``.

    NaN rule: NaN where fewer than ``min_count`` values of the window are valid; a span shorter than
    ``short_len`` is copied unchanged.
    """
    n = x.shape[0]
    start = _first_valid(x)
    if n - start < short_len:
        for t in range(n):
            out[t] = x[t]
        return
    acc = 0.0
    count = 0
    for t in range(n):
        v = x[t]
        if not np.isnan(v):
            acc += v * v if mode == ROOT_SUM_SQUARES else v
            count += 1
        if t >= window:
            old = x[t - window]
            if not np.isnan(old):
                acc -= old * old if mode == ROOT_SUM_SQUARES else old
                count -= 1
                if count == 0:
                    acc = 0.0  # drop rounding residue when the window empties
        if count < min_count or count == 0:
            out[t] = np.nan
        elif mode == MEAN:
            out[t] = acc / count
        elif mode == SUM:
            out[t] = acc
        else:
            out[t] = np.sqrt(max(acc, 0.0)) / count


@numba.njit(fastmath=FASTMATH, cache=True)
def _fir_row(x, taps, boundary, lead_nan, lead_raw, short_len, out):
    """Causal filter ``y_t = sum_j taps[j] x[t-N+1+j]``, with a left boundary counted from the span start.

    Span position ``s < lead_nan`` -> NaN; ``s < lead_raw`` -> raw value; ``s < N-1`` -> boundary row ``s``
    (``y = boundary[s, :s+1] @ x[start..t]``); otherwise the steady taps.
    NaN rule: any NaN among the values a point uses makes it NaN; a raw point is NaN only if it was.
    """
    n = x.shape[0]
    width = taps.shape[0]
    start = _first_valid(x)
    for t in range(start):
        out[t] = np.nan
    if n - start < short_len:
        for t in range(start, n):
            out[t] = x[t]
        return
    steady = min(start + max(width - 1, lead_raw, lead_nan), n)
    for t in range(start, steady):
        s = t - start
        if s < lead_nan:
            out[t] = np.nan
        elif s < lead_raw:
            out[t] = x[t]
        else:
            acc = 0.0
            for k in range(s + 1):
                acc += boundary[s, k] * x[start + k]
            out[t] = acc
    # the steady state in a loop of its own, so that the tap reduction vectorizes
    for t in range(steady, n):
        window = x[t - width + 1:t + 1]
        acc = 0.0
        for k in range(width):
            acc += taps[k] * window[k]
        out[t] = acc


def _eager(parallel, *args):
    """The float64 parallel drivers compile at import (what nearly every call uses); the serial drivers (dask
    blocks) and float32 compile on first use. Either way the machine code is cached on disk, so only a
    process with a cold cache pays: about 3 s at import instead of about 10 s for all twelve variants."""
    if parallel:
        return numba.njit(_signatures(*args), parallel=True, fastmath=FASTMATH, cache=True)
    return numba.njit(parallel=False, fastmath=FASTMATH, cache=True)


# Each driver is its own function (not one function jitted twice) so the on-disk cache entries, keyed by
# function name and line, never collide. In the serial drivers ``range`` replaces ``prange``.


@_eager(True, _T2, _I)
def impute_parallel(x, table, mode, out):
    """:func:`_impute_row` on every row. ``table`` float64 ``(W + 1, W)``: row ``L`` predicts from ``L``
    previous values; ``mode`` one of ``IMPUTE_*``."""
    for r in numba.prange(x.shape[0]):
        _impute_row(x[r], table, mode, out[r])


@_eager(False, _T2, _I)
def impute_serial(x, table, mode, out):
    """:func:`impute_parallel` on one thread."""
    for r in range(x.shape[0]):
        _impute_row(x[r], table, mode, out[r])


@_eager(True, _I, _I, _I, _I)
def moving_parallel(x, window, min_count, mode, short_len, out):
    """:func:`_moving_row` on every row; ``mode`` one of ``MEAN``, ``SUM``, ``ROOT_SUM_SQUARES``."""
    for r in numba.prange(x.shape[0]):
        _moving_row(x[r], window, min_count, mode, short_len, out[r])


@_eager(False, _I, _I, _I, _I)
def moving_serial(x, window, min_count, mode, short_len, out):
    """:func:`moving_parallel` on one thread."""
    for r in range(x.shape[0]):
        _moving_row(x[r], window, min_count, mode, short_len, out[r])


@_eager(True, _T1, _T2, _I, _I, _I)
def fir_parallel(x, taps, boundary, lead_nan, lead_raw, short_len, out):
    """:func:`_fir_row` on every row. ``taps`` float64 ``(N,)`` oldest first; ``boundary`` ``(N, N)``."""
    for r in numba.prange(x.shape[0]):
        _fir_row(x[r], taps, boundary, lead_nan, lead_raw, short_len, out[r])


@_eager(False, _T1, _T2, _I, _I, _I)
def fir_serial(x, taps, boundary, lead_nan, lead_raw, short_len, out):
    """:func:`fir_parallel` on one thread."""
    for r in range(x.shape[0]):
        _fir_row(x[r], taps, boundary, lead_nan, lead_raw, short_len, out[r])
