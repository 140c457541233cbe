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
    ``weight_of_valid`` 0. ``power`` is 1 (sums, means) or 2 (variances of sums, for standard errors).
    """
    n_time = x.shape[1]
    for r in range(indptr.shape[0] - 1):
        acc = total[r]
        wsum = weight_of_valid[r]
        acc[:] = 0.0
        wsum[:] = 0.0
        count = np.zeros(n_time, dtype=np.int32)
        for k in range(indptr[r], indptr[r + 1]):
            row = x[indices[k]]
            w = weights[k]
            for t in range(n_time):
                v = row[t]
                valid = not np.isnan(v)
                term = w * v if power == 1 else (w * v) * (w * v)
                acc[t] += term if valid else 0.0
                wsum[t] += w if valid else 0.0
                count[t] += 1 if valid else 0
        for t in range(n_time):
            if count[t] == 0:
                acc[t] = np.nan


@nb.njit(
    [nb.void(nb.int8[:, ::1], nb.int64[::1], nb.int64[::1], nb.int8[:, ::1])],
    cache=True, nogil=True,
)
def csr_common_code(codes, indptr, indices, out):
    """``out[r, t]``: the missing code every member of ``r`` shares at ``t``, else OTHER (5).

    A target with no members gets OTHER. Used only where the aggregated quantity came out NaN.
    """
    n_time = codes.shape[1]
    for r in range(indptr.shape[0] - 1):
        start, stop = indptr[r], indptr[r + 1]
        if start == stop:
            out[r, :] = _OTHER
            continue
        out[r, :] = codes[indices[start]]
        for k in range(start + 1, stop):
            row = codes[indices[k]]
            for t in range(n_time):
                if row[t] != out[r, t]:
                    out[r, t] = _OTHER
