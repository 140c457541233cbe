"""``run_module(params)``: pull the inpatient drop, build the four signals at the asked levels, export CSVs."""

from __future__ import annotations

from pathlib import Path

from ...log import get_logger
from ..claims.window import window
from ..runner import export_signals
from .constants import FIRST_DATA_DATE, SOURCE, catalogue
from .data_tools import build_signals
from .pull import pull_data

log = get_logger(__name__, source=SOURCE)


def run_module(params: dict) -> list[Path]:
    """Run hospital-admissions for one issue (upstream's ``params.json`` keys, see ``constants.PARAMS_DEFAULTS``).

    Publishes ``start_date`` (default: drop date − ``n_waiting_days`` − ``n_backfill_days``) to the day before
    ``end_date`` (default: drop date − ``n_waiting_days``), at ``indicator.geos``. ``indicator.parallel`` is
    accepted and ignored (the kernels run on numba's threads). Upstream wrote header-only files for the days
    without rows; here a file is written only when it has rows.
    """
    frame, drop, drop_day = pull_data(params)
    indicator = params.get("indicator") or {}
    days = window(FIRST_DATA_DATE, drop_day, n_backfill_days=int(indicator.get("n_backfill_days", 70)),
                  n_waiting_days=int(indicator.get("n_waiting_days", 3)), start_date=indicator.get("start_date"),
                  end_date=indicator.get("end_date"))
    in_window = (frame["date"] >= days.fit_dates[0]) & (frame["date"] <= days.fit_dates[-1])
    if not in_window.any():
        log.warning("empty drop: no rows in the fit days, nothing exported", drop=drop.name if drop else None,
                    drop_date=str(drop_day))
        cubes = []
    else:
        cubes = build_signals(frame[in_window.to_numpy()], days, params)
    return export_signals(SOURCE, catalogue(indicator.get("obfuscated_prefix")), params, cubes,
                          extra=lambda: {"drop": drop.name if drop else None, "drop_date": str(drop_day)})
