"""Faults proposed by the pipeline, and Sir Complains-a-lot silenced by open outage faults.

* **Validation** (:func:`propose_from_validation`): every finding that blocks an export, and every warning of
  the checks named in the ``validation`` params' ``"faults": {"propose_from": [...]}`` (by default the spike
  and the average-change checks), proposes one fault per (check, signal, geo type) — status ``proposed``,
  scope the finding's signal, geo type, regions (when the check names them) and dates, issue range the
  validated issue, linked to the report file.
* **Sir Complains-a-lot** (:func:`silence_and_propose`): a complaint about a signal that an *open* ``outage``
  fault covers (its source, the signal or every signal, the geo type or every level) is silenced — moved from
  the report's ``complaints`` to ``silenced`` with the covering fault ids — until the fault is resolved; every
  other complaint proposes an ``outage`` fault for the stale signal, from the day after its last update to the
  run date.

The same finding on the next day (a proposal with the same key whose issue range ends the day before, still
``proposed`` or ``open``) extends that proposal — its issue range, time range and regions — with a history row
instead of adding a new fault. Running the same day again changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from pathlib import Path

import sqlalchemy as sa

from ..epidata.schema import fault, fault_history, fault_scope
from ..log import get_logger
from .record import add_fault, day_int, ensure_tables, iso, json_list

LOG = get_logger(__name__)
DEFAULT_PROPOSE_FROM = ("check_positive_negative_spikes", "check_test_vs_reference_avg_changed")
OUTAGE_CHECKS = {"check_missing_geo_sig_date_combo", "check_min_max_date", "empty_reference_data"}
VALUE_CHECKS = {"check_positive_negative_spikes", "check_test_vs_reference_avg_changed", "check_val_lt_0",
                "check_val_pct_gt_100", "check_val_prop_gt_1", "check_val_missing", "check_rapid_change_num_rows"}


@dataclasses.dataclass
class Proposal:
    """A fault the pipeline proposes: its key (the same finding has the same key every day) and content."""

    key: str
    title: str
    category: str
    scopes: list[dict]
    description: str
    link: str | None
    match_dates: bool = False
    """Extend a stored scope only when its time range is the new one's (validation: one scope per finding date)."""


def propose_from(validation: dict | None) -> tuple[str, ...]:
    """The warning checks that propose faults: ``validation["faults"]["propose_from"]``, else the default."""
    configured = ((validation or {}).get("faults") or {}).get("propose_from")
    return DEFAULT_PROPOSE_FROM if configured is None else tuple(configured)


def validation_proposals(report, report_path=None, checks=DEFAULT_PROPOSE_FROM) -> list[Proposal]:
    """The faults a validation report proposes (see the module docstring); none when nothing qualifies."""
    chosen = [f for f in report.failures
              if (f.severity == "error" and not f.suppressed and report.blocking)
              or (f.severity == "warning" and f.check_name in checks)]
    groups: dict = {}
    for f in chosen:
        groups.setdefault((f.check_name, f.signal, f.geo_type), []).append(f)
    issue = report.issue_date.isoformat()
    link = Path(report_path).resolve().as_uri() if report_path else None
    out = []
    for (check, signal, geo_type), items in sorted(groups.items(), key=lambda kv: tuple(str(k) for k in kv[0])):
        by_date: dict = {}
        for f in items:
            by_date.setdefault(f.date, []).append(f)
        scopes, every_geo = [], set()
        for date in sorted(by_date, key=lambda d: (d is None, d or dt.date.min)):  # one scope per finding date
            found = by_date[date]
            geos = None if any(not f.geo_values for f in found) else sorted({g for f in found for g in f.geo_values})
            scope = {"source": report.source, "issue_start": issue, "issue_end": issue}
            if signal:
                scope["signals"] = [signal]
            if geo_type:
                scope["geo_type"] = geo_type
                if geos:
                    scope["geo_values"] = geos
                    every_geo.update(geos)
            if date is not None:
                scope["start"] = scope["end"] = date.isoformat()
            scopes.append(scope)
        category = "outage" if check in OUTAGE_CHECKS else "bad_values" if check in VALUE_CHECKS else "other"
        named = sorted(every_geo)
        where = f"{signal or '*'} ({geo_type or '*'}{': ' + ', '.join(named[:3]) if named else ''}" \
                f"{f' +{len(named) - 3} more' if len(named) > 3 else ''})"
        out.append(Proposal(
            key=f"validation/{report.source}/{check}/{signal}/{geo_type}",
            title=f"{report.source} {where}: {check}",
            category=category, scopes=scopes,
            description=f"Proposed by the validator on issue {issue}: {items[0].message}"[:2000], link=link,
            match_dates=True))
    return out


def staleness_proposals(complaints: list[dict], run_date, report_path=None) -> list[Proposal]:
    """An ``outage`` proposal per Sir Complains-a-lot complaint (one scope per offending geo type)."""
    run_day = dt.date.fromisoformat(str(run_date)[:10])
    link = Path(report_path).resolve().as_uri() if report_path else None
    out = []
    for c in complaints:
        first = dt.date.fromisoformat(c["last_updated"]) + dt.timedelta(days=1)
        scopes = [{"source": c["source"], "signals": [c["signal"]], "geo_type": g,
                   "start": min(first, run_day).isoformat(), "end": run_day.isoformat(),
                   "issue_start": run_day.isoformat(), "issue_end": run_day.isoformat()} for g in c["geo_types"]]
        out.append(Proposal(key=f"staleness/{c['source']}/{c['signal']}/{c['kind']}",
                            title=f"{c['source']} {c['signal']} ({', '.join(c['geo_types'])}): {c['message']}",
                            category="outage", scopes=scopes,
                            description=f"Proposed by Sir Complains-a-lot on {run_day}: {c['message']}; last "
                                        f"updated {c['last_updated']}", link=link))
    return out


def _widen(old: dict, new: dict) -> dict:
    """The scope row ``old`` widened by the new finding's scope ``new`` (dates as ints)."""
    out = {}
    for key, pick in (("start_date", min), ("end_date", max), ("issue_end", max)):
        a, b = old[key], new.get(key)
        out[key] = None if a is None or b is None else pick(a, b)
    old_geos, new_geos = json_list(old["geo_values"]), new.get("geo_values")
    out["geo_values"] = None if old_geos is None or new_geos is None else json.dumps(sorted(set(old_geos) |
                                                                                           set(new_geos)))
    return out


def _existing(conn, key: str, issue: int):
    """The proposal with this key that the finding of ``issue`` continues, and whether it already holds it."""
    rows = conn.execute(sa.select(fault.c.fault_id, fault.c.links).where(
        fault.c.proposal_key == key, fault.c.status.in_(("proposed", "open"))).order_by(fault.c.fault_id.desc())).all()
    for fault_id, links in rows:
        ends = conn.execute(sa.select(sa.func.max(fault_scope.c.issue_end)).where(
            fault_scope.c.fault_id == fault_id)).scalar()
        previous = int((dt.datetime.strptime(str(issue), "%Y%m%d") - dt.timedelta(days=1)).strftime("%Y%m%d"))
        if ends is not None and ends >= previous:
            return fault_id, json.loads(links or "[]"), ends >= issue
    return None, None, False


def record_proposals(engine, proposals: list[Proposal], issue) -> list[int]:
    """Add each proposal, or extend the one the same finding made the day before; return the fault ids."""
    if not proposals:
        return []
    ensure_tables(engine)
    issue = day_int(issue, "issue")
    ids = []
    for p in proposals:
        with engine.begin() as conn:
            fault_id, links, held = _existing(conn, p.key, issue)
            if fault_id is not None:
                if not held:
                    _extend(conn, fault_id, p, issue, links)
                ids.append(int(fault_id))
                continue
        try:
            ids.append(add_fault(engine, p.title[:200], p.category, p.scopes, description=p.description,
                                 links=[p.link] if p.link else (), reported_by="pipeline", status="proposed",
                                 reported_date=issue, proposal_key=p.key))
        except Exception as exc:  # a proposal never stops the pipeline; the log says what was not recorded
            LOG.error("fault proposal not recorded", proposal_key=p.key, error=str(exc))
    LOG.info("faults proposed", count=len(ids), fault_ids=ids, issue=issue)
    return ids


def _extend(conn, fault_id: int, p: Proposal, issue: int, links: list[str]) -> None:
    stored = conn.execute(sa.select(fault_scope).where(fault_scope.c.fault_id == fault_id)).mappings().all()
    changes = []  # what the history row says changed (the scope rows themselves are widened in place)
    for new in p.scopes:
        new_row = {"start_date": day_int(new["start"], "start") if new.get("start") else None,
                   "end_date": day_int(new["end"], "end") if new.get("end") else None, "issue_end": issue,
                   "geo_values": new.get("geo_values")}
        match = next((s for s in stored if s["geo_type"] == new.get("geo_type")
                      and json_list(s["signals"]) == new.get("signals")
                      and (not p.match_dates or (s["start_date"], s["end_date"]) == (new_row["start_date"],
                                                                                     new_row["end_date"]))), None)
        if match is None:
            conn.execute(fault_scope.insert().values(
                fault_id=fault_id, source=new["source"], signals=json.dumps(new["signals"]) if new.get("signals")
                else None, geo_type=new.get("geo_type"), geo_values=json.dumps(new["geo_values"])
                if new.get("geo_values") else None, start_date=new_row["start_date"], end_date=new_row["end_date"],
                issue_start=issue, issue_end=issue))
            changes.append(f"new scope {new.get('geo_type') or '*'} {iso(new_row['start_date']) or '*'}.."
                           f"{iso(new_row['end_date']) or '*'}")
        else:
            widened = _widen(dict(match), new_row)
            conn.execute(fault_scope.update().where(fault_scope.c.fault_scope_id == match["fault_scope_id"])
                         .values(**widened))
            was = {k: (json_list(match[k]) if k == "geo_values" else match[k]) for k in widened}
            now = {k: (json_list(v) if k == "geo_values" else v) for k, v in widened.items()}
            changes.append(f"scope {match['geo_type'] or '*'} {iso(match['start_date']) or '*'}: " + ", ".join(
                f"{k} {was[k]} -> {now[k]}" for k in widened if was[k] != now[k]))
    if p.link and p.link not in links:
        conn.execute(fault.update().where(fault.c.fault_id == fault_id).values(links=json.dumps(links + [p.link])))
    status = conn.execute(sa.select(fault.c.status).where(fault.c.fault_id == fault_id)).scalar()
    conn.execute(fault_history.insert().values(fault_id=fault_id, changed_date=issue, changed_timestamp=int(time.time()),
                                               action="extended", status=status,
                                               note=("; ".join(changes) + ". " + p.description)[:4000],
                                               changed_by="pipeline"))


def propose_from_validation(engine, report, report_path=None, validation: dict | None = None) -> list[int]:
    """Record the faults a validation report proposes (see :func:`validation_proposals`); their ids."""
    proposals = validation_proposals(report, report_path, propose_from(validation))
    return record_proposals(engine, proposals, report.issue_date)


def _open_outages(engine, source: str) -> list[tuple[int, dict]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(fault.c.fault_id, fault_scope.c.signals, fault_scope.c.geo_type)
                            .select_from(fault.join(fault_scope, fault_scope.c.fault_id == fault.c.fault_id))
                            .where(fault.c.status == "open", fault.c.category == "outage",
                                   fault_scope.c.source == source)).all()
    return [(int(fid), {"signals": json_list(signals), "geo_type": geo_type}) for fid, signals, geo_type in rows]


def silence_and_propose(engine, report: dict, run_date, report_path=None) -> dict:
    """Silence the complaints open outage faults cover and propose outage faults for the others (in place).

    Afterwards ``report["complaints"]`` holds only the complaints still standing (the geo types no open outage
    covers), ``report["silenced"]`` the silenced parts with ``fault_ids``, ``report["proposed_fault_ids"]`` the
    proposals, and ``report["text"]`` is rewritten from the standing complaints.
    """
    from ..analytics.staleness import report_text

    ensure_tables(engine)
    standing, silenced = [], []
    outages: dict = {}
    for complaint in report["complaints"]:
        source, signal = complaint["source"], complaint["signal"]
        if source not in outages:
            outages[source] = _open_outages(engine, source)
        kept, quiet, by = [], [], set()
        for geo_type in complaint["geo_types"]:
            covering = [fid for fid, s in outages[source] if (s["signals"] is None or signal in s["signals"])
                        and s["geo_type"] in (None, geo_type)]
            if covering:
                quiet.append(geo_type)
                by.update(covering)
            else:
                kept.append(geo_type)
        if quiet:
            silenced.append({**complaint, "geo_types": quiet, "fault_ids": sorted(by)})
        if kept:
            standing.append({**complaint, "geo_types": kept})
    report["complaints"], report["silenced"] = standing, silenced
    report["text"] = report_text(standing) + "".join(
        f"silenced by fault {', '.join(map(str, s['fault_ids']))}: {s['source']}::{s['signal']} "
        f"({', '.join(s['geo_types'])}) {s['message']}\n" for s in silenced)
    report["proposed_fault_ids"] = record_proposals(engine, staleness_proposals(standing, run_date, report_path),
                                                    run_date)
    return report


def proposed_faults(engine) -> list[dict]:
    """The faults waiting for an operator (status ``proposed``): id, title, category, reported date (none when the
    database predates the fault record: nothing is created here)."""
    if not sa.inspect(engine).has_table("fault"):
        return []
    with engine.connect() as conn:
        rows = conn.execute(sa.select(fault.c.fault_id, fault.c.title, fault.c.category, fault.c.reported_date)
                            .where(fault.c.status == "proposed").order_by(fault.c.fault_id)).all()
    return [{"fault_id": int(r[0]), "title": r[1], "category": r[2], "reported_date": int(r[3])} for r in rows]
