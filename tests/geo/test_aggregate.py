"""aggregate / per_capita / to_megacounty against independent computations (real JHU data and numpy)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from delphi_signals.cube import check_cube, new_cube
from delphi_signals.errors import InputError
from delphi_signals.geo import (UnmappedGeoWarning, aggregate, geo_values, geodata_dir, per_capita,
                                population, to_megacounty)
from delphi_signals.nancodes import Nans

JHU_STATE_NAMES = {"Virgin Islands": "U.S. Virgin Islands"}


def state_of_name():
    states = pd.read_csv(geodata_dir() / "states.csv", dtype=str)
    return dict(zip(states["state_name"], states["state_id"]))


def daily_new(frame, days):
    return frame[days].diff(axis=1).iloc[:, 1:]


def test_state_totals_equal_pandas_sums_of_each_states_rows(jhu_rows, jhu_cube):
    rows, days = jhu_rows
    mapped = rows.dropna(subset=["geo"])
    names = mapped["Province_State"].replace(JHU_STATE_NAMES).map(state_of_name())
    assert names.notna().all()
    expected = daily_new(mapped, days).groupby(names.to_numpy()).sum()  # includes Out of / Unassigned rows
    got = aggregate(jhu_cube, "state")
    check_cube(got)
    assert sorted(got.geo.values) == sorted(expected.index)
    np.testing.assert_array_equal(got.value.sel(geo=expected.index).values, expected.to_numpy())


def test_nation_total_is_the_sum_of_all_mapped_rows(jhu_rows, jhu_cube):
    rows, days = jhu_rows
    expected = daily_new(rows.dropna(subset=["geo"]), days).sum().to_numpy()
    got = aggregate(jhu_cube, "nation")
    assert got.geo.values.tolist() == ["us"]
    np.testing.assert_array_equal(got.value.values[0], expected)
    assert got.attrs["geo_type"] == "nation" and got.attrs["signal"] == jhu_cube.attrs["signal"]


@pytest.mark.parametrize("level", ["hrr", "msa"])
def test_hrr_and_msa_totals_equal_pandas_weighted_sums(level, jhu_cube):
    links = pd.read_csv(geodata_dir() / f"county_{level}.csv", dtype={"county": str, level: str})
    long = jhu_cube.value.to_series().rename("value").reset_index()
    merged = long.merge(links, left_on="geo", right_on="county")
    merged["value"] *= merged["weight"]
    expected = merged.groupby([level, "time"])["value"].sum().unstack("time")
    got = aggregate(jhu_cube, level)
    assert sorted(got.geo.values) == sorted(expected.index)
    np.testing.assert_allclose(got.value.sel(geo=expected.index).values, expected.to_numpy(), rtol=1e-12,
                               atol=1e-9)


def test_hhs_regions_sum_their_states(jhu_cube):
    states = aggregate(jhu_cube, "state")
    hhs = aggregate(jhu_cube, "hhs")
    via_states = aggregate(states, "hhs")
    np.testing.assert_allclose(hhs.value.values, via_states.value.sel(geo=hhs.geo).values, rtol=1e-12)


def test_all_missing_group_stays_missing_with_a_shared_code():
    cube = new_cube(["01001", "01003", "06037"], pd.date_range("2020-03-01", periods=2),
                    [[np.nan, 1.0], [np.nan, 2.0], [5.0, np.nan]], source="s", signal="x", geo_type="county",
                    missing_value=[[Nans.CENSORED, 0], [Nans.CENSORED, 0], [0, Nans.DELETED]])
    got = aggregate(cube, "state")
    assert got.value.sel(geo="al").values.tolist()[0] != 0.0
    assert np.isnan(got.value.sel(geo="al")[0])
    assert got.missing_value.sel(geo="al").values.tolist() == [Nans.CENSORED, Nans.NOT_MISSING]
    assert got.missing_value.sel(geo="ca").values.tolist() == [Nans.NOT_MISSING, Nans.DELETED]
    assert (got.missing_stderr == Nans.NOT_APPLICABLE).all()  # counts without stderr stay "not applicable"
    check_cube(got)


def test_mean_is_population_weighted_with_stderr_propagated():
    pop = population("county").sel(geo=["01001", "01003", "01000"]).values
    value = np.array([[10.0, 10.0], [20.0, np.nan], [99.0, 99.0]])
    se = np.array([[1.0, 1.0], [2.0, np.nan], [5.0, 5.0]])
    n = np.array([[100.0, 100.0], [50.0, np.nan], [7.0, 7.0]])
    cube = new_cube(["01001", "01003", "01000"], pd.date_range("2020-03-01", periods=2), value, se, n,
                    source="s", signal="pct", geo_type="county")
    got = aggregate(cube, "state", how="mean")
    a = pop[:2]  # the megacounty has no population: it cannot weigh in a mean
    assert got.value.values[0, 0] == pytest.approx((a[0] * 10 + a[1] * 20) / a.sum())
    assert got.value.values[0, 1] == pytest.approx(10.0)  # only 01001 (and the weightless 01000) had data
    assert got.stderr.values[0, 0] == pytest.approx(np.sqrt(a[0] ** 2 * 1 + a[1] ** 2 * 4) / a.sum())
    assert got.sample_size.values[0].tolist() == [157.0, 107.0]


def test_unknown_ids_warn_with_count_and_examples_and_strict_raises():
    cube = new_cube(["01001", "99998", "99999"], pd.date_range("2020-03-01", periods=1), [[1.0], [2.0], [3.0]],
                    source="s", signal="x", geo_type="county")
    with pytest.warns(UnmappedGeoWarning, match=r"2 county id\(s\) unknown .* state aggregate: 99998, 99999"):
        got = aggregate(cube, "state")
    assert got.value.values.tolist() == [[1.0]]
    with pytest.raises(InputError, match="field geo: 2 county id"):
        aggregate(cube, "state", strict=True)


def test_known_ids_without_a_region_do_not_warn(jhu_cube):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        aggregate(jhu_cube, "msa")  # rural counties and megacounties have no MSA: expected, not a warning


def test_dask_cube_chunked_along_time_gives_the_same_result(jhu_cube):
    lazy = jhu_cube.chunk({"time": 10})
    got = aggregate(lazy, "hrr")
    assert got.value.chunks is not None and len(got.value.chunks[1]) == len(lazy.value.chunks[1])
    eager = aggregate(jhu_cube, "hrr")
    xr.testing.assert_identical(got.compute(), eager)


def test_transposed_and_strided_input_gives_the_same_result(make_cube):
    cube = make_cube(list(geo_values("county")[::80]), days=30, nan_fraction=0.1, kind="count", seed=3)
    wide = cube.isel(time=slice(None, None, 2))  # strided along time
    assert not wide.value.values.flags.c_contiguous or wide.value.values.strides[1] != 8
    flipped = wide.transpose("time", "geo")
    expected = aggregate(wide.copy(deep=True).load(), "state")
    for variant in (wide, flipped):
        got = aggregate(variant, "state")
        np.testing.assert_array_equal(got.value.values, expected.value.values)
    direct = np.nansum(np.where(np.isnan(wide.value.values), 0, wide.value.values), axis=0)
    np.testing.assert_allclose(aggregate(wide, "nation").value.values[0], direct)


def test_zip_to_county_roundtrip_keeps_the_total():
    zips = geo_values("zip")[:500]
    cube = new_cube(zips, pd.date_range("2020-03-01", periods=1), np.ones((len(zips), 1)), source="s",
                    signal="x", geo_type="zip")
    counties = aggregate(cube, "county")
    states = aggregate(counties, "state")
    direct = aggregate(cube, "state")
    np.testing.assert_allclose(states.value.sel(geo=direct.geo).values, direct.value.values)


def test_per_capita_after_aggregation_counts_megacounty_cases_but_not_people(jhu_cube):
    states = per_capita(aggregate(jhu_cube, "state"))
    counts = aggregate(jhu_cube, "state").value.sel(geo="al")
    expected = counts / population("state").sel(geo="al").item() * 100_000
    np.testing.assert_allclose(states.value.sel(geo="al").values, expected.values)
    counties = per_capita(jhu_cube)
    mega = counties.sel(geo="01000")
    assert mega.value.isnull().all()
    assert (mega.missing_value.where(jhu_cube.value.sel(geo="01000").notnull()) == Nans.NOT_APPLICABLE).any()
    assert counties.attrs["units"] == "per 100,000 people"
    check_cube(counties)


def test_megacounty_matches_upstreams_example():
    # upstream test: visits [4, 1, 2, 5, 10], threshold 4, window 1 -> 01000 gets 4 + 1 + 2 = 7
    cube = new_cube(["01001"], pd.date_range("2020-03-01", periods=5), [[4, 1, 2, 5, 10]], source="s",
                    signal="visits", geo_type="county")
    mega = to_megacounty(cube, threshold=4, window=1)
    assert np.nansum(mega.value.sel(geo="01000").values) == 7
    assert np.nansum(mega.value.sel(geo="01001").values) == 15
    check_cube(mega)


def test_megacounty_window_is_a_calendar_window_and_totals_are_kept(make_cube):
    cube = make_cube(list(geo_values("county")[100:130]), days=20, kind="count", nan_fraction=0.1, seed=5)
    mega = to_megacounty(cube, threshold=300, window=7)
    np.testing.assert_allclose(aggregate(mega, "state").value.values, aggregate(cube, "state").value.values)
    county = cube.value.values[0]
    rolled = pd.Series(county).rolling(7, min_periods=1).sum().to_numpy()
    kept = mega.value.sel(geo=cube.geo.values[0]).notnull().values
    assert kept.any() and not kept.all()
    assert np.array_equal(kept, (rolled > 300) & ~np.isnan(county))


def public_constructor_copy(out):
    """The same result rebuilt through ``xr.Dataset(...)``: merge, alignment and new indexes from the values."""
    data = {name: (var.dims, var.values) for name, var in out.data_vars.items()}
    coords = {name: (var.dims, var.values) for name, var in out.coords.items()}
    return xr.Dataset(data, coords=coords, attrs=dict(out.attrs))


@pytest.mark.parametrize("time_type", ["day", "week"])
def test_result_is_the_dataset_the_public_constructor_builds(make_cube, time_type):
    cube = make_cube(list(geo_values("county")[::60]), days=9, nan_fraction=0.2, kind="count", seed=4,
                     time_type=time_type)
    cube["time"].attrs["note"] = "input attrs on coordinates are not carried over"
    out = aggregate(cube, "hrr")
    xr.testing.assert_identical(out, public_constructor_copy(out))
    xr.testing.assert_equal(out["time"], cube["time"].drop_attrs())
    assert out["time"].attrs == {} and out.xindexes["geo"].index.tolist() == out.geo.values.tolist()
    assert out.sel(geo=out.geo.values[-1]).value.shape == (cube.sizes["time"],)  # the index answers lookups
    check_cube(out)  # weekly: the epiweek coordinate is there and matches time
    if time_type == "week":
        np.testing.assert_array_equal(out["epiweek"].values, cube["epiweek"].values)


def test_results_share_no_mutable_state(jhu_cube):
    first = aggregate(jhu_cube, "state")
    first["geo"].attrs["touched"] = True
    first["time"].attrs["touched"] = True
    first.attrs["touched"] = True
    first["value"].values[:] = -1.0
    second = aggregate(jhu_cube, "state")
    assert "touched" not in second["geo"].attrs and "touched" not in second["time"].attrs
    assert "touched" not in second.attrs and "touched" not in jhu_cube.attrs
    assert (second["value"].values != -1.0).any()


def test_cubes_over_different_counties_get_their_own_operators(make_cube):
    counties = list(geo_values("county"))
    al, ak = [c for c in counties if c.startswith("01")][:5], [c for c in counties if c.startswith("02")][:5]
    for _ in range(2):  # second pass: both operators cached, each found for its own cube
        for ids, state in ((al, "al"), (ak, "ak"), (al + ak, None)):
            cube = make_cube(ids, days=3, kind="count", seed=len(ids))
            out = aggregate(cube, "state")
            want = {state} if state else {"al", "ak"}
            assert set(out.geo.values.tolist()) == want
            for s in want:
                members = [i for i, c in enumerate(ids) if c.startswith("01" if s == "al" else "02")]
                np.testing.assert_array_equal(out.value.sel(geo=s).values,
                                              np.nansum(cube.value.values[members], axis=0))


def test_coordinates_without_an_index_give_the_same_result(make_cube):
    cube = make_cube(list(geo_values("county")[::70]), days=6, nan_fraction=0.2, kind="count", seed=8)
    want = aggregate(cube, "state")
    for dropped in ("geo", "time"):  # geo: ids read from the values; time: the public constructor path
        bare = cube.drop_indexes(dropped)
        assert dropped not in bare.xindexes
        xr.testing.assert_identical(aggregate(bare, "state"), want)


@pytest.mark.parametrize("level,how", [("state", "sum"), ("msa", "sum"), ("hrr", "mean"), ("nation", "sum")])
def test_a_quantity_the_cube_was_built_without_aggregates_as_a_materialised_copy_does(jhu_cube, level, how):
    """The shortcut for an all-missing stderr/sample_size gives what the kernels give on the same NaNs."""
    from delphi_signals.cube import is_all_missing

    built = new_cube(jhu_cube.geo.values, jhu_cube.time.values, jhu_cube.value.values,
                     source="jhu-csse", signal="x", geo_type="county")
    built["missing_stderr"].values[:5, :3] = Nans.CENSORED  # members that disagree on a code give OTHER
    assert is_all_missing(built.stderr.values) and is_all_missing(built.sample_size.values)
    materialised = built.copy(deep=True)
    assert not is_all_missing(materialised.stderr.values)
    got, expected = aggregate(built, level, how), aggregate(materialised, level, how)
    check_cube(got)
    xr.testing.assert_identical(got, expected)
    assert is_all_missing(got.stderr.values) and is_all_missing(got.sample_size.values)
    assert set(np.unique(got.missing_stderr.values)) <= {Nans.NOT_APPLICABLE, Nans.CENSORED, Nans.OTHER}
