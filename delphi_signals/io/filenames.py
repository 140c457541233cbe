"""The Delphi export file-name grammar.

Daily files are ``{YYYYMMDD}_{geo_type}_{signal}.csv``, weekly files ``weekly_{YYYYWW}_{geo_type}_{signal}.csv``;
the source is the name of the directory that holds the file (``receiving/<source>/…``). As in the Epidata
importer, geo types are tried longest first (so ``hsa_nci`` is not split as ``hsa`` + ``nci_…``) and names are
matched case-insensitively.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from ..cube import GEO_TYPES
from ..errors import InputError
from ..timeaxis import format_time_values, parse_days, parse_weeks

_GEO_ALTERNATIVES = "|".join(sorted(GEO_TYPES, key=len, reverse=True))
DAILY_NAME = re.compile(rf"^([0-9]{{8}})_({_GEO_ALTERNATIVES})_(.+)\.csv$", re.IGNORECASE)
WEEKLY_NAME = re.compile(rf"^weekly_([0-9]{{6}})_({_GEO_ALTERNATIVES})_(.+)\.csv$", re.IGNORECASE)


class ExportFile(NamedTuple):
    """What a Delphi export file name says."""

    source: str
    signal: str
    geo_type: str
    time_type: str
    time_value: int  # YYYYMMDD or YYYYWW
    time: pd.Timestamp  # the day, or the epiweek's start
    path: Path


def _day(stamp: str) -> pd.Timestamp:
    """One ``YYYYMMDD``: the datetime constructor is 100x cheaper than a vectorised parse."""
    try:
        return pd.Timestamp(dt.date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:])))
    except ValueError:
        return parse_days([int(stamp)])[0]  # raises the same message as every other day parser


@lru_cache(maxsize=4096)
def _week(stamp: str) -> pd.Timestamp:
    """One ``YYYYWW``, cached: the vectorised epiweek parser costs milliseconds per call, and a folder of weekly
    files repeats few weeks."""
    return parse_weeks([int(stamp)])[0]


def parse_filename(path) -> ExportFile:
    """Parse ``<source>/<YYYYMMDD>_<geo>_<signal>.csv`` or ``<source>/weekly_<YYYYWW>_<geo>_<signal>.csv``.

    Raises
    ------
    InputError
        The name breaks the grammar, or names an impossible day or epiweek.

    Examples
    --------
    >>> parse_filename("receiving/jhu-csse/20200310_state_confirmed_7dav_incidence_prop.csv")[:5]
    ('jhu-csse', 'confirmed_7dav_incidence_prop', 'state', 'day', 20200310)
    >>> parse_filename("nchs-mortality/weekly_202025_nation_deaths_covid_incidence_num.csv").time.date()
    datetime.date(2020, 6, 14)
    >>> parse_filename("x/20200231_state_a.csv")
    Traceback (most recent call last):
    ...
    delphi_signals.errors.InputError: x/20200231_state_a.csv: not a calendar day (YYYYMMDD): 20200231
    """
    path = Path(path)
    name = path.name
    daily, weekly = DAILY_NAME.match(name), WEEKLY_NAME.match(name)
    match = daily or weekly
    if match is None:
        raise InputError(
            "file name must be <YYYYMMDD>_<geo_type>_<signal>.csv or weekly_<YYYYWW>_<geo_type>_<signal>.csv "
            f"(ASCII digits) with geo_type one of {', '.join(GEO_TYPES)}",
            file=path,
        )
    stamp, geo_type, signal = match.groups()
    time_type = "day" if daily else "week"
    try:
        time = _day(stamp) if daily else _week(stamp)
    except InputError as exc:
        raise InputError(exc.reason, file=path) from None
    source = path.parent.name.lower()
    if not source:
        raise InputError("the file must sit in a directory named after its source", file=path)
    return ExportFile(source, signal.lower(), geo_type.lower(), time_type, int(stamp), time, path)


def format_filename(time, geo_type: str, signal: str, time_type: str = "day") -> str:
    """The export file name for one time value.

    Examples
    --------
    >>> format_filename(pd.Timestamp("2020-03-10"), "county", "confirmed_incidence_num")
    '20200310_county_confirmed_incidence_num.csv'
    >>> format_filename(pd.Timestamp("2020-06-14"), "state", "deaths_covid_incidence_num", "week")
    'weekly_202025_state_deaths_covid_incidence_num.csv'
    """
    stamp = int(format_time_values([time], time_type)[0])
    prefix = f"{stamp}" if time_type == "day" else f"weekly_{stamp}"
    return f"{prefix}_{geo_type}_{signal}.csv"
