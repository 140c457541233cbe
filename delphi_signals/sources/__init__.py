"""Pull adapters: fetch source files into the dated input cache ``input/<source>/<YYYYMMDD>_<name>.<ext>``.

* :func:`fetch` – any fsspec URL (https, http, file, plain path; sftp and s3 with their optional packages);
* :func:`fetch_mail_attachment` – the attachment of the newest matching message in an mbox or Maildir;
* :func:`cache_path`, :func:`latest_cached` – where a pull lands, and the newest pull of a file;
* :func:`check_content` – the sanity check every pull passes (no HTML error pages, no truncated files).

Examples
--------
>>> from delphi_signals.sources import fetch, Retry
>>> result = fetch("https://example.org/data/counts.csv", source="demo", data_root="var",
...                retry=Retry(attempts=3, delay=1))  # doctest: +SKIP
>>> result.path  # doctest: +SKIP
PosixPath('var/input/demo/20201130_counts.csv')
"""

from delphi_signals.sources.cache import FetchResult, cache_path, latest_cached, parse_day
from delphi_signals.sources.checks import check_content, content_format
from delphi_signals.sources.errors import ContentError, FetchError, MissingExtraError, NoMatchError
from delphi_signals.sources.fetch import Retry, fetch
from delphi_signals.sources.mail import fetch_mail_attachment

__all__ = [
    "ContentError",
    "FetchError",
    "FetchResult",
    "MissingExtraError",
    "NoMatchError",
    "Retry",
    "cache_path",
    "check_content",
    "content_format",
    "fetch",
    "fetch_mail_attachment",
    "latest_cached",
    "parse_day",
]
