"""The arithmetic of doctor-visits: the drop's rows to county counts, weekday effects, and the signal cubes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...log import get_logger
from ..claims.regions import dense_counts
from ..claims.sensor import adjust_counts, outpatient_rates, sensor_cube, suspicious, weekday_effects
from ..claims.window import Window
from .constants import DENOMINATOR, GEOS, NUMERATORS, SOURCE, signal_for
from .geo import geo_map

log = get_logger(__name__, source=SOURCE)


def county_counts(frame: pd.DataFrame, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """Counts per county and day ``(G, 5, T)`` over ``window.fit_dates``, summed over age groups; rows without a
    county or dated outside the fit days (before the first day of data, on or after the drop date) left out."""
    return dense_counts(frame, "county", NUMERATORS + (DENOMINATOR,), window.fit_dates)


def pooled_effects(counts: np.ndarray, window: Window) -> np.ndarray:
    """Weekday effects ``(4, 7)`` of each numerator over the visits, pooled over every county (as upstream), fitted
    on the days from the first to the last day with visits."""
    totals = counts.sum(axis=0)  # (5, T)
    seen = np.flatnonzero(totals[4] > 0)
    if len(seen) == 0:
        return np.full((len(NUMERATORS), 7), np.nan)
    span = slice(seen[0], seen[-1] + 1)
    return np.stack([weekday_effects(window.fit_dates[span], totals[c, span], totals[4, span], what=name)
                     for c, name in enumerate(NUMERATORS)])


def build_signals(county_ids, counts: np.ndarray, window: Window, params: dict, *, geos=GEOS):
    """Yield the signal cubes, level by level: ``smoothed_cli`` and/or ``smoothed_adj_cli`` as
    ``indicator.weekday`` asks (a list of booleans).

    A weekday adjustment whose fit failed is left out (with a warning from the fit), never published as if
    adjusted.
    """
    indicator = params.get("indicator") or {}
    write_se = bool(indicator.get("se"))
    flags = list(dict.fromkeys(bool(w) for w in (indicator.get("weekday") or [False])))
    effects = pooled_effects(counts, window) if True in flags else None
    for geo_res in geos:
        ids, region = geo_map(county_ids, counts, geo_res)
        for adjusted in flags:
            nums = region[:, :4]
            if adjusted:
                if np.isnan(effects).any():
                    continue
                nums = np.stack([adjust_counts(ids, window.fit_dates, nums[:, c], effects[c], geo_type=geo_res)
                                 for c in range(4)], axis=1)
            result = outpatient_rates(nums, region[:, 4], jeffreys=write_se)
            cube = sensor_cube(ids, window.fit_dates, result, source=SOURCE,
                               signal=signal_for(params, adjusted=adjusted).name, geo_type=geo_res,
                               write_se=write_se, keep=window.keep)
            suspicious(cube)
            yield cube
