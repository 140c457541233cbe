"""Fetch a source file by URL into the dated input cache, through fsspec.

Any URL fsspec understands works: ``https://`` and ``http://`` (fsspec's HTTP filesystem, needs aiohttp),
``file://`` and plain local paths, ``memory://``; ``sftp://`` (paramiko) and ``s3://`` (s3fs) when those
optional packages are installed, else :class:`~delphi_signals.sources.errors.MissingExtraError` names what to
install. Credentials and client options go in ``storage_options`` (e.g. ``{"username": ..., "key_filename":
...}`` for sftp, ``{"anon": True}`` for s3).

Transport failures (connection errors, timeouts, HTTP 5xx, 408 and 429, a body shorter than its
Content-Length) are retried with exponential backoff (:class:`Retry`). Not retried: not found (HTTP 404 or a
missing file), other 4xx, a missing optional package, and bytes that fail the content check (a source that
serves an HTML page instead of its CSV serves it again a second later; the next scheduled run will retry).

Log events (structlog JSON lines, logger ``delphi_signals.sources.fetch``), each with fields ``source``,
``url``, ``file``:

* ``"fetch skipped: cached"`` – the day's file exists and ``force`` is False;
* ``"fetch attempt failed"`` – plus ``attempt``, ``error``, ``retry_in`` (seconds; absent on the last one);
* ``"fetch rejected"`` – plus ``attempt``, ``rule``, ``error``, ``rejected_to``;
* ``"fetch failed"`` – plus ``attempt``, ``error``;
* ``"fetched file"`` – plus ``attempt``, ``bytes``, ``sha256``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import fsspec

from delphi_signals.errors import InputError
from delphi_signals.log import get_logger
from delphi_signals.sources.cache import (
    DEFAULT_DATA_ROOT,
    REJECTED_DIR,
    FetchResult,
    cache_path,
    sha256_file,
    split_filename,
    store,
)
from delphi_signals.sources.errors import ContentError, FetchError, MissingExtraError

log = get_logger(__name__)

#: protocol -> (package that fsspec needs for it, our setup.py extra)
EXTRAS = {
    "http": ("aiohttp", "http"),
    "https": ("aiohttp", "http"),
    "sftp": ("paramiko", "sftp"),
    "ssh": ("paramiko", "sftp"),
    "s3": ("s3fs", "s3fs"),
    "s3a": ("s3fs", "s3fs"),
    "gs": ("gcsfs", "gcs"),
    "gcs": ("gcsfs", "gcs"),
}
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Retry:
    """Bounded retries with exponential backoff: wait ``min(max_delay, delay * factor**(n-1))`` after try n.

    Examples
    --------
    >>> Retry(attempts=4, delay=1.0, factor=2.0).delays()
    [1.0, 2.0, 4.0]
    >>> Retry(attempts=1).delays()
    []
    """

    attempts: int = 4
    delay: float = 2.0
    factor: float = 2.0
    max_delay: float = 60.0

    def __post_init__(self):
        if self.attempts < 1 or self.delay < 0 or self.factor < 1 or self.max_delay < 0:
            raise InputError(f"{self}: need attempts >= 1, delay >= 0, factor >= 1, max_delay >= 0")

    def delays(self) -> list[float]:
        """The waits between attempts, in seconds (one fewer than ``attempts``)."""
        return [min(self.max_delay, self.delay * self.factor**n) for n in range(self.attempts - 1)]


def fetch(
    url: str,
    *,
    source: str,
    data_root=DEFAULT_DATA_ROOT,
    day=None,
    name: str | None = None,
    ext: str | None = None,
    force: bool = False,
    retry: Retry = Retry(),
    check="auto",
    keep_rejected: bool = True,
    storage_options: dict | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchResult:
    """Fetch ``url`` into ``<data_root>/input/<source>/<YYYYMMDD>_<name>.<ext>``, unless already there.

    Parameters
    ----------
    url : str
        Any fsspec URL or a local path (see the module docstring).
    source : str
        The source's name, e.g. ``"jhu-csse"``: the cache folder.
    data_root : path
        The pipeline's data root (default ``./var``).
    day : date or str, optional
        The pull day stamped on the file (default today).
    name, ext : str, optional
        Cache file name and extension; default from the URL's file name
        (``…/time_series_covid19_confirmed_US.csv`` → ``time_series_covid19_confirmed_US``, ``csv``).
        The extension selects the content check.
    force : bool
        Fetch even if the day's file exists (it is replaced only if the new bytes pass the check).
    retry : Retry
        Attempts and backoff for transport failures.
    check : "auto", str, callable or None
        Content check, see :func:`delphi_signals.sources.cache.store`.
    keep_rejected : bool
        Keep bytes that fail the check in ``rejected/`` with a ``.reason`` file.
    storage_options : dict, optional
        Passed to the fsspec filesystem (credentials, client options).
    sleep : callable
        Waits between attempts (tests pass a no-op).

    Returns
    -------
    FetchResult

    Raises
    ------
    FetchError
        Not found, refused, or still failing after the last attempt.
    MissingExtraError
        The protocol needs a package that is not installed.
    ContentError
        The bytes are an HTML page, empty or truncated; nothing is cached.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (tmp / "counts.csv").write_text("geo_id,val\\n01001,3\\n")
    >>> result = fetch(tmp / "counts.csv", source="demo", data_root=tmp / "var", day="2020-11-30")
    >>> result.path.relative_to(tmp).as_posix(), result.nbytes, result.skipped
    ('var/input/demo/20201130_counts.csv', 19, False)
    >>> fetch(tmp / "counts.csv", source="demo", data_root=tmp / "var", day="2020-11-30").skipped
    True
    """
    url = str(url)
    if name is None or ext is None:
        url_name, url_ext = split_filename(PurePosixPath(urlsplit(url).path if "://" in url else url).name)
        name = url_name if name is None else name
        ext = url_ext if ext is None else ext
    target = cache_path(data_root, source, day, name, ext)
    fields = {"source": source, "url": url, "file": str(target)}
    if target.exists() and not force:
        digest, size = sha256_file(target)
        log.debug("fetch skipped: cached", **fields)
        return FetchResult(target, url, size, digest, skipped=True, attempts=0)

    fs, rpath = _filesystem(url, storage_options)
    delays = retry.delays()
    for attempt in range(1, retry.attempts + 1):
        try:
            digest, size = store(target, lambda tmp: _download(fs, rpath, tmp), url=url, check=check,
                                 keep_rejected=keep_rejected)
        except ContentError as exc:
            rejected = str(target.parent / REJECTED_DIR / target.name) if keep_rejected else None
            log.error("fetch rejected", attempt=attempt, rule=exc.rule, error=str(exc), rejected_to=rejected,
                      **fields)
            raise
        except Exception as exc:  # noqa: BLE001 - classified below, re-raised as FetchError
            reason, retryable = _classify(exc)
            if not retryable or attempt == retry.attempts:
                log.error("fetch failed", attempt=attempt, error=reason, **fields)
                raise FetchError(reason, url=url, attempts=attempt) from exc
            log.warning("fetch attempt failed", attempt=attempt, error=reason, retry_in=delays[attempt - 1],
                        **fields)
            sleep(delays[attempt - 1])
        else:
            log.info("fetched file", attempt=attempt, bytes=size, sha256=digest, **fields)
            return FetchResult(target, url, size, digest, skipped=False, attempts=attempt)
    raise AssertionError("unreachable")  # pragma: no cover


class IncompleteDownload(OSError):
    """Fewer (or more) bytes arrived than the remote file's size: retried like a network error."""


def _download(fs, rpath: str, tmp) -> None:
    fs.get_file(rpath, str(tmp))
    # aiohttp already enforces Content-Length for http(s); for other filesystems compare with the listed
    # size, which catches a cut sftp transfer or a local file still being written.
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    if not protocols & {"http", "https"}:
        expected = fs.size(rpath)
        actual = os.path.getsize(tmp)
        if expected is not None and actual != expected:
            raise IncompleteDownload(f"got {actual} of {expected} bytes")


def _filesystem(url: str, storage_options: dict | None):
    """The fsspec filesystem and path for a URL; a missing optional package becomes MissingExtraError."""
    protocol = url.split("://", 1)[0].lower() if "://" in url else "file"
    try:
        return fsspec.core.url_to_fs(url, **(storage_options or {}))
    except ImportError as exc:
        package, extra = EXTRAS.get(protocol, (getattr(exc, "name", None) or "?", protocol))
        raise MissingExtraError(url=url, package=package, extra=extra) from exc
    except ValueError as exc:
        if "Protocol not known" in str(exc):
            raise FetchError(f"unknown protocol {protocol!r} (fsspec knows no such filesystem)", url=url) from exc
        raise


def _classify(exc: BaseException) -> tuple[str, bool]:
    """A one-line reason for a transport failure, and whether trying again could help."""
    status = getattr(exc, "status", None) or getattr(exc, "code", None)
    if isinstance(exc, FileNotFoundError):
        return "not found (HTTP 404 or no such file)", False
    if isinstance(status, int) and 400 <= status < 600:
        message = getattr(exc, "message", "") or ""
        return f"HTTP {status} {message}".strip(), status in _RETRY_STATUS
    if isinstance(exc, (PermissionError, IsADirectoryError, NotADirectoryError)):
        return f"{type(exc).__name__}: {exc}", False
    if type(exc).__name__ in ("ClientPayloadError", "IncompleteDownload"):  # aiohttp: body vs Content-Length
        return f"incomplete download: {exc}", True
    if isinstance(exc, (OSError, asyncio.TimeoutError, TimeoutError, ConnectionError, EOFError)):
        return f"{type(exc).__name__}: {exc}", True
    if type(exc).__module__.split(".")[0] in ("aiohttp", "paramiko", "botocore", "aiobotocore"):
        return f"{type(exc).__name__}: {exc}", True
    return f"{type(exc).__name__}: {exc}", False
