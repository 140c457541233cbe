"""The importer's rules for one received CSV file: its name, its time value, and every row.

A file either passes whole (every row valid, at least one row) and becomes a frame of database rows, or
fails with a list of what is wrong, each problem naming its line and field. Nothing here touches a database.

Two readers agree on what a file means: the numba parser of :mod:`delphi_signals.io.parsing` reads the
common, clean file fast; whenever it stops or a check fails, a line-by-line Python reader reads the file
again, lists *every* bad row (up to a limit) and has the final word. The rules (Epidata importer's, with its
bugs fixed):

* names: the source (directory) ``[a-z0-9][a-z0-9_-]*`` up to 32 characters, the signal
  ``[a-z0-9][a-z0-9_-]*`` up to 64, so nothing that looks like SQL or a path (quotes, ``;``, ``..``, ``/``)
  gets through; the name must be a real day or epiweek (no 20200231, no week 53 in a 52-week year), not after
  the issue (a negative lag fails the file);
* header: ``geo_id, val, se, sample_size`` at least (``value``/``stderr`` accepted), each column once; extra
  columns are ignored;
* rows: as many fields as the header; geo ids by geo type (5-digit county 01000..80000, hrr 1..500, msa
  10000..99999, dma 450..950, two-letter state and nation, hhs 1..10, hsa_nci up to 3 digits or 1022);
  a geo id once per file (after lower-casing and ``"012"`` → ``"12"``); at the levels with geography tables
  (county, state, msa, hrr, hhs, nation) only the regions the tables know (so ``zz`` is no state and ``ca`` no
  nation); numbers in plain decimal or
  scientific notation, ``NA``/``nan``/``none``/empty meaning missing, anything non-finite (``inf``,
  ``Infinity``, ``1e999``) an error; ``se`` and ``sample_size`` not negative; missing codes 0..5 (a code
  that is absent, empty, unparsable or ``-1`` counts as not given), then made consistent by
  :func:`delphi_signals.nancodes.repair_codes`;
* text: UTF-8 (a byte-order mark is dropped), no NUL bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io.csv_reader import COLUMN_TARGETS, REQUIRED_COLUMNS
from ..io.filenames import parse_filename
from ..io.parsing import _EXACT_POWERS, OK, TARGET_GEO, TARGET_IGNORE, parse_body
from ..nancodes import repair_codes
from ..timeaxis import format_weeks, week_start

SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
SIGNAL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
IMPORT_GEO_TYPES = ("county", "hrr", "msa", "dma", "state", "hhs", "nation", "hsa_nci")
"""Geo types the Epidata importer accepts (``zip`` is not one of them)."""
MAX_ERRORS = 100
"""How many bad rows a failure report lists (the total is always counted)."""
ROW_COLUMNS = (
    "source", "signal", "time_type", "geo_type", "time_value", "geo_value", "issue", "lag",
    "value", "stderr", "sample_size", "missing_value", "missing_stderr", "missing_sample_size",
)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INFINITE = re.compile(r"[+-]?inf(?:inity)?", re.IGNORECASE)
_MISSING_TOKENS = ("", "na", "nan", "none")
_INTEGER_ID = re.compile(r"[0-9]+(?:\.0*)?")
_FIELD_NAMES = {1: "val", 2: "se", 3: "sample_size", 4: "missing_val", 5: "missing_se", 6: "missing_sample_size"}
_SHOWN_CHARS = 80
_BOM = b"\xef\xbb\xbf"


@dataclass
class CheckedFile:
    """The verdict on one file: ``rows`` (a frame of :data:`ROW_COLUMNS`) if it passed, else ``errors``."""

    path: Path
    source: str
    sha256: str = ""
    rows: pd.DataFrame | None = None
    errors: list = field(default_factory=list)
    error_count: int = 0
    contradictions: int = 0

    @property
    def ok(self) -> bool:
        return self.rows is not None and not self.error_count

    @property
    def reason(self) -> str:
        """One line: the first problem and how many there are."""
        if not self.errors:
            return ""
        first = self.errors[0]
        where = ", ".join(f"{k} {first[k]}" for k in ("line", "field") if first.get(k) is not None)
        more = f" (and {self.error_count - 1} more)" if self.error_count > 1 else ""
        return f"{where + ': ' if where else ''}{first['problem']}{more}"


class _Errors:
    """Bad rows, kept up to a limit and counted beyond it."""

    def __init__(self, limit: int):
        self.limit, self.items, self.count = limit, [], 0

    def add(self, problem: str, line=None, field=None, value=None) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            item = {"line": line, "field": field, "problem": problem}
            if value is not None:
                item["value"] = value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "…"
            self.items.append(item)


def issue_and_lag(time_value: int, time: pd.Timestamp, time_type: str, issue_date: dt.date) -> tuple[int, int]:
    """The issue (``YYYYMMDD``, or the ``YYYYWW`` epiweek holding ``issue_date``) and the lag in days or weeks.

    Examples
    --------
    >>> issue_and_lag(20200301, pd.Timestamp("2020-03-01"), "day", dt.date(2020, 3, 5))
    (20200305, 4)
    >>> issue_and_lag(202052, pd.Timestamp("2020-12-20"), "week", dt.date(2021, 1, 4))
    (202101, 2)
    """
    issue_day = pd.Timestamp(issue_date)
    if time_type == "day":
        return int(issue_day.strftime("%Y%m%d")), int((issue_day - time).days)
    start = week_start([issue_day])[0]
    return int(format_weeks([issue_day])[0]), int((start - time).days // 7)


def check_geo_ids(ids, geo_type: str) -> tuple[np.ndarray, np.ndarray]:
    """Normalise geo ids (lower case; integer ids as ``str(int)``) and say which break the geo type's rule.

    Examples
    --------
    >>> ids, bad = check_geo_ids(["01001", "0100a", "80001"], "county")
    >>> bad.tolist()
    [False, True, True]
    >>> check_geo_ids(["012", "35.0", "501"], "hrr")[0].tolist()
    ['12', '35', '501']
    """
    text = pd.Series(np.asarray(ids, dtype=object)).astype(str).str.lower()
    if geo_type in ("county", "state", "nation"):
        pattern = r"[0-9]{5}" if geo_type == "county" else r"[a-z]{2}"
        good = text.str.fullmatch(pattern).to_numpy(dtype=bool, copy=True)
        if geo_type == "county":
            good &= ((text >= "01000") & (text <= "80000")).to_numpy()
        return text.to_numpy(dtype=object), ~good
    if geo_type not in IMPORT_GEO_TYPES:
        return text.to_numpy(dtype=object), np.ones(len(text), dtype=bool)
    good = text.str.fullmatch(_INTEGER_ID.pattern).to_numpy(dtype=bool, copy=True)
    numbers = np.full(len(text), -1, dtype=np.int64)
    digits = text[good].str.split(".").str[0].str.lstrip("0").str[:7].replace("", "0")
    numbers[good] = digits.astype(np.int64).to_numpy()
    low, high = {"hrr": (1, 500), "msa": (10000, 99999), "dma": (450, 950), "hhs": (1, 10),
                 "hsa_nci": (1, 999)}[geo_type]
    in_range = (numbers >= low) & (numbers <= high)
    if geo_type == "hsa_nci":
        in_range |= numbers == 1022
    good &= in_range
    out = np.where(good, numbers.astype(str), text.to_numpy(dtype=str)).astype(object)
    return out, ~good


_TABLE_LEVELS = ("county", "state", "msa", "hrr", "hhs", "nation")


@lru_cache(maxsize=None)
def _known_regions(geo_type: str) -> frozenset:
    from ..geo.tables import geo_values

    return frozenset(geo_values(geo_type).tolist())


def unknown_regions(ids, geo_type: str) -> np.ndarray:
    """Which normalised geo ids (of :func:`check_geo_ids`) the geography tables do not know at ``geo_type``;
    none at a level without tables (``dma``, ``hsa_nci``).

    Examples
    --------
    >>> unknown_regions(["ca", "zz", "us"], "state").tolist()
    [False, True, True]
    >>> unknown_regions(["us", "ca"], "nation").tolist()
    [False, True]
    """
    if geo_type not in _TABLE_LEVELS:
        return np.zeros(len(ids), dtype=bool)
    known = _known_regions(geo_type)
    return np.fromiter((geo_id not in known for geo_id in ids), dtype=bool, count=len(ids))


def _quantity(token: str):
    """``(value, problem)`` for a ``val``/``se``/``sample_size`` field."""
    if token.lower() in _MISSING_TOKENS:
        return math.nan, None
    if _INFINITE.fullmatch(token):
        return None, "not a finite number"
    if not _NUMBER.fullmatch(token):
        return None, "not a number"
    value = float(token)
    if not math.isfinite(value):
        return None, "not a finite number"
    return value, None


def _code(token: str):
    """``(code, problem)`` for a missing-code field; ``-1`` when no usable code is given."""
    if not _NUMBER.fullmatch(token):
        return -1, None
    value = float(token)
    if not math.isfinite(value) or value != int(value) or int(value) == -1:
        return -1, None
    if not 0 <= value <= 5:
        return None, "missing code must be one of 0..5"
    return int(value), None


def _header(line: bytes, errors: _Errors):
    """Parser targets of the header's columns, or ``None`` (with the problem recorded)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        errors.add("header is not UTF-8 text", line=1)
        return None
    names = [name.strip().lower() for name in text.rstrip("\r").split(",")]
    present = set(names)
    missing = [c for c in REQUIRED_COLUMNS if c not in present and not (c == "val" and "value" in present)
               and not (c == "se" and "stderr" in present)]
    if missing:
        errors.add(f"header lacks column(s) {', '.join(missing)}", line=1, field="header", value=text.strip())
        return None
    targets = [COLUMN_TARGETS.get(name, TARGET_IGNORE) for name in names]
    used = [t for t in targets if t != TARGET_IGNORE]
    if len(used) != len(set(used)):
        errors.add("header names a column twice", line=1, field="header", value=text.strip())
        return None
    return np.array(targets, dtype=np.int64)


_INTEGER_RANGES = {"hrr": (1, 500), "msa": (10000, 99999), "dma": (450, 950), "hhs": (1, 10), "hsa_nci": (1, 999)}


def _fast_geo(keys: np.ndarray, geo_type: str) -> np.ndarray | None:
    """Geo ids from the parser's packed keys, checked on their bytes; ``None`` if any needs a closer look
    (a bad or repeated id, or a spelling such as ``35.0`` that only the careful reader normalises)."""
    raw = keys.astype(">u8").view(np.uint8).reshape(-1, 8)
    used = raw != 0
    length = used.sum(axis=1)
    if not (used == (np.arange(8) < length[:, None])).all():  # every id left-aligned, no NUL inside
        return None
    digits = (raw >= 48) & (raw <= 57)
    if geo_type in ("state", "nation"):
        letters = raw[:, :2] | 32  # lower case
        if not ((length == 2) & ((letters >= 97) & (letters <= 122)).all(axis=1)).all():
            return None
        normal = letters[:, 0].astype(np.int64) * 256 + letters[:, 1]
        ids = letters.copy().view("S2").ravel().astype(str)
    else:
        if not (digits | ~used).all() or not ((length >= 1) & (length <= 7)).all():
            return None
        values = np.zeros(len(raw), dtype=np.int64)
        for i in range(7):
            values = np.where(i < length, values * 10 + (raw[:, i].astype(np.int64) - 48), values)
        if geo_type == "county":
            if not ((length == 5) & (values >= 1000) & (values <= 80000)).all():
                return None
            ids = raw[:, :5].copy().view("S5").ravel().astype(str)
        elif geo_type in _INTEGER_RANGES:
            low, high = _INTEGER_RANGES[geo_type]
            good = (values >= low) & (values <= high) | ((values == 1022) if geo_type == "hsa_nci" else False)
            if not good.all():
                return None
            ids = values.astype(str)
        else:
            return None
        normal = values
    if len(np.unique(normal)) != len(normal) or unknown_regions(ids, geo_type).any():
        return None
    return ids


def _read_fast(data: bytes, body_start: int, targets: np.ndarray, geo_type: str):
    """The numba pass; ``None`` whenever anything needs the careful reader."""
    if not data.isascii() or b"\0" in data:
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    status, _, _, n_rows, keys, quantities, codes, slow = parse_body(
        buf, body_start, targets, data.count(b"\n", body_start) + 1, _EXACT_POWERS)
    if status != OK or len(slow) or n_rows == 0:
        return None
    quantities, codes = quantities[:n_rows], codes[:n_rows]
    if not np.isfinite(quantities[~np.isnan(quantities)]).all() or (quantities[:, 1:] < 0).any():
        return None
    if ((codes < -1) | (codes > 5)).any():
        return None
    geo = _fast_geo(keys[:n_rows], geo_type)
    if geo is None:
        return None
    return geo, quantities, codes


def _read_careful(data: bytes, targets: np.ndarray, geo_type: str, errors: _Errors):
    """Every line in Python: the rows, with each bad field recorded in ``errors``."""
    n_fields = len(targets)
    geo_field = int(np.flatnonzero(targets == TARGET_GEO)[0])
    geo, quantities, codes, lines = [], [], [], []
    for number, raw in enumerate(data.split(b"\n")[1:], start=2):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if not raw:
            continue
        if b"\0" in raw:
            errors.add("NUL byte in the line", line=number)
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.add(f"not UTF-8 text (byte {exc.start + 1} of the line)", line=number)
            continue
        fields = text.split(",")
        if len(fields) != n_fields:
            errors.add(f"{len(fields)} fields, the header has {n_fields}", line=number)
            continue
        row_q, row_c, good = [math.nan] * 3, [-1] * 3, True
        for target, token in zip(targets.tolist(), fields):
            if target == TARGET_IGNORE or target == TARGET_GEO:
                continue
            value, problem = _quantity(token) if target <= 3 else _code(token)
            if problem is None and target in (2, 3) and value < 0:
                problem = "must not be negative"
            if problem is not None:
                errors.add(problem, line=number, field=_FIELD_NAMES[target], value=token)
                good = False
            elif target <= 3:
                row_q[target - 1] = value
            else:
                row_c[target - 4] = value
        if good:
            geo.append(fields[geo_field])
            quantities.append(row_q)
            codes.append(row_c)
            lines.append(number)
    ids, bad = check_geo_ids(geo, geo_type)
    unknown = unknown_regions(ids, geo_type) & ~bad
    first_line = {}
    keep = np.ones(len(ids), dtype=bool)
    for i, (geo_id, line) in enumerate(zip(ids.tolist(), lines)):
        if bad[i]:
            errors.add(f"not a {geo_type} geo id", line=line, field="geo_id", value=geo[i])
            keep[i] = False
        elif unknown[i]:
            errors.add(f"not a known {geo_type} (not in the geography tables): {geo[i][:_SHOWN_CHARS]!r}", line=line,
                       field="geo_id", value=geo[i])
            keep[i] = False
        elif geo_id in first_line:
            errors.add(f"geo_id repeated (first on line {first_line[geo_id]})", line=line, field="geo_id",
                       value=geo[i])
            keep[i] = False
        else:
            first_line[geo_id] = line
    shape = (len(ids), 3)
    return (ids[keep], np.array(quantities, dtype=np.float64).reshape(shape)[keep],
            np.array(codes, dtype=np.int8).reshape(shape)[keep])


def check_file(path, source: str, issue_date: dt.date, *, max_errors: int = MAX_ERRORS) -> CheckedFile:
    """Apply every rule to one received file; never raises for anything wrong with the file.

    Parameters
    ----------
    path : path
        The CSV file (its name carries the time value, geo type and signal).
    source : str
        The source it was delivered for (the name of its directory).
    issue_date : datetime.date
        The day of publication: the issue is this day, or the epiweek holding it for a weekly file.
    max_errors : int
        How many problems the verdict lists (all are counted).

    Returns
    -------
    CheckedFile
        ``ok`` with ``rows`` ready for the store, or ``errors`` each with ``line``, ``field``, ``problem``
        (and the offending ``value``).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "jhu-csse"
    >>> folder.mkdir()
    >>> _ = (folder / "20200301_state_x.csv").write_text("geo_id,val,se,sample_size\\nca,1.5,NA,NA\\npa,inf,NA,NA\\n")
    >>> checked = check_file(folder / "20200301_state_x.csv", "jhu-csse", dt.date(2020, 3, 2))
    >>> checked.ok, checked.reason
    (False, 'line 3, field val: not a finite number')
    """
    path = Path(path)
    errors = _Errors(max_errors)
    checked = CheckedFile(path, source)
    if not SOURCE_NAME.fullmatch(source):
        errors.add("source (directory) name must be 1-32 of a-z, 0-9, '_', '-', starting with a letter or digit",
                   field="source", value=source)
        return _finish(checked, errors)
    try:
        meta = parse_filename(path)
    except InputError as exc:
        errors.add(exc.reason, field="file name", value=path.name)
        return _finish(checked, errors)
    if meta.geo_type not in IMPORT_GEO_TYPES:
        errors.add(f"geo_type must be one of {', '.join(IMPORT_GEO_TYPES)}", field="file name", value=path.name)
    if not SIGNAL_NAME.fullmatch(meta.signal):
        errors.add("signal must be 1-64 of a-z, 0-9, '_', '-', starting with a letter or digit",
                   field="file name", value=meta.signal)
    issue, lag = issue_and_lag(meta.time_value, meta.time, meta.time_type, issue_date)
    if lag < 0:
        errors.add(f"time value {meta.time_value} is after the issue {issue} (negative lag)", field="file name",
                   value=path.name)
    if errors.count:
        return _finish(checked, errors)
    data = path.read_bytes()
    checked.sha256 = hashlib.sha256(data).hexdigest()
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    if not data.strip():
        errors.add("empty file: no header line", line=1)
        return _finish(checked, errors)
    newline = data.find(b"\n")
    header = data if newline < 0 else data[:newline]
    targets = _header(header, errors)
    if targets is None:
        return _finish(checked, errors)
    body_start = len(data) if newline < 0 else newline + 1
    parsed = _read_fast(data, body_start, targets, meta.geo_type)
    if parsed is None:
        parsed = _read_careful(data, targets, meta.geo_type, errors)
        if not errors.count and len(parsed[0]) == 0:
            errors.add("no data rows (header only)", line=2)
    if errors.count:
        return _finish(checked, errors)
    geo, quantities, codes = parsed
    n = len(geo)
    frame = {"source": source, "signal": meta.signal, "time_type": meta.time_type, "geo_type": meta.geo_type,
             "time_value": np.full(n, meta.time_value, dtype=np.int64), "geo_value": np.asarray(geo, dtype=object),
             "issue": np.full(n, issue, dtype=np.int64), "lag": np.full(n, lag, dtype=np.int64)}
    for i, name in enumerate(("value", "stderr", "sample_size")):
        repaired, contradictions = repair_codes(quantities[:, i], codes[:, i])
        frame[name] = quantities[:, i]
        frame[f"missing_{name}"] = repaired.astype(np.int64)
        checked.contradictions += contradictions
    checked.rows = pd.DataFrame(frame, columns=list(ROW_COLUMNS))
    return checked


def _finish(checked: CheckedFile, errors: _Errors) -> CheckedFile:
    checked.errors = sorted(errors.items, key=lambda item: item["line"] or 0)
    checked.error_count, checked.rows = errors.count, None
    return checked
