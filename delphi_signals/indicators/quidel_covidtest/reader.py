"""Device-level test records: parse the day files of the input cache, drop what is unusable, count why.

Each cached day file (:mod:`.objects`) is the day's objects one after another under one header, with a sidecar
naming each object's key and rows. Rows are parsed by their distinct values (a month of tests holds few distinct
dates, zips and ages), so the cost is one CSV read.

**Row-level drops (bad input)**, counted per object key and reason, the first ten kept as examples (key, line,
field, value): a ``TestDate`` or ``StorageDate`` that is blank or does not parse (``date``); a ``Zip`` that is
not a 5-digit zip, a ``12345-6789`` zip+4 or a number of at most 5 digits (``zip``); a ``PatientAge`` that is
none of blank, a number of years from 0 to 150, ``<1`` or ``>85`` (``age``); an ``OverallResult`` that is none
of blank, ``positive``, ``negative``, ``invalid`` (``result``; case and surrounding blanks ignored).

**Upstream's row rules** (counted too, not errors): a test dated after its storage date is dropped
(``tested_after_storage``); a test stored more than 90 days after its test date is dated by its storage date
(``dated_by_storage``); a zip the geography tables do not know is dropped (``unknown_zip``). A blank age counts
in the total and in no age group; a blank result in nothing (but its row still marks the zip and day present).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ...geo.tables import _population_series
from ...log import get_logger
from .constants import AGE_BOUNDS, MAX_STORAGE_LAG_DAYS, RESULTS, SOURCE
from .counts import AGE_BLANK, RESULT_BLANK, DeviceRecords

log = get_logger(__name__, source=SOURCE)
USED_COLUMNS = ("TestDate", "StorageDate", "Zip", "PatientAge", "OverallResult")
MAX_EXAMPLES = 10
_DATE_FORMATS = ("%m/%d/%y", "%m/%d/%Y", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%m/%d/%Y %H:%M",
                 "%m/%d/%y %H:%M", "%m/%d/%Y %H:%M:%S")
_ZIP5 = re.compile(r"^\d{1,5}(?:\.0*)?$")
_ZIP9 = re.compile(r"^(\d{5})-\d{4}$")


@dataclass
class DropReport:
    """What was left out, and why: bad input per object key and reason (with examples), and upstream's rules."""

    bad: dict = field(default_factory=lambda: defaultdict(Counter))
    examples: list = field(default_factory=list)
    rules: Counter = field(default_factory=Counter)
    rows_read: int = 0

    def add(self, key: str, reason: str, lines: np.ndarray, field_name: str, values: np.ndarray) -> None:
        if len(lines) == 0:
            return
        self.bad[key][reason] += int(len(lines))
        for line, value in zip(lines[: MAX_EXAMPLES - len(self.examples)], values):
            self.examples.append({"file": key, "line": int(line), "field": field_name, "value": str(value)})

    @property
    def bad_rows(self) -> int:
        return sum(sum(c.values()) for c in self.bad.values())

    def record(self) -> dict:
        """The report's JSON-able form (the run's closing log line carries it)."""
        return {"rows_read": self.rows_read, "bad_rows": self.bad_rows,
                "bad_rows_by_file": {k: dict(v) for k, v in sorted(self.bad.items())},
                "bad_row_examples": list(self.examples), "rule_drops": dict(self.rules)}

    def log(self) -> None:
        if self.bad:
            log.warning("dropped bad test records", bad_rows=self.bad_rows,
                        by_file={k: dict(v) for k, v in sorted(self.bad.items())}, examples=self.examples)
        log.info("test records read", rows_read=self.rows_read, **{k: int(v) for k, v in self.rules.items()})


def parse_dates(values: np.ndarray) -> np.ndarray:
    """``datetime64[ns]`` of date strings in the formats the drops use (``7/18/20``, ``2020-07-18`` …); NaT
    for blank or unparsable ones.

    Examples
    --------
    >>> parse_dates(np.array(["7/18/20", "2020-07-19", "7/32/20", ""])).astype("datetime64[D]").astype(str).tolist()
    ['2020-07-18', '2020-07-19', 'NaT', 'NaT']
    """
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    todo = np.array([v.strip() != "" for v in values], dtype=bool)
    for fmt in _DATE_FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(pd.Series(values[todo]).str.strip(), format=fmt, errors="coerce").to_numpy()
        ok = ~np.isnat(parsed)
        idx = np.flatnonzero(todo)[ok]
        out[idx] = parsed[ok]
        todo[idx] = False
    return out


def parse_zips(values: np.ndarray) -> np.ndarray:
    """5-digit zip strings; ``""`` for a value that is not a zip.

    Examples
    --------
    >>> parse_zips(np.array(["22079", "2079", "22079-1234", "22079.0", "abc", "123456789", ""])).tolist()
    ['22079', '02079', '22079', '22079', '', '', '']
    """
    out = []
    for v in values:
        v = v.strip()
        if _ZIP5.match(v):
            out.append(v.split(".")[0].zfill(5))
        elif (m := _ZIP9.match(v)):
            out.append(m.group(1))
        else:
            out.append("")
    return np.array(out, dtype=str)


def parse_ages(values: np.ndarray) -> np.ndarray:
    """Age band index of each age string: :data:`~.counts.AGE_BLANK` for blank, -2 for not an age.

    Examples
    --------
    >>> parse_ages(np.array(["3", "<1", "17", "18.0", ">85", "", "-4", "old"])).tolist()
    [0, 0, 1, 2, 4, -1, -2, -2]
    """
    out = np.full(len(values), -2, dtype=np.int64)
    for i, v in enumerate(values):
        v = v.strip()
        if v == "":
            out[i] = AGE_BLANK
            continue
        age = {"<1": 0.5, ">85": 100.0}.get(v)
        if age is None:
            try:
                age = float(v)
            except ValueError:
                continue
        if not 0 <= age <= 150:
            continue
        for b, (_, low, high) in enumerate(AGE_BOUNDS):
            if low <= age < high:
                out[i] = b
                break
    return out


def parse_results(values: np.ndarray) -> np.ndarray:
    """Result code of each ``OverallResult``: 0 positive, 1 negative, 2 invalid, 3 blank, -1 not a result.

    Examples
    --------
    >>> parse_results(np.array(["positive", " Negative", "invalid", "", "maybe"])).tolist()
    [0, 1, 2, 3, -1]
    """
    table = {r: i for i, r in enumerate(RESULTS)}
    return np.array([RESULT_BLANK if v.strip() == "" else table.get(v.strip().lower(), -1) for v in values],
                    dtype=np.int64)


@lru_cache(maxsize=1)
def known_zips() -> np.ndarray:
    """The zips with a population in the geography tables, sorted (upstream drops every other zip)."""
    pop = _population_series("zip")
    return np.sort(pop[pop.notna()].index.to_numpy(dtype=str))


def _by_values(column: np.ndarray, parse):
    uniq, inverse = np.unique(column, return_inverse=True)
    return parse(uniq)[inverse]


@dataclass(frozen=True)
class DayFile:
    """A cached day file and its objects: ``[(key, first_row, n_rows, skip)]`` (``skip``: an object already
    read from an earlier day, as upstream never reads an object twice)."""

    path: Path
    objects: tuple


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, usecols=list(USED_COLUMNS),
                       encoding="utf-8", engine="c")


def _unreadable(day_file: DayFile, exc: Exception):
    """The object (key and line) a CSV parser error points at, as an exit-code-20 error."""
    from .objects import UnusableObjectError

    found = re.search(r"line (\d+)", str(exc))
    key, line = (day_file.objects[0][0] if day_file.objects else str(day_file.path)), None
    if found:
        row = int(found.group(1)) - 2
        for name, first, n_rows, _ in day_file.objects:
            if first <= row < first + n_rows:
                key, line = name, row - first + 2
    return UnusableObjectError(f"not CSV: {str(exc).strip().splitlines()[-1]}", issue_date=day_file.path.name[:8],
                               file=key if line is None else f"{key}, line {line}")


def read_records(day_files: list[DayFile]) -> tuple[DeviceRecords, DropReport]:
    """Every usable test of the day files, and the report of what was dropped and why.

    Raises
    ------
    UnusableObjectError
        A day file that is not CSV (e.g. a row with more fields than the header), naming the object and line.
    """
    report = DropReport()
    parts = []
    for day_file in day_files:
        try:
            frame = _read_csv(day_file.path)
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise _unreadable(day_file, exc) from None
        for key, first, n_rows, skip in day_file.objects:
            if skip or n_rows == 0:
                continue
            parts.append((key, frame.iloc[first: first + n_rows]))
    zips = known_zips()
    days, zip_index, results, bands = [], [], [], []
    for key, frame in parts:
        report.rows_read += len(frame)
        lines = np.arange(len(frame)) + 2
        test = _by_values(frame["TestDate"].to_numpy(dtype=str), parse_dates)
        stored = _by_values(frame["StorageDate"].to_numpy(dtype=str), parse_dates)
        zip5 = _by_values(frame["Zip"].to_numpy(dtype=str), parse_zips)
        band = _by_values(frame["PatientAge"].to_numpy(dtype=str), parse_ages)
        result = _by_values(frame["OverallResult"].to_numpy(dtype=str), parse_results)
        ok = np.ones(len(frame), dtype=bool)
        for name, bad in (("TestDate", np.isnat(test)), ("StorageDate", np.isnat(stored)), ("Zip", zip5 == ""),
                          ("PatientAge", band == -2), ("OverallResult", result == -1)):
            bad = bad & ok
            reason = {"TestDate": "date", "StorageDate": "date", "Zip": "zip", "PatientAge": "age",
                      "OverallResult": "result"}[name]
            report.add(key, reason, lines[bad], name, frame[name].to_numpy(dtype=str)[bad])
            ok &= ~bad
        after = ok & (test > stored)
        report.rules["tested_after_storage"] += int(after.sum())
        ok &= ~after
        late = ok & (stored - test > np.timedelta64(MAX_STORAGE_LAG_DAYS, "D"))
        report.rules["dated_by_storage"] += int(late.sum())
        day = np.where(late, stored, test).astype("datetime64[D]")
        pos = np.searchsorted(zips, zip5)
        known = (pos < len(zips)) & (zips[np.minimum(pos, len(zips) - 1)] == zip5)
        unknown = ok & ~known
        report.rules["unknown_zip"] += int(unknown.sum())
        ok &= known
        days.append(day[ok])
        zip_index.append(pos[ok])
        results.append(result[ok])
        bands.append(band[ok])
    if not parts:
        empty = np.array([], dtype=np.int64)
        return DeviceRecords(np.array([], dtype="datetime64[D]"), empty, empty, empty, zips), report
    return DeviceRecords(np.concatenate(days), np.concatenate(zip_index), np.concatenate(results),
                         np.concatenate(bands), zips), report


__all__ = ["DayFile", "DropReport", "known_zips", "parse_ages", "parse_dates", "parse_results",
           "parse_zips", "read_records"]
