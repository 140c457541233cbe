"""``run_module(params)``: pull the NCHS table, build weekly state and nation signals, export weekly CSVs."""

from __future__ import annotations

from pathlib import Path

from ..runner import export_signals
from .constants import CATALOGUE, SOURCE
from .data_tools import build_signals
from .pull import pull_data


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
