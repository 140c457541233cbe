"""Suppression per check, signal, geo type and date; dry run; the JSON report and the grouped summary."""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from delphi_signals.validate import validate_export

from .conftest import JHU_ISSUE, copy_files, edit, jhu_validation

DEFECTS = [  # (file, geo id made negative)
    ("20201129_state_confirmed_cumulative_num.csv", "ca"),
    ("20201130_state_confirmed_cumulative_num.csv", "ca"),
    ("20201130_state_deaths_cumulative_num.csv", "ny"),
    ("20201130_hhs_deaths_cumulative_num.csv", "1"),
]
SIGNALS = ("confirmed_cumulative_num", "deaths_cumulative_num")


@pytest.fixture
def defective(jhu_files, tmp_path):
    """Two days of real state and HHS cumulative files, four of them with a negative value; the earlier days
    as the published reference."""

    def wanted(name):
        return any(f"_{geo}_{signal}.csv" in name for geo in ("state", "hhs") for signal in SIGNALS)

    export = copy_files(jhu_files, tmp_path / "export" / "jhu-csse", lambda n: wanted(n) and n[:8] >= "20201129")
    reference = copy_files(jhu_files, tmp_path / "cache" / "jhu-csse", lambda n: wanted(n) and n[:8] < "20201129")
    for name, geo in DEFECTS:
        edit(export / name, lambda f, geo=geo: f.assign(val=np.where(f.geo_id == geo, "-1.0", f.val)))
    return export, reference


def run(folder, reference, suppressed=None, **common):
    validation = jhu_validation(span_length=2, suppressed_errors=suppressed or [], **common)
    return validate_export(folder, source="jhu-csse", issue_date=JHU_ISSUE, validation=validation,
                           reference_dir=reference)


def suppressed_files(report):
    return sorted(f.file for f in report.errors if f.suppressed)


def test_without_suppression_the_defects_block(defective):
    report = run(*defective)
    assert {f.check_name for f in report.errors} == {"check_val_lt_0"}
    assert sorted(f.file for f in report.unsuppressed_errors) == sorted(name for name, _ in DEFECTS)
    assert report.blocking and not report.success


@pytest.mark.parametrize("rule, expected", [
    ({"check_name": "check_val_lt_0"}, [name for name, _ in DEFECTS]),
    ({"check_name": "check_val_lt_0", "signal": "confirmed_cumulative_num"}, [DEFECTS[0][0], DEFECTS[1][0]]),
    ({"check_name": "check_val_lt_0", "geo_type": "hhs"}, [DEFECTS[3][0]]),
    ({"date": "2020-11-29"}, [DEFECTS[0][0]]),
    ({"check_name": "check_val_lt_0", "signal": "deaths_cumulative_num", "geo_type": "state", "date": "2020-11-30"},
     [DEFECTS[2][0]]),
    ({"check_name": "check_val_pct_gt_100"}, []),
    ({"signal": "confirmed_cumulative_num", "date": "2020-11-28"}, []),
], ids=["check", "signal", "geo", "date", "all-four", "other-check", "other-date"])
def test_suppression_matches_each_field(defective, rule, expected):
    report = run(*defective, [rule])
    assert suppressed_files(report) == sorted(expected)
    assert report.blocking == (len(expected) < len(DEFECTS))


def test_dry_run_never_blocks_but_reports_everything(defective):
    report = run(*defective, dry_run=True)
    assert len(report.unsuppressed_errors) == len(DEFECTS) and not report.blocking
    assert "passed (dry run)" in report.summary_text().splitlines()[0]


def test_warnings_never_block_and_are_not_suppressed(jhu_files, tmp_path):
    export = copy_files(jhu_files, tmp_path / "export" / "jhu-csse", lambda n: n.endswith("_state_deaths_cumulative_num.csv")
                        and n[:8] >= "20201129")
    reference = copy_files(jhu_files, tmp_path / "cache" / "jhu-csse", lambda n: n.endswith(
        "_state_deaths_cumulative_num.csv") and n[:8] < "20201129")
    edit(export / "20201130_state_deaths_cumulative_num.csv",
         lambda f: pd.concat([f, f[f.geo_id == "ca"]]))  # a duplicated row: a warning
    report = run(export, reference, [{"check_name": "check_duplicate_rows"}])
    warning, = [f for f in report.failures if f.check_name == "check_duplicate_rows"]
    assert warning.severity == "warning" and not warning.suppressed
    assert report.errors == [] and not report.blocking


def test_json_report_lists_every_failure(defective, tmp_path):
    report = run(*defective, [{"check_name": "check_val_lt_0", "geo_type": "hhs"}])
    path = report.write(tmp_path / "reports" / "20201201_validation.json")
    data = json.loads(path.read_text())
    assert (data["source"], data["issue_date"], data["start_date"], data["end_date"]) == (
        "jhu-csse", "2020-12-01", "2020-11-29", "2020-11-30")
    assert (data["errors"], data["unsuppressed_errors"], data["suppressed_errors"], data["blocking"]) == (4, 3, 1, True)
    assert data["suppressions"] == [{"check_name": "check_val_lt_0", "geo_type": "hhs"}]
    rows = {(f["file"], f["suppressed"]) for f in data["failures"] if f["check_name"] == "check_val_lt_0"}
    assert rows == {(name, name.startswith("20201130_hhs")) for name, _ in DEFECTS}
    one = next(f for f in data["failures"] if f["file"] == DEFECTS[2][0])
    assert one == {"check_name": "check_val_lt_0", "severity": "error", "suppressed": False, "file": DEFECTS[2][0],
                   "geo_type": "state", "signal": "deaths_cumulative_num", "date": "2020-11-30", "time_type": "day",
                   "message": "val must not be negative: 1 row(s): ny=-1"}
    assert not list(path.parent.glob(".*"))  # written through a temporary file, none left behind


def test_summary_groups_repeated_failures_one_line_per_check_and_signal(jhu_files, tmp_path):
    """Seven days of real county incidence: every day has negative corrections, summarised in one line."""
    export = copy_files(jhu_files, tmp_path / "jhu-csse", lambda n: n.endswith("_county_confirmed_incidence_num.csv")
                        and n[:8] >= "20201124")
    days_with_negatives = sum((pd.read_csv(p).val < 0).any() for p in export.glob("*.csv"))
    assert days_with_negatives == 7
    report = validate_export(export, source="jhu-csse", issue_date=JHU_ISSUE, validation=jhu_validation())
    lines = report.summary_text().splitlines()
    assert lines[0].startswith("jhu-csse issue 2020-12-01 (2020-11-24..2020-11-30, 7 files): BLOCKED")
    negative = [line for line in lines if " check_val_lt_0 " in line]
    assert negative == [next(line for line in negative)]
    assert "confirmed_incidence_num  x7  [county; 2020-11-24..2020-11-30]" in negative[0]
    groups = {(f.check_name, f.signal, f.severity, f.suppressed) for f in report.failures}
    assert len(lines) == 1 + len(groups) < 1 + len(report.failures)
    assert dt.date(2020, 11, 24) in {f.date for f in report.failures if f.check_name == "empty_reference_data"}
