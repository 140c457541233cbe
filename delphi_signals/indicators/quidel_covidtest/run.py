"""``run_module(params)``: pull the test objects, count tests per zip and day, build every signal at every level,
export the CSVs."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

from ...log import get_logger, progress
from .. import params as P
from ..runner import export_signals
from .constants import (AGE_GROUPS, END_FROM_RECEIVED_MINUS, FIRST_EXPORT_DATE, GEOS, MIN_OBS, SOURCE, catalogue,
                        signal_for)
from .counts import zip_counts
from .data_tools import Level, sensor_cube, with_parent
from .geo import add_megacounties, county_parents, region_parents, zip_to_level
from .pull import pull_data
from .reader import read_records

log = get_logger(__name__, source=SOURCE)


def export_window(indicator: dict, received: dt.date) -> tuple[dt.date, dt.date]:
    """Upstream's export days: to the day received minus 5 (or ``export_end_date`` if earlier), from
    ``export_start_date`` but at most ``export_day_range`` days back, never before 2020-05-26.

    Examples
    --------
    >>> export_window({"export_start_date": "2020-06-30", "export_end_date": "", "export_day_range": 40},
    ...               dt.date(2020, 8, 17))
    (datetime.date(2020, 7, 3), datetime.date(2020, 8, 12))
    """
    end = received - dt.timedelta(days=END_FROM_RECEIVED_MINUS)
    if indicator.get("export_end_date"):
        end = min(end, dt.date.fromisoformat(str(indicator["export_end_date"])))
    start = dt.date.fromisoformat(str(indicator["export_start_date"])) if indicator.get("export_start_date") \
        else FIRST_EXPORT_DATE
    day_range = int(indicator.get("export_day_range", 40))
    if (end - start).days > day_range:
        start = end - dt.timedelta(days=day_range)
    return max(start, FIRST_EXPORT_DATE), end


def build_levels(zips, days, flat, *, upstream_top_up: bool, geos=GEOS):
    """Yield ``(level, smoothed or None)`` for every geo level: county once per smoother (its megacounties
    differ: thresholds 50 raw, 25 smoothed), the others once for both."""
    n_time = len(days)
    state_ids, state_counts = zip_to_level(zips, flat, n_time, "state")
    for geo in geos:
        if geo == "county":
            ids, counts = zip_to_level(zips, flat, n_time, "county")
            for smoothed in (False, True):
                c_ids, c_counts = add_megacounties(ids, counts, MIN_OBS / 2 if smoothed else MIN_OBS)
                yield with_parent("county", c_ids, c_counts, county_parents(c_ids), state_ids, state_counts,
                                  upstream=upstream_top_up), smoothed
        elif geo in ("msa", "hrr"):
            ids, counts = zip_to_level(zips, flat, n_time, geo)
            yield with_parent(geo, ids, counts, region_parents(ids, geo, upstream=upstream_top_up), state_ids,
                              state_counts, upstream=upstream_top_up), None
        elif geo == "state":
            yield Level("state", state_ids, state_counts), None
        else:
            ids, counts = zip_to_level(zips, flat, n_time, geo)
            yield Level(geo, ids, counts), None


def build_signals(zips, days, flat, cat, *, upstream_top_up: bool = False, geos=GEOS):
    """Yield every signal cube: each level, smoother and age group."""
    for level, only in build_levels(zips, days, flat, upstream_top_up=upstream_top_up, geos=geos):
        for smoothed in (False, True) if only is None else (only,):
            for g, group in enumerate(AGE_GROUPS):
                signal = signal_for(cat, smoothed=smoothed, age_group=group)
                yield sensor_cube(level, days, g, smoothed=smoothed, signal=signal.name)


def run_module(params: dict) -> list[Path]:
    """Run quidel for one issue (upstream's ``params.json`` keys, see ``constants.PARAMS_DEFAULTS``).

    Returns
    -------
    list of pathlib.Path
        The CSV files written.
    """
    indicator = params.get("indicator") or {}
    day_files, received = pull_data(params)
    records, drops = read_records(day_files)
    drops.log()
    cat = catalogue(indicator.get("wip_signal"))
    run_params = copy.deepcopy(params)
    cubes = []
    if received is None or len(records) == 0:
        log.warning("no usable tests: nothing exported", issue=str(P.issue_date(params)))
    else:
        start, end = export_window(indicator, received)
        run_params["indicator"]["export_start_date"] = start.isoformat()
        run_params["indicator"]["export_end_date"] = end.isoformat()
        zips, days, flat = zip_counts(records)
        log.info("tests counted", tests=len(records), zips=len(zips), first_day=str(days[0]), last_day=str(days[-1]),
                 received=received.isoformat(), export_start=start.isoformat(), export_end=end.isoformat())
        cubes = progress(build_signals(zips, days, flat, cat,
                                       upstream_top_up=bool(indicator.get("reproduce_top_up_bugs"))),
                         total=len(GEOS) * 2 * len(AGE_GROUPS), desc="quidel signals")
    return export_signals(SOURCE, cat, run_params, cubes,
                          extra=lambda: {"received": received and received.isoformat(), **drops.record()})
