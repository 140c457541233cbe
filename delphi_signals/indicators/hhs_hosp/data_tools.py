"""The arithmetic of the HHS indicator: admission counts per state and day, and the Massachusetts flu fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ...cube import blank, new_cube
from ...log import get_logger
from ...nancodes import Nans
from ...timeaxis import time_axis
from .constants import MA_FLU_FIX_AFTER, SIGNAL_COLUMNS, SOURCE

log = get_logger(__name__, source=SOURCE)


def admissions(frame: pd.DataFrame, signal: str) -> pd.Series:
    """One base signal's count per row: the sum of its columns, missing if any of them is missing.

    Examples
    --------
    >>> frame = pd.DataFrame({"previous_day_admission_adult_covid_confirmed": [3.0, 1.0],
    ...                       "previous_day_admission_pediatric_covid_confirmed": [1.0, np.nan]})
    >>> admissions(frame, "confirmed_admissions_covid_1d").tolist()
    [4.0, nan]
    """
    columns = SIGNAL_COLUMNS[signal]
    return frame[list(columns)].sum(axis=1, min_count=len(columns)).where(frame[list(columns)].notna().all(axis=1))


def state_cube(frame: pd.DataFrame, signal: str) -> xr.Dataset:
    """Daily state cube of a base signal's counts, time = report date − 1 day (the admissions' day).

    A null count gives no reason why it is missing, so under the cube contract it is an empty cell (no row
    written), like a (state, day) absent from the response.

    Examples
    --------
    >>> frame = pd.DataFrame({"state": ["pa", "pa"], "date": pd.to_datetime(["2021-09-11", "2021-09-13"]),
    ...                       "previous_day_admission_influenza_confirmed": [2.0, np.nan]})
    >>> cube = state_cube(frame, "confirmed_admissions_influenza_1d")
    >>> cube.time.dt.strftime("%Y-%m-%d").values.tolist(), cube.value.values.tolist()
    (['2021-09-10', '2021-09-11', '2021-09-12'], [[2.0, nan, nan]])
    >>> cube.missing_value.values.tolist()  # a row, then two empty cells
    [[0, 5, 5]]
    """
    times = pd.DatetimeIndex(frame["date"]) - pd.Timedelta(days=1)
    axis = time_axis(times.min(), times.max())
    geo, geo_index = np.unique(frame["state"].to_numpy(dtype=str), return_inverse=True)
    t_index = ((times - axis[0]) // pd.Timedelta(days=1)).to_numpy(dtype=np.int64)
    value = np.full((len(geo), len(axis)), np.nan)
    value[geo_index, t_index] = admissions(frame, signal).to_numpy(dtype=np.float64)
    return new_cube(geo, axis, value, source=SOURCE, signal=signal, geo_type="state", time_type="day",
                    attrs={"units": "admissions"})


def drop_cells(cube: xr.Dataset, mask) -> xr.Dataset:
    """A copy of ``cube`` with the cells under ``mask`` made empty (no row written for them)."""
    return blank(cube, np.asarray(mask, dtype=bool), Nans.OTHER)


def massachusetts_flu_fix(cube: xr.Dataset) -> xr.Dataset:
    """Drop ``ma`` cells without a value on Tuesdays after 2021-08-01 (covidcast-indicators #1360).

    Upstream drops those rows rather than publishing them as missing. Here a null count is already an
    empty cell (see :func:`state_cube`), so the fix only matters for a cell that carries a stated missing
    code. Applies to state-level cubes; other cubes are returned unchanged.

    Examples
    --------
    >>> days = pd.date_range("2021-08-02", periods=3)  # Mon, Tue, Wed
    >>> cube = new_cube(["ma", "pa"], days, [[1.0, np.nan, np.nan], [np.nan, np.nan, 2.0]],
    ...                 missing_value=np.full((2, 3), 3), source="hhs", signal="x", geo_type="state")
    >>> massachusetts_flu_fix(cube).missing_value.values.tolist()  # only ma's Tuesday is emptied
    [[0, 5, 3], [3, 3, 0]]
    """
    if cube.attrs.get("geo_type") != "state" or "ma" not in cube.indexes["geo"]:
        return cube
    times = cube.indexes["time"]
    tuesday = (times.day_of_week == 1) & (times > pd.Timestamp(MA_FLU_FIX_AFTER))
    row = cube.indexes["geo"] == "ma"
    mask = row[:, None] & tuesday[None, :] & np.isnan(cube["value"].values)
    if mask.any():
        log.info("massachusetts flu fix", signal=cube.attrs.get("signal"), dropped=int(mask.sum()))
        return drop_cells(cube, mask)
    return cube
