"""Proportions of counts and their standard errors, shared by the indicators that estimate them.

Doctor-visits, hospital-admissions and quidel publish a percentage ``100 x / n`` of events ``x``
among ``n`` visits, tests or admissions, with the binomial standard error. When standard errors are
published, the proportion is the **Jeffreys estimate** ``p = (x + 0.5) / (n + 1)``: the posterior mean under
a Beta(1/2, 1/2) prior, never exactly 0 or 1, so its standard error ``sqrt(p (1 - p) / n)`` is never 0.

Every function takes array-likes and broadcasts; nothing here turns a missing value into a number.

Examples
--------
>>> import numpy as np
>>> p = jeffreys_proportion(np.array([0.0, 5.0]), np.array([9.0, 9.0]))
>>> p.tolist()
[0.05, 0.55]
>>> np.round(proportion_stderr(p, np.array([9.0, 9.0])), 6).tolist()
[0.072648, 0.165831]
"""

from __future__ import annotations

import numpy as np

JEFFREYS_PSEUDOCOUNT = 0.5
"""Added to the events (and twice to the trials) by the Jeffreys estimate."""


def plain_proportion(events, trials) -> np.ndarray:
    """``events / trials``; ``NaN`` where ``trials`` is 0 or missing.

    Examples
    --------
    >>> plain_proportion([1.0, 2.0], [4.0, 0.0]).tolist()
    [0.25, nan]
    """
    events, trials = np.asarray(events, dtype=float), np.asarray(trials, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(trials > 0, events / np.where(trials > 0, trials, 1.0), np.nan)


def jeffreys_proportion(events, trials, *, pseudocount: float = JEFFREYS_PSEUDOCOUNT) -> np.ndarray:
    """The Jeffreys estimate ``(events + 0.5) / (trials + 1)`` of a binomial proportion.

    Defined for ``trials >= 0`` (0 trials give 0.5, the prior mean); a missing count stays missing.

    Examples
    --------
    >>> jeffreys_proportion([0.0, 3.0, np.nan], [0.0, 7.0, 7.0]).tolist()
    [0.5, 0.4375, nan]
    """
    events, trials = np.asarray(events, dtype=float), np.asarray(trials, dtype=float)
    return (events + pseudocount) / (trials + 2 * pseudocount)


def proportion_stderr(proportion, trials) -> np.ndarray:
    """Binomial standard error ``sqrt(p (1 - p) / n)``; ``NaN`` where ``n <= 0`` or ``p`` is outside [0, 1].

    Examples
    --------
    >>> np.round(proportion_stderr([0.5, 0.5, 1.2], [100.0, 0.0, 10.0]), 6).tolist()
    [0.05, nan, nan]
    """
    p, n = np.asarray(proportion, dtype=float), np.asarray(trials, dtype=float)
    variance = p * (1.0 - p)
    ok = (n > 0) & (variance >= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, np.sqrt(np.where(ok, variance, 0.0) / np.where(n > 0, n, 1.0)), np.nan)


def min_sample_estimate(events, trials, min_trials: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Jeffreys estimate, its standard error and the sample size, where ``trials >= min_trials``; all three NaN
    elsewhere (too few trials to publish, or none).

    Examples
    --------
    >>> p, se, n = min_sample_estimate([3.0, 30.0], [10.0, 60.0], 50)
    >>> [round(v, 6) for v in p.tolist()], [round(v, 6) for v in se.tolist()], n.tolist()
    ([nan, 0.5], [nan, 0.06455], [nan, 60.0])
    """
    events, trials = np.asarray(events, dtype=float), np.asarray(trials, dtype=float)
    n = np.where(trials >= min_trials, trials, np.nan)
    p = jeffreys_proportion(events, n)
    return p, proportion_stderr(p, n), n


def borrow_share(trials, parent_trials, min_trials: float) -> np.ndarray:
    """The share of its parent's trials a region borrows to reach ``min_trials``: the shortfall
    ``max(min_trials − trials, 0)``, capped at the region's own trials (a region never borrows more than it
    has), over the parent's trials, capped at 1; 0 where the region or the parent has no trials.

    Examples
    --------
    >>> borrow_share([10.0, 30.0, 60.0, 0.0, 30.0], [100.0, 100.0, 100.0, 100.0, 0.0], 50).tolist()
    [0.1, 0.2, 0.0, 0.0, 0.0]
    >>> borrow_share([40.0], [5.0], 50).tolist()     # the parent has fewer than the shortfall: all of them
    [1.0]
    """
    trials, parent = np.asarray(trials, dtype=float), np.asarray(parent_trials, dtype=float)
    need = np.minimum(np.maximum(min_trials - trials, 0.0), trials)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where((trials > 0) & (parent > 0), need / np.where(parent > 0, parent, 1.0), 0.0)
    return np.minimum(share, 1.0)


def top_up(events, trials, parent_events, parent_trials, min_trials: float) -> tuple[np.ndarray, np.ndarray]:
    """Events and trials of a region topped up with :func:`borrow_share` of its parent's (both pooled the
    same way beforehand): ``(events + s · parent_events, trials + s · parent_trials)``.

    The parent's trials include the region's own, as upstream pools them.

    Examples
    --------
    >>> x, n = top_up([5.0], [30.0], [40.0], [100.0], 50)
    >>> x.tolist(), n.tolist()
    ([13.0], [50.0])
    """
    share = borrow_share(trials, parent_trials, min_trials)
    return (np.asarray(events, dtype=float) + share * np.asarray(parent_events, dtype=float),
            np.asarray(trials, dtype=float) + share * np.asarray(parent_trials, dtype=float))
