"""The signal cube: one signal as an ``xarray.Dataset`` over ``(geo, time)``.

Contract (shared by every module; see ``ARCHITECTURE.md``):

* dims ``("geo", "time")`` in this order; a versioned cube adds ``issue`` last;
* ``geo``: Delphi geo ids as strings (``"01001"``, ``"ca"``, ``"35620"``, ``"303"``, ``"4"``, ``"us"``);
* ``time``: ``datetime64[ns]``, dense: every day, or every epiweek start (Sunday) with an aux coord
  ``epiweek`` (YYYYWW ints);
* data: ``value``, ``stderr``, ``sample_size`` (float64, NaN = missing) and ``missing_value``,
  ``missing_stderr``, ``missing_sample_size`` (int8 codes, consistent with the NaNs); a quantity a cube was
  built without is held as one read-only NaN broadcast over ``(geo, time)`` (:func:`all_missing`), so
  operations can tell in O(1) that it is entirely missing (:func:`is_all_missing`) and skip their kernels;
* attrs: ``source``, ``signal``, ``geo_type``, ``time_type``.

A cell whose three quantities are all NaN and whose value is missing for no stated reason (code ``OTHER``)
carries no information: it is an *empty* cell (a day with no row), skipped by :func:`to_frame` and the CSV
writer; :func:`new_cube` gives its three codes the value ``OTHER``. Every other cell is a row.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import xarray as xr

from .errors import CubeContractError, InputError
from .nancodes import MISSING_NAMES, QUANTITIES, Nans, repair_codes
from .timeaxis import check_time_type, format_weeks, parse_time_values, time_axis

CODES = tuple(MISSING_NAMES.values())
VARIABLES = QUANTITIES + CODES
REQUIRED_ATTRS = ("source", "signal", "geo_type", "time_type")

GEO_ID_PATTERNS = {
    "county": r"\d{5}",
    "zip": r"\d{5}",
    "msa": r"\d{5}",
    "hrr": r"[1-9]\d{0,2}",
    "hhs": r"[1-9]|10",
    "state": r"[a-z]{2}",
    "nation": r"[a-z]{2}",
    "dma": r"\d{3}",
    "hsa_nci": r"\d{1,4}",
}
"""Regular expression a geo id of each geo type matches in full (as Delphi writes it)."""
GEO_TYPES = tuple(GEO_ID_PATTERNS)
_ZERO_PADDED = {"county": 5, "zip": 5, "msa": 5}


def kernel_ready(x, dtype=np.float64) -> np.ndarray:
    """``x`` as a writable, C-contiguous, native-byte-order array of ``dtype``; copied only when it is not one.

    numba kernels compiled for plain arrays refuse read-only ones (pandas 3's ``to_numpy()`` returns
    those) and misread strided ones; this is the one place where inputs are made fit for them.

    Examples
    --------
    >>> frozen = np.arange(6.0).reshape(2, 3)[:, ::2].astype(">f8")
    >>> frozen.flags.writeable = False
    >>> ready = kernel_ready(frozen)
    >>> ready.flags.writeable, ready.flags.c_contiguous, ready.dtype.isnative, ready.tolist()
    (True, True, True, [[0.0, 2.0], [3.0, 5.0]])
    """
    arr = np.asarray(x)
    if arr.dtype != np.dtype(dtype) or not arr.flags.c_contiguous or not arr.flags.writeable:
        arr = np.array(arr, dtype=dtype, order="C")
    return arr


def all_missing(shape) -> np.ndarray:
    """An entirely missing quantity of ``shape``: one NaN broadcast over it (read-only, no memory per cell).

    Cubes hold a quantity they were built without this way (a count's ``stderr`` and ``sample_size``), so
    :func:`is_all_missing` knows it without reading 8 MB of NaN. Being read-only it cannot stop being all
    NaN: code that writes into a cube's arrays works on a ``cube.copy(deep=True)`` (which materialises it).

    Examples
    --------
    >>> x = all_missing((2, 3))
    >>> x.shape, bool(np.isnan(x).all()), x.flags.writeable, x.nbytes > 0
    ((2, 3), True, False, True)
    """
    return np.broadcast_to(np.float64(np.nan), tuple(shape))


def is_all_missing(data) -> bool:
    """Whether ``data`` is known in O(1) to be entirely NaN: an :func:`all_missing` array (or any array of one
    NaN broadcast over its shape). An ordinary array full of NaN answers ``False``: it is not scanned.

    Examples
    --------
    >>> is_all_missing(all_missing((3, 4))), is_all_missing(np.full((3, 4), np.nan))
    (True, False)
    >>> is_all_missing(all_missing((3, 4)) * 2.0)   # arithmetic materialises: the knowledge is not kept
    False
    """
    return (isinstance(data, np.ndarray) and data.dtype == np.float64 and data.size > 0
            and not any(data.strides) and bool(np.isnan(data.flat[0])))


def check_geo_type(geo_type: str) -> str:
    """Return ``geo_type`` if Delphi knows it, else raise :class:`InputError`."""
    if geo_type not in GEO_ID_PATTERNS:
        raise InputError(f"unknown geo_type {geo_type!r}; expected one of {', '.join(GEO_TYPES)}")
    return geo_type


def normalize_geo_values(values, geo_type: str) -> np.ndarray:
    """Geo ids as Delphi writes them: strings, lower case, FIPS-like ids zero-padded, no ``.0``.

    Examples
    --------
    >>> normalize_geo_values([1001, "6037"], "county").tolist()
    ['01001', '06037']
    >>> normalize_geo_values(["CA", "pa"], "state").tolist()
    ['ca', 'pa']
    >>> normalize_geo_values([303.0], "hrr").tolist()
    ['303']
    """
    check_geo_type(geo_type)
    series = pd.Series(np.asarray(values).ravel())
    if series.dtype.kind == "f":
        if not np.all(np.isfinite(series)) or (series != np.round(series)).any():
            raise InputError(f"{geo_type} geo_value must be whole numbers or strings")
        series = series.astype(np.int64)
    text = series.astype(str).str.strip().str.lower()
    text = text.str.replace(r"^(\d+)\.0$", r"\1", regex=True)
    width = _ZERO_PADDED.get(geo_type)
    if width:
        text = text.str.zfill(width)
    return text.to_numpy(dtype=str)


def _examples(items, limit=5) -> str:
    items = list(items)
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(map(str, items[:limit])) + more


def new_cube(
    geo,
    time,
    value,
    stderr=None,
    sample_size=None,
    *,
    source: str,
    signal: str,
    geo_type: str,
    time_type: str = "day",
    missing_value=None,
    missing_stderr=None,
    missing_sample_size=None,
    attrs: dict | None = None,
) -> xr.Dataset:
    """Build a cube from a geo index, a dense time axis and ``(geo, time)`` arrays.

    ``stderr`` or ``sample_size`` left out are all NaN with code ``NOT_APPLICABLE``; missing codes not
    given are inferred (:func:`~delphi_signals.nancodes.repair_codes`).

    Examples
    --------
    >>> cube = new_cube(["ca", "pa"], pd.date_range("2020-03-01", periods=3), np.ones((2, 3)),
    ...                 source="demo", signal="cases", geo_type="state")
    >>> dict(cube.sizes), int(cube.missing_stderr[0, 0])
    ({'geo': 2, 'time': 3}, 1)
    """
    check_time_type(time_type)
    geo = normalize_geo_values(geo, check_geo_type(geo_type))
    times = parse_time_values(time, time_type)
    shape = (len(geo), len(times))
    arrays = {"value": value, "stderr": stderr, "sample_size": sample_size}
    given_codes = {"value": missing_value, "stderr": missing_stderr, "sample_size": missing_sample_size}
    data_vars, code_vars = {}, {}
    for q in QUANTITIES:
        if arrays[q] is None:
            arr = all_missing(shape)
            if given_codes[q] is not None:
                codes, _ = repair_codes(arr, given_codes[q])
            else:
                codes = np.full(shape, Nans.NOT_APPLICABLE, dtype=np.int8)
        else:
            arr = kernel_ready(arrays[q], np.float64)
            if arr.shape != shape:
                raise CubeContractError(f"{q} has shape {arr.shape}, expected (geo, time) = {shape}")
            codes, _ = repair_codes(arr, given_codes[q])
        data_vars[q] = (("geo", "time"), arr)
        code_vars[MISSING_NAMES[q]] = (("geo", "time"), codes.reshape(shape))
    coords = {"geo": geo, "time": times}
    if time_type == "week":
        coords["epiweek"] = ("time", format_weeks(times))
    all_attrs = {"source": source, "signal": signal, "geo_type": geo_type, "time_type": time_type}
    all_attrs.update(attrs or {})
    cube = xr.Dataset({**data_vars, **code_vars}, coords=coords, attrs=all_attrs)
    empty = empty_cells(cube).values
    if empty.any():  # a row with nothing in it is no row: one canonical form for empty cells
        for name in CODES:
            cube[name].values[empty] = Nans.OTHER
    return cube


def from_frame(df: pd.DataFrame, *, source: str, signal: str, geo_type: str, time_type: str = "day") -> xr.Dataset:
    """Build a cube from a tidy frame.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``geo_value``, ``time_value`` (dates, ``YYYYMMDD`` ints, or ``YYYYWW`` ints for weeks),
        ``value`` and optionally ``stderr``, ``sample_size``, ``missing_value``, ``missing_stderr``,
        ``missing_sample_size``. One row per (geo, time); the time axis of the cube is dense from the
        first to the last time value.
    source, signal, geo_type, time_type : str
        The cube's identity (attrs).

    Raises
    ------
    InputError
        A required column is absent, a time value is impossible, or a (geo, time) pair repeats.

    Examples
    --------
    >>> df = pd.DataFrame({"geo_value": ["ca", "ca", "pa"], "time_value": [20200301, 20200303, 20200301],
    ...                    "value": [1.0, 3.0, 2.0]})
    >>> cube = from_frame(df, source="demo", signal="cases", geo_type="state")
    >>> cube.value.values.tolist()
    [[1.0, nan, 3.0], [2.0, nan, nan]]
    """
    missing = [c for c in ("geo_value", "time_value", "value") if c not in df.columns]
    if missing:
        raise InputError(f"tidy frame lacks column(s) {', '.join(missing)}; it has {', '.join(map(str, df.columns))}")
    if len(df) == 0:
        raise InputError(f"no rows to build the cube {source}/{signal}/{geo_type}/{time_type} from")
    geo_values = normalize_geo_values(df["geo_value"].to_numpy(), geo_type)
    times = parse_time_values(df["time_value"].to_numpy(), time_type)
    geo_codes, geo_index = pd.factorize(geo_values, sort=True)
    axis = time_axis(times.min(), times.max(), time_type)
    step = 1 if time_type == "day" else 7
    time_codes = ((times.to_numpy("datetime64[D]") - axis[0].to_datetime64().astype("datetime64[D]")).astype(np.int64)) // step
    flat = geo_codes.astype(np.int64) * len(axis) + time_codes
    dupes = pd.Series(flat).duplicated(keep=False).to_numpy()
    if dupes.any():
        pairs = sorted(set(zip(geo_values[dupes].tolist(), df["time_value"].to_numpy()[dupes].tolist())))
        raise InputError(f"{len(pairs)} duplicate (geo_value, time_value) pair(s): {_examples(pairs)}")
    shape = (len(geo_index), len(axis))

    def scatter(column, fill, dtype):
        out = np.full(shape[0] * shape[1], fill, dtype=dtype)
        out[flat] = pd.to_numeric(df[column], errors="raise").to_numpy(dtype=dtype, na_value=fill)
        return out.reshape(shape)

    arrays = {q: scatter(q, np.nan, np.float64) if q in df.columns else None for q in QUANTITIES}
    codes = {}
    for q, name in MISSING_NAMES.items():
        if name in df.columns:
            codes[name] = scatter(name, np.nan, np.float64)
        elif arrays[q] is not None:
            codes[name] = None
    cube = new_cube(
        np.asarray(geo_index), axis, arrays["value"], arrays["stderr"], arrays["sample_size"],
        source=source, signal=signal, geo_type=geo_type, time_type=time_type, **codes,
    )
    # cells that had no row are empty, whatever the frame said about absent columns
    has_row = np.zeros(shape[0] * shape[1], dtype=bool)
    has_row[flat] = True
    no_row = ~has_row.reshape(shape)
    if no_row.any():
        for name in CODES:
            cube[name].values[no_row] = Nans.OTHER
    return cube


def empty_cells(cube: xr.Dataset) -> xr.DataArray:
    """Boolean mask of the cells that carry no row: every quantity NaN, the value's code ``OTHER``."""
    return (cube["value"].isnull() & (cube["missing_value"] == Nans.OTHER)
            & cube["stderr"].isnull() & cube["sample_size"].isnull())


def to_frame(cube: xr.Dataset) -> pd.DataFrame:
    """Tidy frame of a cube: one row per non-empty cell, sorted by ``time_value`` then ``geo_value``.

    Columns: ``geo_value``, ``time_value`` (datetime; the week start for weekly cubes), ``issue``
    (datetime) when the cube has an ``issue`` dim or variable, ``lag`` (int) when it has a ``lag``
    variable, ``value``, ``stderr``, ``sample_size`` and the three ``missing_*`` codes, then ``fault_ids``
    when the cube has it (``Epidata.fetch(..., faults=True)``).

    Examples
    --------
    >>> cube = new_cube(["ca"], pd.date_range("2020-03-01", periods=2), [[1.0, np.nan]],
    ...                 source="demo", signal="cases", geo_type="state")
    >>> to_frame(cube)[["geo_value", "value"]].to_dict("list")
    {'geo_value': ['ca'], 'value': [1.0]}
    """
    dims = ("time", "geo") + (("issue",) if "issue" in cube.dims else ())
    keep = (~empty_cells(cube)).transpose(*dims).values.ravel()
    index = pd.MultiIndex.from_product([cube.indexes[d] for d in dims], names=dims)[keep]
    out = pd.DataFrame({"geo_value": index.get_level_values("geo").astype(object),
                        "time_value": index.get_level_values("time")})
    if "issue" in dims:
        out["issue"] = index.get_level_values("issue")
    elif "issue" in cube.data_vars:
        out["issue"] = cube["issue"].transpose(*dims).values.ravel()[keep]
    if "lag" in cube.data_vars:
        lag = cube["lag"].transpose(*dims).values.ravel()[keep]
        out["lag"] = lag.astype(np.int64) if not np.isnan(lag).any() else pd.array(lag, dtype="Int64")
    for name in VARIABLES:
        out[name] = cube[name].transpose(*dims).values.ravel()[keep]
    if "fault_ids" in cube.data_vars:
        out["fault_ids"] = cube["fault_ids"].transpose(*dims).values.ravel()[keep]
    return out.reset_index(drop=True)


def check_cube(cube: xr.Dataset) -> xr.Dataset:
    """Raise :class:`CubeContractError` naming every way ``cube`` breaks the contract; return it if none.

    Examples
    --------
    >>> cube = new_cube(["ca"], pd.date_range("2020-03-01", periods=2), [[1.0, 2.0]],
    ...                 source="demo", signal="cases", geo_type="state")
    >>> check_cube(cube) is cube
    True
    >>> check_cube(cube.drop_vars("stderr"))
    Traceback (most recent call last):
    ...
    delphi_signals.errors.CubeContractError: not a valid signal cube: missing data variable 'stderr'
    """
    problems = list(_contract_problems(cube))
    if problems:
        raise CubeContractError("not a valid signal cube: " + "; ".join(problems))
    return cube


def _contract_problems(cube):
    if not isinstance(cube, xr.Dataset):
        yield f"expected an xarray.Dataset, got {type(cube).__name__}"
        return
    for name in REQUIRED_ATTRS:
        if name not in cube.attrs:
            yield f"missing attr {name!r}"
    geo_type, time_type = cube.attrs.get("geo_type"), cube.attrs.get("time_type")
    if geo_type is not None and geo_type not in GEO_ID_PATTERNS:
        yield f"unknown geo_type {geo_type!r}"
    if time_type is not None and time_type not in ("day", "week"):
        yield f"time_type must be 'day' or 'week', got {time_type!r}"
    expected_dims = ("geo", "time", "issue") if "issue" in cube.dims else ("geo", "time")
    for name in VARIABLES:
        if name not in cube.data_vars:
            yield f"missing data variable {name!r}"
            continue
        var = cube[name]
        if var.dims != expected_dims:
            yield f"{name} has dims {var.dims}, expected {expected_dims}"
        want = np.float64 if name in QUANTITIES else np.int8
        if var.dtype.newbyteorder("=") != want:  # either byte order: kernels get native copies (kernel_ready)
            yield f"{name} has dtype {var.dtype}, expected {np.dtype(want)}"
    yield from _coordinate_problems(cube, geo_type, time_type)
    if all(n in cube.data_vars for n in VARIABLES):
        yield from _code_problems(cube)


def _coordinate_problems(cube, geo_type, time_type):
    if "geo" not in cube.coords or "time" not in cube.coords:
        yield "coordinates 'geo' and 'time' are required"
        return
    geo = cube.indexes["geo"]
    if not all(isinstance(g, str) for g in geo):
        yield "geo ids must be strings"
    elif geo_type in GEO_ID_PATTERNS:
        pattern = re.compile(GEO_ID_PATTERNS[geo_type])
        bad = [g for g in geo if not pattern.fullmatch(g)]
        if bad:
            yield f"{len(bad)} geo id(s) not valid for {geo_type}: {_examples(bad)}"
    if geo.has_duplicates:
        yield f"duplicate geo ids: {_examples(geo[geo.duplicated()].unique())}"
    time = cube.indexes["time"]
    if cube["time"].dtype != np.dtype("datetime64[ns]"):
        yield f"time must be datetime64[ns], got {cube['time'].dtype}"
        return
    if len(time) > 1:
        step = np.diff(time.to_numpy()).astype("timedelta64[D]").astype(np.int64)
        want = 7 if time_type == "week" else 1
        if (step != want).any():
            yield f"time axis is not dense: steps must be {want} day(s)"
    if time_type == "week":
        if (time.day_of_week != 6).any():
            yield "weekly time values must be epiweek starts (Sundays)"
        elif "epiweek" not in cube.coords or not np.array_equal(cube["epiweek"].values, format_weeks(time)):
            yield "weekly cube needs aux coord 'epiweek' (YYYYWW) matching time"


def _code_problems(cube):
    for q, name in MISSING_NAMES.items():
        codes = cube[name].values
        if codes.size and (codes.min() < 0 or codes.max() > 5):
            yield f"{name} holds codes outside 0..5"
        present = ~np.isnan(cube[q].values)
        contradicting = int((present != (codes == Nans.NOT_MISSING)).sum())
        if contradicting:
            yield f"{contradicting} cell(s) where {name} contradicts whether {q} is NaN"


def stamp(cube: xr.Dataset, **attrs) -> xr.Dataset:
    """A copy of ``cube`` with attrs set (``None`` removes an attr); data is shared, not copied."""
    out = cube.copy(deep=False)
    out.attrs = {**cube.attrs}
    for key, val in attrs.items():
        if val is None:
            out.attrs.pop(key, None)
        else:
            out.attrs[key] = val
    return out


def blank(cube: xr.Dataset, where, code: int = Nans.OTHER, quantities=QUANTITIES) -> xr.Dataset:
    """A copy of ``cube`` with the cells under ``where`` emptied: ``quantities`` NaN, their codes ``code``.

    ``where`` is a boolean array shaped like the cube's ``(geo, time)``, or a boolean ``DataArray`` over any of
    its dims (broadcast). ``code`` says why the cells are missing (:class:`~delphi_signals.nancodes.Nans`:
    ``CENSORED`` for privacy suppression, ``REGION_EXCEPTION``, ``OTHER`` …); ``NOT_MISSING`` is refused.
    Works on dask-backed cubes too (nothing is computed); a quantity held as :func:`all_missing` stays so.

    Examples
    --------
    >>> cube = new_cube(["ak", "al"], pd.date_range("2020-06-01", periods=2), [[1.0, 2.0], [3.0, 4.0]],
    ...                 source="x", signal="y", geo_type="state")
    >>> out = blank(cube, cube.value < 2, Nans.CENSORED)
    >>> out.value.values.tolist(), out.missing_value.values.tolist()
    ([[nan, 2.0], [3.0, 4.0]], [[3, 0], [0, 0]])
    """
    code = Nans(int(code))
    if code == Nans.NOT_MISSING:
        raise InputError("a blanked cell needs a missing code other than NOT_MISSING", field="code")
    if not isinstance(where, xr.DataArray):
        where = xr.DataArray(np.asarray(where, dtype=bool), dims=("geo", "time"),
                             coords={"geo": cube["geo"], "time": cube["time"]})
    out = cube.copy()
    for q in quantities:
        dims, name = cube[q].dims, MISSING_NAMES[q]
        if not is_all_missing(cube[q].data):  # an all-missing quantity stays one broadcast NaN
            out[q] = cube[q].where(~where).transpose(*dims).assign_attrs(cube[q].attrs)
        out[name] = (xr.where(where, np.int8(code), cube[name]).astype(np.int8).transpose(*dims)
                     .assign_attrs(cube[name].attrs))
    return out
