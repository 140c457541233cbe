"""Invariants of aggregation, for any data (hypothesis)."""

from functools import lru_cache

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from delphi_signals.cube import new_cube
from delphi_signals.geo import aggregate, geodata_dir

# counties of two states, one of them (02xxx) split across HRRs by weight
GEO = ["01001", "01003", "01005", "01000", "02063", "02066", "02158", "02261"]
LEVELS = st.sampled_from(["state", "hrr", "hhs", "nation"])
finite = st.floats(-1e6, 1e6, allow_nan=False)
cells = st.one_of(finite, st.just(np.nan))


def cube_of(value, stderr=None):
    return new_cube(GEO, pd.date_range("2020-03-01", periods=value.shape[1]), value, stderr, source="p",
                    signal="x", geo_type="county")


grids = arrays(np.float64, st.tuples(st.just(len(GEO)), st.integers(1, 6)), elements=cells)


@lru_cache(maxsize=None)
def members(level: str, how: str) -> dict[str, list[int]]:
    """Region -> rows of GEO that weigh in it, read from the geodata tables with pandas.

    A county weighs in a region when its share is positive and, for means, when it has people (a megacounty
    ``SS000`` has none).
    """
    counties = pd.read_csv(geodata_dir() / "counties.csv", dtype={"county": str})
    counties = counties[counties["county"].isin(GEO)]
    if level == "hrr":
        links = pd.read_csv(geodata_dir() / "county_hrr.csv", dtype={"county": str, "hrr": str})
        links = links[links["county"].isin(GEO) & (links["weight"] > 0)].rename(columns={"hrr": "region"})
    elif level == "hhs":
        states = pd.read_csv(geodata_dir() / "states.csv", dtype={"hhs": str})
        links = counties.merge(states[["state_id", "hhs"]], on="state_id").rename(columns={"hhs": "region"})
    elif level == "state":
        links = counties.rename(columns={"state_id": "region"})
    else:
        links = counties.assign(region="us")
    if how == "mean":
        people = counties.set_index("county")["population"]
        links = links[links["county"].map(people).fillna(0).to_numpy() > 0]
    return {region: sorted(GEO.index(c) for c in group["county"]) for region, group in links.groupby("region")}


@settings(max_examples=40, deadline=None)
@given(grids, LEVELS, st.sampled_from(["sum", "mean"]))
def test_all_missing_region_gives_nan(value, level, how):
    value[:4] = np.nan  # every Alabama county and its megacounty
    out = aggregate(cube_of(value), level, how=how)
    expected = members(level, how)
    assert sorted(out.geo.values.tolist()) == sorted(expected)
    only_alabama = [region for region, rows in expected.items() if max(rows) < 4]
    assert level == "nation" or only_alabama  # at every sub-national level some region is Alabama's alone
    for region, rows in expected.items():
        all_missing = np.isnan(value[rows]).all(axis=0)
        got = out.value.sel(geo=region).values
        np.testing.assert_array_equal(np.isnan(got), all_missing, err_msg=f"{level} {region}")
        if region in only_alabama:
            assert np.isnan(got).all()
            assert (out.missing_value.sel(geo=region).values != 0).all()


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
