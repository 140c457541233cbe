"""The parameters of the Epidata ``covidcast`` and ``covidcast_meta`` endpoints, checked before any query.

Every rule here answers a bad request with an :class:`ApiError` whose message names the parameter, as the
upstream server does; the app turns it into ``result -1`` (classic) or HTTP 400 (json, csv, jsonl).

Examples
--------
>>> q = parse_covidcast({"data_source": "jhu-csse", "signals": "confirmed_incidence_num", "time_type": "day",
...                      "geo_type": "state", "time_values": "20200301-20200310,20200315", "geo_value": "*"})
>>> q.time_ranges, q.geo_values
([(20200301, 20200310), (20200315, 20200315)], None)
>>> parse_covidcast({"data_source": "x"})
Traceback (most recent call last):
...
delphi_signals.api.params.ApiError: missing parameter: signals (or signal)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from ..errors import InputError
from ..timeaxis import format_time_values, parse_days, parse_weeks

FORMATS = ("classic", "json", "csv", "jsonl")
GEO_TYPES = ("county", "state", "msa", "hrr", "hhs", "nation", "zip", "dma", "hsa", "hsa_nci")
ROW_FIELDS = ("geo_value", "signal", "source", "geo_type", "time_type", "time_value", "direction", "issue", "lag",
              "missing_value", "missing_stderr", "missing_sample_size", "value", "stderr", "sample_size")
COMPAT_FIELDS = tuple(f for f in ROW_FIELDS if f not in ("source", "geo_type", "time_type"))
ON_REQUEST_FIELDS = ("fault_ids",)
"""Fields a ``covidcast`` answer holds only when ``fields`` names them (so the official clients see the rows they
expect): ``fault_ids``, the comma-separated ids of the confirmed faults covering the row."""
META_FIELDS = ("data_source", "signal", "time_type", "geo_type", "min_time", "max_time", "num_locations",
               "min_value", "max_value", "mean_value", "stdev_value", "last_update", "max_issue", "min_issue",
               "min_lag", "max_lag")
MAX_LIST_ITEMS = 5_000
"""The most items one list parameter (signals, geo values, time values, issues) may hold."""
YEARS = (1900, 2199)
"""Time values, issues and dates outside these years are refused (the date arithmetic's own range is narrower
than what eight digits can say)."""
MAX_LAG = 36_500
"""The largest ``lag`` or ``anchor_lag`` (days or weeks) a request may give."""
_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]+"
_TIME_RANGE = re.compile(rf"({_TIME})(?:--|-|:)({_TIME})")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-.]{0,63}$")
_GEO_VALUE = re.compile(r"^[A-Za-z0-9]{1,12}$")


class ApiError(InputError):
    """A bad request: the message says which parameter is wrong and why."""


@dataclass
class CovidcastQuery:
    """A checked ``covidcast`` request. ``None`` in a list field means ``*`` (everything)."""

    source: str
    signals: list[str] | None
    time_type: str
    geo_type: str
    time_ranges: list[tuple[int, int]] | None
    geo_values: list[str] | None
    as_of: int | None = None
    issues: list[tuple[int, int]] | None = None
    all_issues: bool = False
    lag: int | None = None
    format: str = "classic"
    fields: tuple[str, ...] = field(default=ROW_FIELDS)

    @property
    def versioned(self) -> bool:
        """Rows come from every issue (``epimetric_full``) rather than the latest."""
        return self.issues is not None or self.all_issues or self.lag is not None


def _required(params: dict, *names: str) -> str:
    for name in names:
        value = params.get(name)
        if value not in (None, ""):
            return str(value)
    raise ApiError(f"missing parameter: {' (or '.join(names)}{')' * (len(names) - 1)}")


def _items(text: str, what: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise ApiError(f"{what} has an empty item: {text[:80]!r}")
    if len(items) > MAX_LIST_ITEMS:
        raise ApiError(f"{what} lists {len(items)} items; at most {MAX_LIST_ITEMS} per request")
    return items


def _name(value: str, what: str) -> str:
    if not _NAME.match(value):
        raise ApiError(f"{what} {value[:80]!r} is not a valid name (letters, digits, _ - .; at most 64)")
    return value


def _time_int(text: str, time_type: str, what: str) -> int:
    digits = text.replace("-", "") if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) else text
    want = 8 if time_type == "day" else 6
    if not re.fullmatch(r"[0-9]+", digits) or len(digits) != want:
        form = "YYYYMMDD or YYYY-MM-DD" if time_type == "day" else "YYYYWW"
        raise ApiError(f"{what}: {text[:40]!r} is not a {form} value")
    if not YEARS[0] <= int(digits[:4]) <= YEARS[1]:
        raise ApiError(f"{what}: {text[:40]!r} is outside the years {YEARS[0]}..{YEARS[1]}")
    try:
        (parse_days if time_type == "day" else parse_weeks)([int(digits)])
    except InputError as exc:
        raise ApiError(f"{what}: {exc.reason}") from None
    return int(digits)


def parse_time_list(text: str, time_type: str, what: str) -> list[tuple[int, int]] | None:
    """``a,b-c,*`` as merged inclusive ranges of ``YYYYMMDD``/``YYYYWW`` ints; ``*`` is ``None`` (all). A range
    is ``a-b``, ``a:b`` or ``a--b``; days may be written ``YYYY-MM-DD``.

    Examples
    --------
    >>> parse_time_list("20200105,20200101-20200103,20200104", "day", "time_values")
    [(20200101, 20200105)]
    >>> parse_time_list("2020-11-01--2020-11-05,2020-11-07-2020-11-08", "day", "time_values")
    [(20201101, 20201105), (20201107, 20201108)]
    >>> parse_time_list("202001-202003", "week", "time_values")
    [(202001, 202003)]
    """
    text = text.strip()
    if text == "*":
        return None
    ranges = []
    for item in _items(text, what):
        if match := _TIME_RANGE.fullmatch(item):
            first, last = match.groups()
            a, b = _time_int(first, time_type, what), _time_int(last, time_type, what)
            if a > b:
                raise ApiError(f"{what}: range {item!r} is inverted")
            ranges.append((a, b))
        else:
            value = _time_int(item, time_type, what)
            ranges.append((value, value))
    return _merge(sorted(ranges), time_type)


def _next(value: int, time_type: str) -> int:
    parse = parse_days if time_type == "day" else parse_weeks
    step = 1 if time_type == "day" else 7
    return int(format_time_values(parse([value]) + pd.Timedelta(days=step), time_type)[0])


def _merge(ranges: list[tuple[int, int]], time_type: str) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for a, b in ranges:
        if merged and a <= _next(merged[-1][1], time_type):
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def _fields(text: str | None, allowed: tuple[str, ...], on_request: tuple[str, ...] = ()) -> tuple[str, ...]:
    if not text:
        return allowed
    items = _items(text, "fields")
    include = [f for f in items if not f.startswith("-")]
    exclude = {f[1:] for f in items if f.startswith("-")}
    known = allowed + on_request
    unknown = [f for f in include + sorted(exclude) if f not in known]
    if unknown:
        raise ApiError(f"fields: unknown field(s) {', '.join(unknown[:5])}; known: {', '.join(known)}")
    base = [f for f in known if f in include] if include else list(allowed)
    return tuple(f for f in base if f not in exclude)


def bounded_int(params: dict, name: str, default: int, low: int, high: int) -> int:
    """The whole-number parameter ``name`` (``default`` when absent), refused outside ``low..high``.

    Examples
    --------
    >>> bounded_int({"days": "7"}, "days", 56, 1, 3650), bounded_int({}, "days", 56, 1, 3650)
    (7, 56)
    >>> bounded_int({"days": "99999999999999999999"}, "days", 56, 1, 3650)
    Traceback (most recent call last):
    ...
    delphi_signals.api.params.ApiError: days '99999999999999999999' is not a whole number in 1..3650
    """
    text = str(params.get(name) or "").strip()
    if not text:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
        raise ApiError(f"{name} {text[:24]!r} is not a whole number in {low}..{high}")
    return int(text)


def parse_format(params: dict) -> str:
    value = (params.get("format") or "classic").strip().lower()
    if value not in FORMATS:
        raise ApiError(f"format {value[:20]!r} is not one of {', '.join(FORMATS)}")
    return value


def parse_covidcast(params: dict, *, compat: bool = False) -> CovidcastQuery:
    """Check the parameters of a ``covidcast`` request (old style: ``data_source``, ``signals``, ``geo_type``,
    ``geo_value(s)``, ``time_type``, ``time_values``, ``as_of``, ``issues``, ``lag``, ``format``, ``fields``)."""
    fmt = parse_format(params)
    source = _name(_required(params, "data_source"), "data_source")
    signal_text = _required(params, "signals", "signal").strip()
    signals = None if signal_text == "*" else [_name(s, "signals") for s in _items(signal_text, "signals")]
    time_type = _required(params, "time_type").strip().lower()
    if time_type not in ("day", "week"):
        raise ApiError(f"time_type {time_type[:20]!r} is not day or week")
    geo_type = _required(params, "geo_type").strip().lower()
    if geo_type not in GEO_TYPES:
        raise ApiError(f"geo_type {geo_type[:20]!r} is not one of {', '.join(GEO_TYPES)}")
    time_ranges = parse_time_list(_required(params, "time_values"), time_type, "time_values")
    geo_text = _required(params, "geo_values", "geo_value").strip()
    geo_values = None
    if geo_text != "*":
        geo_values = sorted({g.lower() for g in _items(geo_text, "geo_value")})
        bad = [g for g in geo_values if not _GEO_VALUE.match(g)]
        if bad:
            raise ApiError(f"geo_value: invalid geo_value(s) {', '.join(repr(b[:20]) for b in bad[:5])}")
    as_of = issues = lag = None
    all_issues = False
    if params.get("as_of") not in (None, ""):
        as_of = _time_int(str(params["as_of"]).strip(), time_type, "as_of")
    if params.get("issues") not in (None, ""):
        issues = parse_time_list(str(params["issues"]), time_type, "issues")
        all_issues = issues is None
    if params.get("lag") not in (None, ""):
        lag = bounded_int(params, "lag", 0, 0, MAX_LAG)
    if as_of is not None and (issues is not None or all_issues or lag is not None):
        raise ApiError("as_of cannot be combined with issues or lag")
    fields = _fields(params.get("fields"), COMPAT_FIELDS if compat else ROW_FIELDS, ON_REQUEST_FIELDS)
    return CovidcastQuery(source, signals, time_type, geo_type, time_ranges, geo_values, as_of, issues, all_issues,
                          lag, fmt, fields)


@dataclass
class MetaQuery:
    """A checked ``covidcast_meta`` request; ``None`` filters nothing."""

    time_types: set[str] | None
    geo_types: set[str] | None
    signals: list[tuple[str, str | None]] | None
    format: str
    fields: tuple[str, ...]


def parse_meta(params: dict) -> MetaQuery:
    """Check ``time_types``, ``geo_types``, ``signals`` (``src``, ``src:*`` or ``src:sig``), ``fields``, ``format``."""
    fmt = parse_format(params)
    time_types = set(_items(params["time_types"], "time_types")) if params.get("time_types") else None
    geo_types = set(_items(params["geo_types"], "geo_types")) if params.get("geo_types") else None
    if time_types and not time_types <= {"day", "week"}:
        raise ApiError(f"time_types: {', '.join(sorted(t[:20] for t in time_types - {'day', 'week'}))!r} is not day "
                       "or week")
    if geo_types and not geo_types <= set(GEO_TYPES):
        bad = ", ".join(sorted(g[:20] for g in geo_types - set(GEO_TYPES)))
        raise ApiError(f"geo_types: {bad!r} is not one of {', '.join(GEO_TYPES)}")
    signals = None
    if params.get("signals"):
        signals = []
        for item in _items(params["signals"], "signals"):
            source, _, signal = item.partition(":")
            signals.append((_name(source, "signals"), None if signal in ("", "*") else _name(signal, "signals")))
    return MetaQuery(time_types, geo_types, signals, fmt, _fields(params.get("fields"), META_FIELDS))
