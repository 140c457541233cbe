"""The CSR kernel against a plain one-member-at-a-time loop: bit-identical, whatever the time chunking."""

import numpy as np
import pytest

from delphi_signals.geo.kernels import csr_weighted_sum


def reference(x, indptr, indices, weights, power):
    """Σ (w·x)**power and Σ w over the non-NaN members, added in CSR order one member at a time."""
    n_rows, n_time = len(indptr) - 1, x.shape[1]
    total, wsum = np.zeros((n_rows, n_time)), np.zeros((n_rows, n_time))
    for r in range(n_rows):
        for k in range(indptr[r], indptr[r + 1]):
            for t in range(n_time):
                v = x[indices[k], t]
                if not np.isnan(v):
                    total[r, t] += (weights[k] * v) ** 2 if power == 2 else weights[k] * v
                    wsum[r, t] += weights[k]
    total[wsum == 0] = np.nan
    return total, wsum


@pytest.mark.parametrize("power", [1, 2])
def test_unrolled_kernel_is_bit_identical_to_member_order_sum(power):
    rng = np.random.default_rng(7)
    # rows of 0..11 members: the 4-member sweeps, their remainders, and an empty row
    sizes = np.arange(12)
    indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n_geo, n_time = 40, 37  # odd length: vector body and remainder loop both run
    indices = np.concatenate([np.sort(rng.choice(n_geo, s, replace=False)) for s in sizes]).astype(np.int64)
    weights = rng.uniform(0.01, 2.0, len(indices))
    x = rng.normal(0, 1e3, (n_geo, n_time)) * rng.uniform(1e-6, 1e6, (n_geo, 1))
    x[rng.random(x.shape) < 0.3] = np.nan
    x[:, 5] = np.nan  # a time step with no data at all
    want_total, want_wsum = reference(x, indptr, indices, weights, power)
    total, wsum = np.empty_like(want_total), np.empty_like(want_wsum)
    csr_weighted_sum(x, indptr, indices, weights, power, total, wsum)
    np.testing.assert_array_equal(total, want_total)  # NaN where NaN, every other bit equal
    np.testing.assert_array_equal(wsum, want_wsum)
    assert np.isnan(total[0]).all() and np.isnan(total[:, 5]).all()
    # time chunks (the dask path) give the same bits
    for start in range(0, n_time, 8):
        stop = min(n_time, start + 8)
        part_total, part_wsum = np.empty((len(sizes), stop - start)), np.empty((len(sizes), stop - start))
        csr_weighted_sum(np.ascontiguousarray(x[:, start:stop]), indptr, indices, weights, power, part_total,
                         part_wsum)
        np.testing.assert_array_equal(part_total, total[:, start:stop])
        np.testing.assert_array_equal(part_wsum, wsum[:, start:stop])
