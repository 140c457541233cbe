"""``run_module(params)``: pull the HHS response, build the 12 signals at state, hhs and nation, export CSVs."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pandas as pd

from ...cube import stamp
from ...io import write_csvs
from ...smooth import smooth
from .. import params as P
from ..report import RunReport
from .constants import GEOS, MA_FLU_SIGNAL, SENSORS, SIGNAL_COLUMNS, SMOOTHERS, SOURCE
from .data_tools import massachusetts_flu_fix, state_cube
from .geo import geo_map
from .pull import pull_data


def build_signals(frame: pd.DataFrame):
    """Yield ``(signal, geo_res, cube)`` for every signal and geo level from a parsed response.

    The Massachusetts flu fix applies to the state cubes of the flu signals (raw and smoothed alike: the
    dropped cells have no value in either).
    """
    for base in SIGNAL_COLUMNS:
        counts = state_cube(frame, base)
        for geo_res, (sensor, prop), (suffix, window) in product(GEOS, SENSORS.items(), SMOOTHERS.items()):
            signal = f"{base}{sensor}{suffix}"
            cube = geo_map(counts, geo_res, prop)
            if window:
                cube = smooth(cube, "moving_average", window=window)
            if base == MA_FLU_SIGNAL and geo_res == "state":
                cube = massachusetts_flu_fix(cube)
            yield signal, geo_res, stamp(cube, signal=signal)


def run_module(params: dict) -> list[Path]:
    """Run the indicator: pull, build, and write every signal × geo level into ``common.export_dir``.

    Time values written are restricted to ``indicator.export_start_date`` .. ``export_end_date``; the 7-day
    averages start 6 days after the first day of data (their first full window).

    Returns
    -------
    list of pathlib.Path
        The CSV files written.
    """
    report = RunReport(SOURCE, params)
    export_dir = P.export_dir(params)
    start, end = P.export_range(params)
    frame = pull_data(params)
    first_day = frame["date"].min() - pd.Timedelta(days=1)
    for signal, geo_res, cube in build_signals(frame):
        lo = first_day + pd.Timedelta(days=6) if signal.endswith("_7dav") else first_day
        lo = max(lo, start) if start is not None else lo
        report.add(write_csvs(cube, export_dir, start=lo, end=end))
    return report.finish(export_dir)
