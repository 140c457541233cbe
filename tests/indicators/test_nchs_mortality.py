"""NCHS weekly deaths on the real 2020 Socrata table, its malformed variants and a real 2020 output file."""

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
    # nation = the states' sum (PR included; suppressed cells left out), per the nation's population
    week = raw[raw.end_week.str.startswith("2020-06-20") & (raw.state != "United States")]
    total = week.total_deaths.sum()
    us_row = raw[raw.end_week.str.startswith("2020-06-20") & (raw.state == "United States")].total_deaths.item()
    assert total == us_row + week.set_index("state").total_deaths["Puerto Rico"]  # NCHS's own total lacks PR
    nation = _read(out, "weekly_202025_nation_deaths_allcause_incidence_num.csv")
    assert nation.loc["us", "val"] == total
    nation_prop = _read(out, "weekly_202025_nation_deaths_allcause_incidence_prop.csv")
    assert nation_prop.loc["us", "val"] == round(total / float(population("nation").sel(geo="us")) * 1e5, 7)


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
    assert set(ours.index[ours.missing_val == 3]) == {"de", "me", "mt", "nd", "pr", "vt", "wv", "wy"}
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
                                     "percent_of_expected_deaths, pneumonia_deaths (expected data_as_of,")


def test_inconsistent_time_columns_fail_naming_row_and_field(folder):
    path = folder / "bad_data_with_inconsistent_time_col.csv"
    with pytest.raises(InputError) as err:
        read_table(path)
    assert str(err.value) == (f"{path}, line 2, field end_week: start_week 2020-02-01 and end_week 2020-02-02 "
                              "are not one epiweek (end_week must be a Saturday and start_week equal to it or its "
                              "Sunday)")


def test_bad_rows_and_extra_columns(folder, tmp_path):
    text = (folder / "test_data.csv").read_text().splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([text[0] + ",extra"] + [line + ",1" for line in text[1:]]) + "\n")
    with pytest.raises(InputError, match=r"bad\.csv, line 1, field extra: unexpected column\(s\) extra"):
        read_table(bad)
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
