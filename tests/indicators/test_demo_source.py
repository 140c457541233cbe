"""The offline demo source: deterministic, in the real JHU, HHS and NCHS formats, with backfill and corrections."""

import json

import numpy as np
import pandas as pd
import pytest

from delphi_signals.geo import geo_values, geodata_dir, population
from delphi_signals.indicators.hhs_hosp.constants import REQUIRED_FIELDS
from delphi_signals.indicators.hhs_hosp.pull import read_response
from delphi_signals.indicators.hhs_hosp.run import run_module as run_hhs
from delphi_signals.indicators.jhu.data_tools import county_cumulative, read_wide_csv
from delphi_signals.indicators.jhu.pull import state_codes
from delphi_signals.indicators.nchs_mortality.constants import COLUMNS as NCHS_COLUMNS
from delphi_signals.indicators.nchs_mortality.pull import read_table
from delphi_signals.indicators.nchs_mortality.run import run_module as run_nchs
from delphi_signals.sources.demo import hhs_response, jhu_frames, nchs_table, write_hhs, write_jhu, write_nchs


@pytest.fixture(scope="module")
def issues():
    return {d: jhu_frames(d, seed=0) for d in ("2020-11-29", "2020-11-30")}


def test_same_seed_same_bytes(tmp_path):
    a = write_jhu(tmp_path / "a", "2020-06-01", seed=3)
    b = write_jhu(tmp_path / "b", "2020-06-01", seed=3)
    c = write_jhu(tmp_path / "c", "2020-06-01", seed=4)
    assert a["confirmed"].read_bytes() == b["confirmed"].read_bytes()
    assert a["confirmed"].read_bytes() != c["confirmed"].read_bytes()


def test_files_pass_the_strict_jhu_reader(tmp_path):
    paths = write_jhu(tmp_path, "2020-11-30")
    for metric, path in paths.items():
        series = read_wide_csv(path, metric)
        assert series.dates[-1] == pd.Timestamp("2020-11-29")  # data through the day before the issue
        counties, cumulative = county_cumulative(series, state_codes())
        assert len(counties) > 3200 and {"01000", "72000", "06037"} <= set(counties)
        assert (cumulative >= 0).all()


def test_every_county_with_its_real_population(issues):
    deaths = issues["2020-11-30"]["deaths"]
    la = deaths.loc[deaths.UID == 84006037, "Population"].item()
    geo = pd.read_csv(geodata_dir() / "counties.csv", dtype=str).set_index("county")
    assert la == int(geo.loc["06037", "population"])
    assert {"Out of CA", "Unassigned"} <= set(deaths.Admin2)


def test_backfill_revises_recent_days_upward_only(issues):
    old, new = (issues[d]["confirmed"] for d in ("2020-11-29", "2020-11-30"))
    days = old.columns[11:]
    delta = new[days].to_numpy() - old[days].to_numpy()
    assert (delta[:, :-10] == 0).all()  # settled history is identical
    assert (delta[:, -3:] >= 0).all() and delta[:, -3:].sum() > 0  # the last days were incomplete


def test_reporting_backlog_in_los_angeles(issues):
    frame = issues["2020-11-30"]["confirmed"]
    la = frame.loc[frame.UID == 84006037].iloc[0]
    daily = la[["11/22/20", "11/23/20", "11/24/20", "11/25/20", "11/26/20", "11/27/20", "11/28/20",
                "11/29/20"]].astype(int).diff().iloc[1:].to_numpy()
    assert (daily[:-1] == 0).all() and daily[-1] > 0  # nothing for six days, then the week on one day
    before = la[["11/15/20", "11/22/20"]].astype(int).diff().iloc[-1]
    assert 0.5 * before < daily[-1] < 2 * before  # about a week's cases
    earlier = issues["2020-11-29"]["confirmed"]
    assert (earlier.loc[earlier.UID == 84006037, ["11/23/20", "11/28/20"]].diff(axis=1).iloc[0, -1]) == 0


def test_negative_corrections_and_weekday_pattern(issues):
    frame = issues["2020-11-30"]["confirmed"]
    daily = np.diff(frame.iloc[:, 11:].to_numpy(), axis=1)
    assert (daily < 0).sum() > 100
    dates = pd.to_datetime(frame.columns[12:], format="%m/%d/%y")
    by_weekday = pd.Series(daily[:, :-14].sum(0), index=dates[:-14]).groupby(lambda d: d.day_of_week).mean()
    assert by_weekday[6] < 0.8 * by_weekday[1]  # Sundays report less than Tuesdays


# ---- HHS and NCHS -------------------------------------------------------------------------------------------

HHS_ISSUE, NCHS_ISSUE = "2020-06-01", "2020-12-01"  # 2020-12-01 is a Tuesday: the week ending 11-28 is complete


def _params(root, issue, base_url, **indicator):
    return {"common": {"export_dir": str(root / "export"), "input_dir": str(root / "input"), "issue_date": issue},
            "indicator": {"base_url": str(base_url), **indicator}}


def test_hhs_and_nchs_same_seed_same_bytes(tmp_path):
    for write in (write_hhs, write_nchs):
        a, b, c = (write(tmp_path / name, HHS_ISSUE, seed=seed) for name, seed in (("a", 3), ("b", 3), ("c", 4)))
        assert a.read_bytes() == b.read_bytes() != c.read_bytes()
        assert not [p for p in a.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_hhs_response_passes_the_strict_reader(tmp_path):
    path = write_hhs(tmp_path, HHS_ISSUE)
    body = json.loads(path.read_bytes())
    assert (body["result"], body["message"]) == (1, "success")
    assert set(body["epidata"][0]) == {"state", "issue", "date", *REQUIRED_FIELDS}
    assert {row["issue"] for row in body["epidata"]} == {20200601}
    frame = read_response(path)
    with_people = {s for s in geo_values("state") if not np.isnan(float(population("state").sel(geo=s)))}
    assert set(frame.state) == with_people and len(with_people) == 56  # 50 states, DC, PR, VI, GU, AS, MP
    days = pd.date_range("2020-01-23", "2020-05-31")  # report dates through the day before the issue
    assert (frame.groupby("state").date.apply(list) == pd.Series([list(days)] * 56, index=sorted(with_people))).all()
    counts = frame[list(REQUIRED_FIELDS[2:])]
    assert (counts.fillna(0) == counts.fillna(0).round()).all().all() and (counts.fillna(0) >= 0).all().all()


def test_hhs_admissions_follow_the_jhu_cases():
    frame = pd.DataFrame(hhs_response("2020-12-01")["epidata"])
    frame["day"] = pd.to_datetime(frame.date.astype(str)) - pd.Timedelta(days=1)
    admitted = frame[frame.state == "NY"].set_index("day").previous_day_admission_adult_covid_confirmed
    confirmed = jhu_frames("2020-12-01")["confirmed"]
    ny = confirmed[confirmed.Province_State == "New York"].iloc[:, 11:].sum()
    cases = ny.diff().fillna(ny.iloc[0]).set_axis(pd.to_datetime(ny.index, format="%m/%d/%y"))
    cases, admitted = cases["2020-03-01":"2020-11-15"], admitted["2020-03-01":"2020-11-15"]
    lag = {k: admitted.corr(cases.rolling(7).mean().shift(k)) for k in (0, 7)}
    assert lag[7] > lag[0] > 0.5  # a lagged share of the cases
    assert 0.01 < admitted.sum() / cases.sum() < 0.1
    flu = frame.groupby("day").previous_day_admission_influenza_confirmed.sum()
    assert flu["2020-02-01":"2020-02-28"].mean() > 5 * flu["2020-07-01":"2020-08-31"].mean() > 0  # seasonal


def test_hhs_backfill_between_issues():
    old, new = (pd.DataFrame(hhs_response(d)["epidata"]).set_index(["state", "date"]) for d in
                ("2020-11-29", "2020-11-30"))
    assert new.index.get_level_values("date").max() == old.index.get_level_values("date").max() + 1
    counts = list(REQUIRED_FIELDS[2:])
    delta = new.loc[old.index, counts] - old[counts]
    dates = delta.index.get_level_values("date")
    assert (delta[dates < 20201120] == 0).all().all()  # settled history is identical
    recent = delta[dates >= 20201126]
    assert (recent >= 0).all().all() and recent.to_numpy().sum() > 0  # the last days were incomplete


def test_hhs_massachusetts_flu_gap_on_tuesdays():
    rows = pd.DataFrame(hhs_response("2021-09-01")["epidata"])
    ma = rows[rows.state == "MA"]
    admitted = pd.to_datetime(ma.date.astype(str)) - pd.Timedelta(days=1)
    gap = ma.previous_day_admission_influenza_confirmed.isna()
    assert gap.sum() == 4 and (admitted[gap].dt.day_of_week == 1).all() and (admitted[gap] > "2021-08-01").all()
    assert rows[rows.state != "MA"].previous_day_admission_influenza_confirmed.notna().all()


def test_hhs_run_module_on_the_demo(tmp_path):
    path = write_hhs(tmp_path / "demo", HHS_ISSUE)
    written = run_hhs(_params(tmp_path, HHS_ISSUE, path, export_start_date="2020-05-25"))
    # report dates through 05-31 carry admissions through 05-30 (timestamp = date − 1 day)
    assert len(written) == 12 * 3 * 6
    assert {p.name[:8] for p in written} == {f"{d:%Y%m%d}" for d in pd.date_range("2020-05-25", "2020-05-30")}
    out = pd.read_csv(tmp_path / "export" / "20200530_state_confirmed_admissions_covid_1d.csv", dtype={"geo_id": str})
    raw = pd.DataFrame(json.loads(path.read_bytes())["epidata"])
    row = raw[(raw.state == "NY") & (raw.date == 20200531)].iloc[0]
    expected = row.previous_day_admission_adult_covid_confirmed + row.previous_day_admission_pediatric_covid_confirmed
    assert out.set_index("geo_id").loc["ny", "val"] == expected
    assert len(out) == 56


def test_nchs_table_passes_the_strict_reader(tmp_path):
    path = write_nchs(tmp_path, NCHS_ISSUE)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert tuple(raw.columns) == NCHS_COLUMNS
    assert set(raw.group) == {"By week"} and (raw.start_week == raw.end_week).all()
    assert raw.state.iloc[0] == "United States" and raw.state.iloc[-1] == "Puerto Rico"
    assert {"New York", "New York City", "District of Columbia"} <= set(raw.state) and raw.state.nunique() == 54
    table = read_table(path)
    ends = table.week_start + pd.Timedelta(days=6)
    assert ends.min() == pd.Timestamp("2020-02-01") and ends.max() == pd.Timestamp("2020-11-28")
    assert (ends < pd.Timestamp(NCHS_ISSUE)).all()  # complete weeks only
    counts = raw[["covid_deaths", "influenza_deaths"]]
    blank = counts == ""
    assert blank.to_numpy().sum() > 100  # suppression of 1–9 deaths happens
    shown = pd.to_numeric(counts[~blank].stack())
    assert not shown.between(1, 9).any()
    assert (raw.footnote != "").sum() == (raw[list(NCHS_COLUMNS[6:8] + NCHS_COLUMNS[9:13])] == "").any(axis=1).sum()


def test_nchs_sums_the_simulated_deaths():
    table = nchs_table(NCHS_ISSUE)
    deaths = jhu_frames(NCHS_ISSUE)["deaths"]
    co = deaths[deaths.Province_State == "Colorado"].iloc[:, 12:]  # the counties, Out of CO, Unassigned
    co.columns = pd.to_datetime(co.columns, format="%m/%d/%y")
    daily = co.diff(axis=1).loc[:, "2020-08-09":"2020-08-15"]  # settled in both: the week ending 2020-08-15
    row = table[(table.state == "Colorado") & (table.end_week.str.startswith("2020-08-15"))].iloc[0]
    assert (daily < 0).any().any()  # JHU reports negative corrections that week …
    assert row.covid_deaths == daily.clip(lower=0).to_numpy().sum()  # … deaths by date of death have none
    us = table[table.state == "United States"].set_index("end_week")
    parts = table[~table.state.isin(["United States", "Puerto Rico"])].groupby("end_week").total_deaths.sum()
    assert (us.total_deaths >= parts).all()  # the nation also counts the suppressed states' deaths
    assert ((us.pneumonia_influenza_or_covid_19_deaths == us.covid_deaths + us.pneumonia_deaths
             + us.influenza_deaths - us.pneumonia_and_covid_19_deaths)).all()


def test_nchs_backfill_between_issues():
    old, new = (nchs_table(d).set_index(["state", "end_week"]) for d in ("2020-11-29", "2020-12-06"))
    assert len(new) == len(old) + 54  # one more complete week, for every area
    common = new.loc[old.index, "total_deaths"] - old["total_deaths"]
    weeks = common.index.get_level_values("end_week")
    assert (common[weeks < "2020-09-01"].dropna() == 0).all()
    assert (common[weeks > "2020-11-01"].dropna() > 0).all()


def test_nchs_run_module_writes_weekly_files(tmp_path):
    path = write_nchs(tmp_path / "demo", NCHS_ISSUE)
    written = run_nchs(_params(tmp_path, NCHS_ISSUE, path, export_start_date="2020-11-15"))
    names = {p.name for p in written}
    assert {n.split("_")[1] for n in names} == {"202047", "202048"}  # weeks of 11-15 and 11-22
    assert len(names) == 13 * 2 * 2 and all(n.startswith("weekly_2020") for n in names)
    out = pd.read_csv(tmp_path / "export" / "weekly_202047_nation_deaths_allcause_incidence_num.csv")
    raw = nchs_table(NCHS_ISSUE)
    week = raw[raw.end_week.str.startswith("2020-11-21")]
    assert out.val.item() == week[week.state == "United States"].total_deaths.item()  # the table's own total
    states = week[~week.state.isin(["United States", "Puerto Rico"])]
    assert out.val.item() == states.total_deaths.sum()  # which is the states' sum (NYC included, PR not)
