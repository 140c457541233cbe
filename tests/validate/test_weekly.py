"""Weekly files (``weekly_YYYYWW_geo_signal.csv``, which upstream's validator cannot read): the real NCHS export."""

import datetime as dt
import shutil

import numpy as np
import pytest

from delphi_signals.indicators.registry import get_indicator
from delphi_signals.validate import validate_export

from .conftest import NCHS_ISSUE, copy_files, edit, is_today_nchs, nchs_validation, read_text_frame

WEEK_34 = dt.date(2020, 8, 16)  # epiweek 202034 starts on Sunday 2020-08-16
# every (signal, geo type) the NCHS indicator exports
N_COMBOS = sum(len(s.geo_types) for s in get_indicator("nchs-mortality").signals)


def run(export, reference=None, **common):
    return validate_export(export, source="nchs-mortality", issue_date=NCHS_ISSUE,
                           validation=nchs_validation(**common), reference_dir=reference)


def found(report, check, **fields):
    return [f for f in report.failures if f.check_name == check
            and all(getattr(f, key) == value for key, value in fields.items())]


@pytest.fixture
def weekly(nchs_files, split_export):
    return split_export(nchs_files, is_today_nchs)


def test_real_weekly_export_passes(weekly):
    export, reference = weekly
    report = run(export, reference)
    assert report.files_checked == 4 * N_COMBOS == len(list(export.glob("weekly_*.csv")))  # epiweeks 202033..36
    assert report.errors == [] and not report.blocking
    # the real files hold censored counts (NA with code 3): a stated reason, not a missing value
    frame = read_text_frame(export / "weekly_202034_state_deaths_covid_incidence_num.csv")
    assert ((frame.val == "NA") & (frame.missing_val == "3")).any()


def test_weekly_defect_carries_the_weeks_start_and_a_date_inside_the_week_suppresses_it(weekly):
    export, reference = weekly
    name = "weekly_202034_state_deaths_covid_incidence_num.csv"
    edit(export / name, lambda f: f.assign(val=np.where(f.geo_id == "al", "-4.0", f.val)))
    failure, = found(run(export, reference), "check_val_lt_0")
    assert (failure.file, failure.date, failure.time_type, failure.geo_type) == (name, WEEK_34, "week", "state")
    inside = run(export, reference, suppressed_errors=[{"check_name": "check_val_lt_0", "date": "2020-08-19"}])
    assert found(inside, "check_val_lt_0")[0].suppressed and not inside.blocking
    after = run(export, reference, suppressed_errors=[{"check_name": "check_val_lt_0", "date": "2020-08-23"}])
    assert not found(after, "check_val_lt_0")[0].suppressed and after.blocking


def test_missing_week(weekly):
    export, reference = weekly
    for path in export.glob("weekly_202034_*.csv"):
        path.unlink()
    report = run(export, reference)
    assert [(f.date, f.time_type) for f in found(report, "check_missing_date_files")] == [(WEEK_34, "week")]
    combos = found(report, "check_missing_geo_sig_date_combo")
    assert len(combos) == N_COMBOS and {f.date for f in combos} == {WEEK_34}


def test_lags_of_weekly_data_count_from_the_weeks_saturday(weekly):
    export, reference = weekly
    ok = run(export, reference, max_expected_lag={"all": 4})  # data end Saturday 2020-09-05 = issue - 4
    assert found(ok, "check_min_max_date") == []
    late = found(run(export, reference, max_expected_lag={"all": 3}), "check_min_max_date")
    assert len(late) == N_COMBOS and "data end 2020-09-05" in late[0].message


def test_weekly_val_missing_after_six_weeks(nchs_files, tmp_path):
    export = copy_files(nchs_files, tmp_path / "nchs-mortality", lambda n: "_state_deaths_covid_incidence_num" in n)
    edit(export / "weekly_202035_state_deaths_covid_incidence_num.csv",
         lambda f: f.assign(val=np.where(f.geo_id == "al", "NA", f.val),
                            missing_val=np.where(f.geo_id == "al", "5", f.missing_val)))
    report = run(export, span_length=70)  # epiweeks 202027 .. 202036: 202035 is the 9th
    failure, = found(report, "check_val_missing")
    assert failure.date == dt.date(2020, 8, 23) and failure.message.endswith(": al")
    shutil.rmtree(export)
