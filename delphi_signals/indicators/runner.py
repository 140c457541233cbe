"""The one shared runner: what every indicator's ``run_module`` does after building its cubes.

Each indicator's ``run.py`` builds its signal cubes (pull, build, geo, smooth: the part that differs) and
hands them to :func:`export_signals`, which checks each against the indicator's catalogue, stamps its attrs,
restricts it to the params' export window and writes its CSVs, then logs the run's closing summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import pandas as pd
import xarray as xr

from ..cube import stamp
from ..errors import UnknownNameError
from ..io import write_csvs
from ..log import progress
from ..timeaxis import week_start
from . import params as P
from .contract import Catalogue, Signal
from .report import RunReport


def stamp_signal(cube: xr.Dataset, signal: Signal, source: str) -> xr.Dataset:
    """``cube`` with the catalogue's name for it and its source."""
    return stamp(cube, source=source, signal=signal.name)


def _bound(day, time_type: str):
    if day is None or time_type == "day":
        return day
    return pd.Timestamp(week_start([pd.Timestamp(day).to_datetime64()])[0])


def export_signals(source: str, catalogue: Catalogue, params: dict, cubes: Iterable[xr.Dataset], *,
                   extra: Callable[[], dict] | None = None) -> list[Path]:
    """Write every cube of ``cubes`` into ``common.export_dir`` and return the paths, in write order.

    Each cube's ``signal`` attr must name a signal of ``catalogue`` exported at the cube's ``geo_type``.
    ``indicator.export_start_date`` / ``export_end_date`` bound the time values written (for weekly signals,
    the weeks holding those days). ``extra()``, called once every cube is written, adds the indicator's own
    fields to the closing log line.
    """
    report = RunReport(source, params)
    export_dir = P.export_dir(params)
    start, end = P.export_range(params)
    total = sum(len(s.geo_types) for s in catalogue if s.active)
    for cube in progress(cubes, desc=f"export {source}", unit=" signals", total=total):
        signal = catalogue[cube.attrs["signal"]]
        geo_type = cube.attrs.get("geo_type")
        if geo_type not in signal.geo_types:
            raise UnknownNameError(f"geo type of {signal.name}", geo_type, signal.geo_types)
        cube = stamp_signal(cube, signal, source)
        report.add(write_csvs(cube, export_dir, start=_bound(start, signal.time_type),
                              end=_bound(end, signal.time_type)))
    return report.finish(export_dir, **(extra() if extra else {}))
