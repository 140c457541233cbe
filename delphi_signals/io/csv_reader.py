"""Read Delphi export CSVs back into signal cubes."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..cube import new_cube
from ..errors import InputError
from ..timeaxis import time_axis
from .filenames import ExportFile, parse_filename
from .parsing import (
    _EXACT_POWERS, BAD_FIELD_COUNT, BAD_GEO, NOT_FINITE, QUOTED, TARGET_GEO, TARGET_IGNORE, decode_geo_keys,
    parse_body,
)

# CSV column -> parser target: geo 0, quantities 1..3, codes 4..6 (long names accepted, as the importer does)
COLUMN_TARGETS = {
    "geo_id": TARGET_GEO, "val": 1, "value": 1, "se": 2, "stderr": 2, "sample_size": 3,
    "missing_val": 4, "missing_value": 4, "missing_se": 5, "missing_stderr": 5, "missing_sample_size": 6,
}
REQUIRED_COLUMNS = ("geo_id", "val", "se", "sample_size")
_TARGET_NAMES = {1: "val", 2: "se", 3: "sample_size", 4: "missing_val", 5: "missing_se", 6: "missing_sample_size"}
_PROBLEMS = {
    BAD_FIELD_COUNT: "wrong number of fields for the header",
    BAD_GEO: "geo_id must be 1 to 8 characters",
    NOT_FINITE: "infinite values are not allowed",
    QUOTED: "quoted fields are not part of the Delphi CSV format",
}


class ParsedFile(NamedTuple):
    """The rows of one export file: packed geo keys, ``(rows, 3)`` quantities, ``(rows, 3)`` codes (-1 = none)."""

    meta: ExportFile
    geo_keys: np.ndarray
    quantities: np.ndarray
    codes: np.ndarray

    @property
    def geo(self) -> np.ndarray:
        """The geo ids as strings."""
        return decode_geo_keys(self.geo_keys)


def _header_targets(header: str, path: Path) -> np.ndarray:
    names = [h.strip().lower() for h in header.rstrip("\r").split(",")]
    missing = [c for c in REQUIRED_COLUMNS if c not in names and not (c == "val" and "value" in names)
               and not (c == "se" and "stderr" in names)]
    if missing:
        raise InputError(f"header lacks column(s) {', '.join(missing)}; it is {header.strip()!r}", file=path, line=1)
    targets = [COLUMN_TARGETS.get(name, TARGET_IGNORE) for name in names]
    seen = [t for t in targets if t != TARGET_IGNORE]
    if len(seen) != len(set(seen)):
        raise InputError(f"header names a column twice: {header.strip()!r}", file=path, line=1)
    return np.array(targets, dtype=np.int64)


def read_file(path) -> ParsedFile:
    """Parse one export file, raising :class:`InputError` that names the file, line and field of a bad row."""
    meta = parse_filename(path)
    data = Path(path).read_bytes()
    newline = data.find(b"\n")
    header = (data if newline < 0 else data[:newline]).decode("utf-8", errors="replace")
    if not header.strip():
        raise InputError("empty file: no header line", file=path)
    targets = _header_targets(header, meta.path)
    buf = np.frombuffer(data, dtype=np.uint8)
    start = len(data) if newline < 0 else newline + 1
    max_rows = data.count(b"\n", start) + 1
    status, line, field, n_rows, keys, quantities, codes, slow = parse_body(
        buf, start, targets, max_rows, _EXACT_POWERS)
    names = header.strip().split(",")
    if status != 0:
        field_name = names[field] if field < len(names) else f"#{field + 1} (beyond the header)"
        problem = _PROBLEMS.get(status, "not a number")
        raise InputError(problem, file=path, line=int(line), field=field_name)
    for row, target, a, b in slow:
        token = data[a:b].decode()
        value = float(token)
        if target <= 3:
            quantities[row, target - 1] = value
        elif value != int(value):
            raise InputError(f"missing code {token!r} is not an integer", file=path, field=_TARGET_NAMES[target])
        else:
            codes[row, target - 4] = int(value)
    keys = keys[:n_rows]
    sorted_keys = np.sort(keys)
    repeated = sorted_keys[1:][sorted_keys[1:] == sorted_keys[:-1]]
    if len(repeated):
        raise InputError(f"geo_id repeated: {', '.join(decode_geo_keys(np.unique(repeated))[:5])}", file=path,
                         field="geo_id")
    return ParsedFile(meta, keys, quantities[:n_rows], codes[:n_rows])


def _expand(paths_or_dir) -> list[Path]:
    items = [paths_or_dir] if isinstance(paths_or_dir, (str, Path)) else list(paths_or_dir)
    paths = []
    for item in map(Path, items):
        paths.extend(sorted(item.glob("*.csv")) if item.is_dir() else [item])
    if not paths:
        raise InputError(f"no CSV files in {paths_or_dir}")
    return paths


def _assemble(files: list[ParsedFile]):
    meta = files[0].meta
    times = pd.DatetimeIndex([f.meta.time for f in files])
    dupes = times[times.duplicated()]
    if len(dupes):
        raise InputError(f"two files for the same time value {dupes[0].date()} of {meta.source}/{meta.signal}/"
                         f"{meta.geo_type}")
    axis = time_axis(times.min(), times.max(), meta.time_type)
    all_keys = np.unique(np.concatenate([f.geo_keys for f in files]))
    shape = (len(all_keys), len(axis))
    quantities = np.full((3,) + shape, np.nan)
    codes = np.full((3,) + shape, -1, dtype=np.int8)
    filled = np.zeros(shape, dtype=bool)
    for f, column in zip(files, axis.get_indexer(times)):
        rows = np.searchsorted(all_keys, f.geo_keys)
        quantities[:, rows, column] = f.quantities.T
        codes[:, rows, column] = f.codes.T
        filled[rows, column] = True
    cube = new_cube(
        decode_geo_keys(all_keys), axis, quantities[0], quantities[1], quantities[2],
        source=meta.source, signal=meta.signal, geo_type=meta.geo_type, time_type=meta.time_type,
        missing_value=codes[0], missing_stderr=codes[1], missing_sample_size=codes[2],
    )
    for name in ("missing_value", "missing_stderr", "missing_sample_size"):
        cube[name].values[~filled] = 5  # no row: an empty cell
    return cube


def read_csvs(paths_or_dir):
    """Read Delphi export CSVs back into cubes.

    Parameters
    ----------
    paths_or_dir : path or iterable of paths
        Files, or a directory whose ``*.csv`` files are read. The source of a file is the name of its
        directory.

    Returns
    -------
    xarray.Dataset or dict
        One cube if every file belongs to one (source, signal, geo_type, time_type); else a dict of cubes
        keyed by that tuple.

    Raises
    ------
    InputError
        A file name breaks the grammar, or a row is malformed (the message names file, line and field).

    Examples
    --------
    >>> import tempfile
    >>> from delphi_signals.testing import make_cube
    >>> from delphi_signals.io import write_csvs
    >>> folder = tempfile.mkdtemp()
    >>> cube = read_csvs(write_csvs(make_cube(n_geo=2, days=3, signal="x"), folder))
    >>> cube.attrs["signal"], dict(cube.sizes)
    ('x', {'geo': 2, 'time': 3})
    """
    groups = defaultdict(list)
    paths = _expand(paths_or_dir)
    # the parser releases the GIL, so files are parsed on every core
    with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, 8)) as pool:
        parsed_files = list(pool.map(read_file, paths))
    for parsed in parsed_files:
        m = parsed.meta
        groups[(m.source, m.signal, m.geo_type, m.time_type)].append(parsed)
    cubes = {key: _assemble(files) for key, files in groups.items()}
    return next(iter(cubes.values())) if len(cubes) == 1 else cubes
