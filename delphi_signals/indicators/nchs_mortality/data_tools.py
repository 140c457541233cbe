"""The arithmetic of the NCHS indicator: New York City folded into New York, weekly state count cubes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ...cube import new_cube
from ...nancodes import Nans
from ...timeaxis import time_axis
from .constants import METRICS, NEW_YORK, NEW_YORK_CITY, SOURCE
from .pull import state_ids


def fold_new_york_city(table: pd.DataFrame) -> pd.DataFrame:
    """Add New York City's rows to New York's, week by week (NCHS reports them apart).

    As upstream: a count is missing only if both are missing; otherwise a missing (suppressed) part
    counts as 0.

    Examples
    --------
    >>> week = pd.Timestamp("2020-06-14")
    >>> table = pd.DataFrame({"state": ["New York", "New York City"], "week_start": [week, week],
    ...                       "covid_deaths": [126.0, 89.0], "influenza_deaths": [np.nan, np.nan]})
    >>> fold_new_york_city(table)[["state", "covid_deaths", "influenza_deaths"]].values.tolist()
    [['New York', 215.0, nan]]
    """
    counts = [c for c in table.columns if c in METRICS]
    ny = table["state"].isin([NEW_YORK, NEW_YORK_CITY])
    merged = (table[ny].groupby("week_start", as_index=False)[counts].sum(min_count=1))
    merged.insert(0, "state", NEW_YORK)
    return pd.concat([table[~ny], merged], ignore_index=True).sort_values(["state", "week_start"], ignore_index=True)


def state_cube(table: pd.DataFrame, column: str, signal: str) -> xr.Dataset:
    """Weekly state cube of one count column: time = epiweek start, aux coord ``epiweek``.

    A (state, week) in the table with a blank count is a row with a missing value, code ``CENSORED`` (NCHS
    suppresses counts of 1–9 deaths); a (state, week) absent from the table is an empty cell.

    Examples
    --------
    >>> table = pd.DataFrame({"state": ["Alabama", "Alaska"], "week_start": pd.to_datetime(["2020-06-14"] * 2),
    ...                       "covid_deaths": [88.0, np.nan]})
    >>> cube = state_cube(table, "covid_deaths", "deaths_covid_incidence_num")
    >>> cube.geo.values.tolist(), cube.epiweek.values.tolist(), cube.value.values.tolist()
    (['ak', 'al'], [202025], [[nan], [88.0]])
    >>> cube.missing_value.values.tolist()
    [[3], [0]]
    """
    ids = state_ids()
    geo_ids = table["state"].map(ids).to_numpy(dtype=str)
    axis = time_axis(table["week_start"].min(), table["week_start"].max(), "week")
    geo, geo_index = np.unique(geo_ids, return_inverse=True)
    t_index = ((pd.DatetimeIndex(table["week_start"]) - axis[0]) // pd.Timedelta(days=7)).to_numpy(dtype=np.int64)
    shape = (len(geo), len(axis))
    value = np.full(shape, np.nan)
    value[geo_index, t_index] = table[column].to_numpy(dtype=np.float64)
    has_row = np.zeros(shape, dtype=bool)
    has_row[geo_index, t_index] = True
    value_code = np.where(has_row, np.where(np.isnan(value), Nans.CENSORED, Nans.NOT_MISSING), Nans.OTHER).astype(np.int8)
    other_code = np.where(has_row, Nans.NOT_APPLICABLE, Nans.OTHER).astype(np.int8)
    return new_cube(geo, axis, value, source=SOURCE, signal=signal, geo_type="state", time_type="week",
                    missing_value=value_code, missing_stderr=other_code, missing_sample_size=other_code,
                    attrs={"units": "deaths"})
