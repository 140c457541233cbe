import numpy as np
import pandas as pd
import pytest
import xarray as xr

import delphi_signals as ds
from delphi_signals.errors import CubeContractError, InputError


def tidy(rows):
    return pd.DataFrame(rows, columns=["geo_value", "time_value", "value"])


def test_from_frame_makes_a_dense_valid_cube():
    cube = ds.from_frame(tidy([("06037", 20200301, 1.0), ("01001", 20200304, 2.0)]),
                         source="s", signal="x", geo_type="county")
    ds.check_cube(cube)
    assert cube.geo.values.tolist() == ["01001", "06037"]
    assert cube.sizes["time"] == 4
    assert np.isnan(cube.value.sel(geo="06037").values[1:]).all()
    assert int(cube.missing_value.sel(geo="06037", time="2020-03-02")) == ds.Nans.OTHER
    assert int(cube.missing_stderr.sel(geo="06037", time="2020-03-01")) == ds.Nans.NOT_APPLICABLE


def test_from_frame_accepts_dates_and_int_fips():
    df = pd.DataFrame({"geo_value": [1001, 1001], "time_value": pd.to_datetime(["2020-03-01", "2020-03-02"]),
                       "value": [1.0, 2.0]})
    cube = ds.from_frame(df, source="s", signal="x", geo_type="county")
    assert cube.geo.values.tolist() == ["01001"]


def test_duplicates_are_named():
    df = tidy([("ca", 20200301, 1.0), ("ca", 20200301, 2.0), ("pa", 20200302, 1.0)])
    with pytest.raises(InputError, match=r"1 duplicate \(geo_value, time_value\) pair\(s\): \('ca', 20200301\)"):
        ds.from_frame(df, source="s", signal="x", geo_type="state")


def test_missing_columns_are_named():
    with pytest.raises(InputError, match="lacks column.*value"):
        ds.from_frame(pd.DataFrame({"geo_value": ["ca"], "time_value": [20200301]}),
                      source="s", signal="x", geo_type="state")


def test_weekly_cube_has_epiweeks():
    cube = ds.from_frame(tidy([("ca", 202052, 1.0), ("ca", 202102, 3.0)]),
                         source="s", signal="x", geo_type="state", time_type="week")
    assert cube.epiweek.values.tolist() == [202052, 202053, 202101, 202102]
    assert (cube.indexes["time"].day_of_week == 6).all()


def test_to_frame_round_trips_with_codes(make_cube):
    cube = make_cube(n_geo=6, days=10, nan_fraction=0.3, seed=3)
    cube["missing_value"].values[0, 0] = ds.Nans.CENSORED
    cube["value"].values[0, 0] = np.nan
    frame = ds.to_frame(cube)
    assert len(frame) == int((~ds.empty_cells(cube)).sum())
    back = ds.from_frame(frame, source="test-source", signal="test_signal", geo_type="county")
    xr.testing.assert_identical(back.drop_attrs(), cube.sel(time=back.time).drop_attrs())


def test_to_frame_of_versioned_cube_has_issue(make_cube):
    a, b = make_cube(["01001", "01003"], days=3, seed=1), make_cube(["01001", "01003"], days=3, seed=2)
    versioned = xr.concat([a, b], dim=pd.Index(pd.to_datetime(["2020-03-05", "2020-03-06"]), name="issue"))
    versioned = versioned.transpose("geo", "time", "issue")
    ds.check_cube(versioned)
    frame = ds.to_frame(versioned)
    assert len(frame) == 12 and set(frame.issue) == set(versioned.indexes["issue"])


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda c: c.transpose("time", "geo"), "has dims"),
        (lambda c: c.assign(value=c.value.astype("float32")), "dtype float32"),
        (lambda c: c.isel(time=[0, 2]), "not dense"),
        (lambda c: c.assign_coords(geo=["1", "2"]), "not valid for county"),
        (lambda c: c.drop_attrs(), "missing attr 'source'"),
        (lambda c: c.assign(missing_value=c.missing_value + 1), "contradicts"),
    ],
)
def test_check_cube_names_the_breach(make_cube, breakage, message):
    cube = make_cube(n_geo=2, days=3)
    with pytest.raises(CubeContractError, match=message):
        ds.check_cube(breakage(cube))
