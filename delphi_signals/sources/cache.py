"""The dated input cache: ``<data_root>/input/<source>/<YYYYMMDD>_<name>.<ext>``.

One file per (source, pull day, name). Its bytes are exactly what was fetched, never edited; a file appears
only whole (written to a temporary ``.<file>.part-*`` beside it, flushed, then renamed over with
``os.replace``) and only after passing the sanity check of :mod:`delphi_signals.sources.checks`.

Bytes that fail the check are set aside, not cached: ``input/<source>/rejected/<YYYYMMDD>_<name>.<ext>`` with
a ``.reason`` text file beside it (the URL, the rule broken, the time), so an operator can look at the HTML
page a source served; the next good pull of the same day leaves them there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from delphi_signals import atomic, layout
from delphi_signals.errors import InputError
from delphi_signals.sources.checks import check_content, content_format
from delphi_signals.sources.errors import ContentError

DEFAULT_DATA_ROOT = Path(layout.DEFAULT_DATA_ROOT)
REJECTED_DIR = "rejected"
_COMPRESSION = {"gz", "bz2", "xz", "zst"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


@dataclass(frozen=True)
class FetchResult:
    """What a pull left in the input cache.

    Attributes
    ----------
    path : pathlib.Path
        The cache file.
    url : str
        Where the bytes came from (a URL, or ``mbox:<path>#<Message-ID>`` for mail).
    nbytes : int
        Its size in bytes.
    sha256 : str
        Hex SHA-256 of its bytes.
    skipped : bool
        True when the file was already cached for that day and nothing was fetched.
    attempts : int
        Fetch attempts made (0 when skipped).
    """

    path: Path
    url: str
    nbytes: int
    sha256: str
    skipped: bool
    attempts: int


def parse_day(day=None) -> dt.date:
    """A pull day from a date, datetime, ``"YYYY-MM-DD"``, ``"YYYYMMDD"`` or int; None is today.

    Examples
    --------
    >>> parse_day("2020-11-30"), parse_day(20201130)
    (datetime.date(2020, 11, 30), datetime.date(2020, 11, 30))
    """
    if day is None:
        return dt.date.today()
    if isinstance(day, dt.datetime):
        return day.date()
    if isinstance(day, dt.date):
        return day
    text = str(day)
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise InputError(f"pull day {day!r} is not a date, YYYY-MM-DD or YYYYMMDD")


def split_filename(filename: str) -> tuple[str, str]:
    """Name and extension of a file name; a compression suffix keeps the one before it.

    Examples
    --------
    >>> split_filename("time_series_covid19_confirmed_US.csv")
    ('time_series_covid19_confirmed_US', 'csv')
    >>> split_filename("claims.2020.csv.gz")
    ('claims.2020', 'csv.gz')
    >>> split_filename("README")
    ('README', '')
    """
    parts = PurePosixPath(filename).name.split(".")
    if len(parts) == 1 or parts[0] == "":
        return PurePosixPath(filename).name, ""
    keep = 2 if parts[-1].lower() in _COMPRESSION and len(parts) > 2 else 1
    return ".".join(parts[:-keep]), ".".join(parts[-keep:])


def cache_path(data_root, source: str, day, name: str, ext: str) -> Path:
    """Path of the cache file ``<data_root>/input/<source>/<YYYYMMDD>_<name>.<ext>``.

    ``source`` and ``name`` must be plain file-name parts (letters, digits, ``. _ + -``), so a name can never
    point outside the cache.

    Examples
    --------
    >>> cache_path("var", "jhu-csse", "2020-11-30", "confirmed", "csv").as_posix()
    'var/input/jhu-csse/20201130_confirmed.csv'
    """
    for label, value in (("source", source), ("name", name)):
        if not _NAME.match(value or ""):
            raise InputError(f"{label} {value!r} is not a plain file-name part (letters, digits, . _ + -); pass {label}=")
    if not re.fullmatch(r"[A-Za-z0-9]+(\.[A-Za-z0-9]+)*", ext or ""):
        raise InputError(f"extension {ext!r} is empty or not letters/digits (e.g. 'csv', 'csv.gz'); pass ext=")
    return Path(data_root) / "input" / source / f"{parse_day(day):%Y%m%d}_{name}.{ext}"


def latest_cached(data_root, source: str, name: str, ext: str, *, on_or_before=None) -> Path | None:
    """The newest cache file of ``name.ext`` pulled on or before a day (default: any day); None if none.

    Examples
    --------
    >>> latest_cached("/nonexistent", "jhu-csse", "confirmed", "csv") is None
    True
    """
    folder = Path(data_root) / "input" / source
    last = parse_day(on_or_before).strftime("%Y%m%d") if on_or_before is not None else "99999999"
    suffix = f"_{name}.{ext}"
    days = []
    if folder.is_dir():
        for path in folder.iterdir():
            day = path.name[:8]
            if path.name == day + suffix and day.isdigit() and day <= last:
                days.append(day)
    return folder / f"{max(days)}{suffix}" if days else None


def sha256_file(path) -> tuple[str, int]:
    """Hex SHA-256 and size of a file, read in 1 MiB blocks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def store(target: Path, write: Callable[[Path], None], *, url: str, check="auto", keep_rejected=True) -> tuple[str, int]:
    """Write a cache file atomically: ``write(tmp)`` fills a temporary file, which is checked, then renamed.

    Parameters
    ----------
    target : Path
        The cache file (see :func:`cache_path`); its folder is created.
    write : callable
        Called with the temporary path; must write the raw bytes there. May be called once only: retries
        are the caller's business.
    url : str
        Origin named in errors and in the ``.reason`` file.
    check : "auto", str, callable or None
        "auto" checks by the target's extension (:func:`~delphi_signals.sources.checks.content_format`); a
        format name forces one; a callable ``check(data: bytes, origin: str)`` replaces the check; None
        skips it.
    keep_rejected : bool
        Set bytes that fail the check aside in ``rejected/`` with a ``.reason`` file (else delete them).

    Returns
    -------
    (sha256, nbytes)

    Raises
    ------
    ContentError
        The bytes failed the check; ``target`` is untouched (an older file stays as it was).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic.temp_sibling(target, "part")
    try:
        write(tmp)
        data = tmp.read_bytes()
        try:
            _run_check(data, check, target, url)
        except ContentError as exc:
            if keep_rejected:
                _set_aside(tmp, target, url, exc)
            raise
        atomic.replace(tmp, target)
        return hashlib.sha256(data).hexdigest(), len(data)
    finally:
        tmp.unlink(missing_ok=True)


def _run_check(data: bytes, check, target: Path, url: str) -> None:
    if check is None:
        return
    if callable(check):
        check(data, url)
        return
    fmt, gz = content_format(target.name.split(".", 1)[1] if "." in target.name else "")
    if check != "auto":
        fmt = check
    check_content(data, fmt, gz=gz, origin=url)


def _set_aside(tmp: Path, target: Path, url: str, exc: ContentError) -> None:
    folder = target.parent / REJECTED_DIR
    folder.mkdir(exist_ok=True)
    os.replace(tmp, folder / target.name)
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    (folder / f"{target.name}.reason").write_text(
        f"url: {url}\nrule: {exc.rule}\nerror: {exc}\nrejected_at: {stamp}\n", encoding="utf-8"
    )


VERSION_SUFFIX = ".version.json"


def version_sidecar(cache_file) -> Path:
    """The JSON sidecar beside a cache file that records which version of the source it holds.

    Examples
    --------
    >>> version_sidecar("var/input/hhs/20211025_covid_hosp.json").as_posix()
    'var/input/hhs/20211025_covid_hosp.json.version.json'
    """
    path = Path(cache_file)
    return path.with_name(path.name + VERSION_SUFFIX)


def write_version(cache_file, record: dict) -> Path:
    """Write ``record`` (JSON-able: ``kind``, ``value``, ``issue_date``, ``url`` …) atomically as the sidecar."""
    target = version_sidecar(cache_file)
    atomic.write_text(target, json.dumps(record, indent=1, sort_keys=True, default=str) + "\n")
    return target


def read_version(cache_file) -> dict | None:
    """The sidecar record of a cache file, or None when there is none (a file cached before sidecars)."""
    target = version_sidecar(cache_file)
    return json.loads(target.read_text(encoding="utf-8")) if target.exists() else None
