"""Run the JHU CSSE indicator: pull both metrics, build 12 signals at 6 geo levels, export CSVs."""

from __future__ import annotations

from pathlib import Path

from ...log import progress
from ...smooth import smooth
from .. import params as P
from ..runner import export_signals, stamp_signal
from .constants import CATALOGUE, DEFAULT_BASE_URL, GEO_RES, METRICS, SOURCE
from .data_tools import incidence
from .geo import geo_map
from .pull import pull_data


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


def _pull(metric: str, params: dict):
    indicator = params.get("indicator") or {}
    return pull_data(metric, base_url=indicator.get("base_url") or DEFAULT_BASE_URL, data_root=P.data_root(params),
                     issue_date=P.issue_date(params), force=bool(indicator.get("force_pull", False)))


def pull_inputs(params: dict) -> None:
    """Fetch (and check) both metrics' raw files of one issue into the dated input cache."""
    for metric in METRICS:
        _pull(metric, params)


def _cubes(params: dict):
    for metric in METRICS:
        cumulative = _pull(metric, params)
        for geo_res in progress(GEO_RES, desc=f"{SOURCE} {metric}", unit="geo level"):
            for _name, cube in build_signals(cumulative, metric, geo_res):
                yield cube


def run_module(params: dict) -> list[Path]:
    """Export the 12 JHU signals × 6 geo levels for ``params`` (see :mod:`delphi_signals.indicators.params`).

    Returns the written CSV paths; logs ``"Completed indicator run"`` with the counts and timings.
    """
    return export_signals(SOURCE, CATALOGUE, params, _cubes(params))
