import datetime as dt

import epiweeks
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from delphi_signals.errors import InputError
from delphi_signals.timeaxis import (
    format_days, format_weeks, lag, parse_days, parse_time_values, parse_weeks, time_axis, week_start,
    weeks_in_year,
)

days = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))


@given(st.lists(days, min_size=1, max_size=20))
def test_epiweeks_match_the_epiweeks_package(dates):
    expected = [epiweeks.Week.fromdate(d).year * 100 + epiweeks.Week.fromdate(d).week for d in dates]
    assert format_weeks(pd.to_datetime(dates)).tolist() == expected


@given(days)
def test_week_start_is_the_epiweek_startdate(d):
    assert week_start([np.datetime64(d)])[0].date() == epiweeks.Week.fromdate(d).startdate()


@given(st.integers(1900, 2100))
def test_weeks_in_year_matches_the_epiweeks_package(year):
    assert weeks_in_year([year])[0] == len(list(epiweeks.Year(year).iterweeks()))


@given(days)
def test_parse_weeks_inverts_format_weeks(d):
    ew = format_weeks(pd.to_datetime([d]))
    assert parse_weeks(ew)[0].date() == epiweeks.Week.fromdate(d).startdate()


@given(st.lists(days, min_size=1, max_size=20))
def test_day_values_round_trip(dates):
    idx = pd.to_datetime(dates)
    assert (parse_days(format_days(idx)) == idx).all()


@pytest.mark.parametrize("bad", [20200231, 20201301, 20200000, 2020301, "2020-03-01x", 20190229])
def test_impossible_days_are_named(bad):
    with pytest.raises(InputError, match="not a calendar day|must be integers"):
        parse_days([20200301, bad])


def test_error_lists_every_bad_value_once():
    with pytest.raises(InputError) as err:
        parse_days([20200231, 20200231, 20210230])
    assert str(err.value) == "not a calendar day (YYYYMMDD): 20200231, 20210230"


@pytest.mark.parametrize("bad", [202153, 201953, 202000, 202054, 20201])
def test_impossible_weeks_are_rejected(bad):
    with pytest.raises(InputError, match="not an epiweek"):
        parse_weeks([bad])


def test_week_53_exists_in_53_week_years():
    assert parse_weeks([202053, 201453])[0].date() == dt.date(2020, 12, 27)


def test_dense_axes():
    assert len(time_axis("2020-02-27", "2020-03-02")) == 5  # crosses a leap day
    weeks = time_axis("2020-12-30", "2021-01-10", "week")
    assert format_weeks(weeks).tolist() == [202053, 202101, 202102]  # 2021-01-10 starts week 2


def test_lag_in_days_and_weeks():
    assert lag([20200301, 20200310], [20200310, 20200310]).tolist() == [9, 0]
    assert lag([202052], [202103], "week").tolist() == [4]  # across the 53-week year 2020
    assert lag([20200310], [20200301]).tolist() == [-9]


def test_weekly_dates_must_be_sundays():
    with pytest.raises(InputError, match="Sundays"):
        parse_time_values(pd.to_datetime(["2020-03-02"]), "week")
    assert parse_time_values(pd.to_datetime(["2020-03-01"]), "week")[0] == pd.Timestamp("2020-03-01")


def test_unknown_time_type():
    with pytest.raises(InputError, match="time_type"):
        parse_time_values([20200301], "month")
