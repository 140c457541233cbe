"""The validate stage: ``Validate(source, date)`` checks the day's export and writes its report.

Target: ``reports/<source>/<YYYYMMDD>_validation.json``, written (atomically) only when nothing blocks. A
blocked export writes ``<YYYYMMDD>_validation.failed.json`` instead and fails the task with
:class:`~delphi_signals.errors.ValidationError`, so the target stays absent and delivery never starts.
"""

from __future__ import annotations

import json
from pathlib import Path

import luigi

from delphi_signals.errors import InputError, ValidationError
from delphi_signals.validate import validate_export

from .config import DelphiSignals
from .indicator import Export


def validation_params(source: str, root: Path | None = None) -> dict:
    """The ``validation`` params of ``source``: ``<root>/params/<source>.json`` if present, else ``{}``.

    The file holds either a whole upstream ``params.json`` (its ``validation`` section is used) or the
    ``validation`` section itself.
    """
    path = (root or DelphiSignals().root()) / "params" / f"{source}.json"
    if not path.exists():
        return {}
    try:
        params = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", file=path, line=exc.lineno) from None
    if not isinstance(params, dict):
        raise InputError("expected a JSON object", file=path)
    return params.get("validation", params)


def reference_dir(source: str, root: Path | None = None) -> Path | None:
    """The archive cache of what ``source`` already published (``<root>/cache/<source>/``), if it exists."""
    path = (root or DelphiSignals().root()) / "cache" / source
    return path if path.is_dir() else None


class Validate(luigi.Task):
    """Validate one issue's export of a source; errors (unless suppressed or dry run) fail the task."""

    source = luigi.Parameter(description="source name, e.g. jhu-csse")
    date = luigi.DateParameter(description="issue date")

    def requires(self):
        return Export(source=self.source, date=self.date)

    def _report_path(self, suffix: str) -> Path:
        return DelphiSignals().root() / "reports" / self.source / f"{self.date:%Y%m%d}_validation{suffix}"

    def output(self):
        return luigi.LocalTarget(self._report_path(".json"))

    def run(self):
        self.set_status_message("validating")
        export_dir = Path(self.input().path).parent
        report = validate_export(export_dir, source=self.source, issue_date=self.date,
                                 validation=validation_params(self.source), reference_dir=reference_dir(self.source))
        if report.blocking:
            report.write(self._report_path(".failed.json"))
            raise ValidationError(f"{self.source} {self.date}: {len(report.unsuppressed_errors)} unsuppressed "
                                  f"validation error(s); report in {self._report_path('.failed.json')}\n"
                                  + report.summary_text())
        self._report_path(".failed.json").unlink(missing_ok=True)
        report.write(self._report_path(".json"))
