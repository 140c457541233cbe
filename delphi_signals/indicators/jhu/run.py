"""Run the JHU CSSE indicator: pull both metrics, build 12 signals at 6 geo levels, export CSVs."""

from __future__ import annotations

from pathlib import Path

from ...cube import stamp
from ...io import write_csvs
from ...log import progress
from ...smooth import smooth
from .. import params as P
from ..report import RunReport
from .constants import GEO_RES, METRICS, SENSORS, SMOOTHERS, SOURCE
from .data_tools import incidence
from .geo import geo_map
from .pull import pull_data, pull_options


def build_signals(cumulative, metric: str, geo_res: str):
    """Yield ``(signal_name, cube)`` for one metric at one geo level, from its county cumulative cube."""
    new_counts = cumulative.copy(data={**{k: v.values for k, v in cumulative.data_vars.items()},
                                       "value": incidence(cumulative["value"].values)})
    base = {"new_counts": new_counts, "cumulative_counts": cumulative}
    counts = {kind: geo_map(cube, geo_res, sensor_is_prop=False) for kind, cube in base.items()}
    for sensor, suffix in SENSORS.items():
        cumulative_sensor = suffix.startswith("cumulative")
        kind = "cumulative_counts" if cumulative_sensor else "new_counts"
        cube = counts[kind] if suffix.endswith("num") else geo_map(base[kind], geo_res, sensor_is_prop=True)
        for prefix, window in SMOOTHERS.items():
            if window and cumulative_sensor:
                continue
            smoothed = smooth(cube, "moving_average", window) if window else cube
            name = f"{metric}_{prefix}{suffix}"
            yield name, stamp(smoothed, signal=name, source=SOURCE)


def run_module(params: dict) -> list[Path]:
    """Export the 12 JHU signals × 6 geo levels for ``params`` (see :mod:`delphi_signals.indicators.params`).

    Returns the written CSV paths; logs ``"Completed indicator run"`` with the counts and timings, and the
    UIDs dropped for want of a county mapping (``unmapped_uids``).
    """
    report = RunReport(SOURCE, params)
    export_dir = P.export_dir(params)
    start, end = P.export_range(params)
    unmapped = set()
    for metric in METRICS:
        cumulative = pull_data(metric, **pull_options(params))
        unmapped.update(cumulative.attrs["unmapped_uids"])
        for geo_res in progress(GEO_RES, desc=f"{SOURCE} {metric}", unit="geo level"):
            for _name, cube in build_signals(cumulative, metric, geo_res):
                report.add(write_csvs(cube, export_dir, start=start, end=end))
    return report.finish(export_dir, unmapped_uids=sorted(unmapped))
