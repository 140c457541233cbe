"""``run_module(params)``: pull the NCHS table, build weekly state and nation signals, export weekly CSVs."""

from __future__ import annotations

from itertools import product
from pathlib import Path

import pandas as pd

from ..runner import export_signals, stamp_signal
from .constants import CATALOGUE, GEOS, METRICS, SENSORS, SOURCE
from .data_tools import fold_new_york_city, state_cube
from .geo import geo_map
from .pull import pull_data


def build_signals(table: pd.DataFrame):
    """Yield ``(signal, geo_res, cube)`` for every metric × {num, prop} × {state, nation}."""
    table = fold_new_york_city(table)
    for column, stem in METRICS.items():
        counts = state_cube(table, column, CATALOGUE.signal(stem=stem, sensor="num").name)
        for geo_res, (sensor, prop) in product(GEOS, SENSORS.items()):
            signal = CATALOGUE.signal(stem=stem, sensor=sensor)
            yield signal.name, geo_res, stamp_signal(geo_map(counts, geo_res, prop), signal, SOURCE)


def run_module(params: dict) -> list[Path]:
    """Run the indicator: write ``weekly_{YYYYWW}_{geo}_{signal}.csv`` for every signal, geo level and week.

    ``indicator.export_start_date`` / ``export_end_date`` are dates; the weeks holding them bound the export.

    Returns
    -------
    list of pathlib.Path
        The CSV files written.
    """
    table = pull_data(params)
    return export_signals(SOURCE, CATALOGUE, params, (cube for _, _, cube in build_signals(table)))
