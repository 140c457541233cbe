"""Numba kernels of geo aggregation: one fused pass over a CSR operator, NaN-aware.

No xarray, no pandas here. Arrays are ``(geo, time)``, C-contiguous (the callers guarantee it with
``np.ascontiguousarray``); the operator is CSR: target row ``r`` gathers source rows
``indices[indptr[r]:indptr[r+1]]`` with ``weights`` of the same slice.
"""

from __future__ import annotations

import numba as nb
import numpy as np

# no fastmath: "contract" (FMA) in the vector body but not the remainder loop made results depend on the
# time chunking (dask results differed from numpy by 1e-13); without flags the kernel is ~1.5x slower, still
# far inside the targets
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
    n_time = x.shape[1]
    for r in range(indptr.shape[0] - 1):
        acc = total[r]
        wsum = weight_of_valid[r]
        acc[:] = 0.0
        wsum[:] = 0.0
        for k in range(indptr[r], indptr[r + 1]):
            row = x[indices[k]]
            w = weights[k]
            # two copies of the loop so the innermost one has no branch on power (it vectorizes)
            if power == 1:
                for t in range(n_time):
                    v = row[t]
                    valid = not np.isnan(v)
                    acc[t] += w * v if valid else 0.0
                    wsum[t] += w if valid else 0.0
            else:
                for t in range(n_time):
                    v = row[t]
                    valid = not np.isnan(v)
                    acc[t] += (w * v) * (w * v) if valid else 0.0
                    wsum[t] += w if valid else 0.0
        for t in range(n_time):
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
