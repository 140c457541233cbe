"""Upstream's validation params, resolved against the issue date (never the clock)."""

import datetime as dt

import pytest

from delphi_signals.errors import InputError
from delphi_signals.validate import read_params

TUESDAY = dt.date(2020, 12, 1)


def test_defaults():
    p = read_params({}, TUESDAY)
    assert (p.end_date, p.start_date) == (dt.date(2020, 11, 30), dt.date(2020, 11, 17))  # 14 days to issue - 1
    assert (p.max_lag("x"), p.min_lag("x"), p.max_lag_overall, p.lookbehind_days) == (10, 1, 10, 14)
    assert (p.minimum_sample_size, p.missing_se_allowed, p.missing_sample_size_allowed, p.dry_run) == (
        100, False, False, False)


@pytest.mark.parametrize("end_date, expected", [
    ("today", TUESDAY), ("today-3", dt.date(2020, 11, 28)), ("2020-10-05", dt.date(2020, 10, 5)),
    ("sunday+0", dt.date(2020, 11, 29)),  # the Sunday before a Tuesday
    ("sunday+2", TUESDAY),  # Tuesday itself
    ("sunday+3", dt.date(2020, 11, 25)),  # the Wednesday before
])
def test_end_date_forms(end_date, expected):
    assert read_params({"common": {"end_date": end_date, "span_length": 1}}, TUESDAY).end_date == expected


def test_default_end_date_follows_the_smallest_min_expected_lag():
    p = read_params({"common": {"min_expected_lag": {"all": 3, "x": 2}}}, TUESDAY)
    assert p.end_date == dt.date(2020, 11, 29) and p.min_lag("x") == 2 and p.min_lag("y") == 3


def test_sunday_lags():
    # upload on Mondays (1) with 2 more days: on Tuesday the last Monday is 1 day back -> 3; on Monday 7 -> 9
    p = read_params({"common": {"max_expected_lag": {"all": "sunday+1,2", "x": "4"}}}, TUESDAY)
    assert p.max_lag("y") == 3 and p.max_lag("x") == 4 and p.max_lag_overall == 4
    monday = read_params({"common": {"max_expected_lag": {"all": "sunday+1,2"}}}, dt.date(2020, 11, 30))
    assert monday.max_lag("y") == 9


@pytest.mark.parametrize("validation, field", [
    ({"common": {"span_length": 0}}, "span_length"),
    ({"common": {"max_expected_lag": {"all": "sunday+9,1"}}}, "max_expected_lag.all"),
    ({"static": ["x"]}, "validation.static"),
    ({"static": {"additional_valid_geo_values": ["xx"]}}, "additional_valid_geo_values"),
    ({"common": {"suppressed_errors": [{"check_name": "c", "date": "30/11/2020"}]}}, "suppressed_errors[0]"),
    (["common"], "validation"),
])
def test_malformed_params_name_the_field(validation, field):
    with pytest.raises(InputError, match=field.replace("[", r"\[").replace("]", r"\]")):
        read_params(validation, TUESDAY)
