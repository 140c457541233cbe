"""Smoothing along time: the array function :func:`smooth_array` and the cube function :func:`smooth`.

Semantics follow delphi-utils' ``Smoother`` (spec/indicators.md §2) except for one deliberate default:
without ``impute`` a gap stays a gap (upstream fills gaps by polynomial extrapolation unless told not to;
pass ``impute="savgol"`` for its behaviour).
"""

from __future__ import annotations

import numbers

import numpy as np
import xarray as xr

from ..cube import kernel_ready
from ..errors import InputError
from ..log import get_logger
from ..nancodes import MISSING_NAMES, Nans, repair_codes
from . import kernels
from .coefficients import impute_table, left_gauss_table, savgol_table

METHODS = ("identity", "moving_average", "savgol", "left_gauss_linear")
BOUNDARIES = ("shortened_window", "identity", "nan")
IMPUTE = {None: kernels.IMPUTE_NONE, "none": kernels.IMPUTE_NONE, "identity": kernels.IMPUTE_NONE,
          "zeros": kernels.IMPUTE_ZEROS, "savgol": kernels.IMPUTE_SAVGOL}
DEFAULT_WINDOW = {"identity": 7, "moving_average": 7, "savgol": 28, "left_gauss_linear": 28}
"""Window when none is given; for left_gauss_linear (and identity) it is only the imputation window."""

log = get_logger(__name__)


def _check(method, window, degree, bandwidth, boundary, impute, min_count):
    if method not in METHODS:
        raise InputError(f"unknown smoothing method {method!r}; expected one of {', '.join(METHODS)}")
    if window is None:
        window = DEFAULT_WINDOW[method]
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 2:
        raise InputError(f"window must be a whole number of days >= 2, got {window!r}")
    if boundary not in BOUNDARIES:
        raise InputError(f"unknown boundary {boundary!r}; expected one of {', '.join(BOUNDARIES)}")
    if impute not in IMPUTE:
        raise InputError(f"unknown impute {impute!r}; expected None, 'zeros' or 'savgol'")
    if method == "savgol" and not (isinstance(degree, numbers.Integral) and 0 <= degree < window):
        raise InputError(f"savgol degree must be a whole number in 0..window-1 = {window - 1}, got {degree!r}")
    if bandwidth is not None and not bandwidth > 0:
        raise InputError(f"bandwidth must be positive (or None for unweighted savgol), got {bandwidth!r}")
    if bandwidth is None and (method == "left_gauss_linear" or IMPUTE[impute] == kernels.IMPUTE_SAVGOL):
        raise InputError(f"{'left_gauss_linear' if method == 'left_gauss_linear' else 'savgol imputation'} "
                         "needs a Gaussian bandwidth")
    if min_count is not None:
        if method != "moving_average":
            raise InputError(f"min_count applies to the moving average only, not to {method!r}")
        if not (isinstance(min_count, numbers.Integral) and 1 <= min_count <= window):
            raise InputError(f"min_count must be a whole number in 1..window = {window}, got {min_count!r}")
    return int(window)


def _as_rows(x):
    """``x`` as a writable C-contiguous native 2-D float array with time last (the kernels silently misread
    strided input and refuse read-only or big-endian input)."""
    arr = np.asarray(x)
    dtype = np.float32 if arr.dtype.kind == "f" and arr.dtype.itemsize == 4 else np.float64
    return kernel_ready(arr.reshape(-1, arr.shape[-1]) if arr.ndim else arr.reshape(1, 1), dtype)


def _kernel(name, parallel, dtype=np.float64):
    # the parallel drivers are compiled for float64 only (import time); float32 takes the lazily compiled serial ones
    parallel = parallel and dtype == np.float64
    return getattr(kernels, f"{name}_{'parallel' if parallel else 'serial'}")


def _fir_plan(method, window, degree, bandwidth, boundary):
    """Taps, boundary rows, lead_nan, lead_raw and short_len of a FIR smoother."""
    if method == "savgol":
        taps, rows, lead_nan, lead_raw = savgol_table(window, int(degree), bandwidth, boundary)
        return taps, rows, lead_nan, lead_raw, max(2, int(degree))
    taps, rows, lead_nan, lead_raw = left_gauss_table(float(bandwidth))
    return taps, rows, lead_nan, lead_raw, 2


def smooth_array(x, method="moving_average", window=None, *, degree=2, bandwidth=144, boundary="shortened_window",
                 impute=None, min_count=None, parallel=True) -> np.ndarray:
    """Smooth an array along its last axis (time); the arguments are those of :func:`smooth`.

    ``parallel=False`` runs on the calling thread only (for dask workers).

    Examples
    --------
    >>> smooth_array(np.arange(10.0), "moving_average", 3).tolist()
    [nan, nan, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    >>> smooth_array([1.0, np.nan, 3.0, 4.0], "moving_average", 2, impute="savgol").tolist()
    [nan, 1.0, 2.0, 3.5]
    """
    window = _check(method, window, degree, bandwidth, boundary, impute, min_count)
    arr = np.asarray(x)
    rows = _as_rows(arr)
    if rows.size == 0:
        return np.array(rows, copy=True).reshape(arr.shape)
    mode = IMPUTE[impute]
    if mode != kernels.IMPUTE_NONE:
        table = impute_table(window, None if bandwidth is None else float(bandwidth))
        filled = np.empty_like(rows)
        _kernel("impute", parallel, rows.dtype)(rows, table, mode, filled)
        rows = filled
    out = np.empty_like(rows)
    if method == "identity":
        out[...] = rows
    elif method == "moving_average":
        count = window if min_count is None else int(min_count)
        _kernel("moving", parallel, rows.dtype)(rows, window, count, kernels.MEAN, 2, out)
    else:
        taps, table, lead_nan, lead_raw, short_len = _fir_plan(method, window, degree, bandwidth, boundary)
        _kernel("fir", parallel, rows.dtype)(rows, taps, table, lead_nan, lead_raw, short_len, out)
    return out.reshape(arr.shape if arr.ndim else ())


def _stderr_array(se, method, window, degree, bandwidth, boundary, min_count, parallel):
    """Standard error of the smoothed value for independent errors: sqrt(sum c_k^2 se_k^2)."""
    rows = _as_rows(se)
    out = np.empty_like(rows)
    if rows.size == 0:
        return out.reshape(np.shape(se))
    if method == "moving_average":
        count = window if min_count is None else int(min_count)
        _kernel("moving", parallel, rows.dtype)(rows, window, count, kernels.ROOT_SUM_SQUARES, 2, out)
    else:
        taps, table, lead_nan, lead_raw, short_len = _fir_plan(method, window, degree, bandwidth, boundary)
        _kernel("fir", parallel, rows.dtype)(np.ascontiguousarray(rows * rows), np.ascontiguousarray(taps * taps),
                                  np.ascontiguousarray(table * table), lead_nan, lead_raw, short_len, out)
        np.sqrt(out, out=out)
    return out.reshape(np.shape(se))


def _sample_size_array(n, window, min_count, parallel):
    rows = _as_rows(n)
    out = np.empty_like(rows)
    if rows.size:
        count = window if min_count is None else int(min_count)
        _kernel("moving", parallel, rows.dtype)(rows, window, count, kernels.SUM, 2, out)
    return out.reshape(np.shape(n))


def _all_nan(da) -> bool:
    """True for a numpy-backed variable with no number at all (skipped: nothing to smooth)."""
    return da.chunks is None and bool(np.isnan(da.values).all())


def _repaired(quantity, codes):
    return repair_codes(quantity, codes)[0]


def _over_time(func, *arrays, dtype, **kwargs):
    """Apply ``func`` along time to DataArrays (numpy or dask), with the time axis last inside."""
    result = xr.apply_ufunc(
        func, *arrays,
        input_core_dims=[["time"]] * len(arrays), output_core_dims=[["time"]],
        dask="parallelized", output_dtypes=[dtype], kwargs=kwargs, keep_attrs=True,
    )
    return result.transpose(*arrays[0].dims)


def _cell_method(method, window, degree, bandwidth, impute, unit):
    if method == "identity":
        text = ""
    elif method == "moving_average":
        text = f"time: mean (interval: {window} {unit})"
    elif method == "savgol":
        weights = "unweighted" if bandwidth is None else f"Gaussian bandwidth {bandwidth:g}"
        text = (f"time: mean (interval: {window} {unit} comment: causal local polynomial of degree {degree}, "
                f"{weights})")
    else:
        text = f"time: mean (comment: causal Gaussian-weighted local linear fit, bandwidth {bandwidth:g})"
    if IMPUTE[impute] != kernels.IMPUTE_NONE:
        filler = "zeros" if impute == "zeros" else "one-step polynomial extrapolation"
        text = (text + " " if text else "time: point ") + f"(comment: gaps filled by {filler})"
    return text


def smooth(cube: xr.Dataset, method="moving_average", window=None, *, degree=2, bandwidth=144,
           boundary="shortened_window", impute=None, min_count=None, rename: str | None = None) -> xr.Dataset:
    """Smooth every variable of a signal cube along time.

    Parameters
    ----------
    cube : xarray.Dataset
        A signal cube (numpy- or dask-backed; with dask, ``time`` must be a single chunk).
    method : {"moving_average", "savgol", "left_gauss_linear", "identity"}
        ``moving_average``: mean of the trailing ``window`` days. ``savgol``: value at today of a causal
        Gaussian-weighted least-squares polynomial of ``degree`` over the trailing ``window`` days.
        ``left_gauss_linear``: Gaussian-weighted local line over the whole past (upstream's deprecated
        smoother; savgol of degree 1 with an unbounded window). ``identity``: no smoothing.
    window : int, optional
        Days (weeks for a weekly cube); default 7 for ``moving_average``, 28 otherwise. For
        ``left_gauss_linear`` and ``identity`` only the imputation window.
    degree, bandwidth : int, float
        savgol polynomial degree and Gaussian bandwidth ``h`` (weights ``exp(-lag**2 / h)``; ``None``:
        unweighted). The bandwidth also weighs savgol imputation and left_gauss_linear.
    boundary : {"shortened_window", "identity", "nan"}
        savgol's first ``window`` points: refit on the points available, raw values, or NaN.
    impute : {None, "zeros", "savgol"}
        None: a gap stays a gap and blanks every window that touches it. ``"savgol"``: upstream's
        imputation of interior gaps (one-step polynomial extrapolation, degree <= 2). Leading NaNs are never
        filled. Values only; ``stderr`` and ``sample_size`` are never imputed.
    min_count : int, optional
        moving_average only: valid values a window needs (default: all ``window``).
    rename : str, optional
        The ``signal`` attr of the result (default: unchanged). Indicators take the name from their signal
        catalogue (``CATALOGUE.signal(..., smoother="7dav_").name``); names are never derived here, since
        each source spells its smoothed signals its own way.

    Returns
    -------
    xarray.Dataset
        The smoothed cube. ``stderr`` propagates as for independent errors, sqrt(sum c_k² se_k²)
        (sqrt(sum se²)/n for the moving average); ``sample_size`` is summed over the moving-average window
        and becomes NaN (``NOT_APPLICABLE``) for savgol and left_gauss_linear. Missing codes agree with the
        NaNs; ``cell_methods`` says what was done.

    Examples
    --------
    >>> from delphi_signals.testing import make_cube
    >>> out = smooth(make_cube(n_geo=2, days=10), "moving_average", window=7)
    >>> out.attrs["cell_methods"]
    'time: mean (interval: 7 days)'
    >>> int(out.value.notnull().sum("time")[0]), int(out.missing_value[0, 0])
    (4, 5)
    >>> smooth(make_cube(signal="confirmed_incidence_num"), rename="confirmed_7dav_incidence_num").attrs["signal"]
    'confirmed_7dav_incidence_num'
    """
    window = _check(method, window, degree, bandwidth, boundary, impute, min_count)
    chunks = cube.chunksizes.get("time") if cube.chunks else None
    if chunks is not None and len(chunks) > 1:
        raise InputError(f"smoothing needs the whole time axis in one dask chunk (it has {len(chunks)}); "
                         "rechunk first: cube.chunk({'time': -1})")
    parallel = not cube.chunks
    opts = dict(method=method, window=window, degree=degree, bandwidth=bandwidth, boundary=boundary)
    out = cube.copy(deep=False)
    value = _over_time(smooth_array, cube["value"], dtype=cube["value"].dtype, impute=impute,
                       min_count=min_count, parallel=parallel, **opts)
    out["value"] = value
    changed = {"value"}
    if method != "identity" and not _all_nan(cube["stderr"]):
        out["stderr"] = _over_time(_stderr_array, cube["stderr"], dtype=cube["stderr"].dtype,
                                   min_count=min_count, parallel=parallel, **opts)
        changed.add("stderr")
    if method == "moving_average" and not _all_nan(cube["sample_size"]):
        out["sample_size"] = _over_time(_sample_size_array, cube["sample_size"], dtype=cube["sample_size"].dtype,
                                        window=window, min_count=min_count, parallel=parallel)
        changed.add("sample_size")
    elif method in ("savgol", "left_gauss_linear"):
        out["sample_size"] = xr.full_like(cube["sample_size"], np.nan)
        out[MISSING_NAMES["sample_size"]] = xr.full_like(cube[MISSING_NAMES["sample_size"]], Nans.NOT_APPLICABLE)
    for q, name in MISSING_NAMES.items():
        if name in cube and q in changed:
            out[name] = _over_time(_repaired, out[q], cube[name], dtype=np.int8)
    unit = "weeks" if cube.attrs.get("time_type") == "week" else "days"
    added = _cell_method(method, window, degree, bandwidth, impute, unit)
    if added:
        previous = cube.attrs.get("cell_methods")
        out.attrs["cell_methods"] = f"{previous} {added}" if previous else added
    if rename is not None:
        if not isinstance(rename, str):
            raise InputError(f"rename must be the new signal name (a str), got {rename!r}", field="rename")
        out.attrs["signal"] = rename
    log.debug("smoothed cube", method=method, window=window, signal=cube.attrs.get("signal"),
              geo_type=cube.attrs.get("geo_type"), dask=not parallel)
    return out
