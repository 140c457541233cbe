"""Day and epiweek time axes: ``YYYYMMDD`` / ``YYYYWW`` values, dense axes and lag arithmetic.

Weeks are CDC/MMWR epiweeks: they start on Sunday, and week 1 of a year is the first week with at least
four days in January (equivalently: the week whose Wednesday is the first Wednesday of January). A cube's
weekly ``time`` coordinate holds the week's start (Sunday) and an aux coordinate ``epiweek`` its YYYYWW.

Every parser here is vectorised and strict: an impossible date (20200231) or a week 53 in a 52-week year
is an error that names the offending values, never a silent NaT.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .errors import InputError

TIME_TYPES = ("day", "week")
DAY = np.timedelta64(1, "D")
WEEK = np.timedelta64(7, "D")


def check_time_type(time_type: str) -> str:
    """Return ``time_type`` if it is ``"day"`` or ``"week"``, else raise :class:`InputError`."""
    if time_type not in TIME_TYPES:
        raise InputError(f"time_type must be one of {TIME_TYPES}, got {time_type!r}")
    return time_type


def _as_int_array(values, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    try:
        as_float = np.asarray(pd.to_numeric(pd.Series(arr.ravel()), errors="raise"), dtype=float)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{what} values must be integers: {exc}") from None
    bad = ~np.isfinite(as_float) | (as_float != np.round(as_float))
    if bad.any():
        raise InputError(f"{what} values must be integers, got {_examples(arr.ravel()[bad])}")
    return as_float.astype(np.int64).reshape(arr.shape)


def _examples(values, limit: int = 5) -> str:
    uniq = list(dict.fromkeys(values.tolist() if hasattr(values, "tolist") else list(values)))
    more = f" (+{len(uniq) - limit} more)" if len(uniq) > limit else ""
    return ", ".join(repr(v) for v in uniq[:limit]) + more


def parse_days(values) -> pd.DatetimeIndex:
    """Parse ``YYYYMMDD`` ints or strings into a ``DatetimeIndex`` (ns), rejecting impossible dates.

    Examples
    --------
    >>> parse_days([20200301, 20201231]).strftime("%Y-%m-%d").tolist()
    ['2020-03-01', '2020-12-31']
    >>> parse_days([20200231])
    Traceback (most recent call last):
    ...
    delphi_signals.errors.InputError: not a calendar day (YYYYMMDD): 20200231
    """
    ints = _as_int_array(values, "YYYYMMDD").ravel()
    parsed = pd.to_datetime(pd.Series(ints.astype(str)), format="%Y%m%d", errors="coerce")
    bad = parsed.isna().to_numpy() | (ints < 10_000_000) | (ints > 99_991_231)
    if bad.any():
        raise InputError(f"not a calendar day (YYYYMMDD): {_examples(ints[bad])}")
    return pd.DatetimeIndex(parsed).as_unit("ns")


def format_days(times) -> np.ndarray:
    """``YYYYMMDD`` ints of dates.

    Examples
    --------
    >>> format_days(pd.to_datetime(["2020-03-01"])).tolist()
    [20200301]
    """
    idx = pd.DatetimeIndex(np.asarray(times, dtype="datetime64[ns]"))
    return (idx.year * 10_000 + idx.month * 100 + idx.day).to_numpy(dtype=np.int64)


def _week1_start(years: np.ndarray) -> np.ndarray:
    """Sunday that starts epiweek 1 of each year: three days before the first Wednesday of January."""
    jan1 = pd.to_datetime(pd.DataFrame({"year": years, "month": 1, "day": 1})).to_numpy("datetime64[D]")
    weekday = (jan1.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    days_to_wednesday = (2 - weekday) % 7
    return jan1 + days_to_wednesday.astype("timedelta64[D]") - np.timedelta64(3, "D")


def weeks_in_year(years) -> np.ndarray:
    """Number of epiweeks (52 or 53) in each epiyear.

    Examples
    --------
    >>> weeks_in_year([2019, 2020, 2021]).tolist()
    [52, 53, 52]
    """
    years = np.atleast_1d(np.asarray(years, dtype=np.int64))
    return ((_week1_start(years + 1) - _week1_start(years)) // np.timedelta64(7, "D")).astype(np.int64)


def parse_weeks(values) -> pd.DatetimeIndex:
    """Parse ``YYYYWW`` epiweeks into the ``DatetimeIndex`` of their start (Sunday).

    Examples
    --------
    >>> parse_weeks([202001, 202053]).strftime("%Y-%m-%d").tolist()
    ['2019-12-29', '2020-12-27']
    >>> parse_weeks([202153])
    Traceback (most recent call last):
    ...
    delphi_signals.errors.InputError: not an epiweek (YYYYWW; week 53 only in 53-week years): 202153
    """
    ints = _as_int_array(values, "YYYYWW").ravel()
    years, weeks = ints // 100, ints % 100
    ok = (years >= 1000) & (years <= 9998) & (weeks >= 1)
    ok[ok] &= weeks[ok] <= weeks_in_year(years[ok])
    if not ok.all():
        raise InputError(
            f"not an epiweek (YYYYWW; week 53 only in 53-week years): {_examples(ints[~ok])}"
        )
    starts = _week1_start(years) + (weeks - 1).astype("timedelta64[W]").astype("timedelta64[D]")
    return pd.DatetimeIndex(starts.astype("datetime64[ns]"))


def week_start(times) -> pd.DatetimeIndex:
    """The Sunday that starts the epiweek holding each date."""
    days = np.asarray(times, dtype="datetime64[D]")
    weekday = (days.astype(np.int64) + 3) % 7
    since_sunday = (weekday + 1) % 7
    return pd.DatetimeIndex((days - since_sunday.astype("timedelta64[D]")).astype("datetime64[ns]"))


def format_weeks(times) -> np.ndarray:
    """``YYYYWW`` epiweeks of dates (any day of the week).

    Examples
    --------
    >>> format_weeks(pd.to_datetime(["2019-12-29", "2021-01-02", "2021-01-03"])).tolist()
    [202001, 202053, 202101]
    """
    wednesday = week_start(times) + pd.Timedelta(days=3)
    week = (wednesday.day_of_year - 1) // 7 + 1
    return (wednesday.year * 100 + week).to_numpy(dtype=np.int64)


def parse_time_values(values, time_type: str) -> pd.DatetimeIndex:
    """Time values in any accepted form → ``DatetimeIndex`` of days or week starts.

    Accepted: datetimes and dates, ``YYYYMMDD`` ints/strings for days, ``YYYYWW`` ints/strings for weeks.
    Datetimes given for a weekly signal must be week starts (Sundays).
    """
    check_time_type(time_type)
    arr = np.asarray(values)
    if arr.dtype.kind == "M" or (arr.dtype == object and arr.size and isinstance(arr.flat[0], dt.date)):
        times = pd.DatetimeIndex(pd.to_datetime(arr.ravel())).as_unit("ns")
        if times.hasnans:
            raise InputError("time_value contains missing dates")
        if (times != times.normalize()).any():
            raise InputError(f"time_value must be whole days, got {_examples(times[times != times.normalize()])}")
        if time_type == "week":
            not_sunday = times != week_start(times)
            if not_sunday.any():
                raise InputError(
                    f"weekly time_value dates must be epiweek starts (Sundays): {_examples(times[not_sunday].strftime('%Y-%m-%d'))}"
                )
        return times
    return parse_days(arr) if time_type == "day" else parse_weeks(arr)


def format_time_values(times, time_type: str) -> np.ndarray:
    """``YYYYMMDD`` (day) or ``YYYYWW`` (week) ints for a time axis."""
    return format_days(times) if check_time_type(time_type) == "day" else format_weeks(times)


def time_axis(start, end, time_type: str = "day") -> pd.DatetimeIndex:
    """Dense axis from ``start`` to ``end`` inclusive: every day, or every epiweek start.

    Examples
    --------
    >>> time_axis("2020-03-01", "2020-03-03").strftime("%d").tolist()
    ['01', '02', '03']
    >>> time_axis("2020-01-01", "2020-01-15", "week").strftime("%Y-%m-%d").tolist()
    ['2019-12-29', '2020-01-05', '2020-01-12']
    """
    if check_time_type(time_type) == "day":
        return pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D", unit="ns")
    first, last = week_start([np.datetime64(pd.Timestamp(start), "D"), np.datetime64(pd.Timestamp(end), "D")])
    return pd.date_range(first, last, freq="7D", unit="ns")


def lag(time_values, issues, time_type: str = "day") -> np.ndarray:
    """Lag of a publication: whole days (day) or epiweeks (week) from ``time_values`` to ``issues``.

    Both arguments take any form :func:`parse_time_values` accepts. A negative lag (a future-dated
    value) is returned as it is; callers decide whether it is an error.

    Examples
    --------
    >>> lag([20200301], [20200305]).tolist()
    [4]
    >>> lag([202052], [202101], "week").tolist()
    [2]
    """
    tv = parse_time_values(np.atleast_1d(time_values), time_type).to_numpy("datetime64[D]")
    iss = parse_time_values(np.atleast_1d(issues), time_type).to_numpy("datetime64[D]")
    days = (iss - tv).astype(np.int64)
    return days if time_type == "day" else days // 7
