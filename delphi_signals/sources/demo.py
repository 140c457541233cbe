"""The offline demo source: a seeded simulation that writes source files in the real formats.

**Simulated data, not real.** It lets a new user run the whole system with no network: the JHU CSSE wide
county files (``time_series_covid19_{confirmed,deaths}_US.csv``) for every county of ``geodata/`` with its
real population, with

* epidemic waves whose timing varies by state, day-of-week reporting (low Sundays and Mondays),
* negative corrections (a county revising its cumulative count down),
* ``Out of <ST>`` and ``Unassigned`` rows per state (UIDs ``840800SS`` / ``840900SS``),
* backfill: the file for issue date *d* holds data through *d − 1*, and the most recent days are incomplete,
  so the file for *d* revises the last days of the file for *d − 1* upward, as real sources did.

The same seed and issue date give the same bytes. Point an indicator at real data instead by setting its
``base_url`` (see ``luigi.cfg``).

Examples
--------
>>> frames = jhu_frames("2020-04-01", seed=0)
>>> frames["confirmed"].columns[:3].tolist(), frames["confirmed"].columns[-1]
(['UID', 'iso2', 'iso3'], '3/31/20')
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..geo.tables import _read
from ..io.csv_writer import atomic_write_bytes

FIRST_DAY = pd.Timestamp("2020-01-22")
HORIZON_DAYS = 1200  # the simulated truth covers this many days; issues may fall anywhere inside
WEEKDAY_REPORTING = np.array([0.85, 1.1, 1.1, 1.05, 1.05, 0.9, 0.55])  # Monday .. Sunday
CASE_FATALITY, DEATH_LAG_DAYS = 0.015, 14
CORRECTION_RATE = 0.002  # share of county-days with a negative correction


def _regions():
    states = _read("states")
    states = states[(states["state_code"].astype(int) <= 56) | (states["state_id"] == "pr")]  # as JHU: no territories
    counties = _read("counties")
    counties = counties[(counties["kind"] == "county") & counties["state_id"].isin(states["state_id"])].copy()
    counties["population"] = counties["population"].astype(float)
    return counties, states


def _uid(fips: str) -> int:
    """JHU's UID of a county: ``840`` + FIPS, Puerto Rico's municipios ``630`` + FIPS."""
    return int(("630" if fips.startswith("72") else "840") + fips)


def _pseudo_uid(state_code: str, kind: str) -> int:
    """UIDs of the ``Out of <ST>`` (kind 8) and ``Unassigned`` (kind 9) rows; Puerto Rico's are 630728xx."""
    if state_code == "72":
        return int("63072" + ("888" if kind == "8" else "999"))
    return int(f"840{kind}00{state_code}")


@lru_cache(maxsize=4)
def _truth(seed: int):
    """Daily true new cases and deaths per region (counties, then Out of and Unassigned rows per state)."""
    counties, states = _regions()
    rng = np.random.default_rng(seed)
    days = np.arange(HORIZON_DAYS)
    code_of = {sid: i for i, sid in enumerate(states["state_id"])}
    state_index = counties["state_id"].map(code_of).to_numpy()
    n_states = len(states)
    # three waves per state: peak day, width (days), peak daily attack rate
    peaks = np.array([75, 190, 330]) + rng.normal(0, 12, (n_states, 3))
    widths = np.array([18, 30, 40]) * rng.uniform(0.8, 1.25, (n_states, 3))
    heights = np.array([1.5e-4, 3e-4, 8e-4]) * rng.uniform(0.5, 1.5, (n_states, 3))
    curve = (heights[:, :, None] * np.exp(-0.5 * ((days - peaks[:, :, None]) / widths[:, :, None]) ** 2)).sum(1)
    weekday = WEEKDAY_REPORTING[(FIRST_DAY + pd.to_timedelta(days, "D")).day_of_week]
    county_rate = curve[state_index] * rng.lognormal(0, 0.3, (len(counties), 1))
    expected = counties["population"].to_numpy()[:, None] * county_rate * weekday
    state_pop = np.bincount(state_index, counties["population"].to_numpy(), n_states)
    pseudo = 0.01 * state_pop[:, None] * curve * weekday  # Out of <ST> and Unassigned, each
    expected = np.vstack([expected, pseudo, pseudo])
    cases = rng.poisson(expected).astype(np.float64)
    deaths = rng.poisson(CASE_FATALITY * np.roll(expected, DEATH_LAG_DAYS, axis=1) * (days >= DEATH_LAG_DAYS))
    deaths = deaths.astype(np.float64)
    for counts in (cases, deaths):
        recent = pd.DataFrame(counts.T).rolling(7, min_periods=1).sum().to_numpy().T
        hit = (rng.random(counts.shape) < CORRECTION_RATE) & (recent >= 10)
        counts[hit] = -np.floor(0.2 * recent[hit])  # never more than the last week's reports
    return cases, deaths


SETTLED_AFTER_DAYS = 8


def _completeness(lag_days: np.ndarray) -> np.ndarray:
    """Share of a day's final count already reported ``lag_days`` after it (1 = yesterday); all of it once settled."""
    return np.where(lag_days >= SETTLED_AFTER_DAYS, 1.0, 1.0 - 0.45 * np.exp(-(lag_days - 1) / 1.5))


def _reported(truth: np.ndarray, n_days: int) -> np.ndarray:
    """Cumulative counts as published on the issue day that follows ``n_days`` days of data."""
    daily = truth[:, :n_days].copy()
    lag = n_days - np.arange(n_days)
    positive = daily > 0
    daily[positive] = np.floor(daily[positive] * np.broadcast_to(_completeness(lag), daily.shape)[positive])
    return np.cumsum(daily, axis=1)


def jhu_frames(issue_date, *, seed: int = 0) -> dict[str, pd.DataFrame]:
    """The JHU CSSE confirmed and deaths wide frames as published on ``issue_date`` (data through the day before)."""
    issue = pd.Timestamp(issue_date)
    n_days = (issue - FIRST_DAY).days
    if not 1 <= n_days <= HORIZON_DAYS:
        raise ValueError(f"demo issue dates run from {FIRST_DAY.date() + dt.timedelta(days=1)} for "
                         f"{HORIZON_DAYS} days; got {issue.date()}")
    counties, states = _regions()
    cases, deaths = _truth(seed)
    name_of = dict(zip(states["state_id"], states["state_name"]))
    county_fips = counties["county"].to_numpy(dtype=str)
    st_codes = states["state_code"].to_numpy(dtype=str)
    st_ids = states["state_id"].str.upper().to_numpy(dtype=str)
    ids = pd.DataFrame({
        "UID": np.concatenate([[_uid(f) for f in county_fips], [_pseudo_uid(c, "8") for c in st_codes],
                               [_pseudo_uid(c, "9") for c in st_codes]]),
        "FIPS": np.concatenate([county_fips.astype(float), [float(f"800{c}") for c in st_codes],
                                [float(f"900{c}") for c in st_codes]]),
        "Admin2": np.concatenate([[f"County {f}" for f in county_fips], [f"Out of {s}" for s in st_ids],
                                  ["Unassigned"] * len(st_codes)]),
        "Province_State": np.concatenate([counties["state_id"].map(name_of).to_numpy(),
                                          states["state_name"].to_numpy(), states["state_name"].to_numpy()]),
    })
    ids.insert(1, "iso2", "US")
    ids.insert(2, "iso3", "USA")
    ids.insert(3, "code3", 840)
    ids["Country_Region"] = "US"
    ids["Lat"] = 0.0
    ids["Long_"] = 0.0
    ids["Combined_Key"] = ids["Admin2"] + ", " + ids["Province_State"] + ", US"
    dates = FIRST_DAY + pd.to_timedelta(np.arange(n_days), "D")
    labels = [f"{d.month}/{d.day}/{d:%y}" for d in dates]
    frames = {}
    for metric, truth in (("confirmed", cases), ("deaths", deaths)):
        frame = ids.copy()
        if metric == "deaths":
            pops = np.concatenate([counties["population"].to_numpy(), np.zeros(2 * len(st_codes))])
            frame["Population"] = pops.astype(np.int64)
        values = pd.DataFrame(_reported(truth, n_days).astype(np.int64), columns=labels)
        frames[metric] = pd.concat([frame, values], axis=1)
    return frames


def write_jhu(folder, issue_date, *, seed: int = 0) -> dict[str, Path]:
    """Write ``time_series_covid19_{metric}_US.csv`` for ``issue_date`` into ``folder`` (atomically)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for metric, frame in jhu_frames(issue_date, seed=seed).items():
        path = folder / f"time_series_covid19_{metric}_US.csv"
        atomic_write_bytes(path, frame.to_csv(index=False).encode())
        paths[metric] = path
    return paths
