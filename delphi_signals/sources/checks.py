"""Sanity checks on fetched bytes, run before they enter the input cache.

Sources fail in ways that still return "200 OK": a login or error page in HTML, an empty body, a download
cut short. These checks catch such bytes so they are never parsed as data. They do not validate the data
itself (columns, dates, values): that is the indicator's job.

The format comes from the cache file's extension (:func:`content_format`):

======================  ==============================================================================
format                  rules (every format: not empty, not an HTML page)
======================  ==============================================================================
``csv``, ``tsv``        parses (``csv`` module, strict quoting); a header and at least one data row;
                        every row has the header's number of fields (a cut last line has fewer)
``json``                parses as JSON
``jsonl`` (``ndjson``)  every non-blank line parses as JSON
``zip``                 the archive opens and every member's CRC matches
``…gz`` (any inner)     the gzip stream is complete; then the inner format's rules on the content
other                   only the two common rules
======================  ==============================================================================
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zipfile
import zlib

from delphi_signals.errors import InputError
from delphi_signals.sources.errors import ContentError

FORMATS = ("csv", "tsv", "json", "jsonl", "zip", "text", "binary", "html")
_ALIASES = {"ndjson": "jsonl", "txt": "text", "htm": "html", "xml": "html"}
_HTML = re.compile(rb"<(!doctype\s+html|html|head|body|title)[\s>]", re.IGNORECASE)


def content_format(ext: str) -> tuple[str, bool]:
    """The check format and whether the bytes are gzip-compressed, from a file extension.

    Examples
    --------
    >>> content_format("csv.gz")
    ('csv', True)
    >>> content_format("JSON")
    ('json', False)
    >>> content_format("xlsx")
    ('binary', False)
    """
    parts = ext.lower().lstrip(".").split(".")
    gz = parts[-1] == "gz"
    if gz:
        parts = parts[:-1]
    inner = _ALIASES.get(parts[-1], parts[-1]) if parts and parts[-1] else "binary"
    return (inner if inner in FORMATS else "binary"), gz


def check_content(data: bytes, fmt: str, *, gz: bool = False, origin=None) -> None:
    """Raise :class:`ContentError` if ``data`` is not plausible ``fmt`` content; return None if it is.

    Parameters
    ----------
    data : bytes
        The raw bytes, as fetched.
    fmt : str
        One of ``csv``, ``tsv``, ``json``, ``jsonl``, ``zip``, ``text``, ``binary``, ``html``
        (see :func:`content_format`); ``html`` disables the HTML rule.
    gz : bool
        The bytes are gzip-compressed; the stream must be complete and the rules apply to its content.
    origin : str, optional
        The URL or file named in the error.

    Examples
    --------
    >>> check_content(b"geo_id,val\\n01001,3\\n", "csv")
    >>> check_content(b"geo_id,val\\n01001,3\\n01003", "csv", origin="a.csv")
    Traceback (most recent call last):
    ...
    delphi_signals.sources.errors.ContentError: a.csv, line 3: csv row has 1 field, the header has 2 (truncated file?)
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown content format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if not data:
        raise ContentError("empty file (0 bytes)", rule="empty", file=origin)
    if gz:
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise ContentError(f"incomplete or corrupt gzip stream ({exc})", rule="gzip", file=origin) from None
        if not data:
            raise ContentError("empty file (gzip of 0 bytes)", rule="empty", file=origin)
    if fmt != "html" and _looks_like_html(data):
        what = "data" if fmt in ("binary", "text") else f"{fmt} data"
        raise ContentError(f"an HTML page, not {what} (an error or login page served with 200?)",
                           rule="html", file=origin, line=1)
    if fmt in ("csv", "tsv"):
        _check_csv(data, "\t" if fmt == "tsv" else ",", origin)
    elif fmt == "json":
        try:
            json.loads(data)
        except ValueError as exc:
            line = getattr(exc, "lineno", None)
            raise ContentError(f"invalid JSON ({_json_reason(exc)}; truncated file?)", rule="json",
                               file=origin, line=line) from None
    elif fmt == "jsonl":
        for number, raw in enumerate(data.splitlines(), start=1):
            if raw.strip():
                try:
                    json.loads(raw)
                except ValueError as exc:
                    raise ContentError(f"invalid JSON line ({_json_reason(exc)}; truncated file?)",
                                       rule="json", file=origin, line=number) from None
    elif fmt == "zip":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                bad = archive.testzip()
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise ContentError(f"not a complete zip archive ({exc})", rule="zip", file=origin) from None
        if bad is not None:
            raise ContentError(f"zip member {bad!r} fails its CRC check", rule="zip", file=origin)


def _looks_like_html(data: bytes) -> bool:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and _HTML.search(head) is not None


def _json_reason(exc: ValueError) -> str:
    return getattr(exc, "msg", None) or str(exc)


def _check_csv(data: bytes, delimiter: str, origin) -> None:
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header = None
    rows = 0
    try:
        for row in reader:
            if not row:
                continue
            if header is None:
                header = len(row)
                continue
            rows += 1
            if len(row) != header:
                s = "" if len(row) == 1 else "s"
                raise ContentError(f"csv row has {len(row)} field{s}, the header has {header} (truncated file?)",
                                   rule="csv_fields", file=origin, line=reader.line_num)
    except csv.Error as exc:
        raise ContentError(f"csv syntax: {exc} (truncated file?)", rule="csv_syntax", file=origin,
                           line=reader.line_num) from None
    if header is None:
        raise ContentError("csv has no header line (blank file)", rule="empty", file=origin)
    if rows == 0:
        raise ContentError("csv has a header but no data rows", rule="csv_no_rows", file=origin)
