"""Read Delphi export CSVs back into signal cubes."""

from __future__ import annotations

import os
from collections import defaultdict
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
    count_lines, parse_body, parse_files, scatter_rows,
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


def read_rows(path) -> ParsedFile:
    """Parse one export file's rows as written, in file order, raising :class:`InputError` that names the file,
    line and field of a bad row. Repeated geo ids are kept (the validator flags them itself); :func:`read_csvs`
    reads many files faster, in one parallel pass, and refuses repeats.
    """
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
    if status != 0:
        _raise_for(Path(path), header, status, line, field)
    _fix_slow(data, slow, quantities, codes, Path(path))
    return ParsedFile(meta, keys[:n_rows], quantities[:n_rows], codes[:n_rows])


def _expand(paths_or_dir) -> list[Path]:
    items = [paths_or_dir] if isinstance(paths_or_dir, (str, Path)) else list(paths_or_dir)
    paths = []
    for item in map(Path, items):
        paths.extend(sorted(item.glob("*.csv")) if item.is_dir() else [item])
    if not paths:
        raise InputError(f"no CSV files in {paths_or_dir}")
    return paths


def _raise_for(path: Path, header: str, status: int, line: int, field: int):
    names = header.strip().split(",")
    field_name = names[field] if field < len(names) else f"#{field + 1} (beyond the header)"
    raise InputError(_PROBLEMS.get(status, "not a number"), file=path, line=int(line), field=field_name)


def _fix_slow(data, slow: np.ndarray, quantities: np.ndarray, codes: np.ndarray, path: Path) -> None:
    """Numbers the exact fast path left to Python's ``float`` (more than 18 digits, huge exponents)."""
    for row, target, a, b in slow.tolist():
        token = bytes(data[a:b]).decode()
        value = float(token)
        if target <= 3:
            quantities[row, target - 1] = value
        elif value != int(value):
            raise InputError(f"missing code {token!r} is not an integer", file=path, field=_TARGET_NAMES[target])
        else:
            codes[row, target - 4] = int(value)


def _cube(metas: list[ExportFile], keys, quantities, codes, first_row, n_rows):
    """One cube from the parsed rows of the files of one signal (rows ``first_row[f]:+n_rows[f]``)."""
    meta = metas[0]
    times = pd.DatetimeIndex([m.time for m in metas])
    if times.has_duplicates:
        raise InputError(f"two files for the same time value {times[times.duplicated()][0].date()} of "
                         f"{meta.source}/{meta.signal}/{meta.geo_type}")
    axis = time_axis(times.min(), times.max(), meta.time_type)
    columns = axis.get_indexer(times).astype(np.int64)
    all_keys = np.sort(pd.unique(np.concatenate([keys[a:a + n] for a, n in zip(first_row.tolist(), n_rows.tolist())])))
    size = len(all_keys) * len(axis)
    out_q = np.full((3, size), np.nan)
    out_c = np.full((3, size), -1, dtype=np.int8)
    counts = np.zeros(size, dtype=np.int64)
    scatter_rows(all_keys, keys, quantities, codes, first_row, n_rows, columns, len(axis), out_q, out_c, counts)
    if counts.max(initial=0) > 1:
        cell = int(np.flatnonzero(counts > 1)[0])
        geo, column = divmod(cell, len(axis))
        raise InputError(f"geo_id repeated: {decode_geo_keys(all_keys[geo:geo + 1])[0]}",
                         file=metas[int(np.flatnonzero(columns == column)[0])].path, field="geo_id")
    shape = (len(all_keys), len(axis))
    cube = new_cube(decode_geo_keys(all_keys), axis, *(q.reshape(shape) for q in out_q),
                    source=meta.source, signal=meta.signal, geo_type=meta.geo_type, time_type=meta.time_type,
                    missing_value=out_c[0].reshape(shape), missing_stderr=out_c[1].reshape(shape),
                    missing_sample_size=out_c[2].reshape(shape))
    no_row = (counts == 0).reshape(shape)
    for name in ("missing_value", "missing_stderr", "missing_sample_size"):
        cube[name].values[no_row] = 5  # no row: an empty cell
    return cube


def parse_joined(paths) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse many export files in one parallel numba pass over a joined buffer.

    Returns ``geo_keys, quantities, codes, first_row, n_rows``: file ``f``'s rows are
    ``first_row[f]:first_row[f] + n_rows[f]`` of the row arrays, in file order (see :class:`ParsedFile`).

    Raises
    ------
    InputError
        A file is empty or has a malformed row (naming file, line and field).
    """
    paths = [Path(p) for p in paths]
    sizes = [os.stat(p).st_size for p in paths]
    buf = np.empty(sum(sizes), dtype=np.uint8)
    offsets = np.zeros(len(paths) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    view = memoryview(buf)
    headers, starts, widths, target_rows = [], [], [], []
    known = {}
    for i, path in enumerate(paths):
        with open(path, "rb") as handle:  # straight into the joined buffer: no per-file copies
            if handle.readinto(view[offsets[i] : offsets[i + 1]]) != sizes[i]:
                raise InputError("file changed while being read", file=path)
        data = view[offsets[i] : offsets[i + 1]]
        newline = bytes(data[:4096]).find(b"\n")
        if newline < 0:
            newline = bytes(data).find(b"\n")
        header = bytes(data if newline < 0 else data[:newline]).decode("utf-8", errors="replace")
        if not header.strip():
            raise InputError("empty file: no header line", file=path)
        if header not in known:
            known[header] = _header_targets(header, path)
        headers.append(header)
        starts.append(offsets[i] + (sizes[i] if newline < 0 else newline + 1))
        widths.append(len(known[header]))
        target_rows.append(known[header])
    table = np.full((len(paths), max(widths)), TARGET_IGNORE, dtype=np.int64)
    for i, targets in enumerate(target_rows):
        table[i, : len(targets)] = targets
    starts, stops = np.array(starts, dtype=np.int64), offsets[1:].copy()
    first_row, results, keys, quantities, codes, slow = parse_files(
        buf, starts, stops, table, np.array(widths, dtype=np.int64), count_lines(buf, starts, stops))
    for i in np.flatnonzero(results[:, 0] != 0)[:1]:
        _raise_for(paths[i], headers[i], *results[i, :3])
    for i in np.flatnonzero(results[:, 4]):
        local = slow[3 * first_row[i] : 3 * first_row[i] + results[i, 4]]
        _fix_slow(buf, local, quantities, codes, paths[i])  # positions index the joined buffer
    return keys, quantities, codes, first_row, results[:, 3].copy()


def read_csvs(paths_or_dir):
    """Read Delphi export CSVs back into cubes.

    Every file is parsed by one numba pass, files in parallel.

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
    paths = _expand(paths_or_dir)
    metas = [parse_filename(p) for p in paths]
    keys, quantities, codes, first_row, n_rows = parse_joined(paths)
    groups = defaultdict(list)
    for i, m in enumerate(metas):
        groups[(m.source, m.signal, m.geo_type, m.time_type)].append(i)
    cubes = {key: _cube([metas[i] for i in idx], keys, quantities, codes, first_row[idx], n_rows[idx])
             for key, idx in groups.items()}
    return next(iter(cubes.values())) if len(cubes) == 1 else cubes
