"""Pull quidel's test objects into the dated input cache, one combined file per day received.

The pull for issue ``D`` takes every object received on or before ``D`` (:func:`.objects.plan`) and writes, for
each day received not yet cached, ``input/quidel/<YYYYMMDD>_tests.csv``: that day's objects one after another
under one header (an object with other columns or another column order is rewritten in the first one's), with
a sidecar naming each object, its sha256 and its rows. The file for ``D`` itself is always written (header
only when nothing was received that day), so the issue's pull is complete, and a past issue reads exactly the
days received by then. Upstream kept one cumulative ``pulled_until_*.csv`` instead, which cannot give back a
past issue.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pandas as pd

from ...log import get_logger
from ...sources.cache import cache_path, read_version, store, write_version
from ...sources.versions import SourceVersion
from .. import params as P
from .constants import CACHE_NAME, SOURCE
from .objects import S3Store, UnusableObjectError, check_header, plan
from .reader import DayFile

log = get_logger(__name__, source=SOURCE)


def _lines(body: bytes) -> list[bytes]:
    return [line.rstrip(b"\r") for line in body.split(b"\n") if line.strip()]


def combine(objects: list[tuple[str, bytes]], issue_date) -> tuple[bytes, list[dict]]:
    """One CSV of the objects' rows under the first object's header, and each object's ``key``, ``sha256``,
    ``first_row`` and ``rows``.

    Examples
    --------
    >>> head = b"SofiaSerNum,TestDate,Facility,City,State,Zip,PatientAge,Result1,Result2,OverallResult,StorageDate"
    >>> data, parts = combine([("a", head + b"\\n1,7/18/20,,,,22079,39,,,negative,8/17/20\\n"),
    ...                        ("b", head + b"\\r\\n2,7/19/20,,,,22079,9,,,positive,8/17/20\\r\\n")], "2020-08-17")
    >>> data.count(b"\\n"), [(p["key"], p["first_row"], p["rows"]) for p in parts]
    (3, [('a', 0, 1), ('b', 1, 1)])
    """
    header, columns, out, parts, row = None, None, [], [], 0
    for key, body in objects:
        body = body[3:] if body.startswith(b"\xef\xbb\xbf") else body
        own = check_header(body[:65536], key, issue_date)
        first, _, rest = body.partition(b"\n")
        if header is None:
            header, columns = first.rstrip(b"\r"), own
        if own == columns:
            lines = _lines(rest)
        else:  # another layout: the same columns in the first object's order (absent ones blank)
            frame = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False).reindex(columns=columns,
                                                                                         fill_value="")
            lines = _lines(frame.to_csv(index=False, header=False).encode())
        out.extend(lines)
        parts.append({"key": key, "sha256": hashlib.sha256(body).hexdigest(), "first_row": row, "rows": len(lines)})
        row += len(lines)
    if header is None:
        return b"", parts
    return b"\n".join([header, *out]) + b"\n", parts


def _fetch_day(pl, received: dt.date, keys: list[str], params: dict, *, force: bool):
    target = cache_path(P.data_root(params), SOURCE, received, CACHE_NAME, "csv")
    if target.exists() and not force and read_version(target) is not None:
        return target
    objects = [(key, pl.store.read(key)) for key in keys]
    data, parts = combine(objects, pl.issue_date)
    store(target, lambda tmp: tmp.write_bytes(data), url=pl.store.url, check=None)
    write_version(target, {"source": SOURCE, "issue_date": received.isoformat(), "kind": _kind(pl),
                           "url": pl.store.url, "objects": parts})
    log.info("pulled tests received", received=received.isoformat(), objects=len(parts),
             rows=sum(p["rows"] for p in parts), file=str(target))
    return target


def _kind(pl) -> str:
    return "drop" if isinstance(pl.store, S3Store) else "local"


def resolve_versions(params: dict) -> list[SourceVersion]:
    """The indicator contract's version check (before any task): the bucket or folder answers, some object was
    received on or before the issue date, and the objects not yet cached start with a usable CSV header; else
    :class:`~.objects.UnusableObjectError` (exit code 20) naming the bucket or key."""
    pl = plan(params)
    root = P.data_root(params)
    for received, keys in pl.days.items():
        if cache_path(root, SOURCE, received, CACHE_NAME, "csv").exists():
            continue
        for key in keys:
            check_header(pl.store.head(key), key, pl.issue_date)
    if not pl.days and not _cached_days(params):
        raise UnusableObjectError(f"no test objects received on or before {pl.issue_date} in {pl.store.url}",
                                  issue_date=pl.issue_date, file=pl.store.url)
    newest = max(pl.days) if pl.days else None
    return [SourceVersion(SOURCE, pl.issue_date, _kind(pl), newest and newest.isoformat(), pl.store.url)]


def _cached_days(params: dict) -> list:
    folder = P.data_root(params) / "input" / SOURCE
    day = P.issue_date(params)
    found = []
    for path in sorted(folder.glob(f"*_{CACHE_NAME}.csv")) if folder.is_dir() else []:
        try:
            received = dt.datetime.strptime(path.name.split("_", 1)[0], "%Y%m%d").date()
        except ValueError:
            continue
        if received <= day:
            found.append((received, path))
    return found


def pull_data(params: dict) -> tuple[list[DayFile], dt.date | None]:
    """Fetch the issue's days into the cache and return every cached day file up to the issue date, each object
    once (an object met on an earlier day is skipped, as upstream never reads one twice), and the newest day
    some test object was received (None if none was)."""
    pl = plan(params)
    force = bool((params.get("indicator") or {}).get("force_pull"))
    for received, keys in pl.days.items():
        _fetch_day(pl, received, keys, params, force=force and received == pl.issue_date)
    if pl.issue_date not in pl.days:
        _fetch_day(pl, pl.issue_date, [], params, force=False)
    seen, files, newest = set(), [], None
    for received, path in _cached_days(params):
        parts = (read_version(path) or {}).get("objects", [])
        objects = []
        for part in parts:
            skip = part["sha256"] in seen
            seen.add(part["sha256"])
            objects.append((part["key"], part["first_row"], part["rows"], skip))
            if not skip and part["rows"]:
                newest = received
        if parts:
            files.append(DayFile(path, tuple(objects)))
    if newest is None or newest < pl.issue_date:
        log.warning("no new test object received on the issue date: exporting from the tests already pulled",
                    issue=pl.issue_date.isoformat(), newest_received=newest and newest.isoformat())
    return files, newest
