"""Revision profiles from real JHU versions (North Carolina counties were revised between them)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from delphi_signals.analytics.revisions import (
    completeness_by_lag,
    plot_revision_profile,
    revision_profile,
    revision_report,
    write_revision_report,
)
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


def test_nightly_report_pools_every_location_as_plain_pandas_does(db_url, nc_versions, tmp_path):
    """Four real versions of the NC county series as issues; the report's completeness by lag against a plain
    pandas computation (value ÷ the newest issue's value, per county and day, pooled by lag)."""
    db = Epidata(db_url)
    frames = []
    for suffix, issue in VERSIONS.items():
        rows = rows_for(nc_versions[suffix], FIRST, LAST, issue, prefixes=NC)
        frames.append(rows)
        load(db.engine, rows)
    run = dt.date(2020, 12, 1)
    report = revision_report(db.engine, run, {"jhu-csse": ["confirmed_cumulative_num", "not_stored"]}, days=100,
                             anchor_lag=200)
    (profile,) = report["profiles"]
    # pooled over the state level: nc (the report's first level stored); rows_for stores county and state
    assert (profile["geo_type"], profile["time_type"], profile["issues"]) == ("state", "day", 4)
    rows = pd.concat(frames)
    rows = rows[(rows["geo_type"] == "state") & (rows["signal"] == "confirmed_cumulative_num")]
    newest = rows.sort_values("issue").groupby(["geo_value", "time_value"])["value"].transform("last")
    expected = (rows["value"] / newest).groupby(rows["lag"]).median()
    got = pd.DataFrame(profile["by_lag"]).set_index("lag")
    assert got.index.tolist() == expected.index.tolist()
    np.testing.assert_allclose(got["median"].to_numpy(), expected.to_numpy(), rtol=1e-6)
    assert got["count"].tolist() == rows.groupby("lag").size().astype(float).tolist()
    paths = write_revision_report(report, tmp_path)
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"
    assert json.loads(paths["json"].read_text()) == json.loads(json.dumps(report))
    db.engine.dispose()
