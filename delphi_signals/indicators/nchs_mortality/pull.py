"""Pull the NCHS weekly death-count table into the input cache and parse it strictly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import InputError
from ...geo import geodata_dir
from ...log import get_logger
from ...sources import fetch
from .. import params as P
from .constants import (
    ALIASES,
    CACHE_NAME,
    COLUMNS,
    DEFAULT_BASE_URL,
    METRICS,
    NOT_STATES,
    OPTIONAL,
    SOURCE,
    WEEKLY_GROUP,
)

log = get_logger(__name__, source=SOURCE)


def pull_data(params: dict) -> pd.DataFrame:
    """Fetch ``indicator.base_url`` (URL or local path; default the CDC Socrata table) into
    ``<data_root>/input/nchs-mortality/<YYYYMMDD>_nchs_weekly_deaths.csv`` and parse it (:func:`read_table`)."""
    url = (params.get("indicator") or {}).get("base_url") or DEFAULT_BASE_URL
    result = fetch(url, source=SOURCE, data_root=P.data_root(params), day=P.issue_date(params), name=CACHE_NAME,
                   ext="csv", force=bool((params.get("indicator") or {}).get("force_pull")))
    return read_table(result.path)


def state_ids() -> dict[str, str]:
    """State name → state id, from ``geodata/states.csv`` (``{"Alabama": "al", ...}``)."""
    table = pd.read_csv(geodata_dir() / "states.csv", dtype=str, keep_default_na=False)
    return dict(zip(table["state_name"], table["state_id"]))


def _check_header(columns, path):
    names = [ALIASES.get(c, c) for c in columns]
    missing = [c for c in COLUMNS if c not in names and c not in OPTIONAL]
    extra = [c for c in columns if ALIASES.get(c, c) not in COLUMNS]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if missing or extra or repeated:
        parts = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
            [f"unexpected column(s) {', '.join(extra)}"] if extra else []) + (
            [f"column(s) given twice {', '.join(repeated)}"] if repeated else [])
        raise InputError("; ".join(parts) + f" (expected {', '.join(COLUMNS)})", file=path, line=1,
                         field=(missing or extra or repeated)[0])
    return names


def _days(frame, column, path):
    text = frame[column].astype(str).str.slice(0, 10)
    days = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    if days.isna().any():
        i = int(np.flatnonzero(days.isna().to_numpy())[0])
        raise InputError(f"not a date: {frame[column].iat[i]!r}", file=path, line=i + 2, field=column)
    return pd.DatetimeIndex(days)


def read_table(path) -> pd.DataFrame:
    """Parse the NCHS table strictly.

    Columns must be :data:`~.constants.COLUMNS` (older names in :data:`~.constants.ALIASES` accepted;
    ``footnote`` optional), nothing else. Rows of ``group`` other than ``"By week"`` are dropped (logged).
    Each week is one epiweek: ``start_week`` equal to ``end_week`` (a week-ending date, as in 2020) or the
    Sunday six days before it; ``end_week`` a Saturday. Counts are non-negative whole numbers or blank
    (NCHS suppresses 1–9 deaths). States are the names in ``geodata/states.csv`` plus ``New York City``.

    Returns
    -------
    pandas.DataFrame
        Columns ``state`` (name as in the table), ``week_start`` (the epiweek's Sunday) and one float column
        per count in :data:`~.constants.METRICS`; one row per (state, week), ``United States`` rows dropped.

    Raises
    ------
    InputError
        Naming the file, line and field.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV ({exc})", file=path) from None
    frame.columns = _check_header(list(frame.columns), path)
    weekly = (frame["group"] == WEEKLY_GROUP).to_numpy()
    if not weekly.all():
        log.info("dropped rows not by week", file=str(path), count=int((~weekly).sum()),
                 groups=sorted(frame.loc[~weekly, "group"].unique().tolist())[:5])
    lines = np.flatnonzero(weekly) + 2
    frame = frame.loc[weekly].reset_index(drop=True)
    if frame.empty:
        raise InputError(f"no rows with group {WEEKLY_GROUP!r}", file=path, field="group")
    start, end = _days(frame, "start_week", path), _days(frame, "end_week", path)
    bad = ~((start == end) | (start == end - pd.Timedelta(days=6))) | (end.day_of_week != 5)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"start_week {start[i]:%Y-%m-%d} and end_week {end[i]:%Y-%m-%d} are not one epiweek "
                         "(end_week must be a Saturday and start_week equal to it or its Sunday)",
                         file=path, line=int(lines[i]), field="end_week")
    counts = {}
    for column in METRICS:
        text = frame[column].str.strip()
        values = pd.to_numeric(text.where(text != ""), errors="coerce")
        bad = (text != "") & (values.isna() | (values < 0) | (values != np.round(values)))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"not a whole non-negative count or blank: {frame[column].iat[i]!r}", file=path,
                             line=int(lines[i]), field=column)
        counts[column] = values.to_numpy(dtype=np.float64)
    known = set(state_ids()) | {"New York City"} | set(NOT_STATES)
    unknown = ~frame["state"].isin(known)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputError(f"unknown state {frame['state'].iat[i]!r}", file=path, line=int(lines[i]), field="state")
    out = pd.DataFrame({"state": frame["state"].to_numpy(), "week_start": (end - pd.Timedelta(days=6)).as_unit("ns"),
                        **counts})
    dupes = out.duplicated(["state", "week_start"]).to_numpy()
    if dupes.any():
        i = int(np.flatnonzero(dupes)[0])
        raise InputError(f"{out.state[i]} week ending {end[i]:%Y-%m-%d} given twice", file=path,
                         line=int(lines[i]), field="end_week")
    out = out[~out["state"].isin(NOT_STATES)].sort_values(["state", "week_start"], ignore_index=True)
    log.info("read nchs table", file=str(path), rows=len(out), states=int(out.state.nunique()),
             weeks=int(out.week_start.nunique()))
    return out
