"""Coverage, latency and reporting lag on real JHU versions imported as successive issues (SQLite, MariaDB)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from delphi_signals.analytics.coverage import coverage_report, expected_regions, write_coverage
from delphi_signals.epidata import Epidata
from jhuversions import VERSIONS, read_counties, rows_for, version_path
from metarows import load

D = dt.date
RUN = D(2020, 12, 2)  # window of 56 days: 2020-10-08 .. 2020-12-02
# what each version contributes (days first..last at its issue); county 50027 has no value on 11-30
IMPORTS = {"__thru_20200909": (D(2020, 9, 1), D(2020, 9, 8)), "__thru_20200929": (D(2020, 9, 1), D(2020, 9, 28)),
           "__thru_20201111": (D(2020, 10, 20), D(2020, 11, 8)), "": (D(2020, 11, 10), D(2020, 11, 30))}


@pytest.fixture(scope="module")
def versions(realdata):
    return {suffix: read_counties(version_path(realdata, suffix)) for suffix in IMPORTS}


def test_expected_regions_drop_pseudo_counties():
    counties = expected_regions("county")
    assert len(counties) == 3240 and not any(c.endswith("000") for c in counties)
    assert len(expected_regions("state")) == 60 and expected_regions("nowhere") is None


def test_coverage_latency_and_lag_on_real_versions(db_url, versions, tmp_path):
    db = Epidata(db_url)
    for suffix, (first, last) in IMPORTS.items():
        blank = [("50027", D(2020, 11, 30))] if suffix == "" else []
        load(db.engine, rows_for(versions[suffix], first, last, VERSIONS[suffix], blank=blank))
    assert len(versions[""]) == 23
    report = coverage_report(db.engine, RUN, {"jhu-csse": ["confirmed_cumulative_num", "not_stored"]})
    county = {r["time_value"]: r for r in report["coverage"] if r["geo_type"] == "county"}
    state = {r["time_value"]: r for r in report["coverage"] if r["geo_type"] == "state"}
    assert len(county) == len(state) == 56 and min(county) == 20201008 and max(county) == 20201202
    # hand-worked: nothing before 10-20; 23 counties 10-20..11-08 (issue 1112); 11-09 never imported;
    # 23 again 11-10..11-29 (issue 1201); 22 on 11-30; nothing on 12-01, 12-02
    expected_counts = {}
    for day in (D(2020, 10, 8) + dt.timedelta(days=k) for k in range(56)):
        key = int(day.strftime("%Y%m%d"))
        inside = D(2020, 10, 20) <= day <= D(2020, 11, 8) or D(2020, 11, 10) <= day <= D(2020, 11, 29)
        expected_counts[key] = 23 if inside else (22 if day == D(2020, 11, 30) else 0)
    assert {k: r["count"] for k, r in county.items()} == expected_counts
    assert county[20201110]["expected"] == 3240 and county[20201110]["fraction"] == round(23 / 3240, 6)
    assert {k: r["count"] for k, r in state.items()} == {k: min(v, 4) for k, v in expected_counts.items()}
    assert state[20201130]["fraction"] == round(4 / 60, 6)  # Vermont's sum still has its 13 other counties
    assert [(r["geo_type"], r["newest_day"], r["latency_days"]) for r in report["latency"]] == [
        ("county", "2020-11-30", 2), ("state", "2020-11-30", 2)]
    # issues inside the window: 1112 (last day 11-08, so smallest lag 4) and 1201 (lag 1); 27 geos a day
    assert [(r["issue"], r["min_lag"], r["rows"]) for r in report["reporting_lag"]] == [
        (20201112, 4, 27 * 20), (20201201, 1, 27 * 21)]
    paths = write_coverage(report, tmp_path / "reports")
    assert json.loads(paths["json"].read_text()) == json.loads(json.dumps(report))
    for name in ("coverage_png", "latency_png"):
        assert paths[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths[name].stat().st_size > 5000
    db.engine.dispose()


def test_weekly_signal_coverage_latency_and_lag(db_url, tmp_path):
    """Epiweeks, hand-worked from the MMWR calendar (2020's week 1 starts Sunday 2019-12-29)."""
    from metarows import batch

    def epiweek(day):
        return 202000 + (day - D(2019, 12, 29)).days // 7 + 1

    db = Epidata(db_url)
    load(db.engine, batch("nchs-mortality", "deaths_covid_incidence_num", "state", ["ca", "ny", "pa"],
                          list(range(202030, 202036)), 202036, time_type="week"))
    load(db.engine, batch("nchs-mortality", "deaths_covid_incidence_num", "state", ["ca"], [202036], 202037,
                          time_type="week"))
    run = D(2020, 9, 9)  # a Wednesday of epiweek 37; the 56-day window starts on Thursday 2020-07-16 (week 29)
    report = coverage_report(db.engine, run, {"nchs-mortality": ["deaths_covid_incidence_num"]})
    weeks = {r["time_value"]: r["count"] for r in report["coverage"]}
    assert list(weeks) == list(range(epiweek(D(2020, 7, 16)), epiweek(run) + 1)) == list(range(202029, 202038))
    assert weeks == {202029: 0, **{w: 3 for w in range(202030, 202036)}, 202036: 1, 202037: 0}
    assert {r["time_type"] for r in report["coverage"]} == {"week"} and report["coverage"][1]["expected"] == 60
    # week 36 ends on Saturday 2020-09-05: four days before the run
    assert [(r["newest_time_value"], r["newest_day"], r["latency_days"]) for r in report["latency"]] == [
        (202036, "2020-09-05", 4)]
    assert [(r["issue"], r["min_lag"], r["rows"]) for r in report["reporting_lag"]] == [(202036, 1, 18), (202037, 1, 1)]
    paths = write_coverage(report, tmp_path / "reports")
    assert paths["coverage_png"].stat().st_size > 0 and paths["latency_png"].stat().st_size > 0
