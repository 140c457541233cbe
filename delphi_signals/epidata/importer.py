"""Import received CSV files into the epidata database, a batch of files (or one folder) per transaction.

Layout under the data directory (as upstream's ``csv_to_database``, plus a reason beside every failure)::

    receiving/<source>/*.csv                  issue = the run date, or the ``issue=`` given
    receiving/issue_YYYYMMDD/<source>/*.csv   issue = that date (weekly files: the epiweek holding it)
    archive/successful/<source>/<name>.gz     loaded files, gzipped
    archive/failed/<source>/<name>            files that broke a rule, moved as they were, with
                                              <name>.reason.json beside (every bad row: line, field, problem)
    archive/failed/unknown/                   files whose source (directory) name is not acceptable

Files of an issue folder are archived under ``archive/<outcome>/issue_YYYYMMDD/<source>/``, so the same file
name delivered for several issues (a backfill) keeps every copy. The rules a file must pass are
:mod:`delphi_signals.epidata.filecheck`'s; a bad file fails alone, with a reason, and the run goes on. Files
not ending in ``.csv`` and hidden files (``.name``, e.g. still being written) are left in place.

Crash safety: a file's rows and its *marker* (source, name, issue and a hash of its bytes) are committed in
one transaction, with the other files of its batch and the outcome of every file of the batch, and files are
archived only after the commit. A run killed at any point therefore leaves each file either loaded and
marked, or not loaded at all; a rerun loads the second kind and only archives the first, so it ends with the
same database as an uninterrupted run. Two importers at once are serialised by the store's lock, and the
markers, read under the lock, keep a file from being loaded twice.

A database error stops the run (:class:`~delphi_signals.errors.DatabaseError`): the batch being loaded is
rolled back and its files stay in ``receiving/`` for the next run, since validated files the database
refuses mean the database is in trouble, not the files.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from ..errors import DatabaseError, InputError
from ..log import get_logger, progress
from . import schema, store
from .filecheck import MAX_ERRORS, SOURCE_NAME, CheckedFile, check_file

ISSUE_FOLDER = re.compile(r"issue_([0-9]{8})", re.IGNORECASE)  # ASCII digits only, as in file names
BATCH_FILES = 50
"""Files per transaction by default: the per-transaction cost (lock, staging table) is paid once per batch."""
BATCH_ROWS = 1_000_000
"""A batch closes once it holds this many rows."""
UNKNOWN_SOURCE = "unknown"
_log = get_logger(__name__)


@dataclass(frozen=True)
class Delivery:
    """One received file and where its issue comes from."""

    path: Path
    source: str
    issue_date: dt.date | None  # None: the issue folder's name is not a calendar day
    folder: str  # "" for receiving/<source>/, else "issue_YYYYMMDD"


def _as_date(value) -> dt.date:
    """A date from a ``datetime.date``, an ISO string or a ``YYYYMMDD`` int or string."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        if re.fullmatch(r"[0-9]{8}", text):
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"issue must be a date (YYYY-MM-DD or YYYYMMDD), got {value!r}") from None


def _issue_folder_date(name: str) -> dt.date | None:
    try:
        return _as_date(ISSUE_FOLDER.fullmatch(name).group(1))
    except InputError:
        return None


def _csv_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.name.lower().endswith(".csv") and not p.name.startswith("."))


def scan_receiving(data_dir, issue_date: dt.date, source: str | None = None) -> tuple[list[Delivery], list[Path]]:
    """The files waiting under ``receiving/`` (sorted by path) and the files left there untouched.

    ``receiving/<source>/*.csv`` get ``issue_date``; ``receiving/issue_YYYYMMDD/<source>/*.csv`` get the
    folder's date. ``source`` limits the scan to one source. Files outside a source folder are left (and listed
    as ignored when no ``source`` is given).
    """
    receiving = Path(data_dir) / "receiving"
    deliveries, ignored = [], []
    if not receiving.is_dir():
        return deliveries, ignored
    if source is None:
        ignored.extend(p for p in sorted(receiving.iterdir()) if p.is_file())
    for folder in sorted(p for p in receiving.iterdir() if p.is_dir()):
        if ISSUE_FOLDER.fullmatch(folder.name):
            day = _issue_folder_date(folder.name)
            if source is None:
                ignored.extend(p for p in sorted(folder.iterdir()) if p.is_file())
            groups = [(sub, day, folder.name) for sub in sorted(p for p in folder.iterdir() if p.is_dir())]
        else:
            groups = [(folder, issue_date, "")]
        for source_dir, day, label in groups:
            name = source_dir.name.lower()
            if source is not None and name != source:
                continue
            files = _csv_files(source_dir)
            deliveries.extend(Delivery(path, name, day, label) for path in files)
            ignored.extend(p for p in sorted(source_dir.iterdir()) if p.is_file() and p not in files)
    return deliveries, ignored


def file_marker(checked: CheckedFile, delivery: Delivery) -> str:
    """The marker of a loaded file: ``file:<source>/<folder>/<name>@<issue>:<sha256 of its bytes>``."""
    issue = checked.rows["issue"].iat[0]
    where = f"{delivery.source}/{delivery.folder + '/' if delivery.folder else ''}{delivery.path.name}"
    return f"file:{where[:150]}@{issue}:{checked.sha256}"


def folder_marker(source: str, issue_date) -> str:
    """The marker of one issue folder loaded as a whole (:func:`import_folder`).

    Examples
    --------
    >>> folder_marker("jhu-csse", dt.date(2020, 3, 5))
    'folder:jhu-csse/issue_20200305'
    """
    return f"folder:{source}/issue_{_as_date(issue_date):%Y%m%d}"


def _check_source_argument(source: str) -> None:
    if not isinstance(source, str) or not SOURCE_NAME.fullmatch(source):
        raise InputError(f"source must be 1-32 of a-z, 0-9, '_', '-', starting with a letter or digit; got {source!r}")


def _engine(engine_or_url) -> sa.engine.Engine:
    if isinstance(engine_or_url, sa.engine.Engine):
        return engine_or_url
    return schema.engine_for(str(engine_or_url))


def _archive_folder(data_dir: Path, outcome: str, delivery: Delivery, trusted: bool = True) -> Path:
    parts = [data_dir, "archive", outcome]
    if delivery.folder:
        parts.append(delivery.folder)
    parts.append(delivery.source if trusted else UNKNOWN_SOURCE)
    folder = Path(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_atomic(path: Path, write) -> None:
    """Write through a temporary sibling and rename, so ``path`` is either old or complete."""
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False)
    try:
        with handle:
            write(handle)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _archive_success(data_dir: Path, delivery: Delivery) -> Path | None:
    """Gzip the file into the archive, then remove it; ``None`` if another importer already did."""
    target = _archive_folder(data_dir, "successful", delivery) / f"{delivery.path.name}.gz"
    try:
        with open(delivery.path, "rb") as source:
            _write_atomic(target, lambda out: _gzip_into(source, out))
        delivery.path.unlink()
    except FileNotFoundError:
        return None
    return target


def _gzip_into(source, out) -> None:
    # level 1: at gzip's default 9, archiving took longer than the load itself
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=1) as zipped:
        shutil.copyfileobj(source, zipped)


def _archive_failure(data_dir: Path, delivery: Delivery, checked: CheckedFile, issue: int | None) -> Path | None:
    """Write the reason, then move the file beside it; ``None`` if another importer moved it first."""
    trusted = not any(e.get("field") == "source" for e in checked.errors)
    folder = _archive_folder(data_dir, "failed", delivery, trusted)
    target = folder / delivery.path.name
    if target.exists():
        _log.warning("replacing an earlier failed copy", file=str(target))
    report = {
        "file": str(delivery.path.relative_to(data_dir)), "source": delivery.source, "issue": issue,
        "reason": checked.reason, "error_count": checked.error_count, "errors_listed": len(checked.errors),
        "errors": checked.errors, "failed_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    text = json.dumps(report, indent=1, ensure_ascii=False).encode()
    _write_atomic(folder / f"{delivery.path.name}.reason.json", lambda out: out.write(text))
    try:
        os.replace(delivery.path, target)
    except FileNotFoundError:
        return None
    return target


def _outcome_row(delivery: Delivery, outcome: str, reason: str | None, row_count: int, issue: int | None,
                 marker: str | None) -> dict:
    """A ``file_outcome`` row (names are stored as bound parameters, cut to the column widths)."""
    return {"source": delivery.source[:255], "file_name": str(Path(delivery.folder, delivery.path.name))[:512],
            "outcome": outcome, "reason": reason, "row_count": row_count, "issue": issue, "marker": marker,
            "recorded_timestamp": int(time.time())}


class _Summary:
    """Counts of one run, returned as a plain dict."""

    def __init__(self, found: int, ignored: list[Path], data_dir: Path):
        self.data_dir = data_dir
        self.counts = {"files_found": found, "files_ok": 0, "files_failed": 0, "files_already_loaded": 0,
                       "files_vanished": 0, "rows": 0}
        self.failed, self.ignored = [], [str(p.relative_to(data_dir)) for p in ignored]
        self.started = time.perf_counter()

    def fail(self, delivery: Delivery, reason: str) -> None:
        self.counts["files_failed"] += 1
        self.failed.append({"file": str(delivery.path.relative_to(self.data_dir)), "reason": reason})

    def as_dict(self) -> dict:
        return {**self.counts, "failed": self.failed, "ignored": self.ignored,
                "elapsed_seconds": round(time.perf_counter() - self.started, 3)}


def _check(delivery: Delivery, max_errors: int) -> CheckedFile | None:
    """Check one delivery; ``None`` if the file disappeared (another importer took it)."""
    if delivery.issue_date is None:
        checked = CheckedFile(delivery.path, delivery.source)
        checked.errors = [{"line": None, "field": "issue folder", "problem": "issue folder name is not a calendar "
                           "day (issue_YYYYMMDD)", "value": delivery.folder}]
        checked.error_count = 1
        return checked
    try:
        return check_file(delivery.path, delivery.source, delivery.issue_date, max_errors=max_errors)
    except FileNotFoundError:
        return None
    except OSError as exc:  # unreadable: fail the file, not the run
        checked = CheckedFile(delivery.path, delivery.source)
        checked.errors = [{"line": None, "field": None, "problem": f"cannot read the file: {exc.strerror}"}]
        checked.error_count = 1
        return checked


def _failure_outcome(delivery: Delivery, checked: CheckedFile) -> dict:
    return _outcome_row(delivery, "failed", checked.reason[:10_000], 0, None,
                        f"failed:{checked.sha256}" if checked.sha256 else None)


@dataclass
class _Pending:
    """A checked good file waiting for its batch's transaction."""

    delivery: Delivery
    checked: CheckedFile
    marker: str

    @property
    def key(self) -> tuple:
        """What two files must not share within one batch: the same rows of the same issue."""
        first = self.checked.rows.iloc[0]
        return (first["source"], first["signal"], first["geo_type"], first["time_type"], int(first["time_value"]),
                int(first["issue"]))


def _existing_markers(conn, markers: list[str]) -> set[str]:
    column = schema.import_marker.c.marker
    found = set()
    for start in range(0, len(markers), 500):
        found.update(conn.execute(sa.select(column).where(column.in_(markers[start:start + 500]))).scalars())
    return found


class _Batch:
    """Good files to load and failed files to record, committed in one transaction, archived after it."""

    def __init__(self, data_dir: Path, engine, summary: _Summary, folder_marker_row: str | None = None):
        self.data_dir, self.engine, self.summary, self.folder_marker = data_dir, engine, summary, folder_marker_row
        self.good, self.failed, self.keys, self.rows = [], [], set(), 0

    def add_good(self, pending: _Pending) -> None:
        if pending.key in self.keys:  # the same rows again (another folder, same issue): the later file wins
            self.flush()
        self.good.append(pending)
        self.keys.add(pending.key)
        self.rows += len(pending.checked.rows)

    def add_failed(self, delivery: Delivery, checked: CheckedFile) -> None:
        self.failed.append((delivery, checked))

    def _commit(self) -> list[bool]:
        """The one transaction: rows and markers of the files not loaded before, and every outcome. Returns
        which good files were loaded now (the others' markers were there already)."""
        folder = self.folder_marker
        markers = [folder] if folder else [p.marker for p in self.good]
        try:
            with store.locked_transaction(self.engine) as conn:
                done = _existing_markers(conn, markers) if markers else set()
                fresh = [False] * len(self.good) if folder in done else [p.marker not in done for p in self.good]
                loading = [p for p, new in zip(self.good, fresh) if new]
                if loading:
                    store.load_rows(conn, pd.concat([p.checked.rows for p in loading], ignore_index=True))
                now = int(time.time())
                if folder and folder not in done:
                    marker_rows = [{"marker": folder, "row_count": sum(len(p.checked.rows) for p in loading)}]
                else:
                    marker_rows = [] if folder else [{"marker": p.marker, "row_count": len(p.checked.rows)}
                                                     for p in loading]
                if marker_rows:
                    conn.execute(schema.import_marker.insert(), [{**m, "created_timestamp": now} for m in marker_rows])
                outcomes = [_outcome_row(p.delivery, "success", None, len(p.checked.rows),
                                         int(p.checked.rows["issue"].iat[0]), folder or p.marker) for p in loading]
                outcomes += [_failure_outcome(d, c) for d, c in self.failed]
                if outcomes:
                    conn.execute(schema.file_outcome.insert(), outcomes)
                return fresh
        except sa.exc.SQLAlchemyError as exc:
            raise DatabaseError(f"loading {len(self.good)} file(s) failed and was rolled back: {exc}") from exc

    def flush(self) -> None:
        """Commit, then archive (only after the commit: a crash in between leaves files whose markers exist,
        which the next run only archives, and failed files the next run fails again)."""
        if not self.good and not self.failed and not self.folder_marker:
            return
        fresh = self._commit()
        self.folder_marker = None  # committed (or found committed): later flushes of this batch need no marker
        counts = self.summary.counts
        for pending, new in zip(self.good, fresh):
            rows = pending.checked.rows
            log = _log.bind(source=pending.delivery.source, issue=int(rows["issue"].iat[0]),
                            file=str(pending.delivery.path.relative_to(self.data_dir)))
            if new:
                counts["files_ok"] += 1
                counts["rows"] += len(rows)
                log.debug("inserted database rows", row_count=len(rows), signal=rows["signal"].iat[0],
                         geo_type=rows["geo_type"].iat[0], time_value=int(rows["time_value"].iat[0]),
                         lag=int(rows["lag"].iat[0]), contradictions=pending.checked.contradictions)
            else:
                counts["files_already_loaded"] += 1
                log.debug("file already loaded; archiving it")
            if _archive_success(self.data_dir, pending.delivery) is None:
                counts["files_vanished"] += 1
        for delivery, checked in self.failed:
            _log.warning("file failed", source=delivery.source, file=str(delivery.path.relative_to(self.data_dir)),
                         reason=checked.reason, error_count=checked.error_count)
            if _archive_failure(self.data_dir, delivery, checked, None) is None:
                counts["files_vanished"] += 1
            self.summary.fail(delivery, checked.reason)
        self.good, self.failed, self.keys, self.rows = [], [], set(), 0

    def full(self, batch_files: int, batch_rows: int) -> bool:
        return len(self.good) >= batch_files or len(self.failed) >= batch_files or self.rows >= batch_rows


def import_receiving(data_dir, engine_or_url, issue=None, *, source: str | None = None,
                     max_errors: int = MAX_ERRORS, batch_files: int = BATCH_FILES,
                     batch_rows: int = BATCH_ROWS) -> dict:
    """Import every file waiting under ``data_dir/receiving/``, in transactions of up to ``batch_files`` files.

    Parameters
    ----------
    data_dir : path
        The data root holding ``receiving/`` (and ``archive/``, created as needed).
    engine_or_url : sqlalchemy.engine.Engine or str
        The database; its schema is created if missing.
    issue : date, str or int, optional
        Issue of the files directly in ``receiving/<source>/`` (default: today, read once at the start).
        Files in ``receiving/issue_YYYYMMDD/<source>/`` always take their folder's date.
    source : str, optional
        Import only this source.
    max_errors : int
        How many bad rows a failed file's ``.reason.json`` lists.
    batch_files, batch_rows : int
        A transaction holds at most this many files, and closes once it holds this many rows (``batch_files=1``:
        one transaction per file). Each file's marker is in its batch's transaction.

    Returns
    -------
    dict
        ``files_found``, ``files_ok``, ``files_failed``, ``files_already_loaded`` (loaded by an earlier,
        interrupted run, or by a concurrent importer: only archived now), ``files_vanished`` (archived by a
        concurrent importer), ``rows`` (loaded), ``failed`` (file and reason of each failure), ``ignored``
        (files left in ``receiving/``), ``elapsed_seconds``.

    Raises
    ------
    DatabaseError
        The database refused a load (that batch's files stay in ``receiving/``; earlier batches are done).

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "receiving" / "demo").mkdir(parents=True)
    >>> _ = (root / "receiving" / "demo" / "20200301_state_cases.csv").write_text(
    ...     "geo_id,val,se,sample_size\\nca,1.5,NA,NA\\npa,2,NA,NA\\n")
    >>> _ = (root / "receiving" / "demo" / "20200301_state_bad.csv").write_text(
    ...     "geo_id,val,se,sample_size\\nca,Infinity,NA,NA\\n")
    >>> summary = import_receiving(root, f"sqlite:///{root / 'epidata.sqlite'}", issue="2020-03-02")
    >>> summary["files_ok"], summary["files_failed"], summary["rows"]
    (1, 1, 2)
    >>> summary["failed"][0]["reason"]
    'line 2, field val: not a finite number'
    >>> sorted(p.name for p in (root / "archive").rglob("*.*"))
    ['20200301_state_bad.csv', '20200301_state_bad.csv.reason.json', '20200301_state_cases.csv.gz']
    """
    data_dir = Path(data_dir)
    run_date = dt.date.today() if issue is None else _as_date(issue)
    if source is not None:
        _check_source_argument(source)
    deliveries, ignored = scan_receiving(data_dir, run_date, source)
    summary = _Summary(len(deliveries), ignored, data_dir)
    _log.info("found files", count=len(deliveries), ignored=len(ignored), source=source)
    if not deliveries:  # as upstream: nothing to do, no connection
        return summary.as_dict()
    engine = _engine(engine_or_url)
    schema.create_schema(engine)
    batch = _Batch(data_dir, engine, summary)
    for delivery in progress(deliveries, desc=f"import {source or 'receiving'}", unit=" files"):
        _route(delivery, batch, summary, max_errors)
        if batch.full(batch_files, batch_rows):
            batch.flush()
    batch.flush()
    result = summary.as_dict()
    _log.info("import finished", **{k: v for k, v in result.items() if k not in ("failed", "ignored")})
    return result


def _route(delivery, batch, summary, max_errors: int) -> None:
    """Check one delivered file and hand it to the batch as good or failed (or count it as vanished)."""
    checked = _check(delivery, max_errors)
    if checked is None:
        summary.counts["files_vanished"] += 1
    elif checked.ok:
        batch.add_good(_Pending(delivery, checked, file_marker(checked, delivery)))
    else:
        batch.add_failed(delivery, checked)


def import_folder(data_dir, engine_or_url, source: str, issue_date, *, max_errors: int = MAX_ERRORS) -> dict:
    """Import ``receiving/issue_YYYYMMDD/<source>/`` in one transaction, with :func:`folder_marker` in it.

    Failed files are archived with their reasons and the rest of the folder loads. The marker is committed
    even when no file passed (the folder was handled); if it is already there, the folder's files are only
    archived. Returns the summary of :func:`import_receiving`.

    Raises
    ------
    InputError
        The folder does not exist.
    DatabaseError
        The database refused the load (nothing of the folder is loaded; its files stay).
    """
    data_dir = Path(data_dir)
    day = _as_date(issue_date)
    _check_source_argument(source)
    folder = data_dir / "receiving" / f"issue_{day:%Y%m%d}" / source
    if not folder.is_dir():
        raise InputError(f"no folder to import: {folder}")
    files = _csv_files(folder)
    label = f"issue_{day:%Y%m%d}"
    deliveries = [Delivery(path, source, day, label) for path in files]
    summary = _Summary(len(deliveries), [p for p in sorted(folder.iterdir()) if p.is_file() and p not in files],
                       data_dir)
    engine = _engine(engine_or_url)
    schema.create_schema(engine)
    marker = folder_marker(source, day)
    batch = _Batch(data_dir, engine, summary, folder_marker_row=marker)
    for delivery in progress(deliveries, desc=f"import {source} {day:%Y%m%d}", unit=" files"):
        _route(delivery, batch, summary, max_errors)
    batch.flush()
    result = summary.as_dict()
    _log.info("folder imported", source=source, issue=f"{day:%Y%m%d}", marker=marker,
              **{k: v for k, v in result.items() if k not in ("failed", "ignored")})
    return result
