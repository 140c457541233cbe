"""``run_module(params)``: pull the NCHS table, build weekly state and nation signals, export weekly CSVs."""

from __future__ import annotations

from pathlib import Path

from ...io import write_csvs
from ...timeaxis import week_start
from .. import params as P
from ..report import RunReport
from .constants import SOURCE
from .data_tools import build_signals
from .pull import pull_data


def _week(day):
    return None if day is None else week_start([day.to_datetime64()])[0]


def run_module(params: dict) -> list[Path]:
    """Run the indicator: write ``weekly_{YYYYWW}_{geo}_{signal}.csv`` for every signal, geo level and week.

    ``indicator.export_start_date`` / ``export_end_date`` are dates; the weeks holding them bound the export.

    Returns
    -------
    list of pathlib.Path
        The CSV files written.
    """
    report = RunReport(SOURCE, params)
    export_dir = P.export_dir(params)
    start, end = P.export_range(params)
    table = pull_data(params)
    for _signal, _geo_res, cube in build_signals(table):
        report.add(write_csvs(cube, export_dir, start=_week(start), end=_week(end)))
    return report.finish(export_dir)
