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
_OTHER = 5  # Nans.OTHER (kept literal: kernels take no Python objects)


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
    """
    n = x.shape[1]
    for r in range(indptr.shape[0] - 1):
        acc = total[r]
        wsum = weight_of_valid[r]
        for t in range(n):
            acc[t] = 0.0
            wsum[t] = 0.0
        k, stop = indptr[r], indptr[r + 1]
        # four members per sweep over time: acc and wsum are read and written once per four member rows.
        # The additions stay in member order, ((acc + a0) + a1) + ..., so every cell is bit-identical to
        # the one-member-at-a-time sum (1.3-1.5x faster; hrr, 5,180 members, 14 -> 9 ms for 3 variables)
        while k + 4 <= stop:
            x0, x1 = x[indices[k]], x[indices[k + 1]]
            x2, x3 = x[indices[k + 2]], x[indices[k + 3]]
            w0, w1, w2, w3 = weights[k], weights[k + 1], weights[k + 2], weights[k + 3]
            # two copies of each loop so the innermost one has no branch on power (it vectorizes)
            if power == 1:
                for t in range(n):
                    v0, v1, v2, v3 = x0[t], x1[t], x2[t], x3[t]
                    ok0, ok1 = not np.isnan(v0), not np.isnan(v1)
                    ok2, ok3 = not np.isnan(v2), not np.isnan(v3)
                    acc[t] = (((acc[t] + (w0 * v0 if ok0 else 0.0)) + (w1 * v1 if ok1 else 0.0))
                              + (w2 * v2 if ok2 else 0.0)) + (w3 * v3 if ok3 else 0.0)
                    wsum[t] = (((wsum[t] + (w0 if ok0 else 0.0)) + (w1 if ok1 else 0.0))
                               + (w2 if ok2 else 0.0)) + (w3 if ok3 else 0.0)
            else:
                for t in range(n):
                    v0, v1, v2, v3 = x0[t], x1[t], x2[t], x3[t]
                    ok0, ok1 = not np.isnan(v0), not np.isnan(v1)
                    ok2, ok3 = not np.isnan(v2), not np.isnan(v3)
                    acc[t] = (((acc[t] + ((w0 * v0) * (w0 * v0) if ok0 else 0.0))
                               + ((w1 * v1) * (w1 * v1) if ok1 else 0.0))
                              + ((w2 * v2) * (w2 * v2) if ok2 else 0.0)) \
                        + ((w3 * v3) * (w3 * v3) if ok3 else 0.0)
                    wsum[t] = (((wsum[t] + (w0 if ok0 else 0.0)) + (w1 if ok1 else 0.0))
                               + (w2 if ok2 else 0.0)) + (w3 if ok3 else 0.0)
            k += 4
        while k < stop:
            row = x[indices[k]]
            w = weights[k]
            if power == 1:
                for t in range(n):
                    v = row[t]
                    valid = not np.isnan(v)
                    acc[t] += w * v if valid else 0.0
                    wsum[t] += w if valid else 0.0
            else:
                for t in range(n):
                    v = row[t]
                    valid = not np.isnan(v)
                    acc[t] += (w * v) * (w * v) if valid else 0.0
                    wsum[t] += w if valid else 0.0
            k += 1
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
    """
    n_time = codes.shape[1]
    for r in range(indptr.shape[0] - 1):
        start, stop = indptr[r], indptr[r + 1]
        if start == stop:
            out[r, :] = _OTHER
        else:
            out[r, :] = codes[indices[start]]
            for k in range(start + 1, stop):
                row = codes[indices[k]]
                for t in range(n_time):
                    if row[t] != out[r, t]:
                        out[r, t] = _OTHER
        for t in range(n_time):
            if not np.isnan(values[r, t]):
                out[r, t] = 0
            elif out[r, t] == 0:
                out[r, t] = _OTHER
