"""Every static check on real JHU output files: the file as exported passes, the same file with one defect fails."""

import datetime as dt
import shutil

import numpy as np
import pandas as pd
import pytest

from delphi_signals.errors import InputError
from delphi_signals.validate import validate_export

from .conftest import JHU_ISSUE, edit, read_text_frame

DAY = "20201130"
NOT_ALLOWED = {"missing_se_allowed": False, "missing_sample_size_allowed": False}


def run(folder, static=None, **common):
    validation = {"common": {"span_length": 1, "end_date": "2020-11-30", **common},
                  "static": {"missing_se_allowed": True, "missing_sample_size_allowed": True, **(static or {})}}
    return validate_export(folder, source="jhu-csse", issue_date=JHU_ISSUE, validation=validation)


def one_file(jhu_files, tmp_path, name, target_name=None):
    folder = tmp_path / "jhu-csse"
    folder.mkdir(parents=True, exist_ok=True)
    return shutil.copy(jhu_files / name, folder / (target_name or name))


def found(report, check):
    return [f for f in report.failures if f.check_name == check]


def set_cell(geo, column, value):
    def change(frame):
        frame.loc[frame.geo_id == geo, column] = value
    return change


def fill(column, value, **cells):
    def change(frame):
        frame[column] = value
        for geo, cell in cells.items():
            frame.loc[frame.geo_id == geo, column] = cell
    return change


def rename_geo(old, new):
    def change(frame):
        frame.loc[frame.geo_id == old, "geo_id"] = new
    return change


def append_copy_of(geo, **changes):
    def change(frame):
        row = frame[frame.geo_id == geo].copy()
        for column, value in changes.items():
            row[column] = value
        return pd.concat([frame, row])
    return change


# check, file, defect (a change of the string frame), params for both cases, severity
CASES = [
    ("check_geo_id_format", "county_confirmed_incidence_num", rename_geo("01001", "0100A"), {}, "error"),
    ("check_bad_geo_id_value", "state_deaths_incidence_num", rename_geo("ca", "xx"), {}, "error"),
    ("check_geo_id_lowercase", "state_deaths_incidence_num", rename_geo("ca", "CA"), {}, "warning"),
    ("check_geo_id_type", "county_confirmed_cumulative_num", rename_geo("01001", "1001.0"), {}, "warning"),
    ("check_val_prop_gt_100k", "county_confirmed_cumulative_prop", set_cell("01001", "val", "100000.5"), {}, "error"),
    ("check_val_lt_0", "state_confirmed_cumulative_num", set_cell("ca", "val", "-3"), {}, "error"),
    ("check_se_missing_or_in_range", "state_deaths_incidence_prop", set_cell("ca", "se", "-0.1"), {}, "error"),
    ("check_se_not_missing_and_in_range", "state_deaths_incidence_prop", fill("se", "0.5", ca="NA"),
     NOT_ALLOWED, "error"),
    ("check_se_0", "state_deaths_incidence_prop", fill("se", "0.5", ca="0"), {}, "error"),
    ("check_n_missing_or_gt_min", "state_deaths_incidence_prop", set_cell("ca", "sample_size", "99"), {}, "error"),
    ("check_n_missing", "state_deaths_incidence_prop", fill("sample_size", "500", ca="NA"), NOT_ALLOWED, "error"),
    ("check_n_gt_min", "state_deaths_incidence_prop", fill("sample_size", "500", ca="20"), NOT_ALLOWED, "error"),
    ("check_duplicate_rows", "state_deaths_incidence_num", append_copy_of("ca"), {}, "warning"),
    ("check_file_data_format", "state_deaths_incidence_num", append_copy_of("ca", val="12345"), {}, "error"),
]


def _prepare_passing(frame, defect_check):
    """The passing case's file: as exported, except columns a check needs present (se, sample_size) filled."""
    if defect_check in ("check_se_not_missing_and_in_range", "check_se_0"):
        frame["se"] = "0.5"
    if defect_check in ("check_n_missing", "check_n_gt_min"):
        frame["sample_size"] = "500"


@pytest.mark.parametrize("check, stem, defect, static, severity", CASES, ids=[c[0] for c in CASES])
def test_check_passes_on_real_file_and_fails_with_the_defect(jhu_files, tmp_path, check, stem, defect, static,
                                                             severity):
    name = f"{DAY}_{stem}.csv"
    good = one_file(jhu_files, tmp_path / "good", name)
    edit(good, lambda frame: _prepare_passing(frame, check))
    assert found(run(good.parent, static), check) == []
    bad = one_file(jhu_files, tmp_path / "bad", name)
    edit(bad, defect)
    failures = found(run(bad.parent, static), check)
    assert len(failures) == 1, failures
    failure = failures[0]
    geo, signal = stem.split("_", 1)
    assert (failure.severity, failure.file, failure.geo_type, failure.signal, failure.date) == (
        severity, name, geo, signal, dt.date(2020, 11, 30))


def test_float_geo_ids_are_truncated_and_padded_before_the_format_and_value_checks(jhu_files, tmp_path):
    path = one_file(jhu_files, tmp_path, f"{DAY}_county_confirmed_cumulative_num.csv")
    edit(path, rename_geo("01001", "1001.0"))
    report = run(path.parent)
    assert [f.check_name for f in report.failures if f.file == path.name] == ["check_geo_id_type"]
    assert "1001.0" in found(report, "check_geo_id_type")[0].message


def test_uppercase_ids_are_valid_values(jhu_files, tmp_path):
    path = one_file(jhu_files, tmp_path, f"{DAY}_state_confirmed_cumulative_num.csv")
    edit(path, rename_geo("ca", "CA"))
    report = run(path.parent)
    assert {f.check_name for f in report.failures if f.file == path.name} == {"check_geo_id_lowercase"}


def test_additional_valid_geo_values_accept_an_id(jhu_files, tmp_path):
    path = one_file(jhu_files, tmp_path, f"{DAY}_state_deaths_incidence_num.csv")
    edit(path, rename_geo("ca", "xx"))
    assert found(run(path.parent, {"additional_valid_geo_values": {"state": ["XX"]}}), "check_bad_geo_id_value") == []


def test_real_negative_incidence_is_flagged_with_the_rows(jhu_files, tmp_path):
    """Real corrections: JHU county incidence has negative days (upstream's JHU params suppress this check)."""
    name = f"{DAY}_county_confirmed_incidence_num.csv"
    path = one_file(jhu_files, tmp_path, name)
    frame = pd.read_csv(path, dtype={"geo_id": str})
    negative = frame[frame.val < 0].geo_id.tolist()
    assert negative  # the real file has them
    failure = found(run(path.parent), "check_val_lt_0")[0]
    assert failure.message.startswith(f"val must not be negative: {len(negative)} row(s): {negative[0]}=")


def test_pct_signal_over_100(jhu_files, tmp_path):
    # a real file of small values (state daily deaths per 100k), named as a percentage
    good = one_file(jhu_files, tmp_path / "good", f"{DAY}_state_deaths_incidence_prop.csv",
                    f"{DAY}_state_deaths_incidence_pct.csv")
    assert found(run(good.parent), "check_val_pct_gt_100") == []
    bad = one_file(jhu_files, tmp_path / "bad", f"{DAY}_state_deaths_incidence_prop.csv",
                   f"{DAY}_state_deaths_incidence_pct.csv")
    edit(bad, set_cell("ny", "val", "100.5"))
    assert "ny=100.5" in found(run(bad.parent), "check_val_pct_gt_100")[0].message


def test_se_0_when_val_0_takes_precedence_over_se_0(jhu_files, tmp_path):
    path = one_file(jhu_files, tmp_path, f"{DAY}_state_deaths_incidence_prop.csv")
    edit(path, fill("se", "0.5", ca="0"))
    edit(path, set_cell("ca", "val", "0"))
    report = run(path.parent)
    assert [f.check_name for f in report.failures if f.check_name.startswith("check_se_0")] == ["check_se_0_when_val_0"]
    ok = one_file(jhu_files, tmp_path / "ok", f"{DAY}_state_deaths_incidence_prop.csv")
    edit(ok, fill("se", "0.5"))
    assert not [f for f in run(ok.parent).failures if f.check_name.startswith("check_se_0")]


def test_se_many_missing(jhu_files, tmp_path):
    path = one_file(jhu_files, tmp_path, f"{DAY}_state_deaths_incidence_prop.csv")
    frame = read_text_frame(path)
    assert (frame.se == "NA").all()  # JHU exports no standard errors
    assert "100.0%" in found(run(path.parent, NOT_ALLOWED), "check_se_many_missing")[0].message
    half = frame.index < len(frame) * 0.6  # 60 % filled: 40 % missing is allowed
    edit(path, lambda f: f.assign(se=np.where(half, "0.5", "NA")))
    assert found(run(path.parent, NOT_ALLOWED), "check_se_many_missing") == []


def test_unreadable_file_is_a_data_format_error_naming_line_and_field(jhu_files, tmp_path):
    path = one_file(jhu_files, tmp_path, f"{DAY}_state_deaths_incidence_num.csv")
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(",", ",oops,", 1)
    path.write_text("\n".join(lines) + "\n")
    failure = found(run(path.parent), "check_file_data_format")[0]
    assert "line 4" in failure.message and failure.file == path.name
    assert {f.check_name for f in run(path.parent).failures if f.file == path.name} == {"check_file_data_format"}


def test_file_names(jhu_files, tmp_path):
    folder = tmp_path / "jhu-csse"
    folder.mkdir()
    src = jhu_files / f"{DAY}_state_deaths_incidence_num.csv"
    shutil.copy(src, folder / src.name)
    assert found(run(folder), "check_filename_format") == found(run(folder), "check_geo_type") == []
    shutil.copy(src, folder / "2020113_state_deaths_incidence_num.csv")
    shutil.copy(src, folder / "20201130_zcta_deaths_incidence_num.csv")
    report = run(folder)
    assert [f.file for f in found(report, "check_filename_format")] == ["2020113_state_deaths_incidence_num.csv"]
    geo = found(report, "check_geo_type")
    assert [(f.file, f.geo_type, f.signal, f.date) for f in geo] == [
        ("20201130_zcta_deaths_incidence_num.csv", "zcta", "deaths_incidence_num", dt.date(2020, 11, 30))]


def test_empty_file_list_and_missing_dates(jhu_files, tmp_path):
    folder = tmp_path / "jhu-csse"
    folder.mkdir()
    for day in ("20201126", "20201127", "20201128"):
        shutil.copy(jhu_files / f"{day}_state_deaths_incidence_num.csv", folder)
    window = {"span_length": 3, "end_date": "2020-11-28", "max_expected_lag": {"all": 2}}
    complete = run(folder, **window)
    assert found(complete, "check_missing_date_files") == found(complete, "check_empty_filelist") == []
    (folder / "20201127_state_deaths_incidence_num.csv").unlink()
    missing = found(run(folder, **window), "check_missing_date_files")
    assert [(f.date, f.severity) for f in missing] == [(dt.date(2020, 11, 27), "error")]
    # the same hole is not yet expected when it is younger than the largest max_expected_lag
    assert found(run(folder, span_length=3, end_date="2020-11-28", max_expected_lag={"all": 4}),
                 "check_missing_date_files") == []
    empty = run(folder, span_length=2, end_date="2020-11-30")
    assert [f.check_name for f in empty.errors if f.check_name.startswith("check_empty")] == ["check_empty_filelist"]


def test_bad_params_are_input_errors(jhu_files, tmp_path):
    folder = tmp_path / "jhu-csse"
    folder.mkdir()
    with pytest.raises(InputError, match="suppressed_errors\\[0\\].*unknown key"):
        run(folder, suppressed_errors=[{"check": "x"}])
    with pytest.raises(InputError, match="end_date"):
        run(folder, end_date="yesterday")
    with pytest.raises(InputError, match="max_expected_lag.all"):
        run(folder, max_expected_lag={"all": "monday"})
    with pytest.raises(InputError, match="export folder does not exist"):
        validate_export(tmp_path / "nowhere", source="x", issue_date="2020-12-01", validation={})
