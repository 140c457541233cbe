"""Numba kernels of the claims sensor: plain loops over ``(region, time)`` arrays, time last.

* :func:`backfill_sums` – the variable-width trailing sum upstream calls its backfill adjustment (doctor-visits)
  or backwards padding (hospital-admissions): math ``S_t = sum_{s=t-w_t}^{t} x_s`` with ``w_t`` the fewest
  days back (at most ``k``) whose denominators reach ``min_visits``, ``w_t = k`` if they never do; NaN rule: none
  (the inputs are counts with zeros for days without rows).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _backfill_row(den, nums, k, min_visits, out_den, out_nums):
    n_time = den.shape[0]
    n_counts = nums.shape[0]
    for t in range(n_time):
        # widen the window back in time until the denominators reach min_visits (or k extra days)
        total = 0.0
        width = k
        for back in range(0, k + 1):
            if t - back < 0:
                break
            total += den[t - back]
            if total >= min_visits:
                width = back
                break
        first = max(t - width, 0)
        acc = 0.0
        for s in range(first, t + 1):
            acc += den[s]
        out_den[t] = acc
        for c in range(n_counts):
            acc = 0.0
            for s in range(first, t + 1):
                acc += nums[c, s]
            out_nums[c, t] = acc


@numba.njit(parallel=True, cache=True, nogil=True)
def backfill_sums(den, nums, k, min_visits, out_den, out_nums):
    """Variable-width trailing sums of ``den`` ``(R, T)`` and ``nums`` ``(R, C, T)`` into ``out_*``.

    The window of day ``t`` ends at ``t`` and starts ``w`` days earlier, ``w`` the smallest lag in ``0..k``
    at which the cumulative denominator counted back from ``t`` reaches ``min_visits`` (``k`` when it never
    does), cut at the first day.
    """
    for r in numba.prange(den.shape[0]):
        _backfill_row(den[r], nums[r], k, min_visits, out_den[r], out_nums[r])


def backfill(den: np.ndarray, nums: np.ndarray, k: int, min_visits: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`backfill_sums` on new arrays.

    Examples
    --------
    >>> den = np.array([[300.0, 0.0, 100.0, 600.0]])
    >>> nums = np.array([[[3.0, 0.0, 1.0, 6.0]]])
    >>> new_den, new_nums = backfill(den, nums, k=2, min_visits=500)
    >>> new_den.tolist(), new_nums.tolist()
    ([[300.0, 300.0, 400.0, 600.0]], [[[3.0, 3.0, 4.0, 6.0]]])
    """
    den = np.ascontiguousarray(den, dtype=np.float64)
    nums = np.ascontiguousarray(nums, dtype=np.float64)
    out_den = np.empty_like(den)
    out_nums = np.empty_like(nums)
    backfill_sums(den, nums, int(k), float(min_visits), out_den, out_nums)
    return out_den, out_nums
