"""Numba kernels of geo aggregation: one fused pass over a CSR operator, NaN-aware.

No xarray, no pandas here. Arrays are ``(geo, time)``, C-contiguous (the callers guarantee it with
``np.ascontiguousarray``); the operator is CSR: target row ``r`` gathers source rows
``indices[indptr[r]:indptr[r+1]]`` with ``weights`` of the same slice.

Every output cell is summed over its members in CSR order whatever the time chunking, so numpy-backed and
dask-backed (chunked along time) results are bit-identical.

Serial on purpose. A ``prange`` driver over target rows (time split in blocks when rows are few) was tried
on the 2-core machine: 2x faster when the machine is idle (hrr 8.7 -> 4.6 ms for 3 variables), but while
another process keeps a core busy every parallel call waits for a scheduler slice and took 8, 16 or 24 ms
(2-3x slower than serial, and worse than the pre-unrolled kernel). The serial kernel degrades with load
the way the single-threaded pandas reference does.
"""

from __future__ import annotations

import numba as nb
import numpy as np

# no fastmath at all: "contract" (FMA) in the vector body but not the remainder loop made results depend on
# the time chunking (dask results differed from numpy by 1e-13), and fastmath=True folds the isnan tests.
# The loops vectorize without flags: every time step is independent (no reduction across t).
# Each array is read once per call: on a county cube (3,276 x 314, 8 MB a variable) the weighted pass took
# about 1.1x and the all-NaN scan about 1.5x a plain streaming sum of the same 8 MB (measured side by side).
# Reading less is not allowed: only the values say whether a variable is all NaN (the codes are not trusted
# for it; values win over codes, as in nancodes.repair_codes).
_OTHER = 5  # Nans.OTHER (kept literal: kernels take no Python objects)


@nb.njit(inline="always")
def _has_data(row) -> bool:
    """Whether ``row`` holds a non-NaN.

    The first cache line (8 cells) alone, since a row with data usually has it there; then 128 cells per
    step without a branch (so the step vectorizes), exiting at the first step with data.
    """
    n = row.shape[0]
    for t in range(min(n, 8)):
        if row[t] == row[t]:
            return True
    t = 8
    while t + 128 <= n:
        found = False
        for j in range(t, t + 128):
            found |= row[j] == row[j]
        if found:
            return True
        t += 128
    for j in range(t, n):
        if row[j] == row[j]:
            return True
    return False


@nb.njit(inline="always")
def _any_nan(row) -> bool:
    found = False
    for t in range(row.shape[0]):
        found |= row[t] != row[t]
    return found


@nb.njit(inline="always")
def _add(acc, wsum, v, w, power):
    """One member's term: ``acc + (w·v)**power`` and ``wsum + w`` where ``v`` is a number, else both as they were.

    Selects, not branches (``power`` is the same for the whole call), so the loops over time vectorize.
    """
    present = v == v
    term = w * v
    if power == 2:
        term = term * term
    return acc + (term if present else 0.0), wsum + (w if present else 0.0)


@nb.njit(
    [nb.void(nb.float64[:, ::1], nb.int64[::1], nb.int64[::1], nb.float64[::1], nb.int64,
             nb.float64[:, ::1], nb.float64[:, ::1])],
    cache=True, nogil=True,
)
def csr_weighted_sum(x, indptr, indices, weights, power, total, weight_of_valid):
    """``total[r, t] = Σ_k (w_k·x[k, t])**power`` and ``weight_of_valid[r, t] = Σ_k w_k`` over non-NaN x.

    NaN rule: NaN members are skipped; a cell with no non-NaN member gets ``total`` NaN (never 0) and
    ``weight_of_valid`` 0. Weights must be positive (callers drop zero weights), so ``weight_of_valid > 0``
    exactly when some member had data. ``power`` is 1 (sums, means) or 2 (variances, for standard errors).

    The additions run in member order, ``(((acc + a0) + a1) + a2) ...``, eight members per sweep over time
    (then four, then one): ``acc`` and ``wsum`` are read and written once per eight member rows, and every
    cell is bit-identical to the one-member-at-a-time sum. A member whose row is all NaN adds exactly
    ``+0.0`` everywhere, so it is left out: the rows the operator uses are checked once, in row order, and an
    all-NaN variable (the stderr of a count) costs one streaming scan instead of a weighted pass.
    """
    n = x.shape[1]
    if n == 0:  # nothing to write (dask probes a function with an empty block, fewer rows than the operator)
        return
    with_data = np.zeros(x.shape[0], dtype=np.bool_)
    for k in range(indices.shape[0]):
        with_data[indices[k]] = True
    for i in range(x.shape[0]):
        if with_data[i]:
            with_data[i] = _has_data(x[i])
    longest = 0
    for r in range(indptr.shape[0] - 1):
        longest = max(longest, indptr[r + 1] - indptr[r])
    rows = np.empty(longest, dtype=np.int64)  # one target's members with data, in CSR order
    ws = np.empty(longest, dtype=np.float64)
    for r in range(indptr.shape[0] - 1):
        acc = total[r]
        wsum = weight_of_valid[r]
        acc[:] = 0.0
        wsum[:] = 0.0
        stop = 0
        for k in range(indptr[r], indptr[r + 1]):
            if with_data[indices[k]]:
                rows[stop] = indices[k]
                ws[stop] = weights[k]
                stop += 1
        m = 0
        while m + 8 <= stop:
            x0, x1, x2, x3 = x[rows[m]], x[rows[m + 1]], x[rows[m + 2]], x[rows[m + 3]]
            x4, x5, x6, x7 = x[rows[m + 4]], x[rows[m + 5]], x[rows[m + 6]], x[rows[m + 7]]
            w0, w1, w2, w3 = ws[m], ws[m + 1], ws[m + 2], ws[m + 3]
            w4, w5, w6, w7 = ws[m + 4], ws[m + 5], ws[m + 6], ws[m + 7]
            for t in range(n):
                a, s = _add(acc[t], wsum[t], x0[t], w0, power)
                a, s = _add(a, s, x1[t], w1, power)
                a, s = _add(a, s, x2[t], w2, power)
                a, s = _add(a, s, x3[t], w3, power)
                a, s = _add(a, s, x4[t], w4, power)
                a, s = _add(a, s, x5[t], w5, power)
                a, s = _add(a, s, x6[t], w6, power)
                acc[t], wsum[t] = _add(a, s, x7[t], w7, power)
            m += 8
        if m + 4 <= stop:
            x0, x1, x2, x3 = x[rows[m]], x[rows[m + 1]], x[rows[m + 2]], x[rows[m + 3]]
            w0, w1, w2, w3 = ws[m], ws[m + 1], ws[m + 2], ws[m + 3]
            for t in range(n):
                a, s = _add(acc[t], wsum[t], x0[t], w0, power)
                a, s = _add(a, s, x1[t], w1, power)
                a, s = _add(a, s, x2[t], w2, power)
                acc[t], wsum[t] = _add(a, s, x3[t], w3, power)
            m += 4
        while m < stop:
            x0, w0 = x[rows[m]], ws[m]
            for t in range(n):
                acc[t], wsum[t] = _add(acc[t], wsum[t], x0[t], w0, power)
            m += 1
        for t in range(n):
            if wsum[t] == 0.0:
                acc[t] = np.nan


@nb.njit(
    [nb.void(nb.int8[:, ::1], nb.int64[::1], nb.int64[::1], nb.float64[:, ::1], nb.int8[:, ::1])],
    cache=True, nogil=True,
)
def csr_missing_codes(codes, indptr, indices, values, out):
    """Missing codes of aggregated ``values``: 0 where present; where NaN, the code all members share.

    Members disagreeing, all members "not missing" (the NaN came from the aggregation itself) or no
    members at all give OTHER (5): the rules of :func:`delphi_signals.nancodes.repair_codes`, fused here.
    A target present at every time step is all 0 whatever its members say, so their codes are not read.
    """
    n_time = codes.shape[1]
    for r in range(indptr.shape[0] - 1):
        start, stop = indptr[r], indptr[r + 1]
        shared = out[r]
        value = values[r]
        if not _any_nan(value):
            shared[:] = 0
            continue
        if start == stop:
            shared[:] = _OTHER
        else:
            shared[:] = codes[indices[start]]
            for k in range(start + 1, stop):
                row = codes[indices[k]]
                for t in range(n_time):  # a select, not a branch: the loop vectorizes
                    shared[t] = shared[t] if row[t] == shared[t] else _OTHER
        for t in range(n_time):
            code = shared[t] if shared[t] != 0 else _OTHER
            shared[t] = code if np.isnan(value[t]) else 0
