"""The arithmetic of hospital-admissions: per level and disease, pooled weekday effects and the sensor."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...log import get_logger
from ..claims.sensor import adjust_counts, inpatient_rates, sensor_cube, suspicious, weekday_effects
from ..claims.window import Window
from .constants import DENOMINATOR, GEOS, NUMERATORS, SOURCE, signal_for
from .geo import geo_map

log = get_logger(__name__, source=SOURCE)


def pooled_effects(counts: np.ndarray, c: int, window: Window, *, what: str) -> np.ndarray:
    """Weekday effects (Mon..Sun) of count ``c`` over the admissions (count 0), pooled over the regions, fitted on
    the days from the first to the last day with admissions.

    Upstream fitted on every day from 2020-01-01 with zeros before the data began, where ``log(0)`` made its
    problem undefined and the fit fail (its adjusted signals are its unadjusted ones). Days without admissions
    carry no likelihood in this model, and the penalty on ``phi`` costs nothing on them, so leaving them out
    changes only the penalty's ``1/(T - 2)`` factor.
    """
    totals = counts.sum(axis=0)
    seen = np.flatnonzero(totals[0] > 0)
    if len(seen) == 0:
        return np.full(7, np.nan)
    span = slice(seen[0], seen[-1] + 1)
    return weekday_effects(window.fit_dates[span], totals[c, span], totals[0, span], what=what)


def build_signals(frame: pd.DataFrame, window: Window, params: dict):
    """Yield the signal cubes for every level of ``indicator.geos``, ``indicator.weekday`` flag and disease.

    The weekday effects are fitted per level and disease on the level's pooled counts (:func:`pooled_effects`). A
    fit that fails is left out (no adjusted files, a warning), never published as if adjusted.
    """
    indicator = params.get("indicator") or {}
    write_se = bool(indicator.get("write_se"))
    flags = list(dict.fromkeys(bool(w) for w in (indicator.get("weekday") or [False])))
    columns = (DENOMINATOR, *NUMERATORS)
    for geo_res in indicator.get("geos") or GEOS:
        ids, counts = geo_map(frame, columns, window.fit_dates, geo_res)
        if len(ids) == 0:
            continue
        den = counts[:, 0]
        for adjusted in flags:
            for c, (column, disease) in enumerate(NUMERATORS.items(), start=1):
                num = counts[:, c]
                if adjusted:
                    effects = pooled_effects(counts, c, window, what=f"{geo_res} {column}")
                    if np.isnan(effects).any():
                        continue
                    num = adjust_counts(ids, window.fit_dates, num, effects, geo_type=geo_res)
                result = inpatient_rates(num, den)
                cube = sensor_cube(ids, window.fit_dates, result, source=SOURCE,
                                   signal=signal_for(params, disease=disease, adjusted=adjusted).name,
                                   geo_type=geo_res, write_se=write_se, keep=window.keep)
                suspicious(cube)
                yield cube
