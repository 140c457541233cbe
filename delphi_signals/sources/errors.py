"""Errors of the pull stage.

Each names the URL (or mailbox) it concerns and the rule that was broken, so the message alone tells an
operator what to do.
"""

from __future__ import annotations

from delphi_signals.errors import DelphiSignalsError, InputError


class FetchError(DelphiSignalsError):
    """A source could not be fetched: not found, refused, or still failing after the last retry.

    Attributes ``url`` and ``attempts`` say what was tried and how often.

    Examples
    --------
    >>> str(FetchError("HTTP 503 Service Unavailable", url="https://x/a.csv", attempts=4))
    'https://x/a.csv: HTTP 503 Service Unavailable (after 4 attempts)'
    """

    def __init__(self, message: str, *, url: str, attempts: int | None = None):
        self.url, self.attempts, self.reason = url, attempts, message
        tail = f" (after {attempts} attempts)" if attempts and attempts > 1 else ""
        super().__init__(f"{url}: {message}{tail}")


class MissingExtraError(FetchError, ImportError):
    """The URL's protocol needs an optional package that is not installed.

    Examples
    --------
    >>> err = MissingExtraError(url="sftp://host/a.csv", package="paramiko", extra="sftp")
    >>> "pip install paramiko" in str(err)
    True
    """

    def __init__(self, *, url: str, package: str, extra: str):
        self.package, self.extra = package, extra
        super().__init__(
            f"the {url.split('://', 1)[0]}:// protocol needs the optional package {package!r}; install it with "
            f"`pip install {package}` (or `pip install 'delphi-signals[{extra}]'`)",
            url=url,
        )


class ContentError(InputError):
    """Fetched bytes fail the sanity check: an HTML page instead of data, an empty or truncated file.

    ``file`` is the URL or file the bytes came from, ``line`` the 1-based line where the rule broke (if any),
    ``rule`` a short fixed name of the rule (``empty``, ``html``, ``csv_fields``, ``csv_syntax``,
    ``csv_no_rows``, ``json``, ``gzip``, ``zip``).

    Examples
    --------
    >>> str(ContentError("an HTML page, not csv data", rule="html", file="https://x/a.csv"))
    'https://x/a.csv: an HTML page, not csv data'
    """

    def __init__(self, message: str, *, rule: str, file=None, line=None):
        self.rule = rule
        super().__init__(message, file=file, line=line)


class NoMatchError(FetchError, LookupError):
    """No message in a mailbox matches the subject pattern (or none carries a matching attachment)."""


class SourceVersionError(InputError):
    """The version of a source that an issue date needs cannot be fetched (or cannot be told).

    Raised before anything is cached, e.g. a source without history asked for a past issue, or a git history
    with no commit of the file before the issue date began. ``source`` and ``issue_date`` say what was asked.

    Examples
    --------
    >>> str(SourceVersionError("no history; pass --allow-current", source="nchs-mortality", issue_date="2020-09-10"))
    'nchs-mortality issue 2020-09-10: no history; pass --allow-current'
    """

    def __init__(self, message: str, *, source: str, issue_date, file=None, field=None):
        self.source, self.issue_date = source, str(issue_date)
        super().__init__(f"{source} issue {issue_date}: {message}" if file is None and field is None else message,
                         file=file, field=field)
