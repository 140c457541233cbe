"""The CSR kernels against plain one-member-at-a-time loops: bit-identical, whatever the time chunking."""

import numpy as np
import pytest

from delphi_signals.geo.kernels import csr_missing_codes, csr_weighted_sum
from delphi_signals.nancodes import Nans


def reference(x, indptr, indices, weights, power):
    """Σ (w·x)**power and Σ w over the non-NaN members, added in CSR order one member at a time."""
    n_rows, n_time = len(indptr) - 1, x.shape[1]
    total, wsum = np.zeros((n_rows, n_time)), np.zeros((n_rows, n_time))
    for r in range(n_rows):
        for k in range(indptr[r], indptr[r + 1]):
            for t in range(n_time):
                v = x[indices[k], t]
                if not np.isnan(v):
                    term = weights[k] * v
                    # a product, correctly rounded (scalar ``** 2`` goes through pow(), 1 ulp off at times)
                    total[r, t] += term * term if power == 2 else term
                    wsum[r, t] += weights[k]
    total[wsum == 0] = np.nan
    return total, wsum


@pytest.mark.parametrize("power", [1, 2])
def test_unrolled_kernel_is_bit_identical_to_member_order_sum(power):
    rng = np.random.default_rng(7)
    # rows of 0..22 members: the 8- and 4-member sweeps, their remainders, and an empty row
    sizes = np.arange(23)
    indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n_geo, n_time = 40, 301  # 8 + 2 x 128 + 37: every step of the row scan and a remainder run
    indices = np.concatenate([np.sort(rng.choice(n_geo, s, replace=False)) for s in sizes]).astype(np.int64)
    weights = rng.uniform(0.01, 2.0, len(indices))
    x = rng.normal(0, 1e3, (n_geo, n_time)) * rng.uniform(1e-6, 1e6, (n_geo, 1))
    x[rng.random(x.shape) < 0.3] = np.nan
    x[:, 5] = np.nan  # a time step with no data at all
    x[::3] = np.nan  # whole member rows without data (left out of the sweeps): every third row
    x[9, -1] = -0.0  # a row with data only in its last cell (after the last 128-cell scan step): a negative zero
    x[12, 200] = 1.5  # and one with data only inside the second 128-cell step
    want_total, want_wsum = reference(x, indptr, indices, weights, power)
    total, wsum = np.empty_like(want_total), np.empty_like(want_wsum)
    csr_weighted_sum(x, indptr, indices, weights, power, total, wsum)
    np.testing.assert_array_equal(total, want_total)  # NaN where NaN, every other bit equal
    np.testing.assert_array_equal(wsum, want_wsum)
    assert np.isnan(total[0]).all() and np.isnan(total[:, 5]).all()
    members = [indices[indptr[r]:indptr[r + 1]] for r in range(len(sizes))]
    without_data = [r for r, m in enumerate(members) if len(m) and (m % 3 == 0).all() and not {9, 12} & set(m)]
    assert without_data and all(np.isnan(total[r]).all() for r in without_data)
    with_nine = [r for r, m in enumerate(members) if 9 in m]
    assert with_nine and all(wsum[r, -1] > 0 for r in with_nine)  # the lone -0.0 counts as data
    with_twelve = [r for r, m in enumerate(members) if 12 in m]
    assert with_twelve and all(wsum[r, 200] > 0 for r in with_twelve)
    # time chunks (the dask path) give the same bits
    for start in range(0, n_time, 8):
        stop = min(n_time, start + 8)
        part_total, part_wsum = np.empty((len(sizes), stop - start)), np.empty((len(sizes), stop - start))
        csr_weighted_sum(np.ascontiguousarray(x[:, start:stop]), indptr, indices, weights, power, part_total,
                         part_wsum)
        np.testing.assert_array_equal(part_total, total[:, start:stop])
        np.testing.assert_array_equal(part_wsum, wsum[:, start:stop])


def test_a_variable_without_any_data_gives_nan_everywhere_never_zero():
    indptr, indices = np.array([0, 3, 3, 5], dtype=np.int64), np.array([0, 1, 2, 1, 3], dtype=np.int64)
    x = np.full((4, 270), np.nan)
    total, wsum = np.zeros((3, 270)), np.ones((3, 270))
    csr_weighted_sum(x, indptr, indices, np.ones(5), 2, total, wsum)
    assert np.isnan(total).all() and (wsum == 0).all()


def test_an_empty_time_block_with_fewer_rows_than_the_operator_writes_nothing():
    # dask probes a block function with a (0, 0) block: the operator's row numbers do not exist there
    indptr, indices = np.array([0, 2], dtype=np.int64), np.array([500, 9000], dtype=np.int64)
    total, wsum = np.empty((1, 0)), np.empty((1, 0))
    csr_weighted_sum(np.empty((0, 0)), indptr, indices, np.ones(2), 1, total, wsum)
    assert total.shape == (1, 0) and wsum.shape == (1, 0)


def codes_reference(codes, indptr, indices, values):
    """The rules one cell at a time: 0 where the aggregate is present, else the members' common code or OTHER."""
    out = np.empty(values.shape, dtype=np.int8)
    for r in range(len(indptr) - 1):
        members = codes[indices[indptr[r]:indptr[r + 1]]]
        for t in range(values.shape[1]):
            if not np.isnan(values[r, t]):
                out[r, t] = Nans.NOT_MISSING
            elif len(members) and len(set(members[:, t].tolist())) == 1 and members[0, t] != Nans.NOT_MISSING:
                out[r, t] = members[0, t]
            else:
                out[r, t] = Nans.OTHER
    return out


def test_missing_codes_match_the_cell_by_cell_rules():
    rng = np.random.default_rng(3)
    sizes = np.array([0, 1, 2, 3, 5, 9, 4, 1])
    indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n_geo, n_time = 12, 45
    indices = np.concatenate([np.sort(rng.choice(n_geo, s, replace=False)) for s in sizes]).astype(np.int64)
    codes = rng.choice(np.array([0, 1, 3, 4], dtype=np.int8), (n_geo, n_time), p=[0.2, 0.1, 0.6, 0.1])
    codes[:6] = Nans.CENSORED  # members that agree, so shared codes survive
    values = np.where(rng.random((len(sizes), n_time)) < 0.6, np.nan, 1.0)
    values[6] = 2.0  # a target present throughout: all 0 whatever its members say
    want = codes_reference(codes, indptr, indices, values)
    got = np.full(values.shape, -1, dtype=np.int8)
    csr_missing_codes(codes, indptr, indices, values, got)
    np.testing.assert_array_equal(got, want)
    assert (got[6] == 0).all() and (got[0][np.isnan(values[0])] == Nans.OTHER).all()
    assert (got == Nans.CENSORED).any()  # the shared-code rule was exercised
