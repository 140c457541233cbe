"""Where each source stands in the pipeline, read from the data root and the database: the on-call view.

Per source: the newest export (``export/<source>/<day>/_SUCCESS``), the newest validation report and whether
it passed (``reports/<source>/<day>_validation.json``) or blocked (``…_validation.failed.json``), the newest
delivery (``diff/<source>/<day>/_DELIVERED``), the newest issue folder imported (its marker in the database),
the deliveries still waiting in ``receiving/`` and the files the importer set aside (``archive/failed/``).
Problems: a validation that blocks the newest export; a delivery older than the newest import still waiting
(stuck); files set aside for an issue not imported since; a delivery newer than every import.

Examples
--------
>>> import tempfile
>>> from delphi_signals.layout import DataRoot
>>> root = DataRoot(tempfile.mkdtemp())
>>> (root.export("demo-src", "2020-11-30")).mkdir(parents=True)
>>> _ = (root.export("demo-src", "2020-11-30") / "_SUCCESS").write_text('{"file_count": 3}')
>>> state = source_status(root, "demo-src", imported=None)
>>> state["export"], state["problems"]
({'issue': '2020-11-30', 'files': 3}, [])
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from .layout import DataRoot

_DAY = re.compile(r"^(\d{8})$")
_REPORT = re.compile(r"^(\d{8})_validation(\.failed)?\.json$")
_ISSUE = re.compile(r"^issue_(\d{8})$")


def _iso(day: str) -> str:
    return f"{day[:4]}-{day[4:6]}-{day[6:]}"


def _newest_day_folder(folder: Path, marker: str) -> tuple[str, dict] | None:
    """The newest ``YYYYMMDD`` subfolder of ``folder`` holding ``marker``, and the marker's JSON."""
    if not folder.is_dir():
        return None
    days = sorted((p.name for p in folder.iterdir() if _DAY.match(p.name) and (p / marker).is_file()), reverse=True)
    if not days:
        return None
    try:
        content = json.loads((folder / days[0] / marker).read_text())
    except (OSError, ValueError):
        content = {}
    return days[0], content


def _validation(folder: Path) -> dict | None:
    """The newest validation report: its day, outcome and unsuppressed error count."""
    if not folder.is_dir():
        return None
    found = sorted(((m.group(1), bool(m.group(2)), p) for p in folder.iterdir() if (m := _REPORT.match(p.name))),
                   key=lambda item: (item[0], not item[1]), reverse=True)  # a pass outranks a failure of its day
    if not found:
        return None
    day, failed, path = found[0]
    try:
        report = json.loads(path.read_text())
        errors = sum(1 for f in report.get("failures", []) if f.get("severity") == "error" and not f.get("suppressed"))
    except (OSError, ValueError):
        errors = None
    return {"issue": _iso(day), "outcome": "blocked" if failed else "passed", "errors": errors}


def _issue_folders(base: Path, source: str) -> list[str]:
    """Issues (``YYYY-MM-DD``) of ``base/issue_YYYYMMDD/<source>/`` folders holding at least one file."""
    if not base.is_dir():
        return []
    return sorted(_iso(m.group(1)) for p in base.iterdir() if (m := _ISSUE.match(p.name))
                  and (p / source).is_dir() and any(f.is_file() for f in (p / source).iterdir()))


def imported_issues(engine) -> dict[str, str]:
    """Per source, the newest issue folder imported as a whole (its ``folder:<source>/issue_…`` marker)."""
    import sqlalchemy as sa

    from .epidata.schema import import_marker

    newest: dict[str, str] = {}
    with engine.connect() as conn:
        markers = conn.execute(sa.select(import_marker.c.marker).where(import_marker.c.marker.like("folder:%")))
        for (marker,) in markers:
            match = re.fullmatch(r"folder:(.+)/issue_(\d{8})", marker)
            if match:
                source, day = match.group(1), _iso(match.group(2))
                newest[source] = max(newest.get(source, day), day)
    return newest


def source_status(root: DataRoot, source: str, imported: str | None) -> dict:
    """The pipeline state of one source (see the module docstring); ``imported``: its newest imported issue."""
    export = _newest_day_folder(root.path / "export" / source, "_SUCCESS")
    delivered = _newest_day_folder(root.path / "diff" / source, "_DELIVERED")
    state = {
        "source": source,
        "export": export and {"issue": _iso(export[0]), "files": export[1].get("file_count")},
        "validation": _validation(root.reports(source)),
        "delivered": delivered and {"issue": _iso(delivered[0]), "files": delivered[1].get("files")},
        "imported": imported,
        "waiting": _issue_folders(root.path / "receiving", source),
        "set_aside": _issue_folders(root.path / "archive" / "failed", source),
        "problems": [],
    }
    problems = state["problems"]
    validation = state["validation"]
    if validation and validation["outcome"] == "blocked" and (not export or validation["issue"] >= state["export"]["issue"]):
        problems.append(f"validation blocks issue {validation['issue']} ({validation['errors']} error(s)); "
                        f"see {root.reports(source)}")
    stuck = [issue for issue in state["waiting"] if imported and issue < imported]
    if stuck:
        problems.append(f"deliveries older than the newest import still waiting in receiving/: {', '.join(stuck)}")
    if state["set_aside"] and (not imported or state["set_aside"][-1] >= imported):
        problems.append(f"files set aside by the importer for issue {state['set_aside'][-1]}; see "
                        f"{root.path / 'archive' / 'failed'}")
    if delivered and (not imported or state["delivered"]["issue"] > imported) and not state["waiting"]:
        problems.append(f"issue {state['delivered']['issue']} was delivered but is neither waiting nor imported")
    return state


def pipeline_status(root, engine, sources) -> dict:
    """Every source's :func:`source_status`, and the newest nightly staleness report's complaint count."""
    root = root if isinstance(root, DataRoot) else DataRoot(root)
    imported = imported_issues(engine) if engine is not None else {}
    nightly = root.path / "reports" / "nightly"
    days = sorted((p.name for p in nightly.iterdir() if _DAY.match(p.name) and (p / "staleness.json").is_file()),
                  reverse=True) if nightly.is_dir() else []
    staleness = None
    if days:
        complaints = json.loads((nightly / days[0] / "staleness.json").read_text()).get("complaints", [])
        staleness = {"date": _iso(days[0]), "complaints": len(complaints)}
    from .faults.propose import proposed_faults

    return {"checked_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "sources": [source_status(root, s, imported.get(s)) for s in sources], "nightly": staleness,
            "proposed_faults": proposed_faults(engine) if engine is not None else []}


def status_text(status: dict) -> str:
    """One line per source, then the problems, then the nightly line."""
    lines = []
    for state in status["sources"]:
        export, validation, delivered = state["export"], state["validation"], state["delivered"]
        parts = [f"export {export['issue']} ({export['files']} files)" if export else "no export",
                 f"validation {validation['outcome']} {validation['issue']}" if validation else "not validated",
                 f"delivered {delivered['issue']} ({delivered['files']} files)" if delivered else "not delivered",
                 f"imported {state['imported']}" if state["imported"] else "nothing imported",
                 f"waiting: {', '.join(state['waiting'])}" if state["waiting"] else "nothing waiting"]
        lines.append(f"{state['source']:<16} " + " · ".join(parts))
    for state in status["sources"]:
        lines += [f"PROBLEM {state['source']}: {problem}" for problem in state["problems"]]
    nightly = status["nightly"]
    lines.append(f"nightly {nightly['date']}: {nightly['complaints']} staleness complaint(s)" if nightly
                 else "no nightly report yet")
    lines += [f"proposed fault {f['fault_id']} ({f['category']}, {f['reported_date']}): {f['title']}"
              for f in status.get("proposed_faults", [])]
    if status.get("proposed_faults"):
        lines.append("confirm with 'delphi-signals fault confirm ID' or 'delphi-signals fault dismiss ID --note ...'")
    return "\n".join(lines)
