"""Static checks: each file on its own, plus the file list (names and missing dates), as upstream's
``StaticValidator`` (check names as in spec/indicators.md §6, so suppressions carry over)."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import numpy as np

from ..cube import GEO_ID_PATTERNS
from ..geo import LEVELS, geo_values
from ..io import ExportFile
from .files import BadName, FileRows
from .params import ValidationParams
from .report import ERROR, WARNING, ValidationFailure, ValidationReport

# upstream's patterns for its seven geo types; the other geo types Delphi knows use the cube's patterns
GEO_ID_FORMATS = {
    "county": r"\d{5}", "hrr": r"\d{1,3}", "hhs": r"\d{1,2}", "msa": r"\d{5}", "dma": r"\d{3}",
    "state": r"[a-zA-Z]{2}", "nation": r"[a-zA-Z]{2}",
}
GEO_ID_FORMATS = {**GEO_ID_PATTERNS, **GEO_ID_FORMATS}
NUMERIC_GEO_TYPES = {"county": 5, "msa": 5, "dma": 3, "hrr": 0, "zip": 5}  # id width (0: no padding)
_FLOAT_ID = re.compile(r"^(\d+)\.0*$")


def _examples(items, limit: int = 5) -> str:
    items = list(items)
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(map(str, items[:limit])) + more


def _rows_where(rows: FileRows, mask: np.ndarray, values: np.ndarray | None = None) -> str:
    """``n rows (geo=value, ...)`` for the rows flagged by ``mask``."""
    idx = np.flatnonzero(mask)
    shown = [f"{rows.geo[i]}={values[i]:g}" if values is not None else str(rows.geo[i]) for i in idx[:5]]
    more = f" (+{len(idx) - 5} more)" if len(idx) > 5 else ""
    return f"{len(idx)} row(s): {', '.join(shown)}{more}"


class _FileChecks:
    """The checks of one file, adding failures tied to its name, geo type, signal and date."""

    def __init__(self, rows: FileRows, report: ValidationReport):
        self.rows, self.report = rows, report

    def fail(self, check: str, message: str, severity: str = ERROR) -> None:
        meta = self.rows.meta
        self.report.add(ValidationFailure(check, severity, message, file=meta.path.name, geo_type=meta.geo_type,
                                          signal=meta.signal, date=meta.time.date(), time_type=meta.time_type))

    def ran(self, n: int = 1) -> None:
        self.report.checks_run += n


def check_names(bad_names: list[BadName], report: ValidationReport) -> None:
    """``check_geo_type`` for a name whose only fault is an unknown geo type, else ``check_filename_format``."""
    for bad in bad_names:
        report.checks_run += 1
        if bad.geo_type is not None:
            report.add(ValidationFailure("check_geo_type", ERROR, f"Unrecognized geo type {bad.geo_type}",
                                         file=bad.path.name, geo_type=bad.geo_type, signal=bad.signal, date=bad.date))
        else:
            report.add(ValidationFailure("check_filename_format", ERROR, f"nameformat not recognized: {bad.reason}",
                                         file=bad.path.name))


def check_file_list(metas: list[ExportFile], params: ValidationParams, report: ValidationReport) -> None:
    """``check_empty_filelist`` and ``check_missing_date_files`` over the files in the window.

    A day (or epiweek) of the window is expected once more than the largest ``max_expected_lag`` days have
    passed since it (for a week: since its Saturday) by the issue date; one error per expected time value
    that no file of that time type has. Weekly times are expected only when the export has weekly files.
    """
    report.checks_run += 1
    if not metas:
        report.add(ValidationFailure("check_empty_filelist", ERROR,
                                     f"No files found in export directory for {params.start_date}..{params.end_date}"))
        return
    lag = params.max_lag_overall
    for time_type in sorted({m.time_type for m in metas}):
        present = {m.time.date() for m in metas if m.time_type == time_type}
        step = 7 if time_type == "week" else 1
        first = params.start_date
        if time_type == "week":  # the Sunday starting the epiweek that holds the window's first day
            first -= dt.timedelta(days=(first.isoweekday() % 7))
        expected, day = [], first
        while day <= params.end_date:
            last_day = day + dt.timedelta(days=step - 1)
            if (params.issue_date - last_day).days > lag:
                expected.append(day)
            day += dt.timedelta(days=step)
        for missing in sorted(set(expected) - present):
            report.add(ValidationFailure(
                "check_missing_date_files", ERROR,
                f"no {'weekly' if step == 7 else 'daily'} file for {missing} (older than the largest "
                f"max_expected_lag, {lag} days); if this date is already in the API it would not be updated",
                date=missing, time_type=time_type))


@lru_cache(maxsize=None)
def _known_ids(geo_type: str, extra: tuple[str, ...]) -> np.ndarray:
    known = list(extra) + (list(geo_values(geo_type)) if geo_type in LEVELS else [])
    return np.unique(np.array(known, dtype=str))


def _geo_id_checks(c: _FileChecks, params: ValidationParams) -> np.ndarray:
    """``check_geo_id_type``, ``check_geo_id_format``, ``check_bad_geo_id_value``, ``check_geo_id_lowercase``;
    returns the ids after float-truncation and zero-padding (as upstream checks them)."""
    geo_type, ids = c.rows.meta.geo_type, c.rows.geo.astype(str)
    width = NUMERIC_GEO_TYPES.get(geo_type)
    if width is not None:
        c.ran()
        if (np.char.find(ids, ".") >= 0).any():
            floats = sorted({g for g in ids if _FLOAT_ID.match(g)})
            if floats:
                c.fail("check_geo_id_type", f"geo_ids saved as floats; strings preferred: {_examples(floats)}",
                       WARNING)
                ids = np.array([_FLOAT_ID.sub(r"\1", g) for g in ids], dtype=str)
        if width:
            ids = np.char.zfill(ids, width)
    lower = np.char.lower(ids)
    extra = params.additional_valid_geo_values.get(geo_type, [])
    has_table = geo_type in LEVELS or bool(extra)
    known = np.isin(lower, _known_ids(geo_type, tuple(extra))) if has_table else np.zeros(len(ids), dtype=bool)
    c.ran()
    pattern = re.compile(GEO_ID_FORMATS[geo_type])
    unexpected = sorted({g for g in np.unique(ids[~known]) if not pattern.fullmatch(g)})  # known ids conform
    if unexpected:
        c.fail("check_geo_id_format", f"Non-conforming geo_ids found: {_examples(unexpected)}")
    if has_table:
        c.ran()
        unknown = np.unique(ids[~known])
        if len(unknown):
            c.fail("check_bad_geo_id_value", f"Unrecognized geo_ids (not in the geography tables): "
                                             f"{_examples(unknown)}")
    c.ran()
    upper = np.unique(ids[lower != ids])
    if len(upper):
        c.fail("check_geo_id_lowercase", f"geo_ids contain uppercase characters (lowercase is preferred): "
                                         f"{_examples(upper)}", WARNING)
    return ids


def _value_checks(c: _FileChecks) -> None:
    rows, signal = c.rows, c.rows.meta.signal
    val = rows.val
    if "pct" in signal:
        c.ran()
        if (val > 100).any():
            c.fail("check_val_pct_gt_100", f"val must not exceed 100 for percents: {_rows_where(rows, val > 100, val)}")
    if "prop" in signal:
        c.ran()
        if (val > 100_000).any():
            c.fail("check_val_prop_gt_100k", "val must not exceed 100000 for proportions: "
                                             f"{_rows_where(rows, val > 100_000, val)}")
    c.ran()
    if (val < 0).any():
        c.fail("check_val_lt_0", f"val must not be negative: {_rows_where(rows, val < 0, val)}")


def _se_checks(c: _FileChecks, params: ValidationParams) -> None:
    rows = c.rows
    se, missing = rows.se, np.isnan(rows.se)
    if params.missing_se_allowed:
        c.ran()
        if (se < 0).any():
            c.fail("check_se_missing_or_in_range", f"se must be NA or non-negative: {_rows_where(rows, se < 0, se)}")
    else:
        c.ran(2)
        bad = missing | (se < 0)
        if bad.any():
            c.fail("check_se_not_missing_and_in_range", f"se must be non-negative and not missing: "
                                                        f"{_rows_where(rows, bad, se)}")
        if len(se) and missing.mean() > 0.5:
            c.fail("check_se_many_missing", f"se values are >50% NA: {round(missing.mean() * 100, 2)}%")
    c.ran()
    jeffreys = (rows.val == 0) & (se == 0)
    if jeffreys.any():
        c.fail("check_se_0_when_val_0", "when val is 0, se must be non-zero (use the Jeffreys correction): "
                                        f"{_rows_where(rows, jeffreys)}")
    elif (se == 0).any():
        c.fail("check_se_0", f"se must be non-zero: {_rows_where(rows, se == 0)}")


def _sample_size_checks(c: _FileChecks, params: ValidationParams) -> None:
    rows, minimum = c.rows, params.minimum_sample_size
    n, missing = rows.sample_size, np.isnan(rows.sample_size)
    if params.missing_sample_size_allowed:
        c.ran()
        if (n < minimum).any():
            c.fail("check_n_missing_or_gt_min", f"sample size must be NA or >= {minimum:g}: "
                                                f"{_rows_where(rows, n < minimum, n)}")
    else:
        c.ran(2)
        if missing.any():
            c.fail("check_n_missing", f"sample_size must not be NA: {_rows_where(rows, missing)}")
        if (n < minimum).any():
            c.fail("check_n_gt_min", f"sample size must be >= {minimum:g}: {_rows_where(rows, n < minimum, n)}")


def _duplicate_checks(c: _FileChecks) -> None:
    """``check_duplicate_rows`` (warning) for identical rows; a geo id repeated with other values is an error
    (``check_file_data_format``): the file cannot say which row is right."""
    rows = c.rows
    c.ran()
    seen, repeated, conflicting = {}, [], []
    for i, geo in enumerate(rows.geo):
        record = (rows.val[i], rows.se[i], rows.sample_size[i], rows.missing_val[i])
        if geo in seen:
            same = all(a == b or (a != a and b != b) for a, b in zip(seen[geo], record))
            (repeated if same else conflicting).append(geo)
        else:
            seen[geo] = record
    if repeated:
        c.fail("check_duplicate_rows", f"{len(repeated)} row(s) duplicated, which may indicate data integrity "
                                       f"issues: {_examples(repeated)}", WARNING)
    if conflicting:
        c.fail("check_file_data_format", f"geo_id repeated with different values: {_examples(conflicting)}")


def check_file(rows: FileRows, params: ValidationParams, report: ValidationReport) -> None:
    """Every per-file check of one file's rows."""
    c = _FileChecks(rows, report)
    if len(np.unique(rows.geo)) != len(rows.geo):
        _duplicate_checks(c)
    else:
        c.ran()
    _geo_id_checks(c, params)
    _value_checks(c)
    _se_checks(c, params)
    _sample_size_checks(c, params)


def check_unreadable(meta: ExportFile, reason: str, report: ValidationReport) -> None:
    """``check_file_data_format``: the file breaks the CSV grammar, so no other check can read it."""
    report.checks_run += 1
    report.add(ValidationFailure("check_file_data_format", ERROR, f"not a Delphi export CSV: {reason}",
                                 file=meta.path.name, geo_type=meta.geo_type, signal=meta.signal,
                                 date=meta.time.date(), time_type=meta.time_type))


__all__ = ["check_file", "check_file_list", "check_names", "check_unreadable"]
