"""Which days a claims run fits on and which it publishes (upstream's ``n_backfill_days`` / ``n_waiting_days``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from ...errors import InputError


@dataclass(frozen=True)
class Window:
    """``fit_dates``: every day from the first day of data to the eve of the drop (the sensor's history);
    ``start`` .. ``end`` (exclusive): the days published (upstream's start date to its end date, whose own
    estimate upstream never writes)."""

    fit_dates: pd.DatetimeIndex
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def keep(self) -> slice:
        """Positions of the published days in ``fit_dates``."""
        lo = self.fit_dates.searchsorted(self.start)
        hi = self.fit_dates.searchsorted(self.end)
        return slice(int(lo), int(hi))


def window(first_data_date: dt.date, drop_date: dt.date, *, n_backfill_days: int, n_waiting_days: int,
           start_date=None, end_date=None) -> Window:
    """The run's days: end = drop date − ``n_waiting_days``, start = end − ``n_backfill_days`` (overridden by
    ``start_date`` / ``end_date`` when given, as hospital-admissions allows).

    Examples
    --------
    >>> w = window(dt.date(2020, 1, 1), dt.date(2020, 2, 7), n_backfill_days=10, n_waiting_days=2)
    >>> str(w.start.date()), str(w.end.date()), len(w.fit_dates), w.keep
    ('2020-01-26', '2020-02-05', 37, slice(25, 35, None))
    """
    drop = pd.Timestamp(drop_date)
    end = drop - pd.Timedelta(days=int(n_waiting_days))
    start = end - pd.Timedelta(days=int(n_backfill_days))
    if end_date:
        end = pd.Timestamp(end_date)
    if start_date:
        start = pd.Timestamp(start_date)
    first = pd.Timestamp(first_data_date)
    if not first < start < end <= drop:
        raise InputError(f"need first data day {first.date()} < start {start.date()} < end {end.date()} <= drop "
                         f"date {drop.date()}: check n_backfill_days, n_waiting_days, start_date and end_date",
                         field="n_backfill_days")
    return Window(pd.date_range(first, drop - pd.Timedelta(days=1), freq="D"), start, end)
