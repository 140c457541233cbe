"""``run_module(params)``: pull the outpatient drop, build ``smoothed_cli`` / ``smoothed_adj_cli`` at every level,
export CSVs."""

from __future__ import annotations

from pathlib import Path

from ...log import get_logger
from ..claims.window import window
from ..runner import export_signals
from .constants import FIRST_DATA_DATE, SOURCE, catalogue
from .data_tools import build_signals, county_counts
from .pull import pull_data

log = get_logger(__name__, source=SOURCE)


def run_module(params: dict) -> list[Path]:
    """Run doctor-visits for one issue (upstream's ``params.json`` keys, see ``constants.PARAMS_DEFAULTS``).

    Publishes the days from ``drop date − n_waiting_days − n_backfill_days`` to the day before
    ``drop date − n_waiting_days``, at county, msa, hrr, state, hhs and nation. ``indicator.parallel`` is
    accepted and ignored (the kernels run on numba's threads).

    Returns
    -------
    list of pathlib.Path
        The CSV files written (none for a drop without rows in its window, with a warning).
    """
    frame, drop, drop_day = pull_data(params)
    indicator = params.get("indicator") or {}
    days = window(FIRST_DATA_DATE, drop_day, n_backfill_days=int(indicator.get("n_backfill_days", 70)),
                  n_waiting_days=int(indicator.get("n_waiting_days", 3)))
    county_ids, counts = county_counts(frame, days)
    prefix = indicator.get("obfuscated_prefix")
    if len(county_ids) == 0:
        log.warning("empty drop: no rows in the fit days, nothing exported", drop=drop.name if drop else None,
                    drop_date=str(drop_day))
        cubes = []
    else:
        cubes = build_signals(county_ids, counts, days, params)
    return export_signals(SOURCE, catalogue(prefix), params, cubes,
                          extra=lambda: {"drop": drop.name if drop else None, "drop_date": str(drop_day)})
