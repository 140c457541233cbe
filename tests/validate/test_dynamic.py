"""Every dynamic check on a real JHU export (2020-11-24 .. 30) against what was "published" before it
(the same run's 2020-11-10 .. 23 files as the archive cache): the real export passes, one defect fails."""

import datetime as dt
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from delphi_signals.validate import validate_export
from delphi_signals.validate.checks_dynamic import _spike_stats

from .conftest import JHU_ISSUE, copy_files, edit, is_today_jhu, jhu_validation

GEOS = ("state", "hhs", "nation")
CHECKS = ["check_missing_geo_sig_combo", "check_min_max_date", "check_max_max_date", "check_val_missing",
          "api_data_fetch_error", "check_missing_geo_sig_date_combo", "empty_reference_data",
          "check_max_date_vs_reference", "check_rapid_change_num_rows", "check_positive_negative_spikes",
          "check_test_vs_reference_avg_changed"]


def run(export, reference, issue=JHU_ISSUE, **common):
    return validate_export(export, source="jhu-csse", issue_date=issue, validation=jhu_validation(**common),
                           reference_dir=reference)


def found(report, check, **fields):
    return [f for f in report.failures if f.check_name == check
            and all(getattr(f, key) == value for key, value in fields.items())]


@pytest.fixture(scope="module")
def baseline(jhu_files, tmp_path_factory):
    """The real export of the state, HHS and national levels (every signal) and its report."""
    root = tmp_path_factory.mktemp("baseline")

    def wanted(name):
        return any(f"_{geo}_" in name for geo in GEOS)

    export = copy_files(jhu_files, root / "export" / "jhu-csse", lambda n: wanted(n) and is_today_jhu(n))
    reference = copy_files(jhu_files, root / "cache" / "jhu-csse", lambda n: wanted(n) and not is_today_jhu(n))
    return export, reference, run(export, reference)


def test_the_real_export_passes_every_dynamic_check(baseline):
    export, _, report = baseline
    assert len(list(export.glob("*.csv"))) == 12 * 3 * 7 == report.files_checked
    errors = [f for f in report.errors if f.check_name in CHECKS]
    assert errors == []
    # real data raises a few warnings (Thanksgiving, reporting spikes): none where defects are injected below
    assert not found(report, "check_positive_negative_spikes", signal="confirmed_incidence_num",
                     date=dt.date(2020, 11, 28))
    assert not found(report, "check_test_vs_reference_avg_changed", signal="confirmed_incidence_prop",
                     geo_type="state")


@pytest.fixture
def small(jhu_files, split_export):
    """Two state signals: today's export and the reference, in this test's own folders."""
    return split_export(jhu_files, is_today_jhu, ("state",), ("confirmed_incidence_num", "confirmed_incidence_prop"))


def test_missing_geo_sig_combo(small):
    export, reference = small
    for path in export.glob("*_confirmed_incidence_prop.csv"):
        path.unlink()
    failures = found(run(export, reference), "check_missing_geo_sig_combo")
    assert [(f.geo_type, f.signal, f.date, f.severity) for f in failures] == [
        ("state", "confirmed_incidence_prop", None, "error")]


def test_newest_date_too_old_or_too_recent(small):
    export, reference = small
    late = found(run(export, reference, issue=dt.date(2020, 12, 5), end_date="2020-11-30"), "check_min_max_date")
    assert {f.signal for f in late} == {"confirmed_incidence_num", "confirmed_incidence_prop"}
    assert "data end 2020-11-30, expected on or after 2020-12-03" in late[0].message
    early = found(run(export, reference, issue=dt.date(2020, 11, 30), end_date="2020-11-30"), "check_max_max_date")
    assert len(early) == 2 and "expected on or before 2020-11-29" in early[0].message


def test_val_missing_flags_unexplained_gaps_only(small):
    export, reference = small
    path = export / "20201130_state_confirmed_incidence_num.csv"
    edit(path, lambda f: f.assign(val=np.where(f.geo_id.isin(["ca", "ny"]), "NA", f.val),
                                  missing_val=np.where(f.geo_id == "ca", "5", np.where(f.geo_id == "ny", "3",
                                                                                         f.missing_val))))
    failures = found(run(export, reference), "check_val_missing")
    # ny's value is censored (code 3): a reason is given; ca's (code 5, OTHER) is not
    assert [(f.date, f.signal) for f in failures] == [(dt.date(2020, 11, 30), "confirmed_incidence_num")]
    assert failures[0].message.endswith("1 geo_id(s): ca")


def test_val_missing_ignores_each_geos_first_six_rows(small):
    export, reference = small
    edit(export / "20201124_state_confirmed_incidence_num.csv", lambda f: f.assign(
        val=np.where(f.geo_id == "ca", "NA", f.val), missing_val=np.where(f.geo_id == "ca", "5", f.missing_val)))
    assert found(run(export, reference), "check_val_missing") == []


def test_missing_geo_sig_date_combo(small):
    export, reference = small
    (export / "20201125_state_confirmed_incidence_num.csv").unlink()
    report = run(export, reference)
    failures = found(report, "check_missing_geo_sig_date_combo")
    assert [(f.date, f.signal) for f in failures] == [(dt.date(2020, 11, 25), "confirmed_incidence_num")]
    assert found(report, "check_missing_date_files") == []  # another signal has that date


def test_empty_reference(small):
    export, reference = small
    empty = export.parent.parent / "empty" / "jhu-csse"
    empty.mkdir(parents=True)
    report = run(export, empty)
    # a first publication: nothing to compare the first date with, which is said but blocks nothing
    assert found(report, "empty_reference_data", severity="error") == []
    first = [f for f in found(report, "empty_reference_data", severity="warning") if f.date == dt.date(2020, 11, 24)]
    assert {f.signal for f in first} == {"confirmed_incidence_num", "confirmed_incidence_prop"}
    assert all("nothing published yet" in f.message for f in first)
    # later dates compare with the export's own earlier days, and say so
    warnings = found(report, "empty_reference_data", severity="warning")
    assert {f.date for f in warnings} == {dt.date(2020, 11, day) for day in range(24, 31)}
    # something was published, but nothing in the reference window: that is an error
    old = export.parent.parent / "old" / "jhu-csse"
    old.mkdir(parents=True)
    shutil.copy(next(reference.glob("*_state_confirmed_incidence_num.csv")),
                old / "20200101_state_confirmed_incidence_num.csv")
    errors = found(run(export, old), "empty_reference_data", severity="error")
    assert {(f.date, f.signal) for f in errors} >= {(dt.date(2020, 11, 24), "confirmed_incidence_num")}


def test_max_date_vs_reference(small):
    export, reference = small
    shutil.copy(export / "20201130_state_confirmed_incidence_num.csv",
                reference / "20201201_state_confirmed_incidence_num.csv")
    failures = found(run(export, reference), "check_max_date_vs_reference")
    assert [(f.signal, f.date) for f in failures] == [("confirmed_incidence_num", dt.date(2020, 12, 1))]


def test_rapid_change_num_rows(small):
    export, reference = small
    path = export / "20201128_state_confirmed_incidence_num.csv"
    rows = len(pd.read_csv(path))
    edit(path, lambda f: f.iloc[: len(f) // 2])
    failures = found(run(export, reference), "check_rapid_change_num_rows")
    assert [(f.signal, f.date) for f in failures] == [("confirmed_incidence_num", dt.date(2020, 11, 28))]
    assert f"{rows // 2} rows vs {rows:.1f} per day" in failures[0].message


def test_reference_read_error(small):
    export, reference = small
    path = reference / "20201120_state_confirmed_incidence_prop.csv"
    path.write_text(path.read_text().replace("\nca,", "\nca,1,", 1))
    failures = found(run(export, reference), "api_data_fetch_error")
    assert [f.signal for f in failures] == ["confirmed_incidence_prop"]
    assert path.name in failures[0].message and "line" in failures[0].message


def test_spike(small):
    export, reference = small
    path = export / "20201128_state_confirmed_incidence_num.csv"
    edit(path, lambda f: f.assign(val=np.where(f.geo_id == "ca", (f.val.astype(float) * 10).astype(str), f.val)))
    failures = found(run(export, reference), "check_positive_negative_spikes", date=dt.date(2020, 11, 28))
    assert len(failures) == 1 and failures[0].severity == "warning" and failures[0].message.endswith(": ca")


def test_spike_statistics_equal_pandas_rolling_per_geo(jhu_files):
    """Our rolling t statistics against upstream's formulation: pandas rolling per geo group."""
    frames = [pd.read_csv(p, dtype={"geo_id": str}).assign(time_value=pd.Timestamp(p.name[:8]))
              for p in sorted(jhu_files.glob("*_state_confirmed_incidence_num.csv"))]
    frame = pd.concat(frames)[["geo_id", "time_value", "val"]]
    frame.loc[frame.index[5], "val"] = np.nan
    ours = _spike_stats(frame.copy()).set_index(["geo_id", "time_value"])
    for geo, group in frame.sort_values("time_value").groupby("geo_id"):
        trailing = group.val.rolling(14, min_periods=14)
        centred = group.val.rolling(14, min_periods=14, center=True)
        ft = (group.val - trailing.median().fillna(0)).abs() / (trailing.std() + 1e-5)
        st = (group.val - centred.median().shift(-1).fillna(0)).abs() / (centred.std().shift(-1) + 1e-5)
        mine = ours.loc[geo].loc[group.time_value.to_numpy()]
        np.testing.assert_allclose(mine.ftstat, ft, rtol=1e-9, err_msg=geo)
        np.testing.assert_allclose(mine.ststat, st, rtol=1e-9, err_msg=geo)


def test_average_changed_against_pandas_z_scores(small, jhu_files):
    export, reference = small
    path = export / "20201127_state_confirmed_incidence_prop.csv"
    edit(path, lambda f: f.assign(val=(f.val.astype(float) * 20).astype(str)))
    failures = found(run(export, reference), "check_test_vs_reference_avg_changed")
    assert [(f.signal, f.date, f.severity) for f in failures] == [
        ("confirmed_incidence_prop", dt.date(2020, 11, 27), "warning")]
    # plain pandas: 14 days before 11-27 (11-13 .. 11-26, the last three from the export itself)
    days = pd.date_range("2020-11-13", "2020-11-26")
    ref = pd.concat([pd.read_csv(jhu_files / f"{d:%Y%m%d}_state_confirmed_incidence_prop.csv",
                                 dtype={"geo_id": str}) for d in days])
    stats = ref.groupby("geo_id").val.agg(["mean", "std", "count"])
    stats["std"] = stats["std"].round(8)
    stats.loc[stats["std"] == 0, "std"] = stats.loc[stats["std"] > 0, "std"].median()
    test = pd.read_csv(path, dtype={"geo_id": str}).set_index("geo_id").val
    z = ((test - stats["mean"]) / stats["std"])[stats["count"] == len(days)].dropna()
    got = re.search(r"val: mean z ([-\d.]+), mean \|z\| ([-\d.]+) over (\d+)", failures[0].message)
    assert float(got.group(1)) == pytest.approx(z.mean(), abs=0.006)
    assert float(got.group(2)) == pytest.approx(z.abs().mean(), abs=0.006)
    assert int(got.group(3)) == len(z)
