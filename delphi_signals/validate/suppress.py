"""Suppressed errors, as upstream's ``validation.common.suppressed_errors``.

Each entry names any of ``check_name``, ``date`` (``YYYY-MM-DD``), ``geo_type`` and ``signal``; an omitted key
matches anything, and so does a failure without that field (a check of a whole signal has no date). A date
suppresses a weekly file's failure when it falls in that epiweek. Only errors are suppressed; warnings never
block, so they are only grouped in the summary.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..errors import InputError

SUPPRESSION_KEYS = ("check_name", "date", "geo_type", "signal")


@dataclass(frozen=True)
class Suppression:
    """One ``suppressed_errors`` entry; ``None`` fields match anything."""

    check_name: str | None = None
    date: dt.date | None = None
    geo_type: str | None = None
    signal: str | None = None

    def matches(self, failure) -> bool:
        """Whether this entry suppresses ``failure`` (anything with the four fields and ``time_type``).

        Examples
        --------
        >>> from delphi_signals.validate.report import ValidationFailure
        >>> rule = Suppression(check_name="check_val_lt_0", signal="confirmed_incidence_num")
        >>> rule.matches(ValidationFailure("check_val_lt_0", "error", "x", geo_type="county",
        ...                                signal="confirmed_incidence_num", date=dt.date(2020, 11, 30)))
        True
        >>> rule.matches(ValidationFailure("check_val_lt_0", "error", "x", signal="deaths_incidence_num"))
        False
        """
        for name in ("check_name", "geo_type", "signal"):
            mine, theirs = getattr(self, name), getattr(failure, name)
            if mine is not None and theirs is not None and mine != theirs:
                return False
        if self.date is None or failure.date is None:
            return True
        if getattr(failure, "time_type", "day") == "week":
            return failure.date <= self.date < failure.date + dt.timedelta(days=7)
        return self.date == failure.date

    def to_dict(self) -> dict:
        """The entry as it would be written in params (omitted keys left out)."""
        out = {name: getattr(self, name) for name in SUPPRESSION_KEYS if getattr(self, name) is not None}
        if "date" in out:
            out["date"] = out["date"].isoformat()
        return out


def parse_suppressions(entries) -> list[Suppression]:
    """Read ``suppressed_errors``; an entry with another key or a bad date is an :class:`InputError`.

    Examples
    --------
    >>> parse_suppressions([{"check_name": "check_val_lt_0", "date": "2020-11-30"}])[0].date
    datetime.date(2020, 11, 30)
    >>> parse_suppressions([{"check": "x"}])
    Traceback (most recent call last):
    ...
    delphi_signals.errors.InputError: field validation.common.suppressed_errors[0]: unknown key(s) check; \
allowed: check_name, date, geo_type, signal
    """
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise InputError(f"expected a list of objects, got {entries!r}", field="validation.common.suppressed_errors")
    out = []
    for i, entry in enumerate(entries):
        where = f"validation.common.suppressed_errors[{i}]"
        if not isinstance(entry, dict):
            raise InputError(f"expected an object, got {entry!r}", field=where)
        unknown = sorted(set(entry) - set(SUPPRESSION_KEYS))
        if unknown:
            raise InputError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(SUPPRESSION_KEYS)}",
                             field=where)
        date = entry.get("date")
        if date is not None and not isinstance(date, dt.date):
            try:
                date = dt.date.fromisoformat(str(date))
            except ValueError:
                raise InputError(f"date must be YYYY-MM-DD, got {date!r}", field=where) from None
        out.append(Suppression(entry.get("check_name"), date, entry.get("geo_type"), entry.get("signal")))
    return out
