"""Which version of a source an issue date needs, and fetching exactly that version.

A pull for issue date D must publish what was known on D, not today's bytes labelled D. Every source declares
how it reproduces a past issue:

=================  ===================================================================================
kind               how
=================  ===================================================================================
``local``          a local path or ``file://`` URL: the caller chose the file, any issue is reproduced
``commit``         a file kept in git: the newest commit of the file dated before D began (UTC),
                   found with ``git log --until`` in a local clone (:class:`GitHistory`) or a hosting
                   service's ``commits?path=…&until=…`` API (:class:`CommitsApiHistory`); both share
                   :func:`select_commit`
``as_of``          an API that serves past states itself (Epidata ``as_of=D``)
``current``        no history: allowed for today's issue, or for a past one only when the caller says so
                   (``allow_current``, the CLI's ``--allow-current``); otherwise :class:`SourceVersionError`
=================  ===================================================================================

The version fetched is recorded in a JSON sidecar beside the cache file
(:func:`~delphi_signals.sources.cache.write_version`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from delphi_signals.log import get_logger
from delphi_signals.sources.cache import (
    FetchResult,
    cache_path,
    parse_day,
    read_version,
    sha256_file,
    store,
    write_version,
)
from delphi_signals.sources.errors import FetchError, SourceVersionError
from delphi_signals.sources.fetch import Retry
from delphi_signals.sources.http import http_get, with_query

log = get_logger(__name__)
ALLOW_CURRENT_HINT = "pass --allow-current (params indicator.allow_current) to label current data with this issue"


def utc_today() -> dt.date:
    """Today's date in UTC (issue dates are UTC days)."""
    return dt.datetime.now(dt.timezone.utc).date()


def is_local(url) -> bool:
    """True for a plain path or a ``file://`` URL: bytes the caller chose, valid for any issue.

    Examples
    --------
    >>> is_local("/data/x.csv"), is_local("file:///data/x.csv"), is_local("https://x/y.csv")
    (True, True, False)
    """
    text = str(url)
    return "://" not in text or text.lower().startswith("file://")


def local_path(url) -> Path:
    """The file a local URL names (``file://`` stripped)."""
    text = str(url)
    return Path(unquote(urlsplit(text).path)) if text.lower().startswith("file://") else Path(text)


@dataclass(frozen=True)
class SourceVersion:
    """What a pull for ``issue_date`` fetches: ``kind`` (``local``, ``commit``, ``as_of``, ``current``),
    ``value`` (the commit id, the ``as_of`` day ``YYYYMMDD``, or None), ``url`` (the origin, without secrets)
    and for a commit its UTC time ``committed_at``."""

    source: str
    issue_date: dt.date
    kind: str
    value: str | None = None
    url: str | None = None
    committed_at: str | None = None

    def record(self) -> dict:
        """The sidecar's JSON record."""
        out = asdict(self)
        out["issue_date"] = self.issue_date.isoformat()
        return out


def current_version(source: str, issue_date, url: str, *, allow_current: bool = False, today=None) -> SourceVersion:
    """The version of a source that only serves current data (or of a local file).

    Examples
    --------
    >>> current_version("nchs-mortality", "2020-09-10", "https://x/t.csv", today=dt.date(2020, 9, 10)).kind
    'current'
    >>> current_version("nchs-mortality", "2020-09-10", "https://x/t.csv", today=dt.date(2020, 10, 1))
    Traceback (most recent call last):
    ...
    delphi_signals.sources.errors.SourceVersionError: nchs-mortality issue 2020-09-10: https://x/t.csv serves only current data and keeps no history, so a past issue cannot be reproduced; pass --allow-current (params indicator.allow_current) to label current data with this issue
    """
    day = parse_day(issue_date)
    if is_local(url):
        return SourceVersion(source, day, "local", None, str(url))
    if day < (today or utc_today()) and not allow_current:
        raise SourceVersionError(f"{url} serves only current data and keeps no history, so a past issue cannot "
                                 f"be reproduced; {ALLOW_CURRENT_HINT}", source=source, issue_date=day)
    if day < (today or utc_today()):
        log.warning("labelling current data with a past issue", source=source, issue_date=day.isoformat(), url=url)
    return SourceVersion(source, day, "current", None, str(url))


def as_of_version(source: str, issue_date, url: str) -> SourceVersion:
    """The version of an API that serves past states: ``as_of`` = the issue day (``YYYYMMDD``)."""
    day = parse_day(issue_date)
    return SourceVersion(source, day, "as_of", f"{day:%Y%m%d}", url)


def select_commit(commits, issue_date, *, source: str, path: str) -> tuple[str, dt.datetime]:
    """The newest ``(sha, committed_at)`` among ``commits`` dated strictly before ``issue_date`` began (UTC).

    ``commits`` may come in any order (ties keep the first listed, the newest-first order of git and of
    commits APIs); times must be timezone-aware.

    Examples
    --------
    >>> utc = dt.timezone.utc
    >>> commits = [("c", dt.datetime(2020, 9, 10, 12, tzinfo=utc)), ("b", dt.datetime(2020, 9, 9, 12, tzinfo=utc))]
    >>> select_commit(commits, "2020-09-10", source="jhu-csse", path="f.csv")[0]
    'b'
    >>> select_commit(commits, "2020-09-09", source="jhu-csse", path="f.csv")
    Traceback (most recent call last):
    ...
    delphi_signals.sources.errors.SourceVersionError: jhu-csse issue 2020-09-09: no commit of f.csv before 2020-09-09T00:00:00Z in its history
    """
    day = parse_day(issue_date)
    cutoff = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    best = None
    for sha, when in commits:
        if when < cutoff and (best is None or when > best[1]):
            best = (sha, when)
    if best is None:
        raise SourceVersionError(f"no commit of {path} before {cutoff:%Y-%m-%dT%H:%M:%SZ} in its history",
                                 source=source, issue_date=day)
    return best


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


class GitHistory:
    """A local git repository: commits by ``git log --until``, file bytes by ``git show``.

    Parameters
    ----------
    repo : path
        The repository's working tree (or a ``file://`` URL of it).
    """

    def __init__(self, repo):
        self.repo = local_path(repo)
        if not (self.repo / ".git").exists() and not (self.repo / "HEAD").exists():
            raise FetchError("not a git repository (no .git)", url=str(self.repo))

    def _git(self, *args) -> bytes:
        done = subprocess.run(["git", "-C", str(self.repo), *args], capture_output=True, check=False)
        if done.returncode != 0:
            raise FetchError(f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()}", url=str(self.repo))
        return done.stdout

    def commits(self, path: str, until: dt.datetime) -> list[tuple[str, dt.datetime]]:
        """``(sha, committer time)`` of the commits touching ``path`` up to ``until``, newest first."""
        out = self._git("log", "--format=%H %cI", f"--until={until:%Y-%m-%dT%H:%M:%SZ}", "--", path)
        return [(sha, _utc(when)) for sha, when in (line.split(" ", 1) for line in out.decode().splitlines())]

    def raw(self, sha: str, path: str) -> bytes:
        """The file as of commit ``sha``."""
        return self._git("show", f"{sha}:{path}")

    def url(self, sha: str, path: str) -> str:
        return f"git:{self.repo}@{sha}:{path}"


class CommitsApiHistory:
    """A hosting service's commits API (GitHub's shape) plus its raw-file server.

    ``GET {api_base}/commits?path=<path>&until=<ISO time>&per_page=100`` answers a JSON list, newest first, of
    ``{"sha": ..., "commit": {"committer": {"date": ...}}}``; the file is ``{raw_base}/{sha}/{path}``. An
    optional ``token`` goes in the ``Authorization`` header (never logged).
    """

    def __init__(self, api_base: str, raw_base: str, *, token: str | None = None, retry: Retry = Retry()):
        self.api_base, self.raw_base = api_base.rstrip("/"), raw_base.rstrip("/")
        self.retry = retry
        self._headers = {"Authorization": f"token {token}"} if token else {}

    def commits(self, path: str, until: dt.datetime) -> list[tuple[str, dt.datetime]]:
        url = with_query(f"{self.api_base}/commits",
                         {"path": path, "until": f"{until:%Y-%m-%dT%H:%M:%SZ}", "per_page": 100})
        body = http_get(url, headers=self._headers, retry=self.retry)
        try:
            listed = json.loads(body)
            return [(item["sha"], _utc(item["commit"]["committer"]["date"])) for item in listed]
        except (ValueError, KeyError, TypeError) as exc:
            raise FetchError(f"not a commits listing ({type(exc).__name__}: {exc})", url=url) from None

    def raw(self, sha: str, path: str) -> bytes:
        return http_get(self.url(sha, path), headers=self._headers, retry=self.retry)

    def url(self, sha: str, path: str) -> str:
        return f"{self.raw_base}/{sha}/{quote(path)}"


def open_history(location: str, raw_base: str | None = None, *, token: str | None = None):
    """:class:`GitHistory` for a local path or ``file://`` URL, else :class:`CommitsApiHistory`.

    ``token`` defaults to ``$GITHUB_TOKEN`` for an API.
    """
    if is_local(location):
        return GitHistory(location)
    if not raw_base:
        raise FetchError("a commits API needs the raw-file base URL too", url=location)
    return CommitsApiHistory(location, raw_base, token=token or os.environ.get("GITHUB_TOKEN"))


def resolve_commit(history, path: str, issue_date, *, source: str) -> SourceVersion:
    """The version of ``path`` that issue ``issue_date`` pulled: its newest commit before that day began."""
    day = parse_day(issue_date)
    cutoff = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    sha, when = select_commit(history.commits(path, cutoff), day, source=source, path=path)
    log.info("resolved version", source=source, issue_date=day.isoformat(), path=path, commit=sha,
             committed_at=when.isoformat())
    return SourceVersion(source, day, "commit", sha, history.url(sha, path), when.isoformat())


def fetch_commit(history, path: str, version: SourceVersion, *, data_root, name: str, ext: str,
                 force: bool = False) -> FetchResult:
    """Cache the file of ``version`` (a ``commit``) as ``<data_root>/input/<source>/<issue>_<name>.<ext>``, with
    its sidecar. A cached file whose sidecar names the same commit is kept (``skipped``)."""
    target = cache_path(data_root, version.source, version.issue_date, name, ext)
    if target.exists() and not force and (read_version(target) or {}).get("value") == version.value:
        digest, size = sha256_file(target)
        log.debug("fetch skipped: cached", source=version.source, url=version.url, file=str(target))
        return FetchResult(target, version.url, size, digest, skipped=True, attempts=0)
    data = history.raw(version.value, path)
    digest, size = store(target, lambda tmp: tmp.write_bytes(data), url=version.url)
    write_version(target, version.record())
    log.info("fetched file", source=version.source, url=version.url, file=str(target), bytes=size, sha256=digest)
    return FetchResult(target, version.url, size, digest, skipped=False, attempts=1)


def record_fetch(result: FetchResult, version: SourceVersion) -> FetchResult:
    """Write the sidecar of a file fetched by :func:`~delphi_signals.sources.fetch`; a file found in the cache
    keeps the sidecar of the pull that fetched it (none if that pull predates sidecars)."""
    if not result.skipped:
        write_version(result.path, version.record())
    return result
