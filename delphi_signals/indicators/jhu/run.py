"""Run the JHU CSSE indicator: pull both metrics, build 12 signals at 6 geo levels, export CSVs."""

from __future__ import annotations

from pathlib import Path

from ...errors import InputError
from ...smooth import smooth
from ..runner import export_signals, stamp_signal
from .constants import CATALOGUE, GEO_RES, METRICS, SOURCE
from .data_tools import incidence
from .geo import geo_map
from .pull import pull_metric, pull_options


def base_cubes(cumulative, chunks: int | None = None) -> dict:
    """The county ``new_counts`` (incidence) and ``cumulative_counts`` cubes every signal is built from.

    With ``chunks``, both are dask-backed (``chunks`` counties a block, the whole time axis in each) and
    persisted, so on a ``dask.distributed`` client they are sent to the workers once, not with every graph.
    """
    new_counts = cumulative.copy(data={**{k: v.values for k, v in cumulative.data_vars.items()},
                                       "value": incidence(cumulative["value"].values)})
    base = {"new_counts": new_counts, "cumulative_counts": cumulative}
    if chunks:
        base = {kind: cube.chunk({"geo": chunks, "time": -1}).persist() for kind, cube in base.items()}
    return base


def build_signals(cumulative, metric: str, geo_res: str, base: dict | None = None):
    """Yield ``(signal_name, cube)`` for one metric at one geo level, from its county cumulative cube (or the
    :func:`base_cubes` made from it: dask-backed ones give lazy cubes)."""
    base = base or base_cubes(cumulative)
    counts = {kind: geo_map(cube, geo_res, sensor_is_prop=False) for kind, cube in base.items()}
    for signal in CATALOGUE:
        if dict(signal.parts)["metric"] != metric:
            continue
        kind = "cumulative_counts" if signal.cumulative else "new_counts"
        cube = counts[kind] if signal.kind == "count" else geo_map(base[kind], geo_res, sensor_is_prop=True)
        smoothed = smooth(cube, "moving_average", signal.smoothing) if signal.smoothing else cube
        yield signal.name, stamp_signal(smoothed, signal, SOURCE)


def dask_chunks(params: dict) -> int | None:
    """``indicator.chunks``: counties per dask block of the county cubes (``None``: in-memory numpy cubes).

    Examples
    --------
    >>> dask_chunks({"indicator": {"chunks": "500"}}), dask_chunks({})
    (500, None)
    """
    value = (params.get("indicator") or {}).get("chunks")
    if value in (None, "", 0):
        return None
    try:
        chunks = int(value)
    except (TypeError, ValueError):
        chunks = 0
    if chunks <= 0:
        raise InputError(f"indicator.chunks must be a positive whole number of counties, got {value!r}",
                         field="chunks")
    return chunks


def run_module(params: dict) -> list[Path]:
    """Export the 12 JHU signals × 6 geo levels for ``params`` (see :mod:`delphi_signals.indicators.params`).

    With ``indicator.chunks`` (:func:`dask_chunks`) the cubes are dask-backed and each is computed just before
    its CSVs are written, on the current dask scheduler (a ``dask.distributed`` client if one is active); the
    files are the same as the in-memory run's.

    Returns the written CSV paths; logs ``"Completed indicator run"`` with the counts and timings, and the
    UIDs dropped for want of a county mapping (``unmapped_uids``).
    """
    unmapped: set = set()
    chunks = dask_chunks(params)

    def cubes():
        for metric in METRICS:
            cumulative = pull_metric(metric, **pull_options(params))
            unmapped.update(cumulative.attrs["unmapped_uids"])
            base = base_cubes(cumulative, chunks)
            for geo_res in GEO_RES:
                for _name, cube in build_signals(cumulative, metric, geo_res, base):
                    yield cube.compute() if chunks else cube

    return export_signals(SOURCE, CATALOGUE, params, cubes(), extra=lambda: {"unmapped_uids": sorted(unmapped)})
