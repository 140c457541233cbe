"""Real exports for the validator tests: JHU CSSE (daily) and NCHS mortality (weekly), built once per session.

Each export is split at a date into what was "already published" (the reference, the archive cache) and
"today's export"; tests copy the files they need into their own folders and inject one defect.
"""

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from delphi_signals.indicators.jhu.run import run_module as run_jhu
from delphi_signals.indicators.nchs_mortality.run import run_module as run_nchs

JHU_ISSUE = dt.date(2020, 12, 1)
JHU_FIRST_TODAY = "20201124"  # files from this day on are today's export, earlier ones the reference
JHU_SMOOTHED = [f"{metric}_7dav_incidence_{unit}" for metric in ("confirmed", "deaths") for unit in ("num", "prop")]
NCHS_ISSUE = dt.date(2020, 9, 9)
NCHS_FIRST_TODAY = 202033


def jhu_validation(**common):
    """JHU's validation params (as upstream's JHU params: no se, no sample size; 7dav signals smoothed)."""
    return {"common": {"span_length": 7, "max_expected_lag": {"all": 2}, **common},
            "static": {"missing_se_allowed": True, "missing_sample_size_allowed": True},
            "dynamic": {"smoothed_signals": JHU_SMOOTHED}}


def nchs_validation(**common):
    return {"common": {"span_length": 28, **common},
            "static": {"missing_se_allowed": True, "missing_sample_size_allowed": True}}


@pytest.fixture(scope="session")
def jhu_files(realdata, tmp_path_factory):
    """Every file of a real JHU export of 2020-11-10 .. 2020-11-30 (issue 2020-12-01), in one folder."""
    root = tmp_path_factory.mktemp("jhu_real")
    params = {"common": {"export_dir": str(root / "jhu-csse"), "input_dir": str(root / "input"),
                         "issue_date": JHU_ISSUE.isoformat()},
              "indicator": {"base_url": str(realdata / "jhu_csse" / "time_series_covid19_{metric}_US.csv"),
                            "export_start_date": "2020-11-10", "export_end_date": "2020-11-30"}}
    run_jhu(params)
    return root / "jhu-csse"


@pytest.fixture(scope="session")
def nchs_files(realdata, tmp_path_factory):
    """Every file of the real NCHS weekly export (epiweeks 202005 .. 202036, issue 2020-09-09)."""
    root = tmp_path_factory.mktemp("nchs_real")
    params = {"common": {"export_dir": str(root / "nchs-mortality"), "input_dir": str(root / "input"),
                         "issue_date": NCHS_ISSUE.isoformat()},
              "indicator": {"base_url": str(realdata / "delphi_fixtures" / "nchs_mortality" / "test_data.csv")}}
    run_nchs(params)
    return root / "nchs-mortality"


def copy_files(source: Path, target: Path, keep) -> Path:
    """Copy the files of ``source`` whose name ``keep(name)`` accepts into ``target`` (created)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.csv")):
        if keep(path.name):
            shutil.copy(path, target / path.name)
    return target


def is_today_jhu(name: str) -> bool:
    return name[:8] >= JHU_FIRST_TODAY


def is_today_nchs(name: str) -> bool:
    return int(name.split("_")[1]) >= NCHS_FIRST_TODAY


@pytest.fixture
def split_export(tmp_path):
    """``split_export(files, is_today, geo_types=None, signals=None)`` → (export folder, reference folder), both
    named as the source, optionally limited to some geo types and signals (fewer files keep the tests fast)."""

    def split(files: Path, is_today, geo_types=None, signals=None):
        def wanted(name):
            return ((geo_types is None or any(f"_{geo}_" in name for geo in geo_types))
                    and (signals is None or any(name.endswith(f"_{signal}.csv") for signal in signals)))

        export = copy_files(files, tmp_path / "export" / files.name, lambda n: wanted(n) and is_today(n))
        reference = copy_files(files, tmp_path / "cache" / files.name, lambda n: wanted(n) and not is_today(n))
        return export, reference

    return split


def read_text_frame(path: Path) -> pd.DataFrame:
    """A CSV as written (every field a string), to inject a defect and write it back byte-for-byte otherwise."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def write_text_frame(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n")


def edit(path: Path, change) -> Path:
    """Rewrite one CSV after ``change(frame)`` (which edits the string frame in place or returns a new one)."""
    frame = read_text_frame(path)
    result = change(frame)
    write_text_frame(frame if result is None else result, path)
    return path
