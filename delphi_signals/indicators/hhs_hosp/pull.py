"""Pull the HHS state time series (Epidata ``covid_hosp`` JSON) into the input cache and parse it strictly.

The response has the Epidata shape ``{"epidata": [row, ...], "result": 1, "message": "success"}``; each row
is one state and day with ``state`` (upper case), ``date`` (YYYYMMDD), ``issue`` and ~118 columns, of which
the ``previous_day_admission_*`` counts in :data:`~.constants.REQUIRED_FIELDS` are read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import InputError
from ...geo import geo_values
from ...log import get_logger
from ...sources import Retry, fetch
from ...sources.cache import FetchResult, cache_path, parse_day, sha256_file, store
from ...sources.errors import FetchError
from ...sources.http import http_get, redact, with_query
from ...sources.versions import SourceVersion, as_of_version, is_local, record_fetch
from .. import params as P
from .constants import (
    API_KEY_ENV,
    CACHE_NAME,
    CHUNK_DAYS,
    DEFAULT_BASE_URL,
    FIRST_DAY,
    REQUIRED_FIELDS,
    SOURCE,
)

log = get_logger(__name__, source=SOURCE)


def source_url(params: dict) -> str:
    """``indicator.base_url`` (a URL or local path) or the Epidata endpoint, with its fields filled in.

    Examples
    --------
    >>> source_url({"indicator": {"base_url": "/data/{end}.json"}, "common": {"issue_date": "2021-10-25"}})
    '/data/20211025.json'
    """
    template = str((params.get("indicator") or {}).get("base_url") or DEFAULT_BASE_URL)
    states = ",".join(s.upper() for s in geo_values("state"))
    return template.replace("{states}", states).replace("{end}", P.issue_date(params).strftime("%Y%m%d"))


def resolve_version(params: dict) -> SourceVersion:
    """A local file reproduces any issue; the Epidata API reproduces issue D with ``as_of=D``."""
    url = str((params.get("indicator") or {}).get("base_url") or DEFAULT_BASE_URL)
    if is_local(url):
        return SourceVersion(SOURCE, P.issue_date(params), "local", None, url)
    return as_of_version(SOURCE, P.issue_date(params), url.split("?", 1)[0])


def resolve_versions(params: dict) -> list[SourceVersion]:
    """The indicator contract's version check: ``[resolve_version(params)]`` (one raw file)."""
    return [resolve_version(params)]


def date_chunks(first, last, days: int = CHUNK_DAYS) -> list[tuple[dt.date, dt.date]]:
    """``[first, last]`` cut into consecutive ranges of at most ``days`` days.

    Examples
    --------
    >>> [(f"{a:%m%d}", f"{b:%m%d}") for a, b in date_chunks("2021-08-01", "2021-10-25")]
    [('0801', '0831'), ('0901', '1001'), ('1002', '1025')]
    """
    first, last = parse_day(first), parse_day(last)
    out = []
    while first <= last:
        stop = min(first + dt.timedelta(days=days - 1), last)
        out.append((first, stop))
        first = stop + dt.timedelta(days=1)
    return out


def fetch_chunked(endpoint: str, *, data_root, day, as_of: str, first=FIRST_DAY, chunk_days: int = CHUNK_DAYS,
                  api_key: str | None = None, retry: Retry = Retry(), force: bool = False) -> FetchResult:
    """Request ``first`` .. ``day`` in ``chunk_days``-day ranges (``dates=A-B``, ``as_of``, every state) and cache
    the rows of all answers as one Epidata response ``<data_root>/input/hhs/<day>_covid_hosp.json``.

    An answer ``{"result": -2, "message": "no results"}`` is a chunk without data, wherever it falls; any other
    result but 1 fails. HTTP 429 and 5xx are retried with backoff (``retry``). The API key goes in the query
    as ``api_key`` and is shown as ``***`` in every log line and error.

    Raises
    ------
    FetchError
        A request still failing after its retries, or an answer that is not an Epidata response.
    """
    target = cache_path(data_root, SOURCE, day, CACHE_NAME, "json")
    if target.exists() and not force:
        digest, size = sha256_file(target)
        log.debug("fetch skipped: cached", url=endpoint, file=str(target))
        return FetchResult(target, endpoint, size, digest, skipped=True, attempts=0)
    states = ",".join(s.upper() for s in geo_values("state"))
    rows, requests = [], 0
    for start, stop in date_chunks(first, day, chunk_days):
        url = with_query(endpoint, {"states": states, "dates": f"{start:%Y%m%d}-{stop:%Y%m%d}", "as_of": as_of,
                                    "api_key": api_key})
        body = http_get(url, retry=retry, source=SOURCE)
        requests += 1
        try:
            answer = json.loads(body)
            result, chunk = answer["result"], answer.get("epidata") or []
        except (ValueError, KeyError, TypeError) as exc:
            raise FetchError(f"not an Epidata response ({type(exc).__name__}: {exc})", url=redact(url)) from None
        if result == -2:
            log.info("no results in chunk", dates=f"{start:%Y%m%d}-{stop:%Y%m%d}")
            continue
        if result != 1:
            raise FetchError(f"Epidata result {result} ({answer.get('message')!r}) for dates {start:%Y%m%d}-"
                             f"{stop:%Y%m%d}; expected 1 (or -2, no results)", url=redact(url))
        rows.extend(chunk)
    data = json.dumps({"epidata": rows, "result": 1 if rows else -2,
                       "message": "success" if rows else "no results"}).encode()
    digest, size = store(target, lambda tmp: tmp.write_bytes(data), url=endpoint)
    log.info("fetched file", url=endpoint, file=str(target), requests=requests, rows=len(rows), bytes=size,
             sha256=digest, as_of=as_of)
    return FetchResult(target, endpoint, size, digest, skipped=False, attempts=requests)


def pull_data(params: dict) -> pd.DataFrame:
    """Fetch the response for ``common.issue_date`` into ``<data_root>/input/hhs/<YYYYMMDD>_covid_hosp.json``
    (with a ``.version.json`` sidecar) and parse it.

    ``indicator.base_url``: a local path or ``file://`` URL (a template with ``{states}``/``{end}``, see
    :func:`source_url`) is read as is; an http(s) URL is the Epidata endpoint (its query is dropped), asked in
    31-day chunks (:func:`fetch_chunked`) ``as_of`` the issue date, from ``indicator.start_date`` (default
    2020-01-01) to the issue date. ``indicator.api_key`` or ``$DELPHI_EPIDATA_KEY``: the optional API key.

    Returns
    -------
    pandas.DataFrame
        See :func:`read_response`.
    """
    indicator = params.get("indicator") or {}
    version = resolve_version(params)
    root, day, force = P.data_root(params), P.issue_date(params), bool(indicator.get("force_pull"))
    if version.kind == "local":
        result = fetch(source_url(params), source=SOURCE, data_root=root, day=day, name=CACHE_NAME, ext="json",
                       force=force)
    else:
        retry = Retry(attempts=int(indicator.get("retries", 4)) + 1, delay=float(indicator.get("retry_delay", 2.0)))
        result = fetch_chunked(version.url, data_root=root, day=day, as_of=version.value,
                               first=indicator.get("start_date") or FIRST_DAY,
                               chunk_days=int(indicator.get("chunk_days") or CHUNK_DAYS),
                               api_key=indicator.get("api_key") or os.environ.get(API_KEY_ENV) or None,
                               retry=retry, force=force)
    record_fetch(result, version)
    return read_response(result.path)


def _number(value, path, index, field):
    if value is None:
        return np.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
        raise InputError(f"epidata[{index}]: not a non-negative number or null: {value!r}", file=path, field=field)
    return float(value)


def read_response(path) -> pd.DataFrame:
    """Parse an Epidata ``covid_hosp`` response strictly.

    Every row must have the same fields, among them ``state``, ``date`` and the admission counts; a count
    is a non-negative number or null (missing); a state is a known state id; ``date`` a real YYYYMMDD day;
    no (state, date) twice.

    Returns
    -------
    pandas.DataFrame
        Columns ``state`` (lower-case state id), ``date`` (datetime64, the report day: counts are for the
        day before) and one float column per required count field (NaN = null), sorted by state and date.

    Raises
    ------
    InputError
        Naming the file, the row (``epidata[i]``) and the field.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.json"
    >>> _ = path.write_text('{"epidata": [], "result": -2, "message": "no results"}')
    >>> read_response(path)
    Traceback (most recent call last):
    ...
    delphi_signals.errors.InputError: .../r.json, field result: Epidata result -2 ('no results'), expected 1
    """
    path = Path(path)
    try:
        body = json.loads(path.read_bytes())
    except ValueError as exc:
        raise InputError(f"not valid JSON ({exc})", file=path) from None
    if not isinstance(body, dict) or "epidata" not in body or "result" not in body:
        raise InputError("not an Epidata response: expected an object with 'epidata' and 'result'", file=path)
    if body["result"] != 1:
        raise InputError(f"Epidata result {body['result']} ({body.get('message')!r}), expected 1", file=path,
                         field="result")
    rows = body["epidata"]
    if not isinstance(rows, list) or not rows:
        raise InputError("'epidata' holds no rows", file=path, field="epidata")
    fields = set(rows[0]) if isinstance(rows[0], dict) else set()
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if missing:
        raise InputError(f"epidata[0] lacks field(s) {', '.join(missing)}", file=path, field=missing[0])
    known_states = set(geo_values("state").tolist())
    columns = {f: np.empty(len(rows)) for f in REQUIRED_FIELDS[2:]}
    states, days = [], []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InputError(f"epidata[{i}] is not an object", file=path)
        if set(row) != fields:
            absent, extra = sorted(fields - set(row)), sorted(set(row) - fields)
            detail = "; ".join(([f"lacks {', '.join(absent)}"] if absent else [])
                               + ([f"has extra {', '.join(extra)}"] if extra else []))
            raise InputError(f"epidata[{i}] fields differ from epidata[0]: {detail}", file=path,
                             field=(absent or extra)[0])
        state = str(row["state"]).lower()
        if state not in known_states:
            raise InputError(f"epidata[{i}]: unknown state {row['state']!r}", file=path, field="state")
        states.append(state)
        days.append(str(row["date"]))
        for f, col in columns.items():
            col[i] = _number(row[f], path, i, f)
    # one vectorised parse (a per-row parse cost seconds on a year of states)
    parsed = pd.to_datetime(pd.Series(days), format="%Y%m%d", errors="coerce")
    if parsed.isna().any():
        i = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise InputError(f"epidata[{i}]: not a YYYYMMDD day: {rows[i]['date']!r}", file=path, field="date")
    frame = pd.DataFrame({"state": states, "date": pd.DatetimeIndex(parsed).as_unit("ns"), **columns})
    dupes = frame.duplicated(["state", "date"])
    if dupes.any():
        i = int(np.flatnonzero(dupes.to_numpy())[0])
        raise InputError(f"epidata[{i}]: state {frame.state[i]} and date {frame.date[i]:%Y%m%d} repeated",
                         file=path, field="date")
    log.debug("read hhs response", file=str(path), rows=len(frame), states=int(frame.state.nunique()),
             issue=body["epidata"][0].get("issue"))
    return frame.sort_values(["state", "date"], ignore_index=True)
