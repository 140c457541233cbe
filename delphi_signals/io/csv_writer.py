"""Write a signal cube as Delphi export CSVs: one file per time value, rows sorted by geo id.

Output is byte-identical to upstream's ``create_export_csv`` (pandas ``to_csv`` of ``val``/``se`` rounded to
7 decimals, ``NA`` for missing), produced by a numba formatter (``formatting.py``) about 10–50× faster.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import atomic
from ..cube import CODES, check_cube, empty_cells, kernel_ready
from ..errors import InputError
from ..log import get_logger
from ..nancodes import QUANTITIES
from ..timeaxis import format_time_values
from .filenames import format_filename
from .formatting import needs_repr, render_rows

CSV_COLUMNS = ("geo_id", "val", "se", "sample_size")
CSV_MISSING_COLUMNS = ("missing_val", "missing_se", "missing_sample_size")
ROUNDED = np.array([True, True, False])  # val and se are rounded to 7 decimals, sample_size is not
_TIME_CHUNK = 64
_MAX_FIELD = 32

log = get_logger(__name__)


def _side_table(quantities, keep):
    """``repr`` strings for the cells the kernel cannot format, and their index."""
    special = needs_repr(quantities, ROUNDED, keep)
    index = np.full(quantities.shape, -1, dtype=np.int32)
    where = np.nonzero(special)
    texts = []
    for q, t, g in zip(*where):
        x = quantities[q, t, g]
        texts.append(repr(float(np.round(x, 7) if ROUNDED[q] else x)).encode())
    index[where] = np.arange(len(texts))
    starts = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in texts], out=starts[1:])
    blob = np.frombuffer(b"".join(texts), dtype=np.uint8) if texts else np.zeros(0, dtype=np.uint8)
    return index, blob, starts


def _geo_bytes(geo):
    encoded = [g.encode() for g in geo]
    width = max((len(e) for e in encoded), default=1)
    table = np.zeros((len(encoded), width), dtype=np.uint8)
    for i, e in enumerate(encoded):
        table[i, : len(e)] = np.frombuffer(e, dtype=np.uint8)
    return table, np.array([len(e) for e in encoded], dtype=np.int64)


def write_csvs(cube, export_dir, *, start=None, end=None, write_empty=False, missing_columns=True) -> list[Path]:
    """Write one Delphi CSV per time value of ``cube`` into ``export_dir``.

    Parameters
    ----------
    cube : xarray.Dataset
        A signal cube (see :mod:`delphi_signals.cube`).
    export_dir : path
        Created if absent. Files are named ``{YYYYMMDD}_{geo_type}_{signal}.csv`` (daily) or
        ``weekly_{YYYYWW}_{geo_type}_{signal}.csv`` (weekly).
    start, end : date-like, optional
        Inclusive range of time values to write; default the whole axis.
    write_empty : bool
        Also write header-only files for time values with no rows.
    missing_columns : bool
        Write the ``missing_val,missing_se,missing_sample_size`` columns.

    Returns
    -------
    list of pathlib.Path
        The files written, in time order.

    Examples
    --------
    >>> from delphi_signals.testing import make_cube
    >>> import tempfile
    >>> paths = write_csvs(make_cube(n_geo=2, days=3, signal="x"), tempfile.mkdtemp())
    >>> [p.name for p in paths]
    ['20200301_county_x.csv', '20200302_county_x.csv', '20200303_county_x.csv']
    """
    check_cube(cube)
    if "issue" in cube.dims:
        raise InputError("write_csvs takes a cube of one issue; select one with cube.sel(issue=...)")
    export_dir = Path(export_dir)
    export_dir.mkdir(parents=True, exist_ok=True)
    times = cube.indexes["time"]
    lo = 0 if start is None else times.searchsorted(pd.Timestamp(start), "left")
    hi = len(times) if end is None else times.searchsorted(pd.Timestamp(end), "right")
    geo = cube.indexes["geo"]
    geo_table, geo_len = _geo_bytes(geo)
    order = np.argsort(np.asarray(geo, dtype=str), kind="stable").astype(np.int64)
    header = (",".join(CSV_COLUMNS + (CSV_MISSING_COLUMNS if missing_columns else ())) + "\n").encode()
    code_names = CODES if missing_columns else ()
    attrs = cube.attrs
    # names differ only in their time stamp: format the stamps once, not per file
    names = [format_filename(t, attrs["geo_type"], attrs["signal"], attrs["time_type"]) for t in times[lo:hi][:1]]
    stamps = format_time_values(times[lo:hi], attrs["time_type"])
    prefixes = [f"{s}" if attrs["time_type"] == "day" else f"weekly_{s}" for s in stamps.tolist()]
    suffix = names[0][len(prefixes[0]):] if names else ""
    written = []
    empty = empty_cells(cube).values
    for c0 in range(lo, hi, _TIME_CHUNK):
        window = slice(c0, min(c0 + _TIME_CHUNK, hi))
        # (time, geo) layout: the kernel walks one time column at a time, geo by geo
        keep = np.ascontiguousarray(~empty[:, window].T)
        quantities = kernel_ready(np.stack([cube[q].values[:, window].T for q in QUANTITIES]), np.float64)
        codes = kernel_ready(
            np.stack([cube[c].values[:, window].T for c in code_names]) if code_names
            else np.zeros((0,) + keep.shape, np.int8), np.int8
        )
        side_index, side_blob, side_start = _side_table(quantities, keep)
        row_bytes = geo_table.shape[1] + 3 * _MAX_FIELD + 5 * len(code_names) + 8
        capacity = int(keep.sum(axis=1).max(initial=0)) * row_bytes + len(side_blob)
        out = np.empty((keep.shape[0], capacity), dtype=np.uint8)
        lengths = np.zeros(keep.shape[0], dtype=np.int64)
        render_rows(geo_table, geo_len, order, keep, quantities, ROUNDED, side_index, side_blob, side_start,
                    codes, out, lengths)
        for j in range(keep.shape[0]):
            if lengths[j] == 0 and not write_empty:
                continue
            path = export_dir / f"{prefixes[c0 + j - lo]}{suffix}"
            atomic.write_bytes(path, header + out[j, : lengths[j]].tobytes(), durable=False)
            written.append(path)
    log.debug("exported csv files", source=attrs["source"], signal=attrs["signal"], geo_type=attrs["geo_type"],
             time_type=attrs["time_type"], count=len(written), export_dir=str(export_dir))
    return written
