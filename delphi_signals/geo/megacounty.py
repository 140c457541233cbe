"""Megacounties: pool the counties too small to report into their state's ``SS000``, day by day."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import xarray as xr

from ..cube import normalize_geo_values, stamp
from ..errors import InputError
from ..nancodes import MISSING_NAMES, Nans, repair_codes
from .kernels import csr_missing_codes, csr_weighted_sum
from .tables import _read


def _trailing_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Sum over the ``window`` calendar days ending at each day, NaN skipped; NaN if all are NaN."""
    padded = np.zeros((x.shape[0], x.shape[1] + 1))
    np.cumsum(np.nan_to_num(x), axis=1, out=padded[:, 1:])
    counts = np.zeros_like(padded)
    np.cumsum(~np.isnan(x), axis=1, out=counts[:, 1:])
    start = np.maximum(np.arange(1, x.shape[1] + 1) - window, 0)
    total = padded[:, 1:] - padded[:, start]
    valid = counts[:, 1:] - counts[:, start]
    return np.where(valid > 0, total, np.nan)


def megacounty_of(county_ids) -> np.ndarray:
    """The state megacounty ``SS000`` of each county id (pseudo-counties go to their real state).

    Examples
    --------
    >>> megacounty_of(["01001", "70002", "06000"]).tolist()
    ['01000', '25000', '06000']
    """
    ids = np.asarray(county_ids, dtype=str)
    counties = _read("counties").set_index("county")["state_id"]
    codes = _read("states").set_index("state_id")["state_code"]
    state_code = codes.reindex(counties.reindex(ids)).to_numpy(dtype=object)
    fallback = np.array([i[:2] for i in ids], dtype=object)
    state_code = np.where(state_code == None, fallback, state_code)  # noqa: E711 (object array compare)
    return np.array([f"{c}000" for c in state_code], dtype=str)


def to_megacounty(cube: xr.Dataset, threshold: float, window: int) -> xr.Dataset:
    """Fold counties with too little data into their state's megacounty ``SS000``, as upstream does.

    A county keeps its own row on a day iff the sum of its ``value`` over the ``window`` days ending that
    day (NaN skipped) is **greater than** ``threshold``; otherwise that day's counts go to ``SS000`` and the
    county's cell becomes empty. Megacounty cells sum ``value`` and ``sample_size`` over the folded counties
    (plus any ``SS000`` row the cube already had), ``stderr`` as ``sqrt(Σ se²)``; all-missing stays NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> from delphi_signals.cube import new_cube
    >>> cube = new_cube(["01001", "01003"], pd.date_range("2020-03-01", periods=5),
    ...                 [[4, 1, 2, 5, 10], [9, 9, 9, 9, 9]], source="demo", signal="visits", geo_type="county")
    >>> mega = to_megacounty(cube, threshold=4, window=1)
    >>> mega.value.sel(geo="01000").values.tolist()
    [4.0, 1.0, 2.0, nan, nan]
    >>> mega.value.sel(geo="01001").values.tolist()
    [nan, nan, nan, 5.0, 10.0]
    """
    if cube.attrs.get("geo_type") != "county":
        raise InputError(f"to_megacounty needs a county cube, got geo_type {cube.attrs.get('geo_type')!r}")
    if window < 1:
        raise InputError(f"window must be at least 1 day, got {window}")
    cube = cube.transpose("geo", "time", ...).load()
    geo = normalize_geo_values(cube["geo"].values, "county")
    is_mega = np.char.endswith(geo, "000")
    mega = megacounty_of(geo)
    out_geo = np.union1d(geo, mega)
    value = np.ascontiguousarray(cube["value"].values)
    keep = (_trailing_sum(value, window) > threshold) & ~is_mega[:, None]

    # operator: each cube row -> its megacounty row in out_geo
    rows = np.searchsorted(out_geo, mega)
    op = sp.csr_array((np.ones(len(geo)), (rows, np.arange(len(geo)))), shape=(len(out_geo), len(geo)))
    op.sort_indices()
    indptr, indices = op.indptr.astype(np.int64), op.indices.astype(np.int64)
    weights = np.ones(len(indices))
    own = np.searchsorted(out_geo, geo)
    data_vars = {}
    for q, power in (("value", 1), ("stderr", 2), ("sample_size", 1)):
        x = np.ascontiguousarray(cube[q].values)
        folded = np.where(keep, np.nan, x)
        total = np.empty((len(out_geo), x.shape[1]))
        wsum = np.empty_like(total)
        csr_weighted_sum(folded, indptr, indices, weights, power, total, wsum)
        if power == 2:
            np.sqrt(total, out=total)
        result = np.full_like(total, np.nan)
        mega_rows = np.isin(out_geo, mega)
        result[mega_rows] = total[mega_rows]
        kept_rows = own[~is_mega]
        result[kept_rows] = np.where(keep[~is_mega], x[~is_mega], np.nan)
        codes = np.ascontiguousarray(cube[MISSING_NAMES[q]].values)
        common = np.empty(total.shape, dtype=np.int8)
        csr_missing_codes(codes, indptr, indices, np.ascontiguousarray(result), common)
        given = np.full(total.shape, np.int8(Nans.OTHER))
        given[mega_rows] = common[mega_rows]
        given[kept_rows] = np.where(keep[~is_mega], codes[~is_mega], np.int8(Nans.OTHER))
        data_vars[q] = (("geo", "time"), result)
        data_vars[MISSING_NAMES[q]] = (("geo", "time"), repair_codes(result, given)[0])
    coords = {"geo": out_geo, "time": cube["time"].values}
    if "epiweek" in cube.coords:
        coords["epiweek"] = ("time", cube["epiweek"].values)
    out = xr.Dataset(data_vars, coords=coords, attrs=dict(cube.attrs))
    return stamp(out, megacounty=f"threshold {threshold} over {window} days")
