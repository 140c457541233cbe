"""The arithmetic of the NCHS indicator: New York City folded into New York, weekly state and nation cubes.

The nation is the table's own ``United States`` rows: NCHS counts the deaths of suppressed states (1–9) in
them, so they are exact where a sum of the published state cells is only a lower bound. That sum is kept
as a cross-check (:func:`check_nation`).
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd
import xarray as xr

from ...cube import new_cube
from ...log import get_logger
from ...nancodes import Nans
from ...timeaxis import time_axis
from ..runner import stamp_signal
from .constants import CATALOGUE, GEOS, METRICS, NATION_ROW, NEW_YORK, NEW_YORK_CITY, PERCENT, SENSORS, SOURCE
from .geo import geo_map
from .pull import state_ids

log = get_logger(__name__, source=SOURCE)
SUPPRESSED_RANGE = (1, 9)  # NCHS blanks a state's count in this range


def fold_new_york_city(table: pd.DataFrame) -> pd.DataFrame:
    """Add New York City's rows to New York's, week by week (NCHS reports them apart).

    As upstream: a count is missing only if both are missing; otherwise a missing (suppressed) part
    counts as 0. ``percent_of_expected_deaths`` (a ratio, which upstream sums) is combined through the
    expected deaths it implies: ``Σ total_deaths / Σ (total_deaths / percent)``; missing unless both parts
    give a positive ratio and a total.

    Examples
    --------
    >>> week = pd.Timestamp("2020-06-14")
    >>> table = pd.DataFrame({"state": ["New York", "New York City"], "week_start": [week, week],
    ...                       "covid_deaths": [126.0, 89.0], "influenza_deaths": [np.nan, np.nan],
    ...                       "total_deaths": [3000.0, 1500.0], "percent_of_expected_deaths": [1.2, 1.5]})
    >>> folded = fold_new_york_city(table)
    >>> folded[["state", "covid_deaths", "influenza_deaths"]].values.tolist()
    [['New York', 215.0, nan]]
    >>> round(folded.percent_of_expected_deaths.item(), 6)  # 4500 / (2500 + 1000)
    1.285714
    """
    counts = [c for c in table.columns if c in METRICS]
    ny = table["state"].isin([NEW_YORK, NEW_YORK_CITY])
    merged = (table[ny].groupby("week_start", as_index=False)[counts].sum(min_count=1))
    for column in PERCENT:
        if column in table.columns and "total_deaths" in table.columns:
            part = table[ny]
            ratio = part[column].where(part[column] > 0)
            expected = (part["total_deaths"] / ratio).groupby(part["week_start"]).sum(min_count=1)
            complete = (part["total_deaths"].notna() & ratio.notna()).groupby(part["week_start"]).all()
            total = part["total_deaths"].groupby(part["week_start"]).sum(min_count=1)
            combined = (total / expected).where(complete)
            merged[column] = combined.reindex(merged["week_start"]).to_numpy()
    merged.insert(0, "state", NEW_YORK)
    return pd.concat([table[~ny], merged], ignore_index=True).sort_values(["state", "week_start"], ignore_index=True)


def state_cube(table: pd.DataFrame, column: str, signal: str, geo_type: str = "state") -> xr.Dataset:
    """Weekly state (or, from the ``United States`` rows, nation) cube of one column: time = epiweek start,
    aux coord ``epiweek``.

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
    ids = state_ids() | {NATION_ROW: "us"}
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
    units = "deaths" if column in METRICS else "ratio of deaths to expected deaths"
    return new_cube(geo, axis, value, source=SOURCE, signal=signal, geo_type=geo_type, time_type="week",
                    missing_value=value_code, missing_stderr=other_code, missing_sample_size=other_code,
                    attrs={"units": units})


def split_nation(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The state rows and the ``United States`` rows of a parsed table."""
    us = (table["state"] == NATION_ROW).to_numpy()
    return table[~us].reset_index(drop=True), table[us].reset_index(drop=True)


def check_nation(states: pd.DataFrame, nation: pd.DataFrame) -> pd.DataFrame:
    """Cross-check the ``United States`` counts against the sum of the state cells (Puerto Rico excluded:
    NCHS's total leaves it out).

    With ``k`` suppressed state cells in a week, the national count must exceed the sum of the published
    cells by ``k`` to ``9k``; a (metric, week) outside that range is logged as a warning and returned.

    Returns
    -------
    pandas.DataFrame
        Columns ``metric``, ``week_start``, ``nation``, ``state_sum``, ``suppressed``: the disagreements.
    """
    states = states[states["state"] != "Puerto Rico"]
    rows = []
    for column in (c for c in METRICS if c in states.columns):
        grouped = states.groupby("week_start")[column]
        summed, hidden = grouped.sum(min_count=0), grouped.apply(lambda v: int(v.isna().sum()))
        us = nation.set_index("week_start")[column]
        for week, total in us.dropna().items():
            if week not in summed.index:
                continue
            gap, k = total - summed[week], hidden[week]
            if not SUPPRESSED_RANGE[0] * k <= gap <= SUPPRESSED_RANGE[1] * k:
                rows.append({"metric": column, "week_start": week, "nation": total, "state_sum": summed[week],
                             "suppressed": k})
    out = pd.DataFrame(rows, columns=["metric", "week_start", "nation", "state_sum", "suppressed"])
    if len(out):
        log.warning("nation and state sum disagree beyond suppression", count=len(out),
                    first=out.head(3).astype(str).to_dict("records"))
    return out


def build_signals(table: pd.DataFrame):
    """Yield ``(signal, geo_res, cube)`` for the 13 signals at state and nation from a parsed table.

    Counts: ``{stem}_num`` and ``{stem}_prop`` (per 100,000) for every metric; ``deaths_percent_of_expected``
    as published. State from the state rows (New York City folded into New York), nation from the
    ``United States`` rows.
    """
    states, nation = split_nation(fold_new_york_city(table))
    check_nation(states, nation)
    parts = {"state": states, "nation": nation}
    for column, stem in METRICS.items():
        counts = {geo: state_cube(parts[geo], column, CATALOGUE.signal(stem=stem, sensor="num").name, geo)
                  for geo in GEOS}
        for geo_res, (sensor, prop) in product(GEOS, SENSORS.items()):
            signal = CATALOGUE.signal(stem=stem, sensor=sensor)
            yield signal.name, geo_res, stamp_signal(geo_map(counts[geo_res], geo_res, prop), signal, SOURCE)
    for column, ratio in PERCENT.items():
        signal = CATALOGUE.signal(ratio=ratio)
        for geo_res in GEOS:
            cube = state_cube(parts[geo_res], column, signal.name, geo_res)
            yield signal.name, geo_res, stamp_signal(cube, signal, SOURCE)
