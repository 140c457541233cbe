"""The arithmetic of quidel: counts per region and day → percentages positive with standard errors and sample sizes.

* raw: the day's tests, published when there are at least :data:`~.constants.MIN_OBS`;
* smoothed: the tests of the last :data:`~.constants.POOL_DAYS` days; at county, msa and hrr a region short of
  ``MIN_OBS`` borrows a share of its parent state's pooled tests (:func:`delphi_signals.estimators.top_up`: never
  more than its own count, so a region needs half of ``MIN_OBS`` itself). The parent's tests are taken on the
  days the region has rows (upstream merges the parent onto the region's rows, then fills the other days with 0).

The proportion is the Jeffreys estimate with its binomial standard error (:mod:`delphi_signals.estimators`),
published ×100; the sample size is the (pooled, topped-up, fractional) number of tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ... import estimators as E
from ...cube import new_cube
from .constants import AGE_GROUPS, MIN_OBS, POOL_DAYS, SOURCE
from .counts import PRESENT, group_channels
from .geo import TOLERANCE


def window_sum(x: np.ndarray, days: int = POOL_DAYS) -> np.ndarray:
    """Sum over the ``days`` days ending at each day along the last axis (the first days: what there is), added
    term by term so that no-test windows stay exactly 0.

    Examples
    --------
    >>> window_sum(np.array([[1.0, 2.0, 3.0, 4.0]]), 2).tolist()
    [[1.0, 3.0, 5.0, 7.0]]
    """
    out = x.astype(float, copy=True)
    for k in range(1, days):
        out[..., k:] += x[..., :-k]
    return out


@dataclass(frozen=True)
class Level:
    """Counts of one geo level: ``ids``, ``counts`` ``(R, T, C)``; for levels with a parent, the parent state's
    counts aligned to the regions (``parent`` ``(R, T, C)``, 0 where none) and whether each region borrows
    (``has_parent``)."""

    geo_type: str
    ids: np.ndarray
    counts: np.ndarray
    parent: np.ndarray | None = None
    has_parent: np.ndarray | None = None


def parent_flags(ids: np.ndarray, parent_found: np.ndarray, *, upstream: bool) -> np.ndarray:
    """Which regions borrow from their parent: those whose parent state has tests; with ``upstream``, as upstream
    does, no region after the first one (in sorted id order) whose parent has none.

    Examples
    --------
    >>> ids = np.array(["10180", "10420", "10500"])
    >>> parent_flags(ids, np.array([True, False, True]), upstream=False).tolist()
    [True, False, True]
    >>> parent_flags(ids, np.array([True, False, True]), upstream=True).tolist()
    [True, False, False]
    """
    found = np.asarray(parent_found, dtype=bool)
    if not upstream:
        return found.copy()
    order = np.argsort(np.asarray(ids, dtype=str), kind="stable")
    flags = np.empty(len(found), dtype=bool)
    flags[order] = np.logical_and.accumulate(found[order])
    return flags


def with_parent(level: str, ids: np.ndarray, counts: np.ndarray, parent_ids: np.ndarray, state_ids: np.ndarray,
                state_counts: np.ndarray, *, upstream: bool) -> Level:
    """A level whose regions borrow from the parent states ``parent_ids`` (ids of ``state_ids``/``state_counts``)."""
    index = {s: i for i, s in enumerate(state_ids)}
    pos = np.array([index.get(p, -1) for p in parent_ids], dtype=np.int64)
    found = pos >= 0
    parent = np.zeros_like(counts)
    parent[found] = state_counts[pos[found]]
    parent *= (counts[:, :, PRESENT] > 0)[:, :, None]  # the parent's tests on the region's days only
    return Level(level, ids, counts, parent, parent_flags(ids, found, upstream=upstream))


def estimate(level: Level, group: int, *, smoothed: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(percent, stderr in percent, sample size)`` ``(R, T)`` of one age group; NaN where not published."""
    tests_ch, pos_ch = group_channels(group)
    tests, positives = level.counts[:, :, tests_ch], level.counts[:, :, pos_ch]
    if smoothed:
        tests, positives = window_sum(tests), window_sum(positives)
        if level.parent is not None:
            p_tests, p_pos = window_sum(level.parent[:, :, tests_ch]), window_sum(level.parent[:, :, pos_ch])
            borrow = level.has_parent[:, None]
            topped_pos, topped_tests = E.top_up(positives, tests, p_pos, p_tests, MIN_OBS)
            positives = np.where(borrow, topped_pos, positives)
            tests = np.where(borrow, topped_tests, tests)
    p, se, n = E.min_sample_estimate(positives, tests, MIN_OBS - TOLERANCE)
    return 100.0 * p, 100.0 * se, n


def sensor_cube(level: Level, days: np.ndarray, group: int, *, smoothed: bool, signal: str) -> xr.Dataset:
    """The signal cube of one level, age group and smoother (empty cells where nothing is published)."""
    value, stderr, n = estimate(level, group, smoothed=smoothed)
    return new_cube(level.ids, np.asarray(days, dtype="datetime64[ns]"), value, stderr, n, source=SOURCE,
                    signal=signal, geo_type=level.geo_type, attrs={"units": "percent"})


__all__ = ["AGE_GROUPS", "Level", "estimate", "parent_flags", "sensor_cube", "window_sum", "with_parent"]
