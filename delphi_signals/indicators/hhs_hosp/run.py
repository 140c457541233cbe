"""``run_module(params)``: pull the HHS response, build the 12 signals at state, hhs and nation, export CSVs."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pandas as pd

from ...smooth import smooth
from ..runner import export_signals, stamp_signal
from .constants import CATALOGUE, GEOS, MA_FLU_SIGNAL, SENSORS, SIGNAL_COLUMNS, SMOOTHERS, SOURCE
from .data_tools import massachusetts_flu_fix, state_cube
from .geo import geo_map
from .pull import pull_data


def build_signals(frame: pd.DataFrame):
    """Yield ``(signal, geo_res, cube)`` for every signal and geo level from a parsed response.

    The Massachusetts flu fix applies to the state cubes of the flu signals (raw and smoothed alike: the
    dropped cells have no value in either). The 7-day averages start 6 days after the first day of data
    (their first full window).
    """
    for base in SIGNAL_COLUMNS:
        counts = state_cube(frame, base)
        for geo_res, (sensor, prop), (suffix, window) in product(GEOS, SENSORS.items(), SMOOTHERS.items()):
            signal = CATALOGUE.signal(base=base, sensor=sensor, smoother=suffix)
            cube = geo_map(counts, geo_res, prop)
            if window:
                cube = smooth(cube, "moving_average", window=window).isel(time=slice(window - 1, None))
            if base == MA_FLU_SIGNAL and geo_res == "state":
                cube = massachusetts_flu_fix(cube)
            yield signal.name, geo_res, stamp_signal(cube, signal, SOURCE)


def run_module(params: dict) -> list[Path]:
    """Run the indicator: pull, build, and write every signal × geo level into ``common.export_dir``.

    Time values written are restricted to ``indicator.export_start_date`` .. ``export_end_date``.

    Returns
    -------
    list of pathlib.Path
        The CSV files written.
    """
    frame = pull_data(params)
    return export_signals(SOURCE, CATALOGUE, params, (cube for _, _, cube in build_signals(frame)))
