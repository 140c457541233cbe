"""Where each source stands in the pipeline, read from the data root and the database: the on-call view.

Per source: the newest export (``export/<source>/<day>/_SUCCESS``), the newest validation report and whether
it passed (``reports/<source>/<day>_validation.json``) or blocked (``…_validation.failed.json``), the newest
delivery (``diff/<source>/<day>/_DELIVERED``), the newest issue imported completely (by the pipeline or by
hand: :mod:`delphi_signals.epidata.imported`), the deliveries still waiting in ``receiving/`` and the files the
importer set aside (``archive/failed/``). Problems: a validation that blocks the newest export; a delivery
older than the newest import still waiting (stuck); an issue imported in part; files set aside for an issue
not imported since; a delivery newer than every import; a manifest or report that cannot be read.

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

_DAY = re.compile(r"^([0-9]{8})$")
_REPORT = re.compile(r"^([0-9]{8})_validation(\.failed)?\.json$")
_ISSUE = re.compile(r"^issue_([0-9]{8})$")


def _iso(day: str) -> str:
    return f"{day[:4]}-{day[4:6]}-{day[6:]}"


def read_manifest(path: Path, count_key: str) -> tuple[dict | None, str | None]:
    """A manifest or report (a JSON object whose ``count_key`` is a whole number), or ``None`` and why not."""
    try:
        content = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"{path} cannot be read ({type(exc).__name__}: {str(exc)[:80]})"
    if not isinstance(content, dict) or type(content.get(count_key)) is not int:
        return None, f"{path} is not a valid manifest (no whole-number {count_key!r})"
    return content, None


def _newest_day_folder(folder: Path, marker: str, count_key: str) -> tuple[str, int | None, str | None] | None:
    """The newest ``YYYYMMDD`` subfolder of ``folder`` holding ``marker``, the marker's count (``count_key``)
    and, when the marker is unreadable, why."""
    if not folder.is_dir():
        return None
    days = sorted((p.name for p in folder.iterdir() if _DAY.match(p.name) and (p / marker).is_file()), reverse=True)
    if not days:
        return None
    content, problem = read_manifest(folder / days[0] / marker, count_key)
    return days[0], content and content[count_key], problem


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
    except (OSError, UnicodeDecodeError, ValueError, AttributeError, TypeError):
        errors = None
    return {"issue": _iso(day), "outcome": "blocked" if failed else "passed", "errors": errors}


def _issue_file_counts(base: Path, source: str) -> dict[str, int]:
    """Issue (``YYYY-MM-DD``) → files in ``base/issue_YYYYMMDD/<source>/``, for the folders holding any."""
    if not base.is_dir():
        return {}
    counts = {_iso(m.group(1)): sum(1 for f in (p / source).iterdir() if f.is_file())
              for p in base.iterdir() if (m := _ISSUE.match(p.name)) and (p / source).is_dir()}
    return {issue: n for issue, n in sorted(counts.items()) if n}


def imported_issues(engine, root=None, handled: dict | None = None) -> dict[str, str]:
    """Per source, the newest issue imported completely (:func:`delphi_signals.epidata.imported.issue_import_state`),
    counting the files still waiting under ``root`` (a data root) when given; ``handled``: what
    :func:`delphi_signals.epidata.imported.handled_issues` found, when already asked."""
    from .epidata.imported import handled_issues, issue_import_state

    newest: dict[str, str] = {}
    for source, issues in (handled_issues(engine) if handled is None else handled).items():
        waiting = _issue_file_counts(Path(root) / "receiving", source) if root is not None else {}
        done = [day for day, handled in issues.items()
                if issue_import_state(handled, waiting.get(day, 0)) == "imported"]
        if done:
            newest[source] = max(done)
    return newest


def source_status(root: DataRoot, source: str, imported: str | None, handled: dict | None = None) -> dict:
    """The pipeline state of one source (see the module docstring); ``imported``: its newest issue imported
    completely; ``handled``: its entry of :func:`delphi_signals.epidata.imported.handled_issues`."""
    from .epidata.imported import issue_import_state

    export = _newest_day_folder(root.path / "export" / source, "_SUCCESS", "file_count")
    delivered = _newest_day_folder(root.path / "diff" / source, "_DELIVERED", "files")
    waiting = _issue_file_counts(root.path / "receiving", source)
    state = {
        "source": source,
        "export": export and {"issue": _iso(export[0]), "files": export[1]},
        "validation": _validation(root.reports(source)),
        "delivered": delivered and {"issue": _iso(delivered[0]), "files": delivered[1]},
        "imported": imported,
        "waiting": list(waiting),
        "set_aside": list(_issue_file_counts(root.path / "archive" / "failed", source)),
        "problems": [],
    }
    problems = state["problems"]
    problems += [found[2] for found in (export, delivered) if found and found[2]]
    if state["validation"] and state["validation"]["errors"] is None:
        problems.append(f"the validation report of issue {state['validation']['issue']} in {root.reports(source)} "
                        "cannot be read")
    for issue, files in waiting.items():
        if issue_import_state((handled or {}).get(issue), files) == "in part":
            problems.append(f"issue {issue} imported in part: {files} file(s) left in "
                            f"{root.receiving(issue, source)}")
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
    nothing_sent = delivered and delivered[1] == 0  # a delivery of no changed file leaves nothing to import
    if (delivered and not nothing_sent and (not imported or state["delivered"]["issue"] > imported)
            and not state["waiting"]):
        problems.append(f"issue {state['delivered']['issue']} was delivered but is neither waiting nor imported")
    return state


def pipeline_status(root, engine, sources, not_configured=None) -> dict:
    """Every source's :func:`source_status`, and the newest nightly staleness report's complaint count.

    ``not_configured`` maps each source that cannot run here to the remedy (``"not configured: set base_url
    in [<source>]"``): its entry carries it as ``not_configured`` (else ``None``), after the others."""
    from .epidata.imported import handled_issues

    not_configured = dict(not_configured or {})
    sources = [s for s in sources if s not in not_configured] + list(not_configured)
    root = root if isinstance(root, DataRoot) else DataRoot(root)
    handled = handled_issues(engine)
    imported = imported_issues(engine, root.path, handled)
    nightly = root.path / "reports" / "nightly"
    days = sorted((p.name for p in nightly.iterdir() if _DAY.match(p.name) and (p / "staleness.json").is_file()),
                  reverse=True) if nightly.is_dir() else []
    staleness, problems = None, []
    if days:
        report, problem = _staleness(nightly / days[0] / "staleness.json")
        staleness = {"date": _iso(days[0]), "complaints": report}
        problems += [problem] if problem else []
    from .faults.propose import proposed_faults

    return {"checked_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "sources": [{**source_status(root, s, imported.get(s), handled.get(s)),
                         "not_configured": not_configured.get(s)} for s in sources],
            "nightly": staleness, "problems": problems,
            "proposed_faults": proposed_faults(engine) if engine is not None else []}


def _staleness(path: Path) -> tuple[int | None, str | None]:
    """The complaint count of a nightly ``staleness.json``, or ``None`` and why it cannot be read."""
    try:
        complaints = json.loads(path.read_text())["complaints"]
        if not isinstance(complaints, list):
            raise TypeError("'complaints' is not a list")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        return None, f"{path} cannot be read ({type(exc).__name__}: {str(exc)[:80]})"
    return len(complaints), None


def has_problems(status: dict) -> bool:
    """Whether :func:`pipeline_status` found anything an operator must act on."""
    return bool(status.get("problems")) or any(s["problems"] for s in status["sources"])


def _counted(stage: str, found: dict) -> str:
    files = "manifest unreadable" if found["files"] is None else f"{found['files']} files"
    return f"{stage} {found['issue']} ({files})"


def status_text(status: dict) -> str:
    """One line per source, then the problems, then the nightly line."""
    lines = []
    for state in status["sources"]:
        export, validation, delivered = state["export"], state["validation"], state["delivered"]
        parts = [_counted("export", export) if export else "no export",
                 f"validation {validation['outcome']} {validation['issue']}" if validation else "not validated",
                 _counted("delivered", delivered) if delivered else "not delivered",
                 f"imported {state['imported']}" if state["imported"] else "nothing imported",
                 f"waiting: {', '.join(state['waiting'])}" if state["waiting"] else "nothing waiting"]
        if state.get("not_configured"):
            parts = [state["not_configured"]] + (parts if export else [])
        lines.append(f"{state['source']:<16} " + " · ".join(parts))
    for state in status["sources"]:
        lines += [f"PROBLEM {state['source']}: {problem}" for problem in state["problems"]]
    lines += [f"PROBLEM nightly: {problem}" for problem in status.get("problems", [])]
    nightly = status["nightly"]
    if nightly and nightly["complaints"] is not None:
        lines.append(f"nightly {nightly['date']}: {nightly['complaints']} staleness complaint(s)")
    else:
        lines.append(f"nightly {nightly['date']}: report unreadable" if nightly else "no nightly report yet")
    lines += [f"proposed fault {f['fault_id']} ({f['category']}, {f['reported_date']}): {f['title']}"
              for f in status.get("proposed_faults", [])]
    if status.get("proposed_faults"):
        lines.append("confirm with 'delphi-signals fault confirm ID' or 'delphi-signals fault dismiss ID --note ...'")
    return "\n".join(lines)
