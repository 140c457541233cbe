"""Aggregate signal cubes from one geo level to a coarser one: weighted sums of counts, means of rates.

One cached CSR operator per (cube geo index, from level, to level, how) and one fused numba pass per
variable (:mod:`delphi_signals.geo.kernels`). Missing stays missing: a target whose members are all NaN
at a time is NaN, never 0 (upstream's ``GeoMapper.replace_geocode`` writes 0 there).

On a real county cube (3,276 × 314) a call is a few milliseconds, almost all of it the kernels reading the
8 MB variables (a quantity the cube was built without, :func:`~delphi_signals.cube.all_missing`, is not read:
only its codes are aggregated), so the Python around them is kept to about 0.1-0.2 ms: the operator is found by the
identity of the cube's geo index (its ids are hashed only on a miss), variables are read without DataArray
wrappers or transposes, and the result is assembled from ready variables and shared indexes
(``_dataset_direct``; the public constructor alone took 0.2-0.6 ms).
"""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..cube import all_missing, is_all_missing, kernel_ready, normalize_geo_values, stamp
from ..errors import InputError
from ..log import get_logger
from ..nancodes import MISSING_NAMES, Nans
from .kernels import csr_missing_codes, csr_weighted_sum
from .tables import crosswalk, population

HOWS = ("sum", "mean")
_CACHE_SIZE = 64
_operators: OrderedDict = OrderedDict()
_operators_by_index: OrderedDict = OrderedDict()


class UnmappedGeoWarning(UserWarning):
    """Some geo ids of a cube are unknown to the geography tables and were left out of an aggregation."""


@dataclass(frozen=True)
class Operator:
    """A crosswalk restricted to the rows of one cube: CSR over the cube's geo positions.

    ``target`` holds the regions with at least one member in the cube. ``unknown`` are cube ids the tables
    do not know; ``unlinked`` are known ids with no region at this level (a megacounty has no HRR, a rural
    county no MSA). ``target_index`` is the xarray index over ``target`` that every result shares (indexes
    are immutable).
    """

    target: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    unknown: np.ndarray
    unlinked: np.ndarray
    target_index: object = None


def _key(geo: np.ndarray, from_type: str, to_type: str, how: str):
    digest = hashlib.blake2b(np.ascontiguousarray(geo).tobytes(), digest_size=16).hexdigest()
    return geo.dtype.str, len(geo), digest, from_type, to_type, how


def operator(geo, from_type: str, to_type: str, how: str = "sum") -> Operator:
    """The (cached) aggregation operator for a cube whose geo index is ``geo``.

    For ``how="mean"`` the weights are crosswalk share × population of the member (members without
    population, such as megacounties ``SS000``, get weight 0).

    Examples
    --------
    >>> op = operator(["01001", "01003", "01000"], "county", "state")
    >>> op.target.tolist(), op.indptr.tolist(), op.indices.tolist()
    (['al'], [0, 3], [0, 1, 2])
    """
    if how not in HOWS:
        raise InputError(f"how must be one of {', '.join(HOWS)}, got {how!r}")
    geo = np.asarray(geo, dtype=str)
    key = _key(geo, from_type, to_type, how)
    cached = _operators.get(key)
    if cached is not None:
        _operators.move_to_end(key)
        return cached
    geo = normalize_geo_values(geo, from_type)
    cw = crosswalk(from_type, to_type)
    position = np.searchsorted(cw.source, geo)
    position = np.minimum(position, len(cw.source) - 1)
    known = cw.source[position] == geo
    columns = cw.matrix.tocsc()
    # select the crosswalk columns of the cube's rows (in cube order), then transpose back to CSR by target
    sub = columns[:, position[known]]
    rows_known = np.flatnonzero(known)
    linked = np.zeros(len(geo), dtype=bool)
    linked[rows_known[np.diff(sub.indptr) > 0]] = True
    if how == "mean":
        pop = population(from_type).reindex(geo=geo[known]).fillna(0.0).to_numpy()
        sub = sub @ _diag(pop)
    sub = sub.tocsr()
    sub.eliminate_zeros()
    has_member = np.diff(sub.indptr) > 0
    sub = sub[has_member]
    sub.sort_indices()
    op = Operator(
        target=cw.target[has_member],
        indptr=sub.indptr.astype(np.int64),
        indices=rows_known[sub.indices].astype(np.int64),
        weights=np.ascontiguousarray(sub.data, dtype=np.float64),
        unknown=geo[~known],
        unlinked=geo[known & ~linked],
        target_index=xr.Coordinates({"geo": cw.target[has_member]}).xindexes["geo"],
    )
    _operators[key] = op
    if len(_operators) > _CACHE_SIZE:
        _operators.popitem(last=False)
    return op


def _operator_of_index(index, from_type: str, to_type: str, how: str) -> Operator:
    """:func:`operator` for a cube's geo index, found by the index's identity before hashing its ids.

    xarray shares one immutable pandas index among a cube and the cubes derived from it, so a pipeline
    aggregating many signals over the same counties hashes their ids once. The entry holds the index, so
    its ``id`` cannot be reused by another object while cached.
    """
    key = (id(index), from_type, to_type, how)
    hit = _operators_by_index.get(key)
    if hit is not None and hit[0] is index:
        _operators_by_index.move_to_end(key)
        return hit[1]
    op = operator(np.asarray(index, dtype=str), from_type, to_type, how)
    _operators_by_index[key] = (index, op)
    if len(_operators_by_index) > _CACHE_SIZE:
        _operators_by_index.popitem(last=False)
    return op


def _geo_index(cube: xr.Dataset):
    """The pandas index of the cube's geo ids (the values themselves if the coordinate has no index)."""
    index = cube.xindexes.get("geo")
    return index.index if index is not None and hasattr(index, "index") else cube["geo"].values


def _dataset_public(variables: dict, attrs: dict) -> xr.Dataset:
    """The result through the public constructor (merge and alignment of every variable)."""
    coords = {name: var for name, var in variables.items() if name in ("geo", "time", "epiweek")}
    data = {name: var for name, var in variables.items() if name not in coords}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _dataset_direct(variables: dict, attrs: dict, indexes: dict) -> xr.Dataset:
    """The result from variables and indexes that are consistent by construction.

    ``Dataset._construct_direct`` is the internal constructor xarray's own operations build results with;
    the public constructor re-checks and re-aligns what is already aligned (0.2-0.6 ms a call). Used only
    where it exists (``_HAS_DIRECT``); a test checks the result equals the public constructor's.
    """
    dims = {"geo": variables["geo"].shape[0], "time": variables["time"].shape[0]}
    coord_names = {name for name in ("geo", "time", "epiweek") if name in variables}
    return xr.Dataset._construct_direct(variables, coord_names, dims, attrs, indexes)


_HAS_DIRECT = hasattr(xr.Dataset, "_construct_direct")


def _diag(values):
    import scipy.sparse as sp

    return sp.diags_array(values, format="csc")


def _examples(ids, limit=5) -> str:
    ids = [str(i) for i in ids]
    return ", ".join(ids[:limit]) + (f" (+{len(ids) - limit} more)" if len(ids) > limit else "")


def _apply(kernel_fn, data, n_target, dtype):
    """Run a per-block kernel on numpy or dask ``(geo, time)`` data, returning ``(n_target, time)``."""
    if isinstance(data, np.ndarray):
        return kernel_fn(kernel_ready(data, np.float64))
    import dask.array as da

    if len(data.chunks[0]) > 1:
        data = data.rechunk({0: -1})
    return da.map_blocks(lambda block: kernel_fn(kernel_ready(block, np.float64)), data, dtype=dtype,
                         chunks=((n_target,), data.chunks[1]), meta=np.empty((0, 0), dtype=dtype))


def _quantity(x, op: Operator, how: str, power: int):
    """Aggregate one float array: weighted sum, or weighted mean over the members with data."""
    n = len(op.target)

    def run(block):
        total = np.empty((n, block.shape[1]))
        wsum = np.empty((n, block.shape[1]))
        csr_weighted_sum(block, op.indptr, op.indices, op.weights, power, total, wsum)
        if power == 2:
            np.sqrt(total, out=total)
        if how == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                total /= wsum
            total[wsum == 0] = np.nan
        return total

    return _apply(run, x, n, np.float64)


def _codes(codes, values, op: Operator):
    n = len(op.target)

    def run(code_block, value_block):
        out = np.empty((n, code_block.shape[1]), dtype=np.int8)
        csr_missing_codes(kernel_ready(code_block, np.int8), op.indptr, op.indices,
                          kernel_ready(value_block, np.float64), out)
        return out

    if isinstance(codes, np.ndarray):
        return run(codes, values)
    import dask.array as da

    if len(codes.chunks[0]) > 1:
        codes = codes.rechunk({0: -1})
    return da.map_blocks(run, codes, values.rechunk({1: codes.chunks[1]}), dtype=np.int8,
                         chunks=((n,), codes.chunks[1]), meta=np.empty((0, 0), dtype=np.int8))


def aggregate(cube: xr.Dataset, to: str, how: str = "sum", *, strict: bool = False) -> xr.Dataset:
    """Aggregate a signal cube to a coarser geo level.

    Parameters
    ----------
    cube : xarray.Dataset
        A signal cube (numpy- or dask-backed; dask chunks along ``time`` are kept).
    to : str
        Target geo type: from county to state, msa, hrr, hhs or nation; from zip to those and county;
        from state to hhs or nation; from hhs to nation.
    how : {"sum", "mean"}
        ``"sum"`` for counts: ``value = Σ w·x`` over members with data, ``stderr = sqrt(Σ (w·se)²)``,
        ``sample_size = Σ w·n`` (``w``: the crosswalk share). ``"mean"`` for rates and proportions:
        population-weighted mean over the members with data, ``a = w·population``,
        ``value = Σ a·x / Σ a``, ``stderr = sqrt(Σ a²·se²) / Σ a``, ``sample_size = Σ w·n``.
        Either way a target whose members are all missing stays missing (NaN, never 0).
    strict : bool
        Raise :class:`InputError` instead of warning when the cube holds geo ids the tables do not know.

    Returns
    -------
    xarray.Dataset
        A cube over the target regions that have at least one member in ``cube``, attrs copied with
        ``geo_type`` set to ``to``. Missing codes: where a result is NaN, the code all members share, else
        ``OTHER``.

    Warns
    -----
    UnmappedGeoWarning
        Cube geo ids unknown to the tables (count and examples); they are left out.

    Examples
    --------
    >>> from delphi_signals.testing import make_cube
    >>> cube = make_cube(["01001", "01003", "06037"], days=2, kind="count", seed=1)
    >>> states = aggregate(cube, "state")
    >>> states.geo.values.tolist(), states.attrs["geo_type"]
    (['al', 'ca'], 'state')
    >>> float(states.value.sel(geo="al")[0]) == float(cube.value[:2, 0].sum())
    True
    """
    from_type = cube.attrs.get("geo_type")
    if from_type is None:
        raise InputError("cube has no geo_type attr; cannot tell which crosswalk applies")
    geo_index = _geo_index(cube)
    op = _operator_of_index(geo_index, from_type, to, how)
    if len(op.unknown) or len(op.unlinked):
        log = get_logger(__name__, source=cube.attrs.get("source"), signal=cube.attrs.get("signal"),
                         geo_type=to)
    if len(op.unknown):
        message = (f"{len(op.unknown)} {from_type} id(s) unknown to the geography tables, left out of the "
                   f"{to} aggregate: {_examples(op.unknown)}")
        if strict:
            raise InputError(message, field="geo")
        warnings.warn(message, UnmappedGeoWarning, stacklevel=2)
        log.warning("unmapped geo ids", count=int(len(op.unknown)), examples=op.unknown[:5].tolist())
    if len(op.unlinked):
        log.debug("geo ids without a region at this level", count=int(len(op.unlinked)),
                 examples=op.unlinked[:5].tolist())
    source_vars = cube.variables
    variables = {}
    for q, power in (("value", 1), ("stderr", 2), ("sample_size", 1)):
        q_how = "sum" if q == "sample_size" else how
        q_op = _operator_of_index(geo_index, from_type, to, q_how) if q_how != how else op
        data = _geo_by_time(source_vars[q])
        if is_all_missing(data):  # a quantity the cube was built without: no weighted pass to run
            values = all_missing((len(q_op.target), data.shape[1]))
            codes = _codes(_geo_by_time(source_vars[MISSING_NAMES[q]]), np.full(values.shape, np.nan), q_op)
        else:
            values = _quantity(data, q_op, q_how, power)
            codes = _codes(_geo_by_time(source_vars[MISSING_NAMES[q]]), values, q_op)
        variables[q] = xr.Variable(("geo", "time"), values)
        variables[MISSING_NAMES[q]] = xr.Variable(("geo", "time"), codes)
    time_index = cube.xindexes.get("time")
    attrs = {**cube.attrs, "geo_type": to}
    if not _HAS_DIRECT or time_index is None:
        variables["geo"] = xr.Variable("geo", op.target)
        variables["time"] = xr.Variable("time", cube["time"].values)
        if "epiweek" in cube.coords:
            variables["epiweek"] = xr.Variable("time", cube["epiweek"].values)
        return _dataset_public(variables, attrs)
    variables.update(op.target_index.create_variables())
    variables.update(time_index.create_variables())
    if "epiweek" in cube.coords:
        variables["epiweek"] = xr.Variable("time", source_vars["epiweek"].values)
    return _dataset_direct(variables, attrs, {"geo": op.target_index, "time": time_index})


def _geo_by_time(var: xr.Variable):
    """The data of a cube variable as ``(geo, time)`` (a transposed view if stored the other way)."""
    return var.data if var.dims == ("geo", "time") else var.transpose("geo", "time", ...).data


def per_capita(count_cube: xr.Dataset, scale: float = 100_000) -> xr.Dataset:
    """Counts per ``scale`` people: ``value / population × scale`` (and ``stderr`` likewise).

    Compute it *after* aggregating counts (``aggregate(cube, "state")`` then ``per_capita``): the
    population is the region's own, so megacounties ``SS000`` add counts to their state but no people. A
    region without population (a megacounty itself) gets NaN with code ``NOT_APPLICABLE``.

    Examples
    --------
    >>> import pandas as pd
    >>> from delphi_signals.cube import new_cube
    >>> cube = new_cube(["01001", "01000"], pd.date_range("2020-03-01", periods=1), [[56.145], [3.0]],
    ...                 source="demo", signal="cases", geo_type="county")
    >>> per_capita(cube).value.values.ravel().tolist()
    [100.0, nan]
    >>> bool(np.isclose(per_capita(aggregate(cube, "state")).value.item(), (56.145 + 3.0) / 4921532 * 100_000))
    True
    """
    geo_type = count_cube.attrs["geo_type"]
    geo = normalize_geo_values(count_cube["geo"].values, geo_type)
    pop = population(geo_type).reindex(geo=geo).values
    pop = np.where(pop > 0, pop, np.nan)
    factor = xr.DataArray(scale / pop, dims="geo")
    out = count_cube.copy()
    for q in ("value", "stderr"):
        out[q] = count_cube[q] * factor
        no_pop = xr.DataArray(np.isnan(pop), dims="geo") & count_cube[q].notnull()
        code = xr.where(no_pop, np.int8(Nans.NOT_APPLICABLE), count_cube[MISSING_NAMES[q]]).astype(np.int8)
        out[MISSING_NAMES[q]] = code.where(out[q].isnull(), np.int8(Nans.NOT_MISSING)).transpose(*out[q].dims)
    units = f"per {scale:,.0f} people"
    out["value"].attrs = {**count_cube["value"].attrs, "units": units}
    return stamp(out, units=units)
