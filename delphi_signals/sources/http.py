"""Plain HTTP GETs for paged or chunked APIs (Socrata, Epidata, a git host's commits API).

:func:`http_get` retries on HTTP 408/425/429/5xx and on network errors with exponential backoff
(:class:`~delphi_signals.sources.fetch.Retry`; a ``Retry-After`` header of at most ``max_delay`` seconds
lengthens the wait), and fails at once on any other status. Secrets (an API key in the query, a token in a
header) never reach a log line or an error message: query values named in ``secret_params`` are shown as
``***`` (:func:`redact`) and headers are never logged.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from delphi_signals.log import get_logger
from delphi_signals.sources.errors import FetchError
from delphi_signals.sources.fetch import _RETRY_STATUS, Retry

log = get_logger(__name__)
SECRET_PARAMS = ("api_key", "$$app_token", "token", "access_token")


def with_query(url: str, params: dict | None) -> str:
    """``url`` with ``params`` added to its query (``None`` values left out).

    Examples
    --------
    >>> with_query("https://x/api/?a=1", {"b": "2 3", "c": None})
    'https://x/api/?a=1&b=2+3'
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, str(v)) for k, v in (params or {}).items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query, safe="$,:")))


def redact(url: str, secret_params=SECRET_PARAMS) -> str:
    """The URL with the values of secret query parameters replaced by ``***``.

    Examples
    --------
    >>> redact("https://x/api/?dates=20200101-20200131&api_key=s3cret")
    'https://x/api/?dates=20200101-20200131&api_key=***'
    """
    parts = urlsplit(url)
    query = [(k, "***" if k.lower() in secret_params else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="$,:*")))


def http_get(url: str, *, headers: dict | None = None, retry: Retry = Retry(), timeout: float = 120.0,
             sleep: Callable[[float], None] = time.sleep, source: str | None = None) -> bytes:
    """GET ``url`` and return the body, retrying transient failures.

    Raises
    ------
    FetchError
        Naming the redacted URL: a non-retryable HTTP status, or still failing after the last attempt.
    """
    shown = redact(url)
    delays = retry.delays()
    for attempt in range(1, retry.attempts + 1):
        request = urllib.request.Request(url, headers={"User-Agent": "delphi-signals", **(headers or {})})
        wait_at_least = 0.0
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            reason, retryable = f"HTTP {exc.code} {exc.reason}", exc.code in _RETRY_STATUS
            after = exc.headers.get("Retry-After") if exc.headers else None
            if after and after.strip().isdigit():
                wait_at_least = min(float(after), retry.max_delay)
            exc.close()
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason, retryable = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}", True
        if not retryable or attempt == retry.attempts:
            log.error("http get failed", source=source, url=shown, attempt=attempt, error=reason)
            raise FetchError(reason, url=shown, attempts=attempt)
        wait = max(delays[attempt - 1], wait_at_least)
        log.warning("http get attempt failed", source=source, url=shown, attempt=attempt, error=reason, retry_in=wait)
        sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
