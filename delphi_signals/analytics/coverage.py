"""Coverage and latency of each source's representative signals, straight from the epidata database.

For every (source, signal) asked for (default: the representative signals the indicator catalogue marks),
over the last ``days`` days before the run date (56, as upstream's signal dashboard):

* coverage, per geo type and time value: ``count`` = the expected regions with a non-missing value in
  ``epimetric_latest``, ``expected`` = the level's ids in the geo tables (counties without the ``SS000``
  state pseudo-counties), ``fraction`` = count / expected; every time value of the window is listed, an
  empty day with count 0;
* latency, per geo type: run date − newest time value with a value, in days (a weekly signal's epiweek
  counts from its Saturday);
* reporting lag, per issue in the window: the smallest lag among that issue's rows in ``epimetric_full``
  (over every geo type), and the issue's row count.

:func:`write_coverage` writes ``coverage.json`` and the plots ``coverage.png`` (fraction over time) and
``latency.png`` (latency per signal and geo type), small multiples of one panel per source
(:mod:`.coverage_plots`).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from .. import atomic
from ..epidata.schema import signal_dim
from ..errors import DatabaseError, InputError
from ..geo import geo_values
from ..log import get_logger
from ..timeaxis import format_weeks, parse_weeks
from .coverage_plots import coverage_figure, latency_figure
from .figures import save_figure

LOG = get_logger(__name__)
WINDOW_DAYS = 56


def representative_signals(sources=None) -> dict[str, list[str]]:
    """``source -> [signal, …]``: the representative signal of each time-series family, from the indicators'
    signal catalogues (see :mod:`delphi_signals.indicators.contract`).

    Examples
    --------
    >>> representative_signals(["jhu-csse"])
    {'jhu-csse': ['confirmed_incidence_num', 'deaths_incidence_num']}
    """
    from ..indicators.registry import get_indicator, sources as registered

    return {source: [s.name for s in get_indicator(source).signals.representatives()]
            for source in (sources or registered())}


def expected_regions(geo_type: str) -> np.ndarray | None:
    """The ids a complete signal covers at ``geo_type`` (no ``SS000`` pseudo-counties); None if unknown.

    Examples
    --------
    >>> len(expected_regions("state")), "06000" in expected_regions("county"), expected_regions("dma")
    (60, False, None)
    """
    try:
        ids = geo_values(geo_type)
    except InputError:
        return None
    if geo_type == "county":
        ids = ids[~np.char.endswith(ids.astype(str), "000")]
    return ids


_LATEST = """
SELECT t.time_type, g.geo_type, g.geo_value, t.time_value
FROM epimetric_latest t JOIN geo_dim g ON g.geo_key_id = t.geo_key_id
WHERE t.signal_key_id = :key AND t.value IS NOT NULL
  AND ((t.time_type = 'day' AND t.time_value >= :first_day)
       OR (t.time_type = 'week' AND t.time_value >= :first_week))
"""
_NEWEST = """
SELECT t.time_type, g.geo_type, MAX(t.time_value)
FROM epimetric_latest t JOIN geo_dim g ON g.geo_key_id = t.geo_key_id
WHERE t.signal_key_id = :key AND t.value IS NOT NULL
GROUP BY t.time_type, g.geo_type
"""
_LAGS = """
SELECT time_type, issue, MIN(lag), COUNT(*) FROM epimetric_full
WHERE signal_key_id = :key
  AND ((time_type = 'day' AND issue >= :first_day) OR (time_type = 'week' AND issue >= :first_week))
GROUP BY time_type, issue
"""


def _last_day(time_value: int, time_type: str) -> dt.date:
    if time_type == "day":
        return dt.date(time_value // 10000, time_value // 100 % 100, time_value % 100)
    return (parse_weeks([time_value])[0] + pd.Timedelta(days=6)).date()


def _window_times(time_type: str, first: dt.date, last: dt.date) -> list[int]:
    days = pd.date_range(first, last, freq="D")
    if time_type == "day":
        return [int(d.strftime("%Y%m%d")) for d in days]
    return sorted(set(format_weeks(days).tolist()))


def signal_coverage(conn, source: str, signal: str, run_date: dt.date, days: int = WINDOW_DAYS) -> dict:
    """Coverage, latency and reporting-lag records of one signal (see the module docstring)."""
    key = conn.execute(sa.select(signal_dim.c.signal_key_id).where(signal_dim.c.source == source,
                                                                   signal_dim.c.signal == signal)).scalar()
    out = {"coverage": [], "latency": [], "reporting_lag": []}
    if key is None:
        LOG.info("signal not in the database", source=source, signal=signal)
        return out
    first = run_date - dt.timedelta(days=days - 1)
    params = {"key": key, "first_day": int(first.strftime("%Y%m%d")),
              "first_week": int(format_weeks(pd.DatetimeIndex([first]))[0])}
    rows = pd.DataFrame(conn.execute(sa.text(_LATEST), params).fetchall(),
                        columns=["time_type", "geo_type", "geo_value", "time_value"])
    newest = conn.execute(sa.text(_NEWEST), {"key": key}).fetchall()
    for time_type, geo_type, newest_time in sorted(newest):
        expected = expected_regions(geo_type)
        mine = rows[(rows["time_type"] == time_type) & (rows["geo_type"] == geo_type)]
        if expected is not None:
            mine = mine[mine["geo_value"].isin(expected)]
        counts = mine.groupby("time_value")["geo_value"].nunique()
        for time_value in _window_times(time_type, first, run_date):
            count = int(counts.get(time_value, 0))
            out["coverage"].append({
                "source": source, "signal": signal, "time_type": time_type, "geo_type": geo_type,
                "time_value": time_value, "count": count,
                "expected": None if expected is None else int(len(expected)),
                "fraction": None if expected is None else round(count / len(expected), 6)})
        newest_day = _last_day(int(newest_time), time_type)
        out["latency"].append({"source": source, "signal": signal, "time_type": time_type, "geo_type": geo_type,
                               "newest_time_value": int(newest_time), "newest_day": newest_day.isoformat(),
                               "latency_days": (run_date - newest_day).days})
    for time_type, issue, min_lag, count in sorted(conn.execute(sa.text(_LAGS), params).fetchall()):
        out["reporting_lag"].append({"source": source, "signal": signal, "time_type": time_type,
                                     "issue": int(issue), "min_lag": int(min_lag), "rows": int(count)})
    return out


def coverage_report(engine: sa.engine.Engine, run_date, signals: dict | None = None, *,
                    days: int = WINDOW_DAYS) -> dict:
    """Coverage, latency and reporting lag of ``signals`` (``source -> [signal, …]``) as a JSON-ready dict.

    ``signals`` defaults to :func:`representative_signals`.
    """
    run_date = pd.Timestamp(run_date).date()
    if signals is None:
        signals = representative_signals()
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise InputError(f"days must be a positive int, got {days!r}", field="days")
    report = {"run_date": run_date.isoformat(), "days": days, "signals": {s: list(v) for s, v in signals.items()},
              "coverage": [], "latency": [], "reporting_lag": []}
    try:
        with engine.connect() as conn:
            for source, names in signals.items():
                for signal in names:
                    part = signal_coverage(conn, source, signal, run_date, days)
                    for name in ("coverage", "latency", "reporting_lag"):
                        report[name] += part[name]
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"coverage: cannot read the database: {exc}") from None
    return report


def write_coverage(report: dict, folder) -> dict[str, Path]:
    """Write ``coverage.json``, ``coverage.png`` and ``latency.png`` into ``folder``; each file appears whole."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / "coverage.json", "coverage_png": folder / "coverage.png",
             "latency_png": folder / "latency.png"}
    save_figure(paths["coverage_png"], coverage_figure(report))
    save_figure(paths["latency_png"], latency_figure(report))
    atomic.write_text(paths["json"], json.dumps(report, indent=1), durable=False)
    return paths
