"""Pull the NCHS weekly death-count table into the input cache and parse it strictly."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from ...errors import InputError
from ...geo import geodata_dir
from ...log import get_logger
from ...sources import fetch
from ...sources.cache import FetchResult, cache_path, sha256_file, store
from ...sources.http import http_get, with_query
from ...sources.versions import SourceVersion, current_version, record_fetch
from .. import params as P
from .constants import (
    ALIASES,
    CACHE_NAME,
    COLUMNS,
    DEFAULT_BASE_URL,
    LATER_COLUMNS,
    METRICS,
    OPTIONAL,
    PERCENT,
    SODA_PAGE_SIZE,
    SODA_TOKEN_ENV,
    SOURCE,
    WEEKLY_GROUP,
    WEEKLY_GROUP_KEY,
)

log = get_logger(__name__, source=SOURCE)
_SODA_PATH = re.compile(r"/resource/[a-z0-9]{4}-[a-z0-9]{4}(\.csv|\.json)?$")


def is_soda_endpoint(url) -> bool:
    """True for an http(s) SODA resource URL (``…/resource/abcd-1234.csv``).

    Examples
    --------
    >>> is_soda_endpoint("https://data.cdc.gov/resource/r8kw-7aab.csv"), is_soda_endpoint("/data/t.csv")
    (True, False)
    """
    parts = urlsplit(str(url))
    return parts.scheme in ("http", "https") and bool(_SODA_PATH.search(parts.path))


def soda_token(params: dict) -> str | None:
    """The optional SODA app token: ``indicator.soda_app_token`` or ``$SODA_APP_TOKEN`` (never logged)."""
    return (params.get("indicator") or {}).get("soda_app_token") or os.environ.get(SODA_TOKEN_ENV) or None


def resolve_version(params: dict) -> SourceVersion:
    """What a pull for ``common.issue_date`` may fetch: a local file (any issue) or the current table.

    The table keeps no history: for a past issue this raises
    :class:`~delphi_signals.sources.errors.SourceVersionError` naming ``--allow-current`` unless
    ``indicator.allow_current`` is true (then current data is labelled with the issue, sidecar ``"current"``).
    """
    indicator = params.get("indicator") or {}
    url = str(indicator.get("base_url") or DEFAULT_BASE_URL)
    return current_version(SOURCE, P.issue_date(params), url, allow_current=bool(indicator.get("allow_current")))


def resolve_versions(params: dict) -> list[SourceVersion]:
    """The indicator contract's version check: ``[resolve_version(params)]`` (one raw file)."""
    return [resolve_version(params)]


def fetch_soda(url: str, *, data_root, day, name: str = CACHE_NAME, token: str | None = None,
               page_size: int = SODA_PAGE_SIZE, force: bool = False, sleep=None) -> FetchResult:
    """Page through a SODA resource as CSV (``$limit``/``$offset``, ordered by ``:id``) into one cache file.

    Pages are requested until one has fewer than ``page_size`` rows; each must carry the first page's header.
    The app token goes in the ``X-App-Token`` header, never in the URL or a log line.
    """
    target = cache_path(data_root, SOURCE, day, name, "csv")
    if target.exists() and not force:
        digest, size = sha256_file(target)
        log.debug("fetch skipped: cached", url=url, file=str(target))
        return FetchResult(target, url, size, digest, skipped=True, attempts=0)
    endpoint = re.sub(r"\.json$", ".csv", url.split("?", 1)[0])
    endpoint = endpoint if endpoint.endswith(".csv") else endpoint + ".csv"
    headers = {"X-App-Token": token} if token else {}
    kwargs = {"sleep": sleep} if sleep else {}
    header, rows, pages = None, [], 0
    while True:
        page_url = with_query(endpoint, {"$limit": page_size, "$offset": len(rows), "$order": ":id"})
        body = http_get(page_url, headers=headers, source=SOURCE, **kwargs).decode("utf-8-sig")
        page = list(csv.reader(io.StringIO(body, newline="")))
        pages += 1
        if not page:
            raise InputError("SODA page without a header row", file=page_url)
        if header is None:
            header = page[0]
        elif page[0] != header:
            raise InputError(f"SODA page header {page[0]} differs from the first page's {header}", file=page_url,
                             line=1)
        rows.extend(page[1:])
        if len(page) - 1 < page_size:
            break
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    data = buffer.getvalue().encode()
    digest, size = store(target, lambda tmp: tmp.write_bytes(data), url=endpoint)
    log.info("fetched file", url=endpoint, file=str(target), pages=pages, rows=len(rows), bytes=size, sha256=digest)
    return FetchResult(target, endpoint, size, digest, skipped=False, attempts=pages)


def pull_data(params: dict) -> pd.DataFrame:
    """Fetch the table for ``common.issue_date`` into ``<data_root>/input/nchs-mortality/<YYYYMMDD>_nchs_weekly_deaths.csv``
    (with a ``.version.json`` sidecar) and parse it (:func:`read_table`).

    ``indicator.base_url``: an http(s) SODA endpoint (default the CDC table; paged, optional app token, see
    :func:`fetch_soda`), another URL (fetched whole), or a local path / ``file://`` URL of a CSV in any known
    layout. The version is resolved first (:func:`resolve_version`), so a refused past issue caches nothing.
    """
    version = resolve_version(params)
    indicator = params.get("indicator") or {}
    root, day, force = P.data_root(params), P.issue_date(params), bool(indicator.get("force_pull"))
    if is_soda_endpoint(version.url):
        result = fetch_soda(version.url, data_root=root, day=day, token=soda_token(params), force=force,
                            page_size=int(indicator.get("soda_page_size") or SODA_PAGE_SIZE))
    else:
        result = fetch(version.url, source=SOURCE, data_root=root, day=day, name=CACHE_NAME, ext="csv", force=force)
    record_fetch(result, version)
    return read_table(result.path)


def state_ids() -> dict[str, str]:
    """State name → state id, from ``geodata/states.csv`` (``{"Alabama": "al", ...}``)."""
    table = pd.read_csv(geodata_dir() / "states.csv", dtype=str, keep_default_na=False)
    return dict(zip(table["state_name"], table["state_id"]))


def standardize_columns(columns) -> list[str]:
    """Our names for a header of any known layout: normalised, then renamed by :data:`~.constants.ALIASES`.

    Examples
    --------
    >>> standardize_columns(["Start Date", "End Date", "COVID-19 Deaths", "state", "week_ending_date"])
    ['start_week', 'end_week', 'covid_deaths', 'state', 'week_ending_date']
    """
    names = [re.sub(r"[^a-z0-9]+", "_", str(c).strip().lower()).strip("_") for c in columns]
    return [ALIASES.get(n, n) for n in names]


REQUIRED = tuple(c for c in COLUMNS if c not in OPTIONAL)


def _check_header(columns, path):
    names = standardize_columns(columns)
    missing = [c for c in REQUIRED if c not in names]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if missing or repeated:
        parts = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
            [f"column(s) given twice {', '.join(repeated)}"] if repeated else [])
        raise InputError("; ".join(parts) + f" (expected {', '.join(REQUIRED)})", file=path, line=1,
                         field=(missing or repeated)[0])
    unknown = [c for c, n in zip(columns, names) if n not in COLUMNS and n not in LATER_COLUMNS]
    if unknown:
        log.warning("ignored unknown column(s)", file=str(path), columns=unknown)
    return names


def _days(frame, column, path, lines):
    text = frame[column].astype(str).str.strip()
    days = pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    us_style = days.isna()
    if us_style.any():  # the rows.csv download writes MM/DD/YYYY
        days[us_style] = pd.to_datetime(text[us_style], format="%m/%d/%Y", errors="coerce")
    if days.isna().any():
        i = int(np.flatnonzero(days.isna().to_numpy())[0])
        raise InputError(f"not a date: {frame[column].iat[i]!r}", file=path, line=int(lines[i]), field=column)
    return pd.DatetimeIndex(days)


def _numbers(frame, column, path, lines, whole: bool):
    text = frame[column].str.strip()
    values = pd.to_numeric(text.where(text != ""), errors="coerce")
    bad = (text != "") & (values.isna() | (values < 0) | ((values != np.round(values)) if whole else False))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        what = "a whole non-negative count" if whole else "a non-negative number"
        raise InputError(f"not {what} or blank: {frame[column].iat[i]!r}", file=path, line=int(lines[i]),
                         field=column)
    return values.to_numpy(dtype=np.float64)


def read_table(path) -> pd.DataFrame:
    """Parse the NCHS table strictly, in any known layout.

    Layouts: the 2020 Socrata export (``start_week``, ``end_week``, ``covid_deaths`` …), today's
    (``start_date``, ``end_date``, ``covid_19_deaths``, plus ``year``, ``month``, ``mmwr_week``,
    ``week_ending_date``; no ``indicator``), and the human headers of the ``rows.csv`` download; names are
    mapped by :func:`standardize_columns`. Columns :data:`REQUIRED` must be there; ``data_as_of``,
    ``indicator``, ``footnote`` and today's extra columns may be; any other column is ignored with one
    warning. Rows whose ``group`` is not "by week" (any case: "By Total", "By Month", "By Year") are dropped
    (logged). Each week is one epiweek: ``start_week`` equal to ``end_week`` (a week-ending date, as in 2020)
    or the Sunday six days before it; ``end_week`` a Saturday; ``week_ending_date``, where given, equal to
    ``end_week``. Counts are non-negative whole numbers or blank (NCHS suppresses 1–9 deaths);
    ``percent_of_expected_deaths`` a non-negative number or blank. States are the names in
    ``geodata/states.csv``, ``New York City`` and ``United States``; one row per state and week.

    Returns
    -------
    pandas.DataFrame
        Columns ``state`` (name as in the table, ``United States`` included), ``week_start`` (the epiweek's
        Sunday), one float column per count in :data:`~.constants.METRICS` and ``percent_of_expected_deaths``;
        sorted by state and week.

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
    weekly = (frame["group"].str.strip().str.lower() == WEEKLY_GROUP_KEY).to_numpy()
    if not weekly.all():
        log.info("dropped rows not by week", file=str(path), count=int((~weekly).sum()),
                 groups=sorted(frame.loc[~weekly, "group"].unique().tolist())[:5])
    lines = np.flatnonzero(weekly) + 2
    frame = frame.loc[weekly].reset_index(drop=True)
    if frame.empty:
        raise InputError(f"no rows with group {WEEKLY_GROUP!r}", file=path, field="group")
    start, end = _days(frame, "start_week", path, lines), _days(frame, "end_week", path, lines)
    bad = ~((start == end) | (start == end - pd.Timedelta(days=6))) | (end.day_of_week != 5)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"start_week {start[i]:%Y-%m-%d} and end_week {end[i]:%Y-%m-%d} are not one epiweek "
                         "(end_week must be a Saturday and start_week equal to it or its Sunday)",
                         file=path, line=int(lines[i]), field="end_week")
    if "week_ending_date" in frame.columns:
        stated = _days(frame, "week_ending_date", path, lines)
        bad = stated != end
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"week_ending_date {stated[i]:%Y-%m-%d} is not the end date {end[i]:%Y-%m-%d}",
                             file=path, line=int(lines[i]), field="week_ending_date")
    values = {column: _numbers(frame, column, path, lines, whole=True) for column in METRICS}
    values |= {column: _numbers(frame, column, path, lines, whole=False) for column in PERCENT}
    known = set(state_ids()) | {"New York City", "United States"}
    unknown = ~frame["state"].isin(known)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputError(f"unknown state {frame['state'].iat[i]!r}", file=path, line=int(lines[i]), field="state")
    out = pd.DataFrame({"state": frame["state"].to_numpy(), "week_start": (end - pd.Timedelta(days=6)).as_unit("ns"),
                        **values})
    dupes = out.duplicated(["state", "week_start"]).to_numpy()
    if dupes.any():
        i = int(np.flatnonzero(dupes)[0])
        raise InputError(f"{out.state[i]} week ending {end[i]:%Y-%m-%d} given twice", file=path,
                         line=int(lines[i]), field="end_week")
    out = out.sort_values(["state", "week_start"], ignore_index=True)
    log.debug("read nchs table", file=str(path), rows=len(out), states=int(out.state.nunique()),
             weeks=int(out.week_start.nunique()))
    return out
