"""The export files a validation run looks at: names sorted out, rows read as written, rows joined for the
dynamic checks."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io import ExportFile, parse_filename, read_rows

# any geo word: a name the export grammar rejects only for its geo type fails check_geo_type, not the format
_ANY_GEO_NAME = re.compile(r"^(?:([0-9]{8})|weekly_([0-9]{6}))_([a-zA-Z]+?)_(\w+)\.csv$", re.ASCII)


class FileRows(NamedTuple):
    """One export file's rows, in file order: geo ids as written, the three quantities and the value codes."""

    meta: ExportFile
    geo: np.ndarray  # str
    val: np.ndarray
    se: np.ndarray
    sample_size: np.ndarray
    missing_val: np.ndarray  # int8, -1 where the file has no missing_val column

    @property
    def name(self) -> str:
        return self.meta.path.name

    @property
    def date(self) -> dt.date:
        return self.meta.time.date()


class BadName(NamedTuple):
    """A CSV whose name breaks the grammar; ``geo_type``/``signal``/``date`` are filled when only the geo type is
    unknown."""

    path: Path
    reason: str
    geo_type: str | None = None
    signal: str | None = None
    date: dt.date | None = None


def export_files(export_dir) -> tuple[list[ExportFile], list[BadName]]:
    """Every visible ``*.csv`` in ``export_dir``: parsed names, and the names that break the grammar."""
    good, bad = [], []
    for path in sorted(Path(export_dir).glob("*.csv")):
        if path.name.startswith("."):
            continue
        try:
            good.append(parse_filename(path))
        except InputError as exc:
            bad.append(_bad_name(path, exc.reason))
    return good, bad


def _bad_name(path: Path, reason: str) -> BadName:
    match = _ANY_GEO_NAME.match(path.name)
    if match is None:
        return BadName(path, reason)
    day, week, geo_type, signal = match.groups()
    try:
        date = parse_filename(path.with_name(f"{day or 'weekly_' + week}_county_{signal}.csv")).time.date()
    except InputError as exc:
        return BadName(path, exc.reason)
    return BadName(path, f"unknown geo type {geo_type!r}", geo_type.lower(), signal.lower(), date)


def week_end(meta: ExportFile) -> dt.date:
    """The last day a file's data covers: its day, or its epiweek's Saturday."""
    start = meta.time.date()
    return start + dt.timedelta(days=6) if meta.time_type == "week" else start


def in_window(meta: ExportFile, start: dt.date, end: dt.date) -> bool:
    """Whether a file's day, or any day of its epiweek, lies in ``[start, end]``."""
    return meta.time.date() <= end and week_end(meta) >= start


def read_export_file(meta: ExportFile) -> FileRows:
    """The rows of one file; :class:`InputError` (naming file, line, field) when it breaks the CSV grammar."""
    parsed = read_rows(meta.path)
    quantities = parsed.quantities
    return FileRows(meta, parsed.geo, quantities[:, 0], quantities[:, 1], quantities[:, 2], parsed.codes[:, 0])


def rows_frame(files: list[FileRows]) -> pd.DataFrame:
    """All rows of ``files`` as one frame: ``geo_type, signal, time_type, time_value, geo_id, val, se,
    sample_size, missing_val`` (``time_value`` a Timestamp: the day or the epiweek's Sunday)."""
    columns = ["geo_type", "signal", "time_type", "time_value", "geo_id", "val", "se", "sample_size", "missing_val"]
    if not files:
        return pd.DataFrame(columns=columns)
    sizes = [len(f.geo) for f in files]

    def repeat(values):
        return np.repeat(np.array(values, dtype=object), sizes)

    frame = pd.DataFrame({
        "geo_type": repeat([f.meta.geo_type for f in files]),
        "signal": repeat([f.meta.signal for f in files]),
        "time_type": repeat([f.meta.time_type for f in files]),
        "time_value": np.repeat(np.array([f.meta.time.to_datetime64() for f in files]), sizes),
        "geo_id": np.concatenate([f.geo for f in files]).astype(object),
        "val": np.concatenate([f.val for f in files]),
        "se": np.concatenate([f.se for f in files]),
        "sample_size": np.concatenate([f.sample_size for f in files]),
        "missing_val": np.concatenate([f.missing_val for f in files]),
    })
    return frame[columns]
