"""Validation failures and the report: JSON for machines, a grouped summary for people, one blocking flag."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .. import atomic
from ..log import get_logger

ERROR, WARNING = "error", "warning"


@dataclass
class ValidationFailure:
    """One failed check: what, how bad, where (file, geo type, signal, date) and why.

    ``date`` is the day of a daily file, the start (Sunday) of a weekly file's epiweek, or ``None`` for a
    check of a whole signal. ``suppressed`` is set by the report.
    """

    check_name: str
    severity: str
    message: str
    file: str | None = None
    geo_type: str | None = None
    signal: str | None = None
    date: dt.date | None = None
    time_type: str | None = None
    suppressed: bool = False
    geo_values: tuple = ()  # the regions a check found at fault, when it names them (spikes)

    def __str__(self) -> str:
        when = "*" if self.date is None else self.date.isoformat()
        return f"{self.check_name} failed for {self.signal} at resolution {self.geo_type} on {when}: {self.message}"

    def to_dict(self) -> dict:
        """JSON-ready fields (the date as ``YYYY-MM-DD``)."""
        return {"check_name": self.check_name, "severity": self.severity, "suppressed": self.suppressed,
                "file": self.file, "geo_type": self.geo_type, "signal": self.signal,
                "date": None if self.date is None else self.date.isoformat(), "time_type": self.time_type,
                "message": self.message, **({"geo_values": list(self.geo_values)} if self.geo_values else {})}


def _span(dates) -> str:
    dates = sorted(d for d in dates if d is not None)
    if not dates:
        return "*"
    return dates[0].isoformat() if dates[0] == dates[-1] else f"{dates[0].isoformat()}..{dates[-1].isoformat()}"


@dataclass
class ValidationReport:
    """Every failure of one validation run, and whether it blocks delivery.

    Errors block unless suppressed or ``dry_run``; warnings never block.

    Examples
    --------
    >>> report = ValidationReport("jhu-csse", dt.date(2020, 12, 1), dt.date(2020, 11, 28), dt.date(2020, 11, 30))
    >>> report.add(ValidationFailure("check_val_lt_0", "error", "2 negative values", signal="s", geo_type="state"))
    >>> report.blocking, report.to_dict()["unsuppressed_errors"]
    (True, 1)
    >>> print(report.summary_text().splitlines()[1])
    error    check_val_lt_0  s  x1  [state; *]  2 negative values
    """

    source: str
    issue_date: dt.date
    start_date: dt.date
    end_date: dt.date
    dry_run: bool = False
    suppressions: tuple = ()
    failures: list[ValidationFailure] = field(default_factory=list)
    checks_run: int = 0
    files_checked: int = 0
    elapsed_seconds: float = 0.0

    def add(self, failure: ValidationFailure) -> None:
        """Record a failure, marking an error that a suppression entry matches."""
        if failure.severity == ERROR:
            failure.suppressed = any(rule.matches(failure) for rule in self.suppressions)
        self.failures.append(failure)

    @property
    def errors(self) -> list[ValidationFailure]:
        return [f for f in self.failures if f.severity == ERROR]

    @property
    def warnings(self) -> list[ValidationFailure]:
        return [f for f in self.failures if f.severity == WARNING]

    @property
    def unsuppressed_errors(self) -> list[ValidationFailure]:
        return [f for f in self.errors if not f.suppressed]

    @property
    def blocking(self) -> bool:
        """True when an unsuppressed error exists and this is not a dry run."""
        return bool(self.unsuppressed_errors) and not self.dry_run

    @property
    def success(self) -> bool:
        return not self.blocking

    def checks_failed(self) -> set[str]:
        """Names of the checks with at least one failure (suppressed or not)."""
        return {f.check_name for f in self.failures}

    def to_dict(self) -> dict:
        errors = self.errors
        return {
            "source": self.source, "issue_date": self.issue_date.isoformat(),
            "start_date": self.start_date.isoformat(), "end_date": self.end_date.isoformat(),
            "dry_run": self.dry_run, "blocking": self.blocking, "checks_run": self.checks_run,
            "files_checked": self.files_checked, "errors": len(errors),
            "unsuppressed_errors": sum(not f.suppressed for f in errors),
            "suppressed_errors": sum(f.suppressed for f in errors), "warnings": len(self.warnings),
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "suppressions": [rule.to_dict() for rule in self.suppressions],
            "failures": [f.to_dict() for f in self.failures],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    def write(self, path) -> Path:
        """Write the JSON report atomically (a temporary file renamed into place); return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(path, self.to_json().encode())
        return path

    def groups(self) -> list[tuple[tuple[str, str, str | None], list[ValidationFailure]]]:
        """Failures grouped by (severity label, check, signal): unsuppressed errors, suppressed, warnings."""
        grouped = defaultdict(list)
        for f in self.failures:
            label = WARNING if f.severity == WARNING else ("suppressed" if f.suppressed else ERROR)
            grouped[(label, f.check_name, f.signal)].append(f)
        order = {ERROR: 0, "suppressed": 1, WARNING: 2}
        return sorted(grouped.items(), key=lambda item: (order[item[0][0]], item[0][1], item[0][2] or ""))

    def summary_text(self) -> str:
        """A short human summary: one headline, then one line per (severity, check, signal) with counts."""
        d = self.to_dict()
        verdict = "BLOCKED" if self.blocking else ("passed (dry run)" if self.unsuppressed_errors else "passed")
        lines = [f"{self.source} issue {d['issue_date']} ({d['start_date']}..{d['end_date']}, "
                 f"{self.files_checked} files): {verdict}; {d['unsuppressed_errors']} errors, "
                 f"{d['suppressed_errors']} suppressed, {d['warnings']} warnings"]
        for (label, check, signal), items in self.groups():
            geo_types = ",".join(sorted({f.geo_type for f in items if f.geo_type})) or "*"
            example = items[0].message
            example = example if len(example) <= 100 else example[:97] + "..."
            lines.append(f"{label:<8} {check}  {signal or '*'}  x{len(items)}  [{geo_types}; "
                         f"{_span(f.date for f in items)}]  {example}")
        return "\n".join(lines)

    def log(self, logger=None) -> None:
        """Log upstream's closing line, then one line per group of failures (never one per failure)."""
        logger = logger or get_logger(__name__, source=self.source)
        d = self.to_dict()
        event = "Validation run successful" if self.success else "Validation run unsuccessful"
        logger.info(event, data_source=self.source, checks_run=self.checks_run,
                    checks_failed=d["unsuppressed_errors"], checks_suppressed=d["suppressed_errors"],
                    warnings=d["warnings"], phase="validation", elapsed_time_in_seconds=d["elapsed_seconds"])
        warnings: dict[str, int] = {}
        for (label, check, signal), items in self.groups():
            # an unsuppressed error blocks: one ERROR line per group; warnings and suppressed errors are DEBUG
            # per group, and the warnings get one WARNING line with their counts per check
            emit = logger.error if label == ERROR else logger.debug
            emit("validation failures", phase="validation", severity=label, error_name=check, signal=signal,
                 count=len(items), resolution=sorted({f.geo_type for f in items if f.geo_type}),
                 dates=_span(f.date for f in items), example=items[0].message)
            if label == WARNING:
                warnings[check] = warnings.get(check, 0) + len(items)
        if warnings:
            logger.warning("validation warnings", phase="validation", issue=d["issue_date"], count=sum(warnings.values()),
                           by_check=warnings)
