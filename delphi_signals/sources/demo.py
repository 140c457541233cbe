"""The offline demo source: a seeded simulation that writes source files in the real formats.

**Simulated data, not real.** It lets a new user run the whole system with no network. One simulated truth
(daily cases and deaths for every county of ``geodata/`` with its real population) feeds every demo source:

* **JHU CSSE** (:func:`write_jhu`): the wide county files ``time_series_covid19_{confirmed,deaths}_US.csv``
  with epidemic waves whose timing varies by state, day-of-week reporting (low Sundays and Mondays),
  negative corrections (a county revising its cumulative count down), and ``Out of <ST>`` and
  ``Unassigned`` rows per state (UIDs ``840800SS`` / ``840900SS``), and one reporting backlog (Los Angeles
  County, 06037, reports no new cases from 2020-11-23 to 11-28 and the week's cases on 2020-11-29);
* **HHS** (:func:`write_hhs`): the Epidata ``covid_hosp_state_timeseries`` JSON response, one row per state
  (50, DC and the 5 territories with a population) and report date, COVID admissions a lagged fraction of
  the state's cases, influenza admissions a small seasonal series;
* **NCHS** (:func:`write_nchs`): the weekly table of provisional death counts by state (2020 Socrata
  layout, New York City apart from New York, a ``United States`` row, counts of 1–9 suppressed), the
  COVID deaths being the weekly sums of the simulated deaths, complete epiweeks only.
* **quidel** (:func:`write_quidel_drops`): a folder laid out as upstream's S3 bucket, one object of device-level
  antigen test records per day received (``quidel-demo/YYYY_MM_DD/…-sars.csv``), from a fleet of three busy
  facilities whose positivity follows their county's simulated case rate, each test stored 1–7 days late.

Each has backfill: the file for issue date *d* holds data through *d − 1* (NCHS: the weeks ended by then),
and the most recent days (weeks) are incomplete, so the file for *d* revises the last days of the file for
*d − 1* upward, as the real sources did.

The same seed and issue date give the same bytes. Point an indicator at real data instead by setting its
``base_url`` (see ``luigi.cfg``).

Examples
--------
>>> frames = jhu_frames("2020-04-01", seed=0)
>>> frames["confirmed"].columns[:3].tolist(), frames["confirmed"].columns[-1]
(['UID', 'iso2', 'iso3'], '3/31/20')
>>> hhs_response("2020-04-01")["epidata"][-1]["date"], nchs_table("2020-04-01")["end_week"].iloc[-1]
(20200331, '2020-03-28T00:00:00.000')
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..geo.tables import _read
from .. import atomic
from ..errors import InputError

FIRST_DAY = pd.Timestamp("2020-01-22")
HORIZON_DAYS = 1200  # the simulated truth covers this many days; issues may fall anywhere inside
WEEKDAY_REPORTING = np.array([0.85, 1.1, 1.1, 1.05, 1.05, 0.9, 0.55])  # Monday .. Sunday
CASE_FATALITY, DEATH_LAG_DAYS = 0.015, 14
CORRECTION_RATE = 0.002  # share of county-days with a negative correction
# one reporting backlog: Los Angeles County reports nothing new for six days, then the whole week on the
# seventh, the last day of the default run's last issue (2020-11-30); the validator's spike check flags it
BACKLOG_COUNTY, BACKLOG_DAY, BACKLOG_DAYS = "06037", pd.Timestamp("2020-11-29"), 7


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


def _completeness(lag_days: np.ndarray, *, gap: float = 0.45, scale: float = 1.5,
                  settled: int = SETTLED_AFTER_DAYS) -> np.ndarray:
    """Share of a day's final count already reported ``lag_days`` after it (1 = yesterday); all of it once settled.

    ``1 − gap`` is reported at lag 1 and the rest comes in with time constant ``scale``; from lag ``settled``
    on everything is in. The defaults are JHU's; HHS and NCHS pass their own.
    """
    lag_days = np.asarray(lag_days)
    return np.where(lag_days >= settled, 1.0, 1.0 - gap * np.exp(-(lag_days - 1) / scale))


def _reported(truth: np.ndarray, n_days: int) -> np.ndarray:
    """Cumulative counts as published on the issue day that follows ``n_days`` days of data."""
    daily = truth[:, :n_days].copy()
    lag = n_days - np.arange(n_days)
    positive = daily > 0
    daily[positive] = np.floor(daily[positive] * np.broadcast_to(_completeness(lag), daily.shape)[positive])
    return np.cumsum(daily, axis=1)


def _backlog(cumulative: np.ndarray, row: int) -> None:
    """The reporting backlog, in place: row ``row``'s cumulative count stays flat for the ``BACKLOG_DAYS - 1`` days
    before ``BACKLOG_DAY`` and catches up on it (a week of cases reported on one day)."""
    day = (BACKLOG_DAY - FIRST_DAY).days
    first = day - (BACKLOG_DAYS - 1)
    if cumulative.shape[1] > first:
        cumulative[row, first:min(day, cumulative.shape[1])] = cumulative[row, first - 1]


def jhu_frames(issue_date, *, seed: int = 0) -> dict[str, pd.DataFrame]:
    """The JHU CSSE confirmed and deaths wide frames as published on ``issue_date`` (data through the day before)."""
    issue = pd.Timestamp(issue_date)
    n_days = (issue - FIRST_DAY).days
    if not 1 <= n_days <= HORIZON_DAYS:
        raise InputError(f"demo issue dates run from {FIRST_DAY.date() + dt.timedelta(days=1)} for "
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
        reported = _reported(truth, n_days)
        if metric == "confirmed":
            _backlog(reported, int(np.flatnonzero(county_fips == BACKLOG_COUNTY)[0]))
        values = pd.DataFrame(reported.astype(np.int64), columns=labels)
        frames[metric] = pd.concat([frame, values], axis=1)
    return frames


def write_jhu(folder, issue_date, *, seed: int = 0) -> dict[str, Path]:
    """Write ``time_series_covid19_{metric}_US.csv`` for ``issue_date`` into ``folder`` (atomically)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for metric, frame in jhu_frames(issue_date, seed=seed).items():
        path = folder / f"time_series_covid19_{metric}_US.csv"
        atomic.write_bytes(path, frame.to_csv(index=False).encode())
        paths[metric] = path
    return paths


def _issue(issue_date, first: pd.Timestamp, what: str) -> pd.Timestamp:
    """``issue_date`` as a Timestamp, checked to lie between ``first`` and the end of the simulated truth."""
    issue = pd.Timestamp(issue_date)
    last = FIRST_DAY + pd.Timedelta(days=HORIZON_DAYS)
    if not first <= issue <= last:
        raise InputError(f"demo {what} issue dates run from {first.date()} to {last.date()}; got {issue.date()}")
    return issue


def _state_rows(seed: int):
    """The JHU regions' (counties', ``Out of`` and ``Unassigned``) daily new cases and deaths as they happened.

    The simulated truth without the reports' negative corrections (clipped at 0). Returns ``(row_state,
    cases, deaths)``, ``row_state`` being the index of each row's state (50 states, DC, PR) in ``_regions()``.
    """
    counties, states = _regions()
    cases, deaths = _truth(seed)
    code_of = {sid: i for i, sid in enumerate(states["state_id"])}
    n = len(states)
    row_state = np.concatenate([counties["state_id"].map(code_of).to_numpy(), np.arange(n), np.arange(n)])
    return row_state, np.maximum(cases, 0.0), np.maximum(deaths, 0.0)


def _sum_rows(groups: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """Sum the rows of ``values`` into ``n_groups`` groups."""
    member = np.zeros((n_groups, len(groups)))
    member[groups, np.arange(len(groups))] = 1.0
    return member @ values


def _season(days: np.ndarray, peak_day_of_year: int = 45, sharpness: int = 4) -> np.ndarray:
    """A yearly shape in [0, 1] over truth day indexes: 1 at ``peak_day_of_year``, near 0 half a year away."""
    doy = (FIRST_DAY + pd.to_timedelta(days, "D")).day_of_year.to_numpy()
    return np.maximum(0.0, np.cos(2 * np.pi * (doy - peak_day_of_year) / 365.25)) ** sharpness


# ---- HHS: the Epidata covid_hosp state time series --------------------------------------------------------

HHS_FILE = "covid_hosp.json"
"""Name of the demo HHS response in its folder (the indicator's cache name, ``covid_hosp``)."""
ADMISSION_LAG_DAYS = 7  # admissions follow reported cases by about a week
ADMISSION_RATE = 0.04  # adult confirmed COVID admissions per case (7-day mean of cases, lagged)
ADMISSION_MIX = {  # the HHS count columns the indicator reads -> multiple of the adult confirmed admissions
    "previous_day_admission_adult_covid_confirmed": 1.0,
    "previous_day_admission_adult_covid_suspected": 1.2,
    "previous_day_admission_pediatric_covid_confirmed": 0.03,
    "previous_day_admission_pediatric_covid_suspected": 0.1,
}
FLU_FIELD = "previous_day_admission_influenza_confirmed"
FLU_ADMISSIONS = (1e-7, 2e-6)  # influenza admissions per person and day: off season, added at the mid-February peak
HHS_BACKFILL = {"gap": 0.25, "scale": 2.0}  # milder than JHU's: hospitals report within a few days
MA_FLU_GAP_AFTER = pd.Timestamp("2021-08-01")  # ma flu is null on Tuesdays after this (covidcast-indicators #1360)


def _hhs_states() -> pd.DataFrame:
    """The states HHS reports: every row of ``geodata/states.csv`` with a population (50, DC, 5 territories)."""
    table = _read("states")
    table = table[table["population"].notna()].copy()
    table["population"] = table["population"].astype(float)
    return table.reset_index(drop=True)


@lru_cache(maxsize=4)
def _hhs_truth(seed: int):
    """Final daily admissions per HHS state and admission day (truth day index): ``(state ids, {field: array})``.

    Expected adult confirmed COVID admissions are :data:`ADMISSION_RATE` × the state's 7-day mean of true
    cases :data:`ADMISSION_LAG_DAYS` days earlier (times a per-state factor); territories without JHU
    counties (as, gu, mp, vi) take their HHS region's per-capita rate. The other columns are multiples of it
    (:data:`ADMISSION_MIX`); influenza is a small seasonal series. Counts are Poisson draws.
    """
    counties, states = _regions()
    row_state, cases, _ = _state_rows(seed)
    n_jhu = len(states)
    state_cases = _sum_rows(row_state, n_jhu, cases)
    smooth = pd.DataFrame(state_cases.T).rolling(7, min_periods=1).mean().to_numpy().T
    lagged = np.zeros_like(smooth)
    lagged[:, ADMISSION_LAG_DAYS:] = smooth[:, :-ADMISSION_LAG_DAYS]
    jhu_pop = np.bincount(row_state[: len(counties)], counties["population"].to_numpy(), n_jhu)
    hhs = _hhs_states()
    jhu_index = {sid: i for i, sid in enumerate(states["state_id"])}
    region_of_jhu = hhs.set_index("state_id")["hhs"].reindex(states["state_id"]).to_numpy()
    per_capita = np.empty((len(hhs), HORIZON_DAYS))
    for k, (sid, region) in enumerate(zip(hhs["state_id"], hhs["hhs"])):
        if sid in jhu_index:
            per_capita[k] = lagged[jhu_index[sid]] / jhu_pop[jhu_index[sid]]
        else:  # a territory: its region's rate
            members = region_of_jhu == region
            per_capita[k] = lagged[members].sum(0) / jhu_pop[members].sum()
    rng = np.random.default_rng([seed, 1])  # a stream of its own: the JHU truth is untouched
    pop = hhs["population"].to_numpy()[:, None]
    adult = ADMISSION_RATE * per_capita * pop * rng.lognormal(0, 0.2, (len(hhs), 1))
    finals = {field: rng.poisson(share * adult).astype(np.float64) for field, share in ADMISSION_MIX.items()}
    flu = pop * (FLU_ADMISSIONS[0] + FLU_ADMISSIONS[1] * _season(np.arange(HORIZON_DAYS)))
    finals[FLU_FIELD] = rng.poisson(flu * rng.lognormal(0, 0.3, (len(hhs), 1))).astype(np.float64)
    return hhs["state_id"].to_numpy(dtype=str), finals


def hhs_response(issue_date, *, seed: int = 0) -> dict:
    """The Epidata ``covid_hosp_state_timeseries`` response as published on ``issue_date``.

    One row per HHS state (upper-case ``state``) and report ``date`` (YYYYMMDD) from 2020-01-23 through
    ``issue_date − 1``; each row's ``previous_day_admission_*`` counts are for the day before its ``date``.
    Rows carry ``state``, ``issue``, ``date`` and the five count columns the hhs indicator reads (the real
    response has ~118 columns; the reader needs only these). Recent report dates are incomplete and filled
    in by later issues; Massachusetts' influenza count is null on Tuesdays after 2021-08-01.

    Examples
    --------
    >>> body = hhs_response("2020-11-30")
    >>> body["result"], body["message"], len(body["epidata"]) == 56 * 312
    (1, 'success', True)
    >>> row = body["epidata"][-1]
    >>> row["state"], row["issue"], row["date"], sorted(row)[:2]
    ('WY', 20201130, 20201129, ['date', 'issue'])
    """
    issue = _issue(issue_date, FIRST_DAY + pd.Timedelta(days=2), "hhs")
    n = (issue - FIRST_DAY).days - 1  # admission days FIRST_DAY .. issue − 2, reported FIRST_DAY + 1 .. issue − 1
    ids, finals = _hhs_truth(seed)
    reported_on = FIRST_DAY + pd.to_timedelta(np.arange(1, n + 1), "D")
    complete = _completeness((issue - reported_on).days.to_numpy(), **HHS_BACKFILL)
    admitted = reported_on - pd.Timedelta(days=1)
    ma_flu_gap = (ids == "ma")[:, None] & ((admitted.day_of_week == 1) & (admitted > MA_FLU_GAP_AFTER))[None, :]
    columns = {
        "state": np.repeat(np.char.upper(ids), n).tolist(),
        "issue": [int(f"{issue:%Y%m%d}")] * (len(ids) * n),
        "date": np.tile(reported_on.strftime("%Y%m%d").astype(int).to_numpy(), len(ids)).tolist(),
    }
    for field, final in finals.items():
        values = np.floor(final[:, :n] * complete).astype(np.int64).ravel().tolist()
        if field == FLU_FIELD:
            for i in np.flatnonzero(ma_flu_gap.ravel()):
                values[i] = None
        columns[field] = values
    keys = list(columns)
    rows = [dict(zip(keys, values)) for values in zip(*columns.values())]
    return {"epidata": rows, "result": 1, "message": "success"}


def write_hhs(folder, issue_date, *, seed: int = 0) -> Path:
    """Write :data:`HHS_FILE` (compact JSON, as the API sends it) for ``issue_date`` into ``folder``, atomically.

    Examples
    --------
    >>> import tempfile
    >>> path = write_hhs(tempfile.mkdtemp(), "2020-06-01")
    >>> path.name, path.read_bytes()[:25]
    ('covid_hosp.json', b'{"epidata":[{"state":"AK"')
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / HHS_FILE
    body = hhs_response(issue_date, seed=seed)
    atomic.write_bytes(path, json.dumps(body, separators=(",", ":")).encode())
    return path


# ---- NCHS: provisional death counts by week and state (the CDC Socrata table) ----------------------------

NCHS_FILE = "nchs_weekly_deaths.csv"
"""Name of the demo NCHS table in its folder (the indicator's cache name, ``nchs_weekly_deaths``)."""
NCHS_COLUMNS = ("data_as_of", "start_week", "end_week", "group", "state", "indicator", "covid_deaths",
                "total_deaths", "percent_of_expected_deaths", "pneumonia_deaths", "pneumonia_and_covid_19_deaths",
                "influenza_deaths", "pneumonia_influenza_or_covid_19_deaths", "footnote")
NCHS_COUNTS = NCHS_COLUMNS[6:8] + NCHS_COLUMNS[9:13]
NYC_COUNTIES = ("36005", "36047", "36061", "36081", "36085")  # NCHS reports New York City apart from New York
DEATH_RATE = 0.0087 / 365.25  # all-cause deaths per person and day before COVID (winter ~10% higher)
PNEUMONIA_SHARE = 0.065  # of non-COVID deaths
PNEUMONIA_WITH_COVID = 0.45  # share of COVID deaths that also count as pneumonia deaths
FLU_DEATHS = (1e-9, 2e-7)  # influenza deaths per person and day: off season, added at the mid-February peak
NCHS_BACKFILL = {"gap": 0.5, "scale": 2.0, "settled": 8}  # in weeks: death certificates come in slowly
SUPPRESSED = (1, 9)  # NCHS blanks counts in this range
FOOTNOTE = ("One or more data cells have counts between 1–9 and have been suppressed in accordance with NCHS "
            "confidentiality standards.")
NATION_NAME, NYC_NAME = "United States", "New York City"
_TIME = "%Y-%m-%dT00:00:00.000"


def _first_sunday() -> int:
    """Truth day index of the first Sunday (epiweek start) on or after :data:`FIRST_DAY`."""
    return (6 - FIRST_DAY.day_of_week) % 7


@lru_cache(maxsize=4)
def _nchs_truth(seed: int):
    """Final weekly counts per NCHS area (JHU states with New York City apart), by epiweek from the first Sunday.

    Returns ``(names, week_ends, parts)``: ``parts`` holds ``covid``, ``noncovid``, ``pneumonia_only`` (not
    COVID), ``pneumonia_and_covid``, ``influenza`` and ``expected`` (all-cause deaths expected without
    COVID), each an array (area, week). COVID deaths are the weekly sums of the JHU truth's daily deaths
    (without negative corrections); the rest are Poisson or binomial draws around rates per person.
    """
    counties, states = _regions()
    row_state, _, deaths = _state_rows(seed)
    names = states["state_name"].tolist() + [NYC_NAME]
    nyc = len(states)
    area = row_state.copy()
    area[: len(counties)][counties["county"].isin(NYC_COUNTIES).to_numpy()] = nyc
    row_pop = np.concatenate([counties["population"].to_numpy(), np.zeros(2 * len(states))])
    pop = _sum_rows(area, len(names), row_pop[:, None])[:, 0]
    start = _first_sunday()
    n_weeks = (HORIZON_DAYS - start) // 7
    days = slice(start, start + 7 * n_weeks)
    daily = _sum_rows(area, len(names), deaths[:, days])
    covid = daily.reshape(len(names), n_weeks, 7).sum(2)
    mid_week = start + 3 + 7 * np.arange(n_weeks)
    winter = 1 + 0.1 * np.cos(2 * np.pi * ((FIRST_DAY + pd.to_timedelta(mid_week, "D")).day_of_year - 15) / 365.25)
    expected = 7 * DEATH_RATE * pop[:, None] * winter.to_numpy()[None, :]
    rng = np.random.default_rng([seed, 2])
    noncovid = rng.poisson(expected)
    parts = {
        "covid": covid,
        "noncovid": noncovid.astype(np.float64),
        "pneumonia_only": rng.binomial(noncovid, PNEUMONIA_SHARE).astype(np.float64),
        "pneumonia_and_covid": rng.binomial(covid.astype(np.int64), PNEUMONIA_WITH_COVID).astype(np.float64),
        "influenza": rng.poisson(7 * pop[:, None] * (FLU_DEATHS[0] + FLU_DEATHS[1] * _season(mid_week))
                                 ).astype(np.float64),
        "expected": expected,
    }
    week_ends = FIRST_DAY + pd.to_timedelta(mid_week + 3, "D")
    return names, week_ends, parts


def nchs_table(issue_date, *, seed: int = 0) -> pd.DataFrame:
    """The NCHS weekly death-count table as published on ``issue_date``: complete weeks only.

    The 2020 Socrata export's layout (``r8kw-7aab``): :data:`NCHS_COLUMNS`, group ``By week``, indicator
    ``Week-ending``, ``start_week`` equal to ``end_week`` (the Saturday ending the epiweek), ``data_as_of``
    the issue date. One row per area and week ending before ``issue_date``: ``United States`` (50 states,
    DC and New York City; not Puerto Rico) first, then the states by name with ``New York City`` apart
    from ``New York``, then ``Puerto Rico``. Counts of 1–9 are blank with the suppression footnote. The
    last weeks are incomplete (provisional) and filled in by later issues; ``percent_of_expected_deaths``
    is all-cause deaths over those expected without COVID.

    Examples
    --------
    >>> table = nchs_table("2020-06-01")
    >>> table.shape, table["end_week"].iloc[-1], table["state"].iloc[0], table["state"].iloc[-1]
    ((972, 14), '2020-05-30T00:00:00.000', 'United States', 'Puerto Rico')
    """
    names, week_ends, parts = _nchs_truth(seed)
    issue = _issue(issue_date, week_ends[0] + pd.Timedelta(days=1), "nchs")
    k = int((week_ends < issue).sum())
    lag_weeks = ((issue - pd.Timedelta(days=1) - week_ends[:k]).days.to_numpy() // 7) + 1
    complete = _completeness(lag_weeks, **NCHS_BACKFILL)

    def reported(part):
        return np.floor(parts[part][:, :k] * complete)

    covid = reported("covid")
    both = np.minimum(reported("pneumonia_and_covid"), covid)
    pneumonia = reported("pneumonia_only") + both
    influenza = reported("influenza")
    counts = {"covid_deaths": covid, "total_deaths": reported("noncovid") + covid, "pneumonia_deaths": pneumonia,
              "pneumonia_and_covid_19_deaths": both, "influenza_deaths": influenza,
              "pneumonia_influenza_or_covid_19_deaths": covid + pneumonia + influenza - both}
    expected = parts["expected"][:, :k]
    in_nation = np.array([name != "Puerto Rico" for name in names])
    order = [NATION_NAME] + sorted(n for n in names if n != "Puerto Rico") + ["Puerto Rico"]
    index = {name: i for i, name in enumerate(names)}
    stack = {c: np.vstack([v[in_nation].sum(0, keepdims=True), v]) for c, v in counts.items()}
    expected = np.vstack([expected[in_nation].sum(0, keepdims=True), expected])
    rows = np.array([0 if name == NATION_NAME else index[name] + 1 for name in order])
    ends = week_ends[:k].strftime(_TIME).to_numpy()
    table = pd.DataFrame({
        "data_as_of": issue.strftime(_TIME),
        "start_week": np.tile(ends, len(order)),
        "end_week": np.tile(ends, len(order)),
        "group": "By week",
        "state": np.repeat(order, k),
        "indicator": "Week-ending",
    })
    suppressed = np.zeros(len(table), dtype=bool)
    for column in NCHS_COUNTS:
        values = stack[column][rows].ravel().astype(np.int64)
        hidden = (values >= SUPPRESSED[0]) & (values <= SUPPRESSED[1])
        suppressed |= hidden
        table[column] = pd.array(values, dtype="Int64")
        table.loc[hidden, column] = pd.NA
    percent = stack["total_deaths"][rows].ravel() / expected[rows].ravel()
    table["percent_of_expected_deaths"] = [f"{p:g}" for p in np.round(percent, 2)]
    table["footnote"] = np.where(suppressed, FOOTNOTE, "")
    return table[list(NCHS_COLUMNS)]


def write_nchs(folder, issue_date, *, seed: int = 0) -> Path:
    """Write :data:`NCHS_FILE` for ``issue_date`` into ``folder``, atomically.

    Examples
    --------
    >>> import tempfile
    >>> path = write_nchs(tempfile.mkdtemp(), "2020-06-01")
    >>> path.name, path.read_text().splitlines()[1].split(",")[2:6]
    ('nchs_weekly_deaths.csv', ['2020-02-01T00:00:00.000', 'By week', 'United States', 'Week-ending'])
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / NCHS_FILE
    atomic.write_bytes(path, nchs_table(issue_date, seed=seed).to_csv(index=False).encode())
    return path



# ---- Claims: the outpatient and inpatient drops of doctor-visits and hospital-admissions ------------------

CLAIMS_DAYS = 100
"""Service days in a demo drop (the days before the issue; the sensors' history and their 70 published days)."""
AGE_GROUPS = ("0-17", "18-49", "50-64", "65+")
AGE_SHARES = np.array([0.2, 0.35, 0.2, 0.25])
VISITS_PER_PERSON = 3e-3  # outpatient visits per person and day, on an average weekday
ADMISSIONS_PER_PERSON = 2.5e-4  # inpatient admissions per person and day
VISIT_WEEKDAY = np.array([1.3, 1.15, 1.1, 1.05, 1.0, 0.45, 0.3])  # Monday .. Sunday: clinics close at weekends
SICK_WEEKDAY = np.array([1.2, 1.0, 0.95, 0.9, 0.9, 1.2, 1.4])  # COVID-like share of visits: higher after weekends
CLAIMS_BACKFILL = {"gap": 0.4, "scale": 3.0, "settled": 14}  # claims keep arriving for about two weeks
CLAIMS_COUNTS = ("Covid_like", "Flu_like", "Mixed", "Flu1", "Denominator")
CLAIMS_COLUMNS = CLAIMS_COUNTS + ("ServiceDate", "PatCountyFIPS", "Pat HRR Name", "Pat HRR ID", "PatAgeGroup")


def claims_drop_name(kind: str, issue_date) -> str:
    """``SYNEDI_AGG_<KIND>_DDMMYYYY_1455CDT.csv.gz``: the demo's drop of ``issue_date`` (``SYN``: synthetic).

    Examples
    --------
    >>> claims_drop_name("OUTPATIENT", "2020-11-30")
    'SYNEDI_AGG_OUTPATIENT_30112020_1455CDT.csv.gz'
    """
    return f"SYNEDI_AGG_{kind}_{pd.Timestamp(issue_date):%d%m%Y}_1455CDT.csv.gz"


@lru_cache(maxsize=2)
def _claims_regions():
    """Counties with population (JHU's), each with its main HRR, and their state's case rate row index."""
    counties, states = _regions()
    links = _read("county_hrr").sort_values("weight").drop_duplicates("county", keep="last")
    hrr = links.set_index("county")["hrr"].reindex(counties["county"]).to_numpy()
    code_of = {sid: i for i, sid in enumerate(states["state_id"])}
    return (counties["county"].to_numpy(dtype=str), counties["population"].to_numpy(), hrr,
            counties["state_id"].map(code_of).to_numpy())


def _case_rate(seed: int) -> np.ndarray:
    """True new cases per person and day per county (7-day mean), over the simulated horizon."""
    fips, pop, _, _ = _claims_regions()
    cases, _ = _truth(seed)
    daily = np.clip(cases[: len(fips)], 0, None)
    smooth = pd.DataFrame(daily.T).rolling(7, min_periods=1).mean().to_numpy().T
    return smooth / pop[:, None]


def claims_counts(kind: str, issue_date, *, seed: int = 0, days: int = CLAIMS_DAYS, counties=None):
    """The counts of a demo claims drop: ``(service days, county ids, {count: (day, county, age) array})``.

    Final counts of a service day are drawn from a generator seeded by (seed, kind, day), so every drop agrees
    on them; a drop for ``issue_date`` holds the service days before it, the recent ones incomplete
    (:data:`CLAIMS_BACKFILL`), so each drop revises the last days of the one before, upward. Visits follow
    :data:`VISIT_WEEKDAY` (inpatient: flat) and the COVID-like share follows the county's true case rate with
    a weekday pattern of its own (:data:`SICK_WEEKDAY`), which the weekday adjustment should remove.
    ``counties`` restricts the drop to the first that many counties (benchmarks use every one).
    """
    issue = _issue(issue_date, FIRST_DAY + pd.Timedelta(days=days + 1), "claims")
    fips, pop, _, _ = _claims_regions()
    n = len(fips) if counties is None else int(counties)
    fips, pop = fips[:n], pop[:n]
    rate = _case_rate(seed)[:n]
    service = issue - pd.to_timedelta(np.arange(days, 0, -1), "D")
    lag = (issue - service).days.to_numpy()
    complete = _completeness(lag, **CLAIMS_BACKFILL)
    kind_key = {"OUTPATIENT": 2, "INPATIENT": 3}[kind]
    out = {name: np.zeros((days, n, len(AGE_GROUPS))) for name in CLAIMS_COUNTS}
    season = _season(np.asarray((service - FIRST_DAY).days))
    for d, day in enumerate(service):
        t = (day - FIRST_DAY).days
        rng = np.random.default_rng([seed, kind_key, t])
        expected_den = pop[:, None] * AGE_SHARES[None, :]
        if kind == "OUTPATIENT":
            expected_den = expected_den * VISITS_PER_PERSON * VISIT_WEEKDAY[day.day_of_week]
            covid_share = np.clip(0.01 + 60 * rate[:, t, None] * SICK_WEEKDAY[day.day_of_week], 0, 0.5)
        else:
            expected_den = expected_den * ADMISSIONS_PER_PERSON
            covid_share = np.clip(0.02 + 150 * rate[:, max(t - ADMISSION_LAG_DAYS, 0), None], 0, 0.6)
        flu_share = 0.004 + 0.02 * season[d]
        den = rng.poisson(expected_den).astype(float)
        out["Denominator"][d] = den
        out["Covid_like"][d] = rng.binomial(den.astype(np.int64), np.broadcast_to(covid_share, den.shape))
        out["Flu_like"][d] = rng.binomial(den.astype(np.int64), flu_share)
        out["Mixed"][d] = rng.binomial(den.astype(np.int64), 0.3 * flu_share)
        out["Flu1"][d] = rng.binomial(out["Flu_like"][d].astype(np.int64), 0.5)
        for name in CLAIMS_COUNTS:
            out[name][d] = np.floor(out[name][d] * complete[d])
    return service, fips, out


def claims_drop_bytes(kind: str, issue_date, *, seed: int = 0, days: int = CLAIMS_DAYS, counties=None) -> bytes:
    """The gzip'ed CSV of a demo drop (rows: service day, county, age group; rows with no visits left out)."""
    import gzip

    service, fips, counts = claims_counts(kind, issue_date, seed=seed, days=days, counties=counties)
    _, _, hrr, _ = _claims_regions()
    hrr = hrr[: len(fips)]
    n_days, n_counties, n_ages = counts["Denominator"].shape
    keep = (counts["Denominator"] > 0).ravel()
    day_i, county_i, age_i = (a.ravel()[keep] for a in np.indices((n_days, n_counties, n_ages)))
    hrr_text = np.array(["" if pd.isna(h) else str(int(h)) for h in hrr], dtype=object)
    frame = pd.DataFrame({name: counts[name].ravel()[keep].astype(np.int64) for name in CLAIMS_COUNTS})
    frame["ServiceDate"] = service.strftime("%Y-%m-%d").to_numpy()[day_i]
    frame["PatCountyFIPS"] = fips[county_i]
    frame["Pat HRR Name"] = np.array([f"HRR {h}" if h else "" for h in hrr_text], dtype=object)[county_i]
    frame["Pat HRR ID"] = np.array([f"{h}.0" if h else "" for h in hrr_text], dtype=object)[county_i]
    frame["PatAgeGroup"] = np.array(AGE_GROUPS, dtype=object)[age_i]
    return gzip.compress(frame.to_csv(index=False).encode(), compresslevel=1, mtime=0)


def _write_drop(kind: str, folder, issue_date, *, seed: int) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / claims_drop_name(kind, issue_date)
    if not path.exists():  # the same seed and day give the same bytes: a drop already there is kept
        atomic.write_bytes(path, claims_drop_bytes(kind, issue_date, seed=seed))
    return path


def write_outpatient_drop(folder, issue_date, *, seed: int = 0) -> Path:
    """Write the demo outpatient drop of ``issue_date`` (doctor-visits) into ``folder``, atomically."""
    return _write_drop("OUTPATIENT", folder, issue_date, seed=seed)


def write_inpatient_drop(folder, issue_date, *, seed: int = 0) -> Path:
    """Write the demo inpatient drop of ``issue_date`` (hospital-admissions) into ``folder``, atomically."""
    return _write_drop("INPATIENT", folder, issue_date, seed=seed)


# ---- Quidel: device-level antigen test records in a bucket laid out by day received --------------------------

QUIDEL_FACILITIES = 3
"""Facilities (zip codes) the demo's device fleet serves: the most populous single-county zip of each of the most
populous states. Real Quidel devices sit at facilities; a fleet of a few busy ones keeps every published series
of the demo dense, so its exports pass upstream's validation the way the real volume did."""
QUIDEL_TESTS_PER_FACILITY = 1000
"""Tests stored at a facility on an average day (3,000 a day in all)."""
QUIDEL_RECEIVED_DAYS = 45
"""Days received that a demo issue's folder holds (the issue date and the days before it)."""
QUIDEL_PREFIX = "quidel-demo"
QUIDEL_COLUMNS = ("SofiaSerNum", "TestDate", "Facility", "City", "State", "Zip", "PatientAge", "Result1", "Result2",
                  "OverallResult", "County", "FacilityType", "Assay", "SCO1", "SCO2", "CLN", "CSN", "InstrType",
                  "StorageDate", "ResultId", "SarsTestNumber")
QUIDEL_LAG_SHARES = np.array([0.0, 0.35, 0.25, 0.15, 0.1, 0.07, 0.05, 0.03])  # days from test to storage
QUIDEL_AGES = np.array([0.1, 0.2, 0.4, 0.17, 0.13])  # 0-4, 5-17, 18-49, 50-64, 65+
QUIDEL_AGE_SPANS = ((0, 5), (5, 18), (18, 50), (50, 65), (65, 90))
QUIDEL_TEST_WEEKDAY = np.array([1.15, 1.1, 1.05, 1.05, 1.0, 0.85, 0.8])  # Monday .. Sunday


@lru_cache(maxsize=4)
def quidel_facilities(n: int = QUIDEL_FACILITIES):
    """The demo fleet's zips, their counties' rows in ``_claims_regions()`` and their states (upper case).

    Examples
    --------
    >>> zips, _, states = quidel_facilities()
    >>> len(zips), states.tolist()
    (3, ['CA', 'TX', 'FL'])
    """
    zips = _read("zips")
    zips = zips[zips["population"].notna()].assign(population=lambda f: f["population"].astype(float))
    links = _read("zip_county")
    single = links[links["weight"].astype(float) == 1.0].set_index("zip")["county"]
    in_msa = set(_read("zip_msa")["zip"])
    zips = zips[zips["zip"].isin(single.index) & zips["zip"].isin(in_msa)].copy()
    zips["county"] = single.reindex(zips["zip"]).to_numpy()
    states = _read("counties").set_index("county")["state_id"]
    zips["state"] = states.reindex(zips["county"]).to_numpy()
    top_states = _read("states").assign(p=lambda f: f["population"].astype(float)).nlargest(n, "p")["state_id"]
    chosen = (zips[zips["state"].isin(top_states)].sort_values("population", ascending=False)
              .drop_duplicates("state").set_index("state").reindex(top_states))
    fips, _, _, _ = _claims_regions()
    row = pd.Series(np.arange(len(fips)), index=fips)
    return (chosen["zip"].to_numpy(dtype=str), row.reindex(chosen["county"]).to_numpy(dtype=int),
            chosen.index.str.upper().to_numpy(dtype=str))


def quidel_object(received, *, seed: int = 0, facilities: int = QUIDEL_FACILITIES,
                  tests_per_facility: int = QUIDEL_TESTS_PER_FACILITY, zips=None) -> pd.DataFrame:
    """The test records the demo's device fleet stored on day ``received`` (one row per test, upstream's columns).

    Each test was taken 1–7 days before it was stored; it is positive with a chance that follows its county's
    true case rate; ages blank for about 4 % of tests, results ``invalid`` for about 1.5 %, a few zips written as
    zip+4. ``zips`` (an array of zip codes with population) spreads the tests over those zips by population
    instead of the fleet's facilities (the benchmark's national volume). The same arguments give the same rows.

    Examples
    --------
    >>> frame = quidel_object("2020-11-20")
    >>> frame.columns[:3].tolist(), 2000 < len(frame) < 4000, sorted(frame["OverallResult"].unique())
    (['SofiaSerNum', 'TestDate', 'Facility'], True, ['invalid', 'negative', 'positive'])
    """
    day = _issue(received, FIRST_DAY + pd.Timedelta(days=len(QUIDEL_LAG_SHARES)), "quidel")
    if zips is None:
        where, county_row, state = quidel_facilities(facilities)
        share = np.full(len(where), 1.0 / len(where))
    else:
        where, share, county_row, state = _quidel_zips(tuple(zips))
    t = (day - FIRST_DAY).days
    rng = np.random.default_rng([seed, 4, t])
    n = int(rng.poisson(tests_per_facility * len(where) * QUIDEL_TEST_WEEKDAY[day.day_of_week]))
    z = rng.choice(len(where), size=n, p=share)
    lag = rng.choice(len(QUIDEL_LAG_SHARES), size=n, p=QUIDEL_LAG_SHARES)
    rate = _case_rate(seed)[county_row[z], t - lag]
    positive = rng.random(n) < np.clip(0.02 + 25 * rate, 0, 0.5)
    invalid = rng.random(n) < 0.015
    result = np.where(invalid, "invalid", np.where(positive, "positive", "negative"))
    band = rng.choice(len(QUIDEL_AGES), size=n, p=QUIDEL_AGES)
    low = np.array([s[0] for s in QUIDEL_AGE_SPANS])[band]
    high = np.array([s[1] for s in QUIDEL_AGE_SPANS])[band]
    age = np.floor(low + rng.random(n) * (high - low)).astype(int).astype(str)
    age = np.where(age == "0", "<1", age)
    age = np.where(rng.random(n) < 0.04, "", age)
    zip_text = np.where(rng.random(n) < 0.01, np.char.add(where[z], "-0001"), where[z])
    tested = (day - pd.to_timedelta(lag, "D"))
    frame = pd.DataFrame({c: "" for c in QUIDEL_COLUMNS}, index=np.arange(n))
    frame["SofiaSerNum"] = (z % 997 + 1000).astype(str)
    frame["TestDate"] = [f"{d.month}/{d.day}/{d:%y}" for d in tested]
    frame["State"] = state[z]
    frame["Zip"] = zip_text
    frame["PatientAge"] = age
    frame["Result1"] = result
    frame["OverallResult"] = result
    frame["StorageDate"] = f"{day.month}/{day.day}/{day:%y}"
    return frame


@lru_cache(maxsize=2)
def _quidel_zips(zips: tuple):
    """Given zips (with population): their share of people, their main county's row and their state."""
    table = _read("zips").set_index("zip")
    pop = table["population"].astype(float).reindex(list(zips)).to_numpy()
    links = _read("zip_county").copy()
    links["weight"] = links["weight"].astype(float)
    main = links.sort_values("weight").drop_duplicates("zip", keep="last").set_index("zip")["county"]
    fips, _, _, _ = _claims_regions()
    row = pd.Series(np.arange(len(fips)), index=fips).reindex(main.reindex(list(zips)).to_numpy())
    ok = row.notna().to_numpy() & (pop > 0)
    states = _read("counties").set_index("county")["state_id"]
    where = np.asarray(zips, dtype=str)[ok]
    county_row = row.to_numpy()[ok].astype(int)
    return where, pop[ok] / pop[ok].sum(), county_row, states.reindex(fips[county_row]).str.upper().to_numpy(dtype=str)


def quidel_key(received) -> str:
    """The bucket key of the demo's object received on ``received``: ``quidel-demo/YYYY_MM_DD/…-sars.csv``.

    Examples
    --------
    >>> quidel_key("2020-11-30")
    'quidel-demo/2020_11_30/Sofia_20201130-sars.csv'
    """
    day = pd.Timestamp(received)
    return f"{QUIDEL_PREFIX}/{day:%Y_%m_%d}/Sofia_{day:%Y%m%d}-sars.csv"


def write_quidel_drops(folder, issue_date, *, seed: int = 0, days: int = QUIDEL_RECEIVED_DAYS, **fleet) -> Path:
    """Write the demo bucket (a local folder in the bucket's layout) as it stood on ``issue_date``: one object per
    day received, ``days`` days back to the issue date (:func:`quidel_key`); objects already there are kept.
    ``fleet``: the keywords of :func:`quidel_object`."""
    folder = Path(folder)
    issue = pd.Timestamp(issue_date)
    for back in range(days, -1, -1):
        received = issue - pd.Timedelta(days=back)
        path = folder / quidel_key(received)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            frame = quidel_object(received, seed=seed, **fleet)
            atomic.write_bytes(path, frame.to_csv(index=False).encode())
    return folder
