"""Invariants of aggregation, for any data (hypothesis)."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from delphi_signals.cube import new_cube
from delphi_signals.geo import aggregate

# counties of two states, one of them (02xxx) split across HRRs by weight
GEO = ["01001", "01003", "01005", "01000", "02063", "02066", "02158", "02261"]
LEVELS = st.sampled_from(["state", "hrr", "hhs", "nation"])
finite = st.floats(-1e6, 1e6, allow_nan=False)
cells = st.one_of(finite, st.just(np.nan))


def cube_of(value, stderr=None):
    return new_cube(GEO, pd.date_range("2020-03-01", periods=value.shape[1]), value, stderr, source="p",
                    signal="x", geo_type="county")


grids = arrays(np.float64, st.tuples(st.just(len(GEO)), st.integers(1, 6)), elements=cells)


@settings(max_examples=40, deadline=None)
@given(grids, LEVELS, st.sampled_from(["sum", "mean"]))
def test_all_missing_region_gives_nan(value, level, how):
    value[:4] = np.nan  # every Alabama county and its megacounty
    out = aggregate(cube_of(value), level, how=how)
    if "al" in out.geo.values:
        assert out.value.sel(geo="al").isnull().all()
    weighing = value if how == "sum" else np.delete(value, GEO.index("01000"), axis=0)  # no population
    members_missing = np.isnan(weighing).all(axis=0)
    if level == "nation":
        assert np.array_equal(out.value.isnull().values[0], members_missing)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (len(GEO), 4), elements=finite), arrays(np.float64, (len(GEO), 4), elements=finite),
       st.floats(-100, 100, allow_nan=False), LEVELS)
def test_sum_is_linear(x, y, a, level):
    lhs = aggregate(cube_of(a * x + y), level).value.values
    rhs = a * aggregate(cube_of(x), level).value.values + aggregate(cube_of(y), level).value.values
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9, atol=1e-4)  # values reach 1e9


@settings(max_examples=40, deadline=None)
@given(finite, grids, LEVELS)
def test_mean_of_a_constant_is_the_constant(c, holes, level):
    value = np.where(np.isnan(holes), np.nan, c)
    out = aggregate(cube_of(value), level, how="mean").value.values
    present = ~np.isnan(out)
    np.testing.assert_allclose(out[present], c, rtol=1e-12, atol=1e-9)
