"""The validator's settings, read from upstream's ``validation`` params layout (``common``, ``static``, ``dynamic``).

Keys and defaults are upstream's (spec/indicators.md §6), with one difference: every date is relative to the
export's issue date, never to the clock, and ``span_length`` defaults to 14 days (upstream requires it).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from ..errors import InputError
from .suppress import parse_suppressions

DEFAULT_SPAN_LENGTH = 14
DEFAULT_MAX_LAG, DEFAULT_MIN_LAG = 10, 1
_SUNDAY_LAG = re.compile(r"^sunday\+([0-7]),(\d+)$")


def lag_days(value, issue_date: dt.date, where: str) -> int:
    """One expected lag in days: an int, a numeric string or ``"sunday+D,L"`` (upload weekday ``D``, lag ``L``).

    ``sunday+D,L`` is the days since the last upload weekday ``D`` (1-7 days, never 0) plus ``L``, as upstream
    computes it, with the issue date as "today".

    Examples
    --------
    >>> lag_days("sunday+1,2", dt.date(2020, 12, 1), "max_expected_lag")  # a Tuesday: last Monday was 1 day ago
    3
    >>> lag_days(4, dt.date(2020, 12, 1), "max_expected_lag")
    4
    """
    if isinstance(value, bool):
        raise InputError(f"expected a lag in days, got {value!r}", field=where)
    if isinstance(value, int):
        return value
    text = str(value).strip().lower()
    if text.lstrip("-").isdigit():
        return int(text)
    match = _SUNDAY_LAG.match(text)
    if not match:
        raise InputError(f"expected an int or 'sunday+D,L', got {value!r}", field=where)
    weekday, extra = int(match.group(1)), int(match.group(2))
    return (issue_date.isoweekday() - weekday - 1) % 7 + 1 + extra


def _lags(raw, issue_date: dt.date, where: str) -> dict[str, int]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InputError(f"expected an object of signal -> lag, got {raw!r}", field=where)
    return {str(signal): lag_days(value, issue_date, f"{where}.{signal}") for signal, value in raw.items()}


def end_date(text, issue_date: dt.date, min_lags: dict[str, int]) -> dt.date:
    """The window's last day: ``YYYY-MM-DD``, ``today``, ``today-N`` or ``sunday+N``, with today = the issue date.

    Default (``None``): ``today-{smallest min_expected_lag}`` (1 when none is given).

    Examples
    --------
    >>> end_date("today-3", dt.date(2020, 12, 1), {})
    datetime.date(2020, 11, 28)
    >>> end_date(None, dt.date(2020, 12, 1), {"all": 2})
    datetime.date(2020, 11, 29)
    >>> end_date("sunday+1", dt.date(2020, 12, 3), {})  # the last Monday on or before a Thursday
    datetime.date(2020, 11, 30)
    """
    if text is None:
        return issue_date - dt.timedelta(days=min(min_lags.values(), default=DEFAULT_MIN_LAG))
    value = str(text).strip().lower()
    if value == "today":
        return issue_date
    if re.fullmatch(r"today-\d+", value):
        return issue_date - dt.timedelta(days=int(value[6:]))
    if re.fullmatch(r"sunday\+[0-7]", value):
        return issue_date - dt.timedelta(days=(issue_date.isoweekday() - int(value[7:])) % 7)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"expected YYYY-MM-DD, today, today-N or sunday+N, got {text!r}",
                         field="validation.common.end_date") from None


@dataclass(frozen=True)
class ValidationParams:
    """Every setting the checks use, resolved against one issue date."""

    issue_date: dt.date
    start_date: dt.date
    end_date: dt.date
    min_expected_lag: dict[str, int] = field(default_factory=dict)
    max_expected_lag: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    suppressed_errors: tuple = ()
    minimum_sample_size: float = 100
    missing_se_allowed: bool = False
    missing_sample_size_allowed: bool = False
    additional_valid_geo_values: dict[str, list[str]] = field(default_factory=dict)
    ref_window_size: int = 14
    smoothed_signals: frozenset[str] = frozenset()

    def max_lag(self, signal: str) -> int:
        """The signal's ``max_expected_lag`` (else ``all``, else 10)."""
        return self.max_expected_lag.get(signal, self.max_expected_lag.get("all", DEFAULT_MAX_LAG))

    def min_lag(self, signal: str) -> int:
        """The signal's ``min_expected_lag`` (else ``all``, else 1)."""
        return self.min_expected_lag.get(signal, self.min_expected_lag.get("all", DEFAULT_MIN_LAG))

    @property
    def max_lag_overall(self) -> int:
        """The largest ``max_expected_lag`` (10 when none is given), as upstream's missing-date check uses."""
        return max(self.max_expected_lag.values(), default=DEFAULT_MAX_LAG)

    @property
    def lookbehind_days(self) -> int:
        """Days of reference before each checking date: ``max(7, ref_window_size)``."""
        return max(7, self.ref_window_size)


def _section(validation: dict, name: str) -> dict:
    section = validation.get(name) or {}
    if not isinstance(section, dict):
        raise InputError(f"expected an object, got {section!r}", field=f"validation.{name}")
    return section


def read_params(validation: dict | None, issue_date: dt.date) -> ValidationParams:
    """Resolve upstream's ``validation`` dict (``common``/``static``/``dynamic``) for one issue date.

    Examples
    --------
    >>> p = read_params({"common": {"span_length": 3}}, dt.date(2020, 12, 1))
    >>> p.start_date, p.end_date, p.max_lag("any"), p.minimum_sample_size
    (datetime.date(2020, 11, 28), datetime.date(2020, 11, 30), 10, 100.0)
    """
    validation = validation or {}
    if not isinstance(validation, dict):
        raise InputError(f"expected an object with common/static/dynamic, got {validation!r}", field="validation")
    common, static, dynamic = (_section(validation, name) for name in ("common", "static", "dynamic"))
    min_lags = _lags(common.get("min_expected_lag"), issue_date, "validation.common.min_expected_lag")
    max_lags = _lags(common.get("max_expected_lag"), issue_date, "validation.common.max_expected_lag")
    last = end_date(common.get("end_date"), issue_date, min_lags)
    span = common.get("span_length", DEFAULT_SPAN_LENGTH)
    if isinstance(span, bool) or not isinstance(span, int) or span < 1:
        raise InputError(f"expected a positive number of days, got {span!r}", field="validation.common.span_length")
    extra = static.get("additional_valid_geo_values", {}) or {}
    if not isinstance(extra, dict):
        raise InputError(f"expected an object of geo_type -> list, got {extra!r}",
                         field="validation.static.additional_valid_geo_values")
    return ValidationParams(
        issue_date=issue_date,
        start_date=last - dt.timedelta(days=span - 1),
        end_date=last,
        min_expected_lag=min_lags,
        max_expected_lag=max_lags,
        dry_run=bool(common.get("dry_run", False)),
        suppressed_errors=tuple(parse_suppressions(common.get("suppressed_errors", []))),
        minimum_sample_size=float(static.get("minimum_sample_size", 100)),
        missing_se_allowed=bool(static.get("missing_se_allowed", False)),
        missing_sample_size_allowed=bool(static.get("missing_sample_size_allowed", False)),
        additional_valid_geo_values={str(k): [str(v).lower() for v in vs] for k, vs in extra.items()},
        ref_window_size=int(dynamic.get("ref_window_size", 14)),
        smoothed_signals=frozenset(dynamic.get("smoothed_signals", []) or []),
    )
