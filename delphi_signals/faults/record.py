"""The fault record in the epidata database: add, list, read and change faults, every change kept as history.

A fault is what the team knows to be wrong in a signal (an outage, a reporting backlog, a definition change,
a pipeline bug, bad values), with one or more scopes. A scope is a dict with keys ``source``, ``signals``
(names, or omitted for every signal of the source), ``geo_type`` and ``geo_values`` (omitted: every level /
every region of the level), ``start``/``end`` (time values, inclusive) and ``issue_start``/``issue_end`` (the
issues in which the fault was present; an omitted end stays open while the fault is open and is closed at the
resolution date). Every name and value reaches SQL as a bound parameter; every scope is checked against the
registered indicators, the signals stored in the database and the geography tables before anything is written,
and a fault, its scopes and its first history row are written in one transaction.

Examples
--------
>>> from delphi_signals.epidata.schema import create_schema, engine_for
>>> engine = engine_for("sqlite://")
>>> create_schema(engine)
>>> fid = add_fault(engine, "Backlog in LA", "backlog", [{"source": "jhu-csse", "geo_type": "county",
...                 "geo_values": ["06037"], "start": "2020-11-23", "end": "2020-11-29"}], reported_date="2020-11-30")
>>> update_fault(engine, fid, status="resolved", note="JHU spread the backlog", date="2020-12-02")
>>> row = list_faults(engine, source="jhu-csse").iloc[0]
>>> row.status, row.geo_values, int(row.issue_start), int(row.issue_end)
('resolved', '06037', 20201130, 20201202)
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ..cube import check_geo_type, normalize_geo_values
from ..errors import InputError, UnknownNameError
from ..epidata.schema import fault, fault_history, fault_scope, signal_dim

CATEGORIES = ("outage", "backlog", "definition_change", "pipeline_bug", "bad_values", "other")
STATUSES = ("proposed", "open", "resolved", "dismissed")
SCOPE_KEYS = ("source", "signals", "geo_type", "geo_values", "start", "end", "issue_start", "issue_end")
TITLE_LENGTH, REPORTER_LENGTH, LINK_LENGTH = 200, 128, 2000
_LINK = re.compile(r"^https?://[^\s<>\"']+$")
LIST_COLUMNS = ("fault_id", "title", "description", "category", "status", "reported_by", "reported_date",
                "resolved_date", "resolution", "links", "source", "signals", "geo_type", "geo_values", "start",
                "end", "issue_start", "issue_end")


class FaultNotFoundError(UnknownNameError):
    """No fault has this id."""

    def __init__(self, fault_id):
        InputError.__init__(self, f"no fault with id {fault_id!r}", field="fault_id")
        self.what, self.name, self.known = "fault", fault_id, []


@dataclass(frozen=True)
class Scope:
    """One checked scope; ``None`` means all (names) or open (bounds). Dates are ``YYYYMMDD`` ints."""

    source: str
    signals: tuple[str, ...] | None = None
    geo_type: str | None = None
    geo_values: tuple[str, ...] | None = None
    start: int | None = None
    end: int | None = None
    issue_start: int | None = None
    issue_end: int | None = None

    def to_row(self) -> dict:
        return {"source": self.source, "signals": None if self.signals is None else json.dumps(list(self.signals)),
                "geo_type": self.geo_type,
                "geo_values": None if self.geo_values is None else json.dumps(list(self.geo_values)),
                "start_date": self.start, "end_date": self.end, "issue_start": self.issue_start,
                "issue_end": self.issue_end}


def ensure_tables(engine: sa.engine.Engine, attempts: int = 3) -> None:
    """Create the epidata schema's missing tables (the fault tables in a database made before the fault record
    existed, or every table in an empty one): :func:`~delphi_signals.epidata.schema.create_schema`.

    Two processes creating the same table at once (parallel Luigi workers on a new database) make one of them
    fail with "already exists"; it tries again, and then finds the table.
    """
    from ..epidata.schema import create_schema

    for attempt in range(attempts):
        try:
            create_schema(engine)
            return
        except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError) as exc:
            if "already exists" not in str(exc) and "Duplicate" not in str(exc) or attempt == attempts - 1:
                raise


def day_int(value, what: str) -> int:
    """A date (``datetime.date``, ISO string or ``YYYYMMDD`` int) as a ``YYYYMMDD`` int; errors name ``what``.

    Examples
    --------
    >>> day_int("2020-11-30", "start"), day_int(20201130, "end"), day_int(dt.date(2020, 11, 30), "end")
    (20201130, 20201130, 20201130)
    """
    if isinstance(value, (dt.date, pd.Timestamp)):
        return int(pd.Timestamp(value).strftime("%Y%m%d"))
    text = str(value).strip()
    digits = text.replace("-", "") if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else text
    if isinstance(value, bool) or not re.fullmatch(r"\d{8}", digits):
        raise InputError(f"{str(value)[:40]!r} is not a date (YYYY-MM-DD or YYYYMMDD)", field=what)
    try:
        dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise InputError(f"{str(value)[:40]!r} is not a calendar day", field=what) from None
    return int(digits)


def iso(day: int | None) -> str | None:
    """``YYYYMMDD`` int as ``YYYY-MM-DD`` (``None`` stays ``None``)."""
    if day is None or (isinstance(day, float) and np.isnan(day)):
        return None
    day = int(day)
    return f"{day // 10000:04d}-{day // 100 % 100:02d}-{day % 100:02d}"


def known_signals(engine: sa.engine.Engine) -> dict[str, set[str]]:
    """Per source, the signals it may have: the registered indicators' catalogues and what the database holds."""
    from ..indicators.registry import indicators

    known: dict[str, set[str]] = {}
    for indicator in indicators():
        known.setdefault(indicator.source, set()).update(indicator.signals.names(active_only=False))
    with engine.connect() as conn:
        for source, signal in conn.execute(sa.select(signal_dim.c.source, signal_dim.c.signal)):
            known.setdefault(source, set()).add(signal)
    return known


def _names(value, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    if not items:
        return None
    if not all(isinstance(v, str) and v.strip() for v in items):
        raise InputError(f"must be a list of non-empty names, got {value!r}", field=what)
    return tuple(dict.fromkeys(v.strip() for v in items))


def check_scope(scope: dict, known: dict[str, set[str]], where: str = "scope") -> Scope:
    """Check one scope dict against the known sources and signals and the geography tables.

    Raises
    ------
    InputError
        An unknown key, source, signal, geo type or geo value for the level, a bad date, or an end before its
        start; the message names the field (``scopes[0].geo_values`` …).
    """
    if not isinstance(scope, dict):
        raise InputError(f"a scope is a dict with keys {', '.join(SCOPE_KEYS)}, got {scope!r}", field=where)
    unknown = sorted(set(scope) - set(SCOPE_KEYS))
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(map(repr, unknown))}; known: {', '.join(SCOPE_KEYS)}",
                         field=where)
    source = scope.get("source")
    if not isinstance(source, str) or source not in known:
        raise UnknownNameError("source", source, sorted(known)) from None
    signals = _names(scope.get("signals"), f"{where}.signals")
    if signals is not None:
        bad = [s for s in signals if s not in known[source]]
        if bad:
            raise InputError(f"unknown signal(s) of {source}: {', '.join(repr(b[:64]) for b in bad[:5])}",
                             field=f"{where}.signals")
    geo_type = scope.get("geo_type")
    if geo_type is not None:
        try:
            geo_type = check_geo_type(str(geo_type))
        except InputError as exc:
            raise InputError(exc.reason, field=f"{where}.geo_type") from None
    geo_values = _names(scope.get("geo_values"), f"{where}.geo_values")
    if geo_values is not None:
        if geo_type is None:
            raise InputError("geo values need a geo_type", field=f"{where}.geo_values")
        geo_values = tuple(dict.fromkeys(normalize_geo_values(list(geo_values), geo_type).tolist()))
        from ..geo import LEVELS, geo_values as level_values

        if geo_type in LEVELS:
            bad = sorted(set(geo_values) - set(level_values(geo_type).tolist()))
            if bad:
                raise InputError(f"unknown {geo_type} geo value(s) {', '.join(repr(b[:20]) for b in bad[:5])}",
                                 field=f"{where}.geo_values")
    bounds = {}
    for key in ("start", "end", "issue_start", "issue_end"):
        value = scope.get(key)
        bounds[key] = None if value is None or value == "" else day_int(value, f"{where}.{key}")
    for first, last in (("start", "end"), ("issue_start", "issue_end")):
        if bounds[first] is not None and bounds[last] is not None and bounds[last] < bounds[first]:
            raise InputError(f"{iso(bounds[last])} is before {first} {iso(bounds[first])}", field=f"{where}.{last}")
    return Scope(source, signals, geo_type, geo_values, **bounds)


def _text(value, what: str, limit: int | None, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise InputError("is required", field=what)
        return None
    if not isinstance(value, str):
        raise InputError(f"must be text, got {type(value).__name__}", field=what)
    value = value.strip()
    if required and not value:
        raise InputError("is empty", field=what)
    if limit is not None and len(value) > limit:
        raise InputError(f"is longer than {limit} characters", field=what)
    return value


def _choice(value, choices, what: str) -> str:
    if value not in choices:
        raise InputError(f"{str(value)[:40]!r} is not one of {', '.join(choices)}", field=what)
    return value


def _links(links) -> list[str]:
    links = [links] if isinstance(links, str) else list(links or ())
    for link in links:
        if not isinstance(link, str) or len(link) > LINK_LENGTH or not (_LINK.match(link) or link.startswith("file:")):
            raise InputError(f"{str(link)[:80]!r} is not an http(s) or file: URL", field="links")
    return links


def _today_int() -> int:
    return int(dt.date.today().strftime("%Y%m%d"))


def add_fault(engine: sa.engine.Engine, title: str, category: str, scopes, *, description: str = "", links=(),
              reported_by: str | None = None, status: str = "open", reported_date=None,
              proposal_key: str | None = None, known: dict | None = None) -> int:
    """Record a fault with its scopes and its first history row in one transaction; return its id.

    ``reported_date`` (default today) is the day the fault became known; a scope's ``issue_start`` defaults to
    it. ``proposal_key`` marks a fault proposed by the pipeline (the same finding the next day extends it).
    """
    title = _text(title, "title", TITLE_LENGTH, required=True)
    description = _text(description or "", "description", None)
    reported_by = _text(reported_by, "reported_by", REPORTER_LENGTH)
    _choice(category, CATEGORIES, "category")
    _choice(status, ("proposed", "open"), "status")
    links = _links(links)
    scopes = [scopes] if isinstance(scopes, dict) else list(scopes or ())
    if not scopes:
        raise InputError("a fault needs at least one scope", field="scopes")
    known = known_signals(engine) if known is None else known
    checked = [check_scope(s, known, f"scopes[{i}]") for i, s in enumerate(scopes)]
    reported = _today_int() if reported_date is None else day_int(reported_date, "reported_date")
    now = int(time.time())
    with engine.begin() as conn:
        fault_id = conn.execute(fault.insert().values(
            title=title, description=description, category=category, status=status, reported_by=reported_by,
            reported_date=reported, reported_timestamp=now, links=json.dumps(links),
            proposal_key=proposal_key)).inserted_primary_key[0]
        rows = []
        for scope in checked:
            row = scope.to_row()
            if row["issue_start"] is None:
                row["issue_start"] = reported
            rows.append({"fault_id": fault_id, **row})
        conn.execute(fault_scope.insert(), rows)
        conn.execute(fault_history.insert().values(fault_id=fault_id, changed_date=reported, changed_timestamp=now,
                                                   action="created", status=status, note=description or None,
                                                   changed_by=reported_by))
    return int(fault_id)


def get_fault(engine: sa.engine.Engine, fault_id) -> dict:
    """One fault as a dict: its fields, ``scopes`` (dicts in the add_fault form) and ``history`` (oldest first)."""
    fault_id = _fault_id(fault_id)
    with engine.connect() as conn:
        row = conn.execute(sa.select(fault).where(fault.c.fault_id == fault_id)).mappings().first()
        if row is None:
            raise FaultNotFoundError(fault_id)
        scopes = conn.execute(sa.select(fault_scope).where(fault_scope.c.fault_id == fault_id)
                              .order_by(fault_scope.c.fault_scope_id)).mappings().all()
        history = conn.execute(sa.select(fault_history).where(fault_history.c.fault_id == fault_id)
                               .order_by(fault_history.c.fault_history_id)).mappings().all()
    out = dict(row)
    out["links"] = json.loads(out["links"] or "[]")
    out["scopes"] = [_scope_dict(s) for s in scopes]
    out["history"] = [{k: h[k] for k in ("changed_date", "changed_timestamp", "action", "status", "note",
                                         "changed_by")} for h in history]
    return out


def _scope_dict(row) -> dict:
    return {"source": row["source"], "signals": None if row["signals"] is None else json.loads(row["signals"]),
            "geo_type": row["geo_type"],
            "geo_values": None if row["geo_values"] is None else json.loads(row["geo_values"]),
            "start": row["start_date"], "end": row["end_date"], "issue_start": row["issue_start"],
            "issue_end": row["issue_end"]}


def json_list(value) -> list | None:
    """A JSON list column's value as a list; NULL (every signal / region) as ``None``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return json.loads(value)


def _fault_id(value) -> int:
    if isinstance(value, bool) or not re.fullmatch(r"\d{1,18}", str(value).strip()):
        raise InputError(f"{str(value)[:40]!r} is not a fault id", field="fault_id")
    return int(str(value).strip())


def update_fault(engine: sa.engine.Engine, fault_id, *, status: str | None = None, note: str | None = None,
                 changed_by: str | None = None, date=None) -> None:
    """Change a fault's status and/or add a note; the change is a new history row.

    Resolving or dismissing sets the resolution date (``date``, default today) and note, and closes the open
    issue ranges of its scopes at that date. A status change out of ``resolved`` or ``dismissed`` is refused.
    """
    fault_id = _fault_id(fault_id)
    if status is not None:
        _choice(status, STATUSES, "status")
    note = _text(note, "note", None)
    changed_by = _text(changed_by, "changed_by", REPORTER_LENGTH)
    if status is None and not note:
        raise InputError("give a status or a note", field="status")
    when = _today_int() if date is None else day_int(date, "date")
    with engine.begin() as conn:
        current = conn.execute(sa.select(fault.c.status).where(fault.c.fault_id == fault_id)
                               .with_for_update()).scalar()
        if current is None:
            raise FaultNotFoundError(fault_id)
        if status is not None and current in ("resolved", "dismissed") and status != current:
            raise InputError(f"fault {fault_id} is {current}; a closed fault does not change status", field="status")
        new = status or current
        values = {"status": new}
        if new in ("resolved", "dismissed") and current not in ("resolved", "dismissed"):
            values.update(resolved_date=when, resolution=note)
            conn.execute(fault_scope.update().where(fault_scope.c.fault_id == fault_id,
                                                    fault_scope.c.issue_end.is_(None)).values(issue_end=when))
        conn.execute(fault.update().where(fault.c.fault_id == fault_id).values(**values))
        conn.execute(fault_history.insert().values(
            fault_id=fault_id, changed_date=when, changed_timestamp=int(time.time()),
            action="status" if status is not None and status != current else "note", status=new, note=note,
            changed_by=changed_by))


def list_faults(engine: sa.engine.Engine, source=None, signal=None, status=None, geo_type=None, geo_value=None,
                category=None, time_values=None) -> pd.DataFrame:
    """Faults as a frame, one row per fault and scope (columns :data:`LIST_COLUMNS`), newest fault first.

    Filters: ``source``; ``signal`` (scopes naming it or every signal); ``status`` and ``category`` (a name or a
    list); ``geo_type`` (scopes of that level or of every level); ``geo_value`` (scopes naming it or every
    region); ``time_values`` ((first, last) dates, scopes whose time range overlaps it). In the frame ``signals``
    and ``geo_values`` are comma-joined text ("" = all), dates ``YYYYMMDD`` ints (``<NA>`` = open).
    """
    query = (sa.select(fault.c.fault_id, fault.c.title, fault.c.description, fault.c.category, fault.c.status,
                       fault.c.reported_by, fault.c.reported_date, fault.c.resolved_date, fault.c.resolution,
                       fault.c.links, fault_scope.c.source, fault_scope.c.signals, fault_scope.c.geo_type,
                       fault_scope.c.geo_values, fault_scope.c.start_date, fault_scope.c.end_date,
                       fault_scope.c.issue_start, fault_scope.c.issue_end)
             .select_from(fault.join(fault_scope, fault_scope.c.fault_id == fault.c.fault_id))
             .order_by(fault.c.fault_id.desc(), fault_scope.c.fault_scope_id))
    if source is not None:
        query = query.where(fault_scope.c.source == str(source))
    for column, value, choices, what in ((fault.c.status, status, STATUSES, "status"),
                                         (fault.c.category, category, CATEGORIES, "category")):
        if value is not None:
            values = [value] if isinstance(value, str) else list(value)
            for v in values:
                _choice(v, choices, what)
            query = query.where(column.in_(values))
    if geo_type is not None:
        query = query.where(sa.or_(fault_scope.c.geo_type.is_(None), fault_scope.c.geo_type == str(geo_type)))
    if time_values is not None:
        first, last = (time_values, time_values) if not isinstance(time_values, (tuple, list)) else time_values
        first, last = day_int(first, "time_values"), day_int(last, "time_values")
        query = query.where(sa.or_(fault_scope.c.start_date.is_(None), fault_scope.c.start_date <= last),
                            sa.or_(fault_scope.c.end_date.is_(None), fault_scope.c.end_date >= first))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(LIST_COLUMNS), dtype=object)
    for name in ("signals", "geo_values"):
        frame[name] = [json_list(v) for v in frame[name]]
    if signal is not None:
        frame = frame.loc[np.array([s is None or str(signal) in s for s in frame["signals"]], dtype=bool)]
    if geo_value is not None:
        frame = frame.loc[np.array([g is None or str(geo_value).lower() in g for g in frame["geo_values"]], dtype=bool)]
    frame = frame.reset_index(drop=True)
    for name in ("signals", "geo_values"):
        frame[name] = [("" if v is None else ",".join(v)) for v in frame[name]]
    frame["links"] = [json.loads(v or "[]") for v in frame["links"]]
    for name in ("fault_id", "reported_date", "resolved_date", "start", "end", "issue_start", "issue_end"):
        frame[name] = pd.array(frame[name].astype(object).where(frame[name].notna(), None), dtype="Int64")
    return frame
