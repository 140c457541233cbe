"""Revision profiles from real JHU versions (North Carolina counties were revised between them)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from delphi_signals.analytics.revisions import completeness_by_lag, plot_revision_profile, revision_profile
from delphi_signals.epidata import Epidata
from delphi_signals.errors import InputError
from jhuversions import VERSIONS, read_counties, rows_for, version_path
from metarows import load

NC = {"37": "nc"}
FIRST, LAST = dt.date(2020, 9, 1), dt.date(2020, 9, 8)
ISSUES = [dt.date(2020, 9, 10), dt.date(2020, 9, 30), dt.date(2020, 11, 12), dt.date(2020, 12, 1)]


@pytest.fixture(scope="module")
def nc_versions(realdata):
    return {suffix: read_counties(version_path(realdata, suffix), NC) for suffix in VERSIONS}


def test_profile_matches_the_versions(db_url, nc_versions, tmp_path):
    db = Epidata(db_url)
    for suffix, issue in VERSIONS.items():
        load(db.engine, rows_for(nc_versions[suffix], FIRST, LAST, issue, prefixes=NC))
    cube = db.fetch("jhu-csse", "confirmed_cumulative_num", "county", geo_values=["37141"],
                    issues=("2020-09-01", "2020-12-31"))
    profile = revision_profile(cube, "37141", anchor_lag=60)
    assert len(profile) == 8 * 4
    by_version = pd.DataFrame({issue: nc_versions[s].loc["37141", FIRST:LAST] for s, issue in
                               zip(VERSIONS, ISSUES)})  # rows: days, columns: issue dates
    # t + 60 days falls between the 09-30 and the 11-12 issue for every day: the 09-30 version is the anchor
    anchor = by_version[ISSUES[1]]
    for row in profile.itertuples():
        day, issue = row.time_value.date(), row.issue.date()
        assert row.value == by_version.loc[day, issue]
        assert row.lag == (issue - day).days
        assert row.is_anchor == (issue == ISSUES[1])
        assert row.value_completeness == pytest.approx(by_version.loc[day, issue] / anchor[day])
    revised = profile[profile["issue"] == pd.Timestamp(ISSUES[2])]
    assert (revised["value_completeness"] > 1).all()  # the 11-11 version raised every one of these days
    change = (by_version[ISSUES[2]] - by_version[ISSUES[1]]) / by_version[ISSUES[1]]
    np.testing.assert_allclose(revised["value_rel_change"].to_numpy(), change.to_numpy())
    later = revision_profile(cube, "37141", anchor_lag=80)  # now t + 80 reaches the 11-12 issue
    assert later.loc[later["is_anchor"], "issue"].unique().tolist() == [pd.Timestamp(ISSUES[2])]
    summary = completeness_by_lag(profile)
    first_day = profile[profile["time_value"] == pd.Timestamp(FIRST)]
    assert summary.loc[9, "count"] == 1 and summary.loc[9, "median"] == first_day["value_completeness"].iloc[0]
    png = plot_revision_profile(profile, tmp_path / "revisions.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(InputError, match="versioned cube"):
        revision_profile(db.fetch("jhu-csse", "confirmed_cumulative_num", "county"), "37141")
    with pytest.raises(InputError, match="geo '99999'"):
        revision_profile(cube, "99999")
    db.engine.dispose()
