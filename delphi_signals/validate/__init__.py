"""The validator: static and dynamic checks of one export, a JSON report, and whether it blocks delivery.

Upstream's checks (spec/indicators.md §6) under upstream's names and params, for daily and weekly files, with
the export's issue date as "today" and what this system already published as the reference.

Examples
--------
>>> import datetime as dt, tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp()) / "jhu-csse"
>>> folder.mkdir()
>>> _ = (folder / "20201130_state_confirmed_incidence_num.csv").write_text("geo_id,val,se,sample_size\\nca,-5,NA,NA\\n")
>>> report = validate_export(folder, source="jhu-csse", issue_date=dt.date(2020, 12, 1),
...                          validation={"common": {"span_length": 1},
...                                      "static": {"missing_se_allowed": True, "missing_sample_size_allowed": True}})
>>> report.blocking, [f.check_name for f in report.unsuppressed_errors]  # a negative count blocks delivery
(True, ['check_val_lt_0'])
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from ..errors import InputError
from .checks_dynamic import check_dynamic
from .checks_static import check_file, check_file_list, check_names, check_unreadable
from ..log import progress
from .files import FileRows, export_files, in_window, read_export_file, rows_frame
from .params import ValidationParams, read_params
from .reference import ArchiveReference, DatabaseReference, EmptyReference, ReferenceData
from .report import ValidationFailure, ValidationReport
from .suppress import Suppression, parse_suppressions

__all__ = [
    "ArchiveReference", "DatabaseReference", "EmptyReference", "ReferenceData", "Suppression", "ValidationFailure",
    "ValidationParams",
    "ValidationReport", "check_static", "parse_suppressions", "read_params", "validate_export",
]


def check_static(export_dir, params: ValidationParams, report: ValidationReport) -> list[FileRows]:
    """Every static check of the files of ``export_dir`` in the window; returns the rows of the readable ones."""
    metas, bad_names = export_files(export_dir)
    check_names(bad_names, report)
    in_range = [m for m in metas if in_window(m, params.start_date, params.end_date)]
    check_file_list(in_range, params, report)
    readable = []
    for meta in progress(in_range, desc=f"validating {Path(export_dir).name}", unit="file"):
        try:
            rows = read_export_file(meta)
        except InputError as exc:
            check_unreadable(meta, str(exc), report)
            continue
        check_file(rows, params, report)
        readable.append(rows)
    report.files_checked = len(in_range)
    return readable


def validate_export(export_dir, *, source: str, issue_date, validation: dict | None = None,
                    reference_dir=None, reference: ReferenceData | None = None) -> ValidationReport:
    """Run every check on the files of ``export_dir`` whose date lies in the validation window.

    Parameters
    ----------
    export_dir : path
        A flat folder of export CSVs (daily ``YYYYMMDD_geo_signal.csv`` and weekly ``weekly_YYYYWW_…``).
    source : str
        The data source, for the report.
    issue_date : datetime.date or str
        The export's issue date: the validator's "today".
    validation : dict
        Upstream's ``validation`` params: ``{"common": {...}, "static": {...}, "dynamic": {...}}``.
    reference_dir : path, optional
        The archive cache (published CSVs, named as exports) for the dynamic checks.
    reference : ReferenceData, optional
        Any other reference (e.g. a database); ``reference_dir`` wins when both are given. Without either,
        nothing counts as published.

    Returns
    -------
    ValidationReport
        ``report.blocking`` is True when an unsuppressed error exists and ``dry_run`` is off.

    Raises
    ------
    InputError
        ``export_dir`` or ``reference_dir`` does not exist, or the params are malformed.
    """
    started = time.perf_counter()
    if isinstance(issue_date, str):
        issue_date = dt.date.fromisoformat(issue_date)
    export_dir = Path(export_dir)
    if not export_dir.is_dir():
        raise InputError("the export folder does not exist", file=export_dir)
    params = read_params(validation, issue_date)
    if reference_dir is not None:
        reference = ArchiveReference(reference_dir)
    reference = reference if reference is not None else EmptyReference()
    report = ValidationReport(source, issue_date, params.start_date, params.end_date, params.dry_run,
                              params.suppressed_errors)
    readable = check_static(export_dir, params, report)
    check_dynamic(rows_frame(readable), reference, params, report)
    report.elapsed_seconds = time.perf_counter() - started
    report.log()
    return report
