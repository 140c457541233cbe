"""The helpers a new indicator's author needs: states and counties by name, the county splits, blanking cells."""

import numpy as np
import pandas as pd
import pytest

from delphi_signals.cube import blank, is_all_missing, new_cube
from delphi_signals.errors import InputError, UnknownNameError
from delphi_signals.geo import (COUNTY_SPLITS, county_ids, county_split, geo_values, spread_to_counties, state_fips,
                                state_ids, state_table)
from delphi_signals.nancodes import Nans


def test_every_state_is_found_by_name_abbreviation_and_fips_in_any_case():
    table = state_table()
    ids = table["state_id"].to_numpy(dtype=str)
    assert sorted(ids) == sorted(geo_values("state"))
    for spelling in (table["state_name"].str.upper(), table["state_id"].str.upper(), table["state_code"],
                     table["state_code"].astype(int)):
        assert state_ids(spelling.to_numpy()).tolist() == ids.tolist()
    assert state_fips(ids).tolist() == table["state_code"].tolist()


def test_unknown_states_are_named_or_left_empty():
    with pytest.raises(InputError, match="unknown state\\(s\\): Atlantis, Diamond Princess"):
        state_ids(["Ohio", "Diamond Princess", "Atlantis"])
    assert state_ids(np.array([["Ohio", "Atlantis"]]), unknown="empty").tolist() == [["oh", ""]]


def test_counties_by_name_within_their_state():
    assert county_ids(["Los Angeles", "Orleans Parish", "Jackson", "Jackson"], ["CA", "Louisiana", "MO", "mississippi"]
                      ).tolist() == ["06037", "22071", "29095", "28059"]
    with pytest.raises(InputError, match="unknown county name\\(s\\): kansas city \\(mo\\)"):
        county_ids(["Kansas City"], ["MO"])


def test_county_splits_keep_the_totals_and_are_what_jhu_applies():
    from delphi_signals.indicators.jhu.constants import UID_SPLITS

    assert UID_SPLITS == {84070002: COUNTY_SPLITS[("ma", "dukes and nantucket")],
                          84070003: COUNTY_SPLITS[("mo", "kansas city")]}
    for weights in COUNTY_SPLITS.values():
        assert sum(weights.values()) == pytest.approx(1.0)
    rows = pd.DataFrame({"area": ["Kansas City", "Dukes and Nantucket", "Jackson"], "state": ["MO", "MA", "MO"],
                         "value": [100.0, 10.0, 5.0], "deaths": [4.0, 0.0, 1.0], "geo_value": ["", "", "29095"]})
    out = spread_to_counties(rows, area="area", state="state", values=("value", "deaths"))
    assert len(out) == 1 + 4 + 2 and out["value"].sum() == pytest.approx(115.0) and out["deaths"].sum() == pytest.approx(5.0)
    assert sorted(out.geo_value) == sorted(["29095", *county_split("Kansas City", "Missouri"),
                                            *county_split("dukes and nantucket", "25")])
    with pytest.raises(UnknownNameError, match="unknown split area"):
        county_split("Kansas City", "KS")


def test_blank_empties_cells_with_their_code_on_numpy_and_dask_cubes():
    cube = new_cube(["ak", "al"], pd.date_range("2020-06-01", periods=3), [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]],
                    stderr=np.ones((2, 3)), source="x", signal="y", geo_type="state")
    for version in (cube, cube.chunk({"geo": 1})):
        out = blank(version, version.value > 4, Nans.CENSORED).compute()
        assert np.isnan(out.value.values).tolist() == [[False, False, False], [False, True, True]]
        assert out.missing_value.values.tolist() == [[0, 0, 0], [0, 3, 3]]
        assert out.missing_stderr.values.tolist() == [[0, 0, 0], [0, 3, 3]]
    counts = new_cube(["ak"], pd.date_range("2020-06-01", periods=2), [[1.0, 7.0]], source="x", signal="y",
                      geo_type="state")  # stderr and sample size: one broadcast NaN each
    blanked = blank(counts, counts.value > 4, Nans.CENSORED)
    assert is_all_missing(blanked.stderr.data) and blanked.missing_stderr.values.tolist() == [[1, 3]]
    by_region = blank(cube, cube.geo == "ak", Nans.REGION_EXCEPTION, quantities=("value",))
    assert by_region.missing_value.values.tolist() == [[2, 2, 2], [0, 0, 0]]
    assert by_region.stderr.values.tolist() == cube.stderr.values.tolist()
    assert cube.epi.blank(cube.value < 2).missing_value.values.tolist()[0] == [5, 0, 0]
    with pytest.raises(InputError, match="other than NOT_MISSING"):
        blank(cube, cube.value > 0, Nans.NOT_MISSING)
