"""NCHS weekly deaths on the real 2020 Socrata table, its malformed variants and a real 2020 output file."""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from delphi_signals.cube import check_cube
from delphi_signals.errors import InputError
from delphi_signals.geo import population
from delphi_signals.indicators.nchs_mortality.constants import signal_names
from delphi_signals.indicators.nchs_mortality.pull import read_table
from delphi_signals.indicators.nchs_mortality.run import run_module
from delphi_signals.io import read_csvs


@pytest.fixture(scope="module")
def folder(realdata):
    return realdata / "delphi_fixtures" / "nchs_mortality"


@pytest.fixture(scope="module")
def raw(folder):
    """The table as plain pandas, independent of the code under test."""
    return pd.read_csv(folder / "test_data.csv")


@pytest.fixture(scope="module")
def export(folder, tmp_path_factory):
    root = tmp_path_factory.mktemp("nchs")
    params = {"common": {"export_dir": str(root / "export"), "input_dir": str(root / "input"),
                         "issue_date": "2020-09-09"},
              "indicator": {"base_url": str(folder / "test_data.csv")}}
    return run_module(params), root / "export"


def _read(export_dir, name):
    return pd.read_csv(export_dir / name, dtype={"geo_id": str}).set_index("geo_id")


def test_weekly_file_names(export, raw):
    paths, _ = export
    names = {p.name for p in paths}
    # 32 week-ending Saturdays 2020-02-01 .. 2020-09-05 = epiweeks 202005 .. 202036
    assert len(paths) == 32 * len(signal_names()) * 2
    for week in (202005, 202025, 202036):
        for signal in signal_names():
            for geo in ("state", "nation"):
                assert f"weekly_{week}_{geo}_{signal}.csv" in names
    assert not [n for n in names if not n.startswith("weekly_20")]


def test_hand_computed_counts(export, raw):
    _, out = export
    week = raw[raw.end_week.str.startswith("2020-06-20")].set_index("state")
    num = _read(out, "weekly_202025_state_deaths_covid_incidence_num.csv")
    assert num.loc["al", "val"] == 88.0
    assert num.loc["ny", "val"] == 126 + 89  # New York City folded into New York
    assert "United States" not in num.index and "us" not in num.index
    flu = _read(out, "weekly_202025_state_deaths_flu_incidence_num.csv")
    assert flu.loc["pa", "val"] == week.loc["Pennsylvania", "influenza_deaths"] == 0
    allcause = _read(out, "weekly_202025_state_deaths_allcause_incidence_num.csv")
    assert allcause.loc["ca", "val"] == 5460
    pneu = _read(out, "weekly_202025_state_deaths_pneumonia_notflu_incidence_num.csv")
    assert pneu.loc["ny", "val"] == 153 + 94
    # a suppressed count (1–9 deaths) is a row with a missing value, code 3 (censored)
    de = pd.read_csv(out / "weekly_202025_state_deaths_covid_incidence_num.csv", dtype={"geo_id": str},
                     keep_default_na=False).set_index("geo_id").loc["de"]
    assert (de.val, de.missing_val) == ("NA", 3)


def test_props_after_aggregation(export, raw):
    _, out = export
    prop = _read(out, "weekly_202025_state_deaths_covid_incidence_prop.csv")
    pop = population("state")
    assert prop.loc["al", "val"] == round(88 / float(pop.sel(geo="al")) * 1e5, 7)
    assert prop.loc["ny", "val"] == round(215 / float(pop.sel(geo="ny")) * 1e5, 7)
    # nation = the table's own United States rows (which lack Puerto Rico), per the nation's population
    us_row = raw[raw.end_week.str.startswith("2020-06-20") & (raw.state == "United States")].total_deaths.item()
    nation = _read(out, "weekly_202025_nation_deaths_allcause_incidence_num.csv")
    assert nation.loc["us", "val"] == us_row
    nation_prop = _read(out, "weekly_202025_nation_deaths_allcause_incidence_prop.csv")
    assert nation_prop.loc["us", "val"] == round(us_row / float(population("nation").sel(geo="us")) * 1e5, 7)


def test_matches_real_2020_output(export, realdata, folder):
    """The real 2020 file `weekly_202025_state_wip_deaths_covid_incidence_prop.csv` (today's name without
    ``wip_``) used 2019 populations: our counts over those populations reproduce every value (relative 1e-6),
    and it left out the suppressed states that we write as censored rows."""
    _, out = export
    theirs = pd.read_csv(folder / "weekly_202025_state_wip_deaths_covid_incidence_prop.csv",
                         dtype={"geo_id": str}).set_index("geo_id")
    ours = pd.read_csv(out / "weekly_202025_state_deaths_covid_incidence_num.csv", dtype={"geo_id": str},
                       keep_default_na=False).set_index("geo_id")
    pops = pd.read_csv(realdata / "delphi_fixtures" / "jhu_golden_2020-06-25" / "static" / "fips_population.csv")
    states = pd.read_csv(__import__("delphi_signals.geo", fromlist=["x"]).geodata_dir() / "states.csv",
                         dtype=str).set_index("state_id")
    fips = pops.fips.astype(float).astype(int)
    pop2019 = {sid: float(pops.population[fips == int(code) * 1000].item())
               for sid, code in states.state_code.items() if (fips == int(code) * 1000).any()}
    written = ours[ours.missing_val == 0]
    assert set(written.index) - {"pr"} == set(theirs.index)
    # their population table was not exactly the JHU pipeline's 2019 one (a few states differ): the
    # population implied by our count and their value is that table's to 2 %, and exactly it (to the 8 written decimals) for all but ms, sd and va
    nonzero = theirs.index[theirs.val > 0]
    implied = written.loc[nonzero, "val"].astype(float) / theirs.loc[nonzero, "val"] * 1e5
    table = pd.Series({g: pop2019[g] for g in nonzero})
    off = np.abs(implied / table - 1)
    assert (off < 0.02).all()
    assert sorted(off.index[off >= 1e-7]) == ["ms", "sd", "va"]  # their populations of these differ
    assert (written.loc[theirs.index[theirs.val == 0], "val"].astype(float) == 0).all()
    # censored rows: exactly the states whose count the raw table suppressed that week
    raw = pd.read_csv(folder / "test_data.csv")
    week = raw[raw.end_week.str.startswith("2020-06-20") & (raw.group == "By week")]
    suppressed = set(week.state[week.covid_deaths.isna()]) - {"United States"}
    by_name = states.reset_index().set_index("state_name").state_id
    assert suppressed and set(ours.index[ours.missing_val == 3]) == {by_name[name] for name in suppressed}
    # and with today's (2020) populations the values differ only by the population vintage (< 3 %)
    prop = _read(out, "weekly_202025_state_deaths_covid_incidence_prop.csv")
    ratio = (prop.loc[theirs.index, "val"] / theirs.val)[theirs.val > 0]
    assert np.all(np.abs(ratio - 1) < 0.03)


def test_written_csvs_read_back_as_weekly_cubes(export):
    paths, _ = export
    cubes = read_csvs(paths)
    assert len(cubes) == len(signal_names()) * 2
    for (_source, signal, geo_type, time_type), cube in cubes.items():
        check_cube(cube)
        assert time_type == "week" and cube.sizes["time"] == 32
        assert cube.epiweek.values[[0, -1]].tolist() == [202005, 202036]
    cube = cubes[("export", "deaths_covid_incidence_num", "state", "week")]
    assert float(cube.value.sel(geo="al", time="2020-06-14")) == 88.0


def test_export_range_selects_weeks(folder, tmp_path):
    params = {"common": {"export_dir": str(tmp_path / "export"), "input_dir": str(tmp_path / "input"),
                         "issue_date": "2020-09-09"},
              "indicator": {"base_url": str(folder / "test_data.csv"), "export_start_date": "2020-06-17",
                            "export_end_date": "2020-06-27"}}
    names = {p.name.split("_")[1] for p in run_module(params)}
    assert names == {"202025", "202026"}


def test_missing_columns_fail_naming_them(folder):
    path = folder / "bad_data_with_missing_cols.csv"
    with pytest.raises(InputError) as err:
        read_table(path)
    assert str(err.value).startswith(f"{path}, line 1, field percent_of_expected_deaths: missing column(s) "
                                     "percent_of_expected_deaths, pneumonia_deaths (expected start_week, end_week, group, state,")


def test_inconsistent_time_columns_fail_naming_row_and_field(folder):
    path = folder / "bad_data_with_inconsistent_time_col.csv"
    with pytest.raises(InputError) as err:
        read_table(path)
    assert str(err.value) == (f"{path}, line 2, field end_week: start_week 2020-02-01 and end_week 2020-02-02 "
                              "are not one epiweek (end_week must be a Saturday and start_week equal to it or its "
                              "Sunday)")


def test_bad_rows_and_an_unknown_column(folder, tmp_path, log_records):
    text = (folder / "test_data.csv").read_text().splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([text[0] + ",extra"] + [line + ",1" for line in text[1:]]) + "\n")
    with_extra = read_table(bad)
    warnings = [r for r in log_records if r["level"] == "warning"]
    assert len(warnings) == 1
    assert (warnings[0]["event"], warnings[0]["columns"]) == ("ignored unknown column(s)", ["extra"])
    pd.testing.assert_frame_equal(with_extra, read_table(folder / "test_data.csv"))
    rows = list(text)
    rows[5] = rows[5].replace(",By week,United States,Week-ending,9,", ",By week,United States,Week-ending,x9,")
    bad.write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"bad\.csv, line 6, field covid_deaths: not a whole non-negative count"):
        read_table(bad)
    rows = list(text)
    rows[7] = rows[7].replace("United States", "Atlantis")
    bad.write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"line 8, field state: unknown state 'Atlantis'"):
        read_table(bad)


# ---- issue 9: the 13th signal, the nation's own rows, today's layout, SODA paging, past issues ------------------

COUNTS_2020 = ["covid_deaths", "total_deaths", "pneumonia_deaths", "pneumonia_and_covid_19_deaths",
               "influenza_deaths", "pneumonia_influenza_or_covid_19_deaths"]


def to_current_layout(raw_text: pd.DataFrame) -> pd.DataFrame:
    """The 2020 rows rewritten in the layout the live table has today: start/end dates of the epiweek, the
    extra year/month/mmwr_week/week_ending_date columns, today's count names, no ``indicator``, group
    "By Week", plus "By Total", "By Month" and "By Year" rows that must be ignored."""
    end = pd.to_datetime(raw_text.end_week.str[:10])
    stamp = "%Y-%m-%dT00:00:00.000"
    weekly = pd.DataFrame({
        "data_as_of": raw_text.data_as_of,
        "start_date": (end - pd.Timedelta(days=6)).dt.strftime(stamp),
        "end_date": raw_text.end_week,
        "group": "By Week",
        "year": end.dt.year.astype(str),
        "month": "",
        "mmwr_week": end.dt.isocalendar().week.astype(str),
        "week_ending_date": raw_text.end_week,
        "state": raw_text.state,
        "covid_19_deaths": raw_text.covid_deaths,
        "total_deaths": raw_text.total_deaths,
        "percent_of_expected_deaths": raw_text.percent_of_expected_deaths,
        "pneumonia_deaths": raw_text.pneumonia_deaths,
        "pneumonia_and_covid_19_deaths": raw_text.pneumonia_and_covid_19_deaths,
        "influenza_deaths": raw_text.influenza_deaths,
        "pneumonia_influenza_or_covid_19_deaths": raw_text.pneumonia_influenza_or_covid_19_deaths,
        "footnote": raw_text.footnote,
    })
    others = []
    for group, start, stop in (("By Total", "2020-01-01", "2020-09-05"), ("By Month", "2020-06-01", "2020-06-30"),
                               ("By Year", "2020-01-01", "2020-12-31")):
        rows = weekly.drop_duplicates("state").copy()
        rows["group"], rows["start_date"], rows["end_date"] = group, f"{start}T00:00:00.000", f"{stop}T00:00:00.000"
        rows["week_ending_date"], rows["mmwr_week"] = "", ""
        others.append(rows)
    table = pd.concat([others[0], weekly, *others[1:]], ignore_index=True)
    return table


@pytest.fixture(scope="module")
def raw_text(folder):
    return pd.read_csv(folder / "test_data.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def current_csv(raw_text, tmp_path_factory):
    path = tmp_path_factory.mktemp("current") / "current.csv"
    to_current_layout(raw_text).to_csv(path, index=False)
    return path


def test_thirteen_signals_and_percent_of_expected(export, raw):
    paths, out = export
    assert len(signal_names()) == 13 and "deaths_percent_of_expected" in signal_names()
    assert {p.name for p in paths} >= {"weekly_202025_state_deaths_percent_of_expected.csv",
                                       "weekly_202025_nation_deaths_percent_of_expected.csv"}
    week = raw[raw.end_week.str.startswith("2020-06-20")].set_index("state")
    pct = _read(out, "weekly_202025_state_deaths_percent_of_expected.csv")
    for state, geo in (("Alabama", "al"), ("California", "ca"), ("Texas", "tx")):
        assert pct.loc[geo, "val"] == week.loc[state, "percent_of_expected_deaths"]
    # New York with New York City: total deaths over the expected deaths each part's ratio implies
    ny, nyc = week.loc["New York"], week.loc["New York City"]
    expected = (ny.total_deaths + nyc.total_deaths) / (ny.total_deaths / ny.percent_of_expected_deaths
                                                       + nyc.total_deaths / nyc.percent_of_expected_deaths)
    assert pct.loc["ny", "val"] == round(expected, 7)
    nation = _read(out, "weekly_202025_nation_deaths_percent_of_expected.csv")
    assert nation.loc["us", "val"] == week.loc["United States", "percent_of_expected_deaths"]


def test_nation_equals_the_tables_us_rows_every_week(export, raw):
    paths, _ = export
    cubes = read_csvs([p for p in paths if "_nation_" in p.name])
    us = raw[raw.state == "United States"].assign(week=lambda f: pd.to_datetime(f.end_week.str[:10])
                                                  - pd.Timedelta(days=6)).set_index("week")
    for column, stem in zip(COUNTS_2020 + ["percent_of_expected_deaths"],
                            ["deaths_covid_incidence_num", "deaths_allcause_incidence_num",
                             "deaths_pneumonia_notflu_incidence_num",
                             "deaths_covid_and_pneumonia_notflu_incidence_num", "deaths_flu_incidence_num",
                             "deaths_pneumonia_or_flu_or_covid_incidence_num", "deaths_percent_of_expected"]):
        cube = cubes[("export", stem, "nation", "week")]
        ours = pd.Series(cube.value.sel(geo="us").values, index=cube.indexes["time"])
        np.testing.assert_array_equal(ours.to_numpy(), us[column].reindex(ours.index).to_numpy(), err_msg=stem)


def test_state_sum_cross_check(raw_text, tmp_path, log_records):
    from delphi_signals.indicators.nchs_mortality.data_tools import check_nation, fold_new_york_city, split_nation

    states, nation = split_nation(fold_new_york_city(read_table(_write(raw_text, tmp_path / "t.csv"))))
    assert check_nation(states, nation).empty  # the real table: the gap is always within 1..9 per hidden cell
    edited = raw_text.copy()
    row = (edited.state == "United States") & edited.end_week.str.startswith("2020-06-20")
    edited.loc[row, "total_deaths"] = str(int(edited.loc[row, "total_deaths"].item()) + 50)
    states, nation = split_nation(fold_new_york_city(read_table(_write(edited, tmp_path / "e.csv"))))
    del log_records[:]
    off = check_nation(states, nation)
    assert off[["metric", "week_start"]].values.tolist() == [["total_deaths", pd.Timestamp("2020-06-14")]]
    assert [r["event"] for r in log_records] == ["nation and state sum disagree beyond suppression"]


def _write(frame, path):
    frame.to_csv(path, index=False)
    return path


def _cubes(table):
    from delphi_signals.indicators.nchs_mortality.data_tools import build_signals

    return {(signal, geo): cube for signal, geo, cube in build_signals(table)}


def test_both_layouts_give_identical_cubes(folder, current_csv, log_records):
    current = read_table(current_csv)
    assert not [r for r in log_records if r["level"] == "warning"]  # every column of today's layout is known
    dropped = [r for r in log_records if r["event"] == "dropped rows not by week"]
    assert dropped[0]["count"] == 3 * 54 and dropped[0]["groups"] == ["By Month", "By Total", "By Year"]
    old = _cubes(read_table(folder / "test_data.csv"))
    new = _cubes(current)
    assert len(old) == len(new) == 26
    for key, cube in old.items():
        xr_cube = new[key]
        for name in ("value", "missing_value"):
            np.testing.assert_array_equal(cube[name].values, xr_cube[name].values, err_msg=str(key))
        assert cube.indexes["time"].equals(xr_cube.indexes["time"]) and cube.indexes["geo"].equals(xr_cube.indexes["geo"])


def test_current_layout_strict_checks(current_csv, tmp_path):
    table = pd.read_csv(current_csv, dtype=str, keep_default_na=False)
    weekly_rows = np.flatnonzero(table.group == "By Week")
    bad = table.copy()
    bad.loc[weekly_rows[3], "week_ending_date"] = "2020-02-29T00:00:00.000"
    with pytest.raises(InputError, match=rf"line {weekly_rows[3] + 2}, field week_ending_date: week_ending_date "
                                         r"2020-02-29 is not the end date 2020-02-22"):
        read_table(_write(bad, tmp_path / "bad.csv"))
    bad = table.copy()
    bad.loc[weekly_rows[7], "end_date"] = bad.loc[weekly_rows[6], "end_date"]
    bad.loc[weekly_rows[7], "start_date"] = bad.loc[weekly_rows[6], "start_date"]
    bad.loc[weekly_rows[7], "week_ending_date"] = bad.loc[weekly_rows[6], "week_ending_date"]
    with pytest.raises(InputError, match=rf"line {weekly_rows[7] + 2}, field end_week: United States week ending "
                                         "2020-03-14 given twice"):
        read_table(_write(bad, tmp_path / "bad.csv"))
    bad = table.copy()
    bad.loc[weekly_rows[2], "percent_of_expected_deaths"] = "n/a"
    with pytest.raises(InputError, match=rf"line {weekly_rows[2] + 2}, field percent_of_expected_deaths: not a "
                                         "non-negative number or blank: 'n/a'"):
        read_table(_write(bad, tmp_path / "bad.csv"))


def soda_answer(table: pd.DataFrame, token=None):
    """A SODA resource: pages of ``table`` as CSV by $limit/$offset (in row order, i.e. by :id)."""

    def answer(path, query, headers):
        if token is not None and headers.get("X-App-Token") != token:
            return 403, b'{"message": "bad token"}'
        if path != "/resource/r8kw-7aab.csv" or query.get("$order") != ":id":
            return 404, b"no such resource"
        limit, offset = int(query["$limit"]), int(query["$offset"])
        return 200, table.iloc[offset:offset + limit].to_csv(index=False).encode()

    return answer


def test_soda_paging_with_an_app_token(local_server, current_csv, tmp_path, log_records, monkeypatch):
    table = pd.read_csv(current_csv, dtype=str, keep_default_na=False)
    server = local_server(soda_answer(table, token="tok-123"))
    monkeypatch.setenv("SODA_APP_TOKEN", "tok-123")
    params = {"common": {"export_dir": str(tmp_path / "export"), "input_dir": str(tmp_path / "input")},
              "indicator": {"base_url": f"{server.url}/resource/r8kw-7aab.csv", "soda_page_size": 500}}
    from delphi_signals.indicators.nchs_mortality.pull import pull_data

    pulled = pull_data(params)
    logs = json.dumps(log_records)
    assert [r["query"]["$offset"] for r in server.requests] == ["0", "500", "1000", "1500"]  # 1,890 rows
    assert all(r["query"]["$limit"] == "500" for r in server.requests)
    assert "tok-123" not in logs and all("tok-123" not in r["raw"] for r in server.requests)
    pd.testing.assert_frame_equal(pulled, read_table(current_csv))
    cached = sorted((tmp_path / "input" / "nchs-mortality").iterdir())
    sidecar = json.loads(cached[1].read_text())
    assert cached[1].name.endswith("_nchs_weekly_deaths.csv.version.json")
    assert (sidecar["kind"], sidecar["issue_date"]) == ("current", dt.datetime.now(dt.timezone.utc).date().isoformat())


def test_past_issue_of_a_live_table_is_refused_unless_allowed(local_server, current_csv, tmp_path):
    from delphi_signals.indicators.nchs_mortality.pull import pull_data
    from delphi_signals.sources import SourceVersionError

    table = pd.read_csv(current_csv, dtype=str, keep_default_na=False)
    server = local_server(soda_answer(table))
    params = {"common": {"export_dir": str(tmp_path / "export"), "input_dir": str(tmp_path / "input"),
                         "issue_date": "2020-09-10"},
              "indicator": {"base_url": f"{server.url}/resource/r8kw-7aab.csv"}}
    with pytest.raises(SourceVersionError, match="--allow-current") as err:
        pull_data(params)
    assert isinstance(err.value, InputError) and "nchs-mortality issue 2020-09-10" in str(err.value)
    assert server.requests == [] and not (tmp_path / "input").exists()  # refused before anything is fetched
    params["indicator"]["allow_current"] = True
    assert len(pull_data(params)) == 1728
    sidecar = tmp_path / "input" / "nchs-mortality" / "20200910_nchs_weekly_deaths.csv.version.json"
    assert '"kind": "current"' in sidecar.read_text()
    # a local file reproduces any issue: the caller chose it
    params["indicator"] = {"base_url": str(current_csv)}
    params["common"]["input_dir"] = str(tmp_path / "other" / "input")
    assert len(pull_data(params)) == 1728


def test_human_headers_and_us_dates_of_the_download(current_csv, tmp_path):
    """The ``rows.csv`` download of today's table: display names as headers, dates as MM/DD/YYYY."""
    table = pd.read_csv(current_csv, dtype=str, keep_default_na=False)
    human = table.rename(columns={
        "data_as_of": "Data As Of", "start_date": "Start Date", "end_date": "End Date", "group": "Group",
        "year": "Year", "month": "Month", "mmwr_week": "MMWR Week", "week_ending_date": "Week Ending Date",
        "state": "State", "covid_19_deaths": "COVID-19 Deaths", "total_deaths": "Total Deaths",
        "percent_of_expected_deaths": "Percent of Expected Deaths", "pneumonia_deaths": "Pneumonia Deaths",
        "pneumonia_and_covid_19_deaths": "Pneumonia and COVID-19 Deaths", "influenza_deaths": "Influenza Deaths",
        "pneumonia_influenza_or_covid_19_deaths": "Pneumonia, Influenza, or COVID-19 Deaths", "footnote": "Footnote"})
    for column in ("Data As Of", "Start Date", "End Date", "Week Ending Date"):
        days = pd.to_datetime(human[column].str[:10], errors="coerce")
        human[column] = days.dt.strftime("%m/%d/%Y").fillna("")
    pd.testing.assert_frame_equal(read_table(_write(human, tmp_path / "rows.csv")), read_table(current_csv))
