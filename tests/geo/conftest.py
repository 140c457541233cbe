"""Fixtures of the geo tests: the real JHU county file as a cube and as the long frame it came from."""

import numpy as np
import pandas as pd
import pytest

from delphi_signals.cube import new_cube

PSEUDO_UIDS = {"84070002": "70002", "84070003": "70003"}
CRUISE_SHIPS = {"84088888", "84099999"}
UTAH_DISTRICTS = {f"840700{i}" for i in range(15, 21)}
MICHIGAN_PRISONS = {"84070004", "84070005"}


def jhu_county_id(uid: str, fips: float) -> str | None:
    """County id Delphi gives a JHU row (spec §8): out-of-state/unassigned/districts -> SS000; ships -> None."""
    if uid in CRUISE_SHIPS:
        return None
    if uid in PSEUDO_UIDS:
        return PSEUDO_UIDS[uid]
    if uid in UTAH_DISTRICTS:
        return "49000"
    if uid in MICHIGAN_PRISONS:  # in-state, no county: unassigned within Michigan
        return "26000"
    code = int(fips)
    if code < 100:  # territories written as their 2-digit state FIPS
        return f"{code:02d}000"
    if code >= 80000:  # 800SS "Out of", 900SS "Unassigned"
        return f"{code % 100:02d}000"
    if code in (72888, 72999):
        return "72000"
    return f"{code:05d}"


@pytest.fixture(scope="session")
def jhu_rows(realdata):
    """The real JHU confirmed file: one row per JHU row with its county id, state name, last 60 days."""
    raw = pd.read_csv(realdata / "jhu_csse" / "time_series_covid19_confirmed_US.csv", dtype={"UID": str})
    days = [c for c in raw.columns if c.count("/") == 2][-60:]
    rows = raw[["UID", "FIPS", "Province_State"] + days].copy()
    rows["geo"] = [jhu_county_id(u, f) for u, f in zip(rows["UID"], rows["FIPS"])]
    return rows, days


@pytest.fixture(scope="session")
def jhu_cube(jhu_rows):
    """County cube of daily new confirmed cases (first difference of the cumulative counts)."""
    rows, days = jhu_rows
    mapped = rows.dropna(subset=["geo"]).groupby("geo")[days].sum()
    new_cases = np.diff(mapped.to_numpy(dtype=float), axis=1)
    times = pd.to_datetime(days[1:], format="%m/%d/%y")
    return new_cube(mapped.index.to_numpy(), times, new_cases, source="jhu-csse",
                    signal="confirmed_incidence_num", geo_type="county")
