"""Claims drops: their names, the folder that holds them (local or SFTP), and which drop an issue takes.

A drop is named ``[SYN]EDI_AGG_<KIND>_DDMMYYYY_HHMM<TZ>.csv.gz`` (``KIND`` ``OUTPATIENT`` or ``INPATIENT``,
e.g. ``SYNEDI_AGG_OUTPATIENT_07022020_1455CDT.csv.gz``: dropped 2020-02-07 at 14:55 CDT). Upstream's SFTP
server named them ``YYYYMMDD`` and its download flipped them to ``DDMMYYYY``; both orders are read here
(``DDMMYYYY`` first; the other one only when that is not a real date).

The pull for issue date ``D`` lists the folder and takes the newest drop of its kind dated on or before ``D``
(:func:`choose_drop`); ``indicator.drop_date`` overrides the date read from the name, as upstream. The drop's
name is the source version (:func:`resolve_drop`), so a past issue is reproduced while its drop is in the folder
and refused (exit code 20) when it is not.

``indicator.base_url`` is ``sftp://user@host:port/folder/``, a local folder of drops, or one local drop; without
it, upstream's ``indicator.ftp_credentials`` (``host``, ``user``, ``pass``, ``port``) name the server, and the
folder is ``indicator.ftp_folder`` (default upstream's ``/optum/receiving``). The password comes only from
``ftp_credentials.pass`` (or ``$DELPHI_CLAIMS_SFTP_PASSWORD``) and is never logged or recorded.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

from ...errors import InputError
from ...log import get_logger
from ...sources import fetch
from ...sources.cache import parse_day
from ...sources.errors import FetchError, SourceVersionError
from ...sources.fetch import _filesystem
from ...sources.versions import SourceVersion, is_local, local_path, record_fetch
from .. import params as P

log = get_logger(__name__)
DROP_NAME = re.compile(r"^(?P<prefix>(?:SYN)?EDI_AGG)_(?P<kind>[A-Z]+)_(?P<date>\d{8})_(?P<time>\d{4})(?P<zone>[A-Z]*)"
                       r"\.csv\.gz$")
LOOKS_LIKE_DROP = re.compile(r"^(?:SYN)?EDI_AGG_(?P<kind>[A-Z]+)_")
DEFAULT_FOLDER = "/optum/receiving"
PASSWORD_ENV = "DELPHI_CLAIMS_SFTP_PASSWORD"


class UnusableDropError(SourceVersionError):
    """A drop that cannot give the issue: no drop on or before the issue date, a name that does not parse, or
    content that breaks the drop format. Names the drop, line and field; the command exits 20."""

    def __init__(self, message: str, *, source: str, issue_date, file=None, line=None, field=None):
        self.source, self.issue_date = source, str(issue_date)
        InputError.__init__(self, message, file=file, line=line, field=field)


@dataclass(frozen=True)
class DropName:
    """A parsed drop name: ``kind``, the drop ``date`` and its time stamp ``stamp`` (date and ``HHMM``)."""

    name: str
    kind: str
    date: dt.date
    stamp: dt.datetime


def parse_drop_name(name: str, *, kind: str | None = None) -> DropName:
    """Parse a drop file name; :class:`InputError` (field ``name``) if it does not parse.

    Examples
    --------
    >>> d = parse_drop_name("SYNEDI_AGG_OUTPATIENT_07022020_1455CDT.csv.gz")
    >>> d.kind, d.date.isoformat(), d.stamp.strftime("%H:%M")
    ('OUTPATIENT', '2020-02-07', '14:55')
    >>> parse_drop_name("EDI_AGG_INPATIENT_20201106_1451CDT.csv.gz").date.isoformat()
    '2020-11-06'
    >>> parse_drop_name("EDI_AGG_INPATIENT_31312020_1451CDT.csv.gz")
    Traceback (most recent call last):
    ...
    delphi_signals.errors.InputError: EDI_AGG_INPATIENT_31312020_1451CDT.csv.gz, field name: the date 31312020 is neither DDMMYYYY nor YYYYMMDD
    """
    match = DROP_NAME.match(name)
    if not match:
        raise InputError("not a drop name: expected [SYN]EDI_AGG_<KIND>_DDMMYYYY_HHMM<TZ>.csv.gz", file=name,
                         field="name")
    if kind is not None and match["kind"] != kind:
        raise InputError(f"a {match['kind']} drop, expected {kind}", file=name, field="name")
    text = match["date"]
    day = None
    for fmt in ("%d%m%Y", "%Y%m%d"):
        try:
            day = dt.datetime.strptime(text, fmt).date()
            break
        except ValueError:
            continue
    if day is None:
        raise InputError(f"the date {text} is neither DDMMYYYY nor YYYYMMDD", file=name, field="name")
    hour, minute = int(match["time"][:2]), int(match["time"][2:])
    if hour > 23 or minute > 59:
        raise InputError(f"the time {match['time']} is not HHMM", file=name, field="name")
    return DropName(name, match["kind"], day, dt.datetime(day.year, day.month, day.day, hour, minute))


def choose_drop(names, issue_date, kind: str, *, source: str) -> DropName:
    """The newest ``kind`` drop among ``names`` dated on or before ``issue_date``.

    Names that are not drops of ``kind`` are ignored; a name that starts like one (``…EDI_AGG_<KIND>_``) but
    does not parse is an error, since a malformed drop name hides a drop.

    Raises
    ------
    UnusableDropError
        No such drop (the message lists the newest ones seen), or a drop name that does not parse.

    Examples
    --------
    >>> names = ["SYNEDI_AGG_OUTPATIENT_07022020_1455CDT.csv.gz", "SYNEDI_AGG_OUTPATIENT_08022020_0900CDT.csv.gz",
    ...          "SYNEDI_AGG_INPATIENT_07022020_1455CDT.csv.gz", "notes.txt"]
    >>> choose_drop(names, "2020-02-07", "OUTPATIENT", source="doctor-visits").name
    'SYNEDI_AGG_OUTPATIENT_07022020_1455CDT.csv.gz'
    """
    day = parse_day(issue_date)
    found = []
    for name in names:
        looks = LOOKS_LIKE_DROP.match(name)
        if not looks or looks["kind"] != kind:
            continue
        try:
            found.append(parse_drop_name(name, kind=kind))
        except InputError as exc:
            raise UnusableDropError(exc.reason, source=source, issue_date=day, file=name, field="name") from None
    eligible = [d for d in found if d.date <= day]
    if not eligible:
        seen = ", ".join(d.name for d in sorted(found, key=lambda d: d.stamp)[-3:]) or "none"
        raise UnusableDropError(f"no {kind} drop dated on or before {day} in the folder (newest seen: {seen})",
                                source=source, issue_date=day)
    return max(eligible, key=lambda d: (d.stamp, d.name))


def _indicator(params: dict) -> dict:
    return params.get("indicator") or {}


def location(params: dict) -> tuple[str, dict]:
    """The folder (or file) URL of the drops and the fsspec ``storage_options`` to reach it.

    Examples
    --------
    >>> location({"indicator": {"ftp_credentials": {"host": "h", "user": "u", "pass": "p", "port": 2222}}})
    ('sftp://u@h:2222/optum/receiving/', {'password': 'p'})
    >>> location({"indicator": {"base_url": "/data/drops"}})
    ('/data/drops', {})
    """
    indicator = _indicator(params)
    credentials = indicator.get("ftp_credentials") or {}
    password = credentials.get("pass") or os.environ.get(PASSWORD_ENV) or None
    url = indicator.get("base_url")
    if not url:
        if not credentials.get("host"):
            raise InputError("neither indicator.base_url nor indicator.ftp_credentials.host names the drops",
                             field="base_url")
        folder = str(indicator.get("ftp_folder") or DEFAULT_FOLDER).strip("/")
        port = f":{credentials['port']}" if credentials.get("port") else ""
        user = f"{credentials['user']}@" if credentials.get("user") else ""
        url = f"sftp://{user}{credentials['host']}{port}/{folder}/"
    url = str(url)
    options = dict(indicator.get("storage_options") or {})
    if url.startswith(("sftp://", "ssh://")) and password and "password" not in options:
        options["password"] = password
    return url, options


def redacted(url: str) -> str:
    """``url`` without a password in its user part.

    Examples
    --------
    >>> redacted("sftp://u:secret@h:22/x/")
    'sftp://u@h:22/x/'
    """
    parts = urlsplit(url)
    if "://" not in url or parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def list_folder(url: str, storage_options: dict) -> list[str]:
    """File names in the folder ``url`` (local or any fsspec URL such as ``sftp://``)."""
    if is_local(url):
        folder = local_path(url)
        if not folder.is_dir():
            raise FetchError("no such folder of drops", url=str(folder))
        return sorted(p.name for p in folder.iterdir() if p.is_file())
    fs, path = _filesystem(url, storage_options)
    try:
        entries = fs.ls(path.rstrip("/") or "/", detail=True)
    except Exception as exc:  # noqa: BLE001 - any transport failure, named with its URL
        raise FetchError(f"cannot list the folder ({type(exc).__name__}: {exc})", url=redacted(url)) from exc
    finally:
        disconnect(fs)
    return sorted(PurePosixPath(e["name"]).name for e in entries if e.get("type") != "directory")


def disconnect(fs) -> None:
    """Close a remote filesystem's connection and drop it from fsspec's instance cache (an SFTP session left
    open keeps the server's session, and a process exiting, waiting)."""
    for name in ("ftp", "client"):
        handle = getattr(fs, name, None)
        if handle is not None and hasattr(handle, "close"):
            handle.close()
    type(fs).clear_instance_cache()


def _single_file(url: str) -> bool:
    if is_local(url):
        return local_path(url).is_file()
    return url.endswith(".gz")


def drop_date(params: dict, drop: DropName | None, *, source: str) -> dt.date:
    """``indicator.drop_date`` if set (YYYY-MM-DD), else the date in the drop's name."""
    value = _indicator(params).get("drop_date")
    if value:
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise InputError(f"indicator.drop_date {value!r} is not YYYY-MM-DD", field="drop_date") from None
    if drop is None:
        raise UnusableDropError("the drop's name carries no date and indicator.drop_date is not set", source=source,
                                issue_date=P.issue_date(params), field="drop_date")
    return drop.date


def resolve_drop(params: dict, kind: str, *, source: str) -> tuple[SourceVersion, str, DropName | None]:
    """Which drop issue ``common.issue_date`` takes: ``(version, url of the drop, parsed name)``.

    A local single file is taken as is (its name is parsed when it parses: a drop renamed by hand needs
    ``indicator.drop_date``); a folder is listed and :func:`choose_drop` decides.
    """
    day = P.issue_date(params)
    url, options = location(params)
    if _single_file(url):
        name = PurePosixPath(urlsplit(url).path if "://" in url else url).name
        try:
            drop = parse_drop_name(name, kind=kind)
        except InputError:
            drop = None
        kind_label = "local" if is_local(url) else "drop"
        return SourceVersion(source, day, kind_label, name, redacted(url)), url, drop
    try:
        names = list_folder(url, options)
    except FetchError as exc:  # a folder that is not there (or a server that does not answer): input missing
        raise UnusableDropError(exc.reason, source=source, issue_date=day, file=redacted(url)) from exc
    drop = choose_drop(names, day, kind, source=source)
    drop_url = url.rstrip("/") + "/" + drop.name if "://" in url else str(local_path(url) / drop.name)
    kind_label = "local" if is_local(url) else "drop"
    log.info("chose drop", source=source, issue_date=day.isoformat(), drop=drop.name, folder=redacted(url))
    return SourceVersion(source, day, kind_label, drop.name, redacted(drop_url)), drop_url, drop


def check_local_drop(params: dict, kind: str, *, source: str, layout,
                     cache_name: str | None = None) -> SourceVersion:
    """The version check of a pull (run before any task): :func:`resolve_drop`, and the drop's content too
    (:func:`~.reader.read_drop`), so a missing, misnamed or malformed drop stops the run with exit code 20 before
    anything is exported. A drop on this machine is read where it is; one on an SFTP server is first copied into
    the input cache (:func:`fetch_drop` with ``cache_name``, where the pull then finds it), then read.

    Raises
    ------
    UnusableDropError
        Naming the drop, the line and the field.
    """
    from .reader import read_drop

    version, drop_url, drop = resolve_drop(params, kind, source=source)
    if is_local(drop_url):
        path = local_path(drop_url)
    elif cache_name is not None:
        path, _ = fetch_drop(params, kind, source=source, cache_name=cache_name)
    else:
        return version
    try:
        read_drop(path, layout, name=drop.name if drop else None)
    except InputError as exc:
        raise UnusableDropError(exc.reason, source=source, issue_date=P.issue_date(params), file=exc.file,
                                line=exc.line, field=exc.field) from None
    return version


def fetch_drop(params: dict, kind: str, *, source: str, cache_name: str) -> tuple[Path, DropName | None]:
    """Copy the issue's drop into ``input/<source>/<YYYYMMDD>_<cache_name>.csv.gz`` (sidecar: the drop's name).

    The bytes are copied as they are; :func:`~.reader.read_drop` checks them (a truncated gzip stream is
    an error naming the line where it breaks).
    """
    version, drop_url, drop = resolve_drop(params, kind, source=source)
    _, options = location(params)
    try:
        result = fetch(drop_url, source=source, data_root=P.data_root(params), day=P.issue_date(params),
                       name=cache_name, ext="csv.gz", force=bool(_indicator(params).get("force_pull")),
                       storage_options=options or None, check=None)
    finally:
        if not is_local(drop_url):
            disconnect(_filesystem(drop_url, options)[0])
    record_fetch(result, version)
    return result.path, drop
