"""The offline demo source: deterministic, in the real JHU format, with backfill and corrections."""

import numpy as np
import pandas as pd
import pytest

from delphi_signals.indicators.jhu.data_tools import county_cumulative, read_wide_csv
from delphi_signals.indicators.jhu.pull import state_codes
from delphi_signals.sources.demo import jhu_frames, write_jhu


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
    geo = pd.read_csv("geodata/counties.csv", dtype=str).set_index("county")
    assert la == int(geo.loc["06037", "population"])
    assert {"Out of CA", "Unassigned"} <= set(deaths.Admin2)


def test_backfill_revises_recent_days_upward_only(issues):
    old, new = (issues[d]["confirmed"] for d in ("2020-11-29", "2020-11-30"))
    days = old.columns[11:]
    delta = new[days].to_numpy() - old[days].to_numpy()
    assert (delta[:, :-10] == 0).all()  # settled history is identical
    assert (delta[:, -3:] >= 0).all() and delta[:, -3:].sum() > 0  # the last days were incomplete


def test_negative_corrections_and_weekday_pattern(issues):
    frame = issues["2020-11-30"]["confirmed"]
    daily = np.diff(frame.iloc[:, 11:].to_numpy(), axis=1)
    assert (daily < 0).sum() > 100
    dates = pd.to_datetime(frame.columns[12:], format="%m/%d/%y")
    by_weekday = pd.Series(daily[:, :-14].sum(0), index=dates[:-14]).groupby(lambda d: d.day_of_week).mean()
    assert by_weekday[6] < 0.8 * by_weekday[1]  # Sundays report less than Tuesdays
