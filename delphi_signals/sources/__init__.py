"""Pull adapters: fetch source files into the dated input cache ``input/<source>/<YYYYMMDD>_<name>.<ext>``.

* :func:`fetch` – any fsspec URL (https, http, file, plain path; sftp and s3 with their optional packages);
* :func:`fetch_mail_attachment` – the attachment of the newest matching message in an mbox or Maildir;
* :func:`cache_path`, :func:`latest_cached` – where a pull lands, and the newest pull of a file;
* :mod:`~delphi_signals.sources.versions` – which version of a source an issue date needs (git commit,
  ``as_of``, or current), recorded in a ``.version.json`` sidecar beside the cache file;
* :func:`check_content` – the sanity check every pull passes (no HTML error pages, no truncated files).

Examples
--------
>>> import pathlib, tempfile
>>> from delphi_signals.sources import fetch
>>> src = pathlib.Path(tempfile.mkdtemp()) / "counts.csv"
>>> _ = src.write_text("geo_id,val\\n01001,3\\n")
>>> result = fetch(str(src), source="demo", data_root=tempfile.mkdtemp(), day="2020-11-30")
>>> result.path.name, result.skipped
('20201130_counts.csv', False)

An ``https://`` URL works the same way, with retries (``retry=Retry(attempts=3, delay=1)``).
"""

from delphi_signals.sources.cache import FetchResult, cache_path, latest_cached, parse_day
from delphi_signals.sources.checks import check_content, content_format
from delphi_signals.sources.errors import (
    ContentError,
    FetchError,
    MissingExtraError,
    NoMatchError,
    SourceVersionError,
)
from delphi_signals.sources.fetch import Retry, fetch
from delphi_signals.sources.mail import fetch_mail_attachment

__all__ = [
    "ContentError",
    "FetchError",
    "FetchResult",
    "MissingExtraError",
    "NoMatchError",
    "SourceVersionError",
    "Retry",
    "cache_path",
    "check_content",
    "content_format",
    "fetch",
    "fetch_mail_attachment",
    "latest_cached",
    "parse_day",
]
