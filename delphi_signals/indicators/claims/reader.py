"""Read a claims drop strictly: every rule broken is an error naming the drop, the line and the field.

A drop is a gzip'ed CSV with a header line and one row per service date, county, HRR and age group:
``Covid_like,Flu_like,Mixed,Flu1,Denominator,ServiceDate,PatCountyFIPS,Pat HRR Name,Pat HRR ID,PatAgeGroup``.
Rules (upstream asserted some of them, after writing part of its output; here they hold before anything is
computed):

* the gzip stream is complete (a truncated drop names the line where it breaks);
* the required columns are in the header (line 1); each row has the header's number of fields;
* a count is a non-negative number; ``ServiceDate`` a ``YYYY-MM-DD`` day;
* ``PatCountyFIPS`` is empty (no location: the indicators leave such rows out, as upstream) or five digits;
* ``Pat HRR ID``, where read, is empty or a whole number (``1.0`` is HRR ``1``);
* no two rows share service date, county, HRR and age group.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import InputError
from ...log import get_logger

log = get_logger(__name__)
DATE_COL, COUNTY_COL, AGE_COL = "ServiceDate", "PatCountyFIPS", "PatAgeGroup"
HRR_NAME_COL, HRR_ID_COL = "Pat HRR Name", "Pat HRR ID"
ID_COLS = (DATE_COL, COUNTY_COL, HRR_NAME_COL, HRR_ID_COL, AGE_COL)
COUNT_COLS = ("Covid_like", "Flu_like", "Mixed", "Flu1", "Denominator")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DropLayout:
    """Which columns a drop must have: its ``counts``, the columns identifying a row (``ids``, no two rows
    alike), and whether the HRR id is read (``hrr_ids``)."""

    counts: tuple[str, ...] = COUNT_COLS
    ids: tuple[str, ...] = ID_COLS
    hrr_ids: bool = False

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.counts + self.ids + ((HRR_ID_COL,) if self.hrr_ids else ())))


def gunzip(path) -> bytes:
    """The decompressed bytes of a gzip file; a truncated or corrupt stream is an :class:`InputError` naming the
    line where it breaks.

    Examples
    --------
    >>> import gzip, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "d.csv.gz"
    >>> _ = path.write_bytes(gzip.compress(b"a,b\\n1,2\\n" * 2000)[:-30])
    >>> gunzip(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    delphi_signals.errors.InputError: .../d.csv.gz, line ...: truncated gzip stream: the drop ends inside line ... (the file was cut short)
    """
    path = Path(path)
    out = []
    lines = 0
    decoder = zlib.decompressobj(wbits=31)
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(_CHUNK)
            if not chunk:
                break
            while chunk:
                try:
                    piece = decoder.decompress(chunk)
                except zlib.error as exc:
                    raise InputError(f"corrupt gzip stream ({exc})", file=path, line=lines + 1) from None
                out.append(piece)
                lines += piece.count(b"\n")
                chunk = decoder.unused_data if decoder.eof else b""
                if decoder.eof and chunk:
                    decoder = zlib.decompressobj(wbits=31)  # another gzip member follows
    if not decoder.eof:
        raise InputError(f"truncated gzip stream: the drop ends inside line {lines + 1} (the file was cut short)",
                         file=path, line=lines + 1)
    return b"".join(out)


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def read_drop(path, layout: DropLayout = DropLayout(), *, name: str | None = None) -> pd.DataFrame:
    """Parse a drop into one row per line with a county.

    Parameters
    ----------
    path : path
        The ``.csv.gz`` drop.
    layout : DropLayout
        Its count columns and whether ``Pat HRR ID`` is read.
    name : str, optional
        The drop's name in messages (default the file name).

    Returns
    -------
    pandas.DataFrame
        ``date`` (datetime64), ``county`` (str, ``""`` if none), ``hrr`` (str, ``""`` if none; when
        ``layout.hrr_ids``) and one float column per count, one row per line, in file order.

    Raises
    ------
    InputError
        Naming the drop, the 1-based line and the field.
    """
    path = Path(path)
    where = name or path.name
    try:  # streamed: the decompressed drop is never held whole (a truncated stream is located below)
        header = pd.read_csv(path, compression="gzip", nrows=0).columns
        frame = _parse(path, layout, where, header)
    except (EOFError, OSError, zlib.error, pd.errors.EmptyDataError):
        data = gunzip(path)  # raises, naming the line where a truncated or corrupt stream breaks
        if not data.strip():
            raise InputError("empty drop (no header line)", file=where, line=1) from None
        raise
    out = {}
    for column in layout.counts:
        values = frame[column].to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            i = _first(bad)
            raise InputError(f"a count must be a non-negative number, got {values[i]!r}", file=where,
                             line=i + 2, field=column)
        out[column] = values
    dates, date_codes = _categories(frame[DATE_COL])
    parsed = pd.to_datetime(pd.Series(dates), format="%Y-%m-%d", errors="coerce")
    if parsed.isna().any():
        i = _first(np.isin(date_codes, np.flatnonzero(parsed.isna().to_numpy())))
        raise InputError(f"not a YYYY-MM-DD day: {dates[date_codes[i]]!r}", file=where, line=i + 2,
                         field=DATE_COL)
    counties, county_codes = _categories(frame[COUNTY_COL])
    counties = pd.Index(counties).str.strip()
    bad = (counties != "") & ~counties.str.fullmatch(r"\d{5}")
    if bad.any():
        i = _first(np.isin(county_codes, np.flatnonzero(bad)))
        raise InputError(f"not a county FIPS code (five digits): {counties[county_codes[i]]!r}", file=where,
                         line=i + 2, field=COUNTY_COL)
    result = pd.DataFrame({"date": parsed.to_numpy(dtype="datetime64[ns]")[date_codes],
                           "county": counties.to_numpy(dtype=object)[county_codes], **out})
    if layout.hrr_ids:
        ids, codes = _categories(frame[HRR_ID_COL])
        result["hrr"] = _hrr_ids(pd.Series(ids, dtype=object), codes, where)
    dupes = frame.duplicated(list(layout.ids)).to_numpy()
    if dupes.any():
        i = _first(dupes)
        raise InputError(f"the same service date, county, HRR and age group as an earlier line "
                         f"({', '.join(str(v) for v in frame[list(layout.ids)].iloc[i])})", file=where, line=i + 2,
                         field=AGE_COL)
    return result


def _parse(path, layout: DropLayout, where, header) -> pd.DataFrame:
    """The drop's required columns: counts as floats, the rest as text (checked per distinct value: a drop
    repeats a few thousand counties and a hundred days a million times). A count that is not a number makes the
    fast read fail; the drop is then read as text to name the first such field."""
    missing = [c for c in layout.required if c not in header]
    if missing:
        raise InputError(f"the header lacks column(s) {', '.join(missing)} (has {', '.join(header)})",
                         file=where, line=1, field=missing[0])
    ids = [c for c in layout.required if c not in layout.counts]
    try:
        return pd.read_csv(path, compression="gzip", usecols=list(layout.required), keep_default_na=False,
                           na_values={c: ["nan", "NaN"] for c in layout.counts},
                           dtype={**{c: np.float64 for c in layout.counts}, **{c: str for c in ids}})
    except pd.errors.ParserError as exc:
        raise InputError(f"not a CSV with one field per header column: {exc}", file=where) from None
    except ValueError:
        pass
    text = pd.read_csv(path, compression="gzip", usecols=list(layout.required), dtype=str, keep_default_na=False,
                       na_filter=False)
    for column in layout.counts:
        values = pd.to_numeric(text[column], errors="coerce")
        if values.isna().any():
            i = _first(values.isna().to_numpy())
            raise InputError(f"a count must be a non-negative number, got {text[column].iloc[i]!r}", file=where,
                             line=i + 2, field=column)
    raise AssertionError("unreachable: the fast read failed on no count")  # pragma: no cover


def _categories(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(distinct values as str, code of each row)`` of a text column."""
    cat = column.astype("category").cat
    return np.asarray(cat.categories.astype(str), dtype=object), cat.codes.to_numpy()


def _hrr_ids(values: pd.Series, codes: np.ndarray, where) -> np.ndarray:
    stripped = values.str.strip()
    numbers = pd.to_numeric(stripped.where(stripped != ""), errors="coerce").to_numpy(dtype=float)
    bad = (stripped != "").to_numpy() & ~(np.isfinite(numbers) & (numbers >= 1) & (numbers == np.round(numbers)))
    if bad.any():
        i = _first(np.isin(codes, np.flatnonzero(bad)))
        raise InputError(f"not an HRR number: {values[codes[i]]!r}", file=where, line=i + 2, field=HRR_ID_COL)
    ids = np.full(len(values), "", dtype=object)
    has = np.isfinite(numbers)
    ids[has] = [str(int(v)) for v in numbers[has]]
    return ids[codes]
