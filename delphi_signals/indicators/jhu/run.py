"""Run the JHU CSSE indicator: pull both metrics, build 12 signals at 6 geo levels, export CSVs."""

from __future__ import annotations

from pathlib import Path

from ...log import progress
from ...smooth import smooth
from ..runner import export_signals, stamp_signal
from .constants import CATALOGUE, GEO_RES, METRICS, SOURCE
from .data_tools import incidence
from .geo import geo_map
from .pull import pull_data, pull_options


def build_signals(cumulative, metric: str, geo_res: str):
    """Yield ``(signal_name, cube)`` for one metric at one geo level, from its county cumulative cube."""
    new_counts = cumulative.copy(data={**{k: v.values for k, v in cumulative.data_vars.items()},
                                       "value": incidence(cumulative["value"].values)})
    base = {"new_counts": new_counts, "cumulative_counts": cumulative}
    counts = {kind: geo_map(cube, geo_res, sensor_is_prop=False) for kind, cube in base.items()}
    for signal in CATALOGUE:
        if dict(signal.parts)["metric"] != metric:
            continue
        kind = "cumulative_counts" if signal.cumulative else "new_counts"
        cube = counts[kind] if signal.kind == "count" else geo_map(base[kind], geo_res, sensor_is_prop=True)
        smoothed = smooth(cube, "moving_average", signal.smoothing) if signal.smoothing else cube
        yield signal.name, stamp_signal(smoothed, signal, SOURCE)


def pull_inputs(params: dict) -> None:
    """Fetch (and check) both metrics' raw files of one issue, as known then, into the dated input cache."""
    for metric in METRICS:
        pull_data(metric, **pull_options(params))


def run_module(params: dict) -> list[Path]:
    """Export the 12 JHU signals × 6 geo levels for ``params`` (see :mod:`delphi_signals.indicators.params`).

    Returns the written CSV paths; logs ``"Completed indicator run"`` with the counts and timings, and the
    UIDs dropped for want of a county mapping (``unmapped_uids``).
    """
    unmapped: set = set()

    def cubes():
        for metric in METRICS:
            cumulative = pull_data(metric, **pull_options(params))
            unmapped.update(cumulative.attrs["unmapped_uids"])
            for geo_res in progress(GEO_RES, desc=f"{SOURCE} {metric}", unit="geo level"):
                for _name, cube in build_signals(cumulative, metric, geo_res):
                    yield cube

    return export_signals(SOURCE, CATALOGUE, params, cubes(), extra=lambda: {"unmapped_uids": sorted(unmapped)})
