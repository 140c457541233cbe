"""The validate stage: ``Validate(source, date)`` checks the day's export and writes its report.

Target: ``reports/<source>/<YYYYMMDD>_validation.json``, written (atomically) only when nothing blocks. A
blocked export writes ``<YYYYMMDD>_validation.failed.json`` instead and fails the task with
:class:`~delphi_signals.errors.ValidationError`, so the target stays absent and delivery never starts.

The dynamic checks compare the export with what the source already published: the archive cache by default,
or the epidata database with ``"reference": "database"`` in the ``validation.common`` params (what the database
held of issues before this one, as upstream's validator asks the API).
"""

from __future__ import annotations

from pathlib import Path

import luigi
import sqlalchemy

from delphi_signals.errors import DelphiSignalsError, InputError, ValidationError
from delphi_signals.log import get_logger
from delphi_signals.validate import DatabaseReference, validate_export

from .config import DelphiSignals
from .indicator import Export, SourceTask, params_for


def validation_params(source: str, date) -> dict:
    """The ``validation`` params of one issue: the indicator's defaults deep-merged with the
    ``validation`` section of ``<params_dir>/<source>.json`` (see :func:`luigi_tasks.indicator.params_for`)."""
    return params_for(source, date).get("validation", {})


def reference_dir(source: str) -> Path | None:
    """The archive cache of what ``source`` already published (``<data_root>/cache/<source>/``), if it exists."""
    path = DelphiSignals().layout().archive_cache(source)
    return path if path.is_dir() else None


def reference_for(source: str, date, validation: dict) -> dict:
    """``validate_export``'s reference argument from ``validation.common.reference`` (archive or database)."""
    kind = (validation.get("common") or {}).get("reference", "archive")
    if kind == "archive":
        return {"reference_dir": reference_dir(source)}
    if kind == "database":
        return {"reference": DatabaseReference(DelphiSignals().database_url(), source, before=date)}
    raise InputError(f"validation.common.reference must be 'archive' or 'database', got {kind!r}",
                     field="reference")


def propose_faults(report, report_path: Path, validation: dict) -> list[int]:
    """Propose faults from the report's blocking findings and chosen warnings in the configured database
    (:func:`delphi_signals.faults.propose.propose_from_validation`); nothing is opened when none qualifies."""
    from delphi_signals.epidata.schema import engine_for
    from delphi_signals.faults.propose import propose_from, propose_from_validation, validation_proposals

    if not validation_proposals(report, report_path, propose_from(validation)):
        return []
    url = DelphiSignals().database_url()
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    engine = engine_for(url)
    try:
        return propose_from_validation(engine, report, report_path, validation)
    except (DelphiSignalsError, sqlalchemy.exc.SQLAlchemyError) as exc:  # a proposal never blocks a delivery
        get_logger(__name__).error("faults not proposed", source=report.source, issue=str(report.issue_date),
                                   error=str(exc)[:500])
        return []
    finally:
        engine.dispose()


class Validate(SourceTask):
    """Validate one issue's export of a source; errors (unless suppressed or dry run) fail the task."""

    def requires(self):
        return Export(source=self.source, date=self.date)

    def _report_path(self, suffix: str) -> Path:
        return DelphiSignals().layout().reports(self.source) / f"{self.date:%Y%m%d}_validation{suffix}"

    def output(self):
        return luigi.LocalTarget(self._report_path(".json"))

    def run(self):
        self.set_status_message("validating")
        export_dir = Path(self.input().path).parent
        validation = validation_params(self.source, self.date)
        report = validate_export(export_dir, source=self.source, issue_date=self.date, validation=validation,
                                 **reference_for(self.source, self.date, validation))
        propose_faults(report, self._report_path(".failed.json" if report.blocking else ".json"), validation)
        if report.blocking:
            report.write(self._report_path(".failed.json"))
            raise ValidationError(f"{self.source} {self.date}: {len(report.unsuppressed_errors)} unsuppressed "
                                  f"validation error(s); report in {self._report_path('.failed.json')}\n"
                                  + report.summary_text())
        self._report_path(".failed.json").unlink(missing_ok=True)
        report.write(self._report_path(".json"))
