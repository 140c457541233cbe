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

import io
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
    data = gunzip(path)
    if not data.strip():
        raise InputError("empty drop (no header line)", file=where, line=1)
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.ParserError as exc:
        raise InputError(f"not a CSV with one field per header column: {exc}", file=where) from None
    missing = [c for c in layout.required if c not in frame.columns]
    if missing:
        raise InputError(f"the header lacks column(s) {', '.join(missing)} (has {', '.join(frame.columns)})",
                         file=where, line=1, field=missing[0])
    out = {}
    for column in layout.counts:
        text = frame[column]
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            i = _first(bad)
            raise InputError(f"a count must be a non-negative number, got {text.iloc[i]!r}", file=where,
                             line=i + 2, field=column)
        out[column] = values
    days = pd.to_datetime(frame[DATE_COL], format="%Y-%m-%d", errors="coerce")
    if days.isna().any():
        i = _first(days.isna().to_numpy())
        raise InputError(f"not a YYYY-MM-DD day: {frame[DATE_COL].iloc[i]!r}", file=where, line=i + 2,
                         field=DATE_COL)
    county = frame[COUNTY_COL].str.strip()
    bad = (county != "") & ~county.str.fullmatch(r"\d{5}")
    if bad.any():
        i = _first(bad.to_numpy())
        raise InputError(f"not a county FIPS code (five digits): {county.iloc[i]!r}", file=where, line=i + 2,
                         field=COUNTY_COL)
    result = pd.DataFrame({"date": days.to_numpy(dtype="datetime64[ns]"), "county": county.to_numpy(dtype=object),
                           **out})
    if layout.hrr_ids:
        result["hrr"] = _hrr_ids(frame[HRR_ID_COL], where)
    keys = frame[list(layout.ids)]
    dupes = keys.duplicated().to_numpy()
    if dupes.any():
        i = _first(dupes)
        raise InputError(f"the same service date, county, HRR and age group as an earlier line "
                         f"({', '.join(keys.iloc[i].tolist())})", file=where, line=i + 2, field=AGE_COL)
    return result


def _hrr_ids(text: pd.Series, where) -> np.ndarray:
    stripped = text.str.strip()
    numbers = pd.to_numeric(stripped.where(stripped != ""), errors="coerce").to_numpy(dtype=float)
    bad = (stripped != "").to_numpy() & ~(np.isfinite(numbers) & (numbers >= 1) & (numbers == np.round(numbers)))
    if bad.any():
        i = _first(bad)
        raise InputError(f"not an HRR number: {text.iloc[i]!r}", file=where, line=i + 2, field=HRR_ID_COL)
    ids = np.full(len(text), "", dtype=object)
    has = np.isfinite(numbers)
    ids[has] = [str(int(v)) for v in numbers[has]]
    return ids
