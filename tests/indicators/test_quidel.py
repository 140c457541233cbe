"""quidel against upstream's outputs for its test drop, a plain-pandas reference, and its row and object rules."""

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from delphi_signals.indicators.quidel_covidtest import INDICATOR
from delphi_signals.indicators.quidel_covidtest.objects import UnusableObjectError
from delphi_signals.indicators.quidel_covidtest.pull import resolve_versions
from delphi_signals.indicators.quidel_covidtest.run import run_module
from delphi_signals.indicators.registry import get_indicator

from quidel_reference import reference

REALDATA = Path(os.environ.get("DELPHI_SIGNALS_REALDATA", "../shared/realdata")) / "delphi_fixtures" / "quidel"
DROP = REALDATA / "test_data.csv"
UPSTREAM = REALDATA / "upstream_outputs" / "quidel_issue20200817_default.csv.gz"
pytestmark = pytest.mark.skipif(not DROP.exists(), reason="needs $DELPHI_SIGNALS_REALDATA")
UPSTREAM_INDICATOR = {"export_start_date": "2020-06-30", "export_end_date": "", "pull_start_date": "2020-07-09",
                      "pull_end_date": "", "export_day_range": 40, "wip_signal": ""}


def run(tmp_path, base_url, *, issue="2020-08-17", name="a", **indicator):
    params = {"common": {"export_dir": str(tmp_path / name / "export"), "input_dir": str(tmp_path / name / "input"),
                         "issue_date": issue},
              "indicator": {"base_url": str(base_url), **UPSTREAM_INDICATOR, **indicator}}
    paths = run_module(params)
    return read_export(paths), params


def read_export(paths) -> pd.DataFrame:
    frames = []
    for p in paths:
        f = pd.read_csv(p, dtype={"geo_id": str})
        f.insert(0, "file", Path(p).name)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)[["file", "geo_id", "val", "se", "sample_size"]]


def upstream() -> pd.DataFrame:
    return pd.read_csv(UPSTREAM, dtype={"geo_id": str})


def assert_same(ours: pd.DataFrame, theirs: pd.DataFrame):
    assert set(ours["file"]) == set(theirs["file"])
    m = ours.merge(theirs, on=["file", "geo_id"], how="outer", suffixes=("", "_ref"), indicator=True)
    assert (m["_merge"] == "both").all(), m[m["_merge"] != "both"][["file", "geo_id", "_merge"]].head(10)
    np.testing.assert_allclose(m["val"], m["val_ref"], rtol=0, atol=1.01e-7)
    np.testing.assert_allclose(m["se"], m["se_ref"], rtol=0, atol=1.01e-7)
    np.testing.assert_allclose(m["sample_size"], m["sample_size_ref"], rtol=1e-6, atol=0)


def test_registered_with_upstreams_names_and_defaults():
    indicator = get_indicator("quidel")
    assert indicator is INDICATOR and indicator.geo_types == ("county", "msa", "hrr", "state", "hhs", "nation")
    assert [s.name for s in indicator.signals.representatives()] == ["covid_ag_raw_pct_positive",
                                                                      "covid_ag_smoothed_pct_positive"]
    assert "covid_ag_raw_pct_positive_age_65plus" in indicator.signals.names()
    validation = indicator.params_defaults["validation"]
    smoothed = validation["dynamic"]["smoothed_signals"]
    assert smoothed[0] == "covid_ag_smoothed_pct_positive" and len(smoothed) == 7
    assert validation["common"]["data_source"] == "quidel" and not validation["common"]["dry_run"]
    assert validation["static"]["minimum_sample_size"] == 50


def test_reproduces_upstream_outputs_with_its_top_up(tmp_path):
    ours, _ = run(tmp_path, DROP, reproduce_top_up_bugs=True)
    theirs = upstream()
    assert len(set(theirs["file"])) == 223
    assert_same(ours, theirs)
    # fractional sample sizes where a zip spans counties, kept unrounded
    assert (ours["sample_size"] % 1 != 0).any()


def test_fixed_top_up_against_plain_reference(tmp_path):
    ours, _ = run(tmp_path, DROP)
    assert_same(ours, reference(DROP, upstream=False))
    # the reference, making upstream's choices, gives upstream's outputs: it is a reference of the method
    assert_same(reference(DROP, upstream=True), upstream())
    # the fix changes only the msa and hrr smoothed signals, and does change them
    m = ours.merge(upstream(), on=["file", "geo_id"], how="outer", indicator=True)
    differ = (m["_merge"] != "both") | ~np.isclose(m["val_x"], m["val_y"], atol=1e-6) | \
        ~np.isclose(m["sample_size_x"], m["sample_size_y"], rtol=1e-6)
    changed = set(m.loc[differ, "file"])
    assert changed and all(("_msa_" in f or "_hrr_" in f) and "smoothed" in f for f in changed)


def test_another_export_window(tmp_path):
    ours, _ = run(tmp_path, DROP, reproduce_top_up_bugs=True, export_start_date="2020-07-20",
                  export_end_date="2020-07-21")
    theirs = upstream()
    theirs = theirs[theirs["file"].str[:8].isin(["20200720", "20200721"])]
    assert_same(ours, theirs)


def test_export_window_ends_five_days_before_received(tmp_path):
    # received 2020-07-25: the export ends 2020-07-20 and 40 days back at most
    ours, _ = run(tmp_path, DROP, issue="2020-07-25", export_start_date="2020-05-01", reproduce_top_up_bugs=True)
    assert ours["file"].str[:8].max() == "20200720"
    theirs = upstream()
    assert_same(ours, theirs[theirs["file"].str[:8] <= "20200720"])


def test_row_rules_match_reference(tmp_path):
    drop = pd.read_csv(DROP, dtype=str, keep_default_na=False)
    extra = drop.iloc[:60].copy()
    extra["TestDate"] = "8/18/20"  # after storage: dropped
    late = drop.iloc[60:120].copy()
    late["TestDate"], late["StorageDate"] = "3/1/20", "7/20/20"  # stored 141 days later: dated 2020-07-20
    nine = drop.iloc[120:200].copy()
    nine["Zip"] = nine["Zip"] + "-1234"  # zip+4: cut to 5
    unknown = drop.iloc[:30].copy()
    unknown["Zip"] = "00000"  # unknown zip: dropped
    blank = drop.iloc[200:260].copy()
    blank.loc[blank.index[:30], "PatientAge"] = ""  # in the total, in no age group
    blank.loc[blank.index[30:], "OverallResult"] = ""  # in nothing
    path = tmp_path / "rules.csv"
    pd.concat([drop, extra, late, nine, unknown, blank]).to_csv(path, index=False)
    ours, _ = run(tmp_path, path)
    assert_same(ours, reference(path, upstream=False))
    state = ours[ours["file"] == "20200720_state_covid_ag_raw_pct_positive.csv"]
    base = reference(DROP, upstream=False)
    base = base[base["file"] == "20200720_state_covid_ag_raw_pct_positive.csv"]
    # the late tests land on 2020-07-20, so its state sample size grows by their 60 (+ 0 from the other rules)
    assert float(state["sample_size"].sum()) > float(base["sample_size"].sum()) + 59


def test_bad_rows_dropped_and_counted(tmp_path):
    drop = pd.read_csv(DROP, dtype=str, keep_default_na=False)
    bad = drop.iloc[:8].copy()
    bad["TestDate"] = ["7/32/20", "", "x", "7/18/20", "7/18/20", "7/18/20", "7/18/20", "7/18/20"]
    bad["Zip"] = ["22079", "22079", "22079", "2207a", "123456789", "22079", "22079", "22079"]
    bad["PatientAge"] = ["1", "1", "1", "1", "1", "old", "-3", "1"]
    bad["OverallResult"] = ["positive"] * 7 + ["maybe"]
    path = tmp_path / "bad.csv"
    pd.concat([drop, bad]).to_csv(path, index=False)
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        ours, _ = run(tmp_path, path, reproduce_top_up_bugs=True)
    assert_same(ours, upstream())  # the bad rows change nothing else
    done = [e for e in logs if e["event"] == "Completed indicator run"][0]
    assert done["bad_rows"] == 8
    assert done["bad_rows_by_file"] == {"bad.csv": {"date": 3, "zip": 2, "age": 2, "result": 1}}
    first = len(drop) + 2
    assert done["bad_row_examples"][:4] == [
        {"file": "bad.csv", "line": first, "field": "TestDate", "value": "7/32/20"},
        {"file": "bad.csv", "line": first + 1, "field": "TestDate", "value": ""},
        {"file": "bad.csv", "line": first + 2, "field": "TestDate", "value": "x"},
        {"file": "bad.csv", "line": first + 3, "field": "Zip", "value": "2207a"}]
    warned = [e for e in logs if e["event"] == "dropped bad test records"]
    assert warned and warned[0]["bad_rows"] == 8


def test_examples_stop_at_ten(tmp_path):
    drop = pd.read_csv(DROP, dtype=str, keep_default_na=False)
    bad = drop.iloc[:25].copy()
    bad["PatientAge"] = "unknown"
    path = tmp_path / "many.csv"
    pd.concat([drop, bad]).to_csv(path, index=False)
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        run(tmp_path, path)
    done = [e for e in logs if e["event"] == "Completed indicator run"][0]
    assert done["bad_rows_by_file"] == {"many.csv": {"age": 25}} and len(done["bad_row_examples"]) == 10


@pytest.mark.parametrize(("content", "message"), [
    (b"SofiaSerNum,TestDate,Zip,OverallResult,StorageDate\n1,7/18/20,22079,positive,8/17/20\n",
     "lacks required columns Facility"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not CSV text"),
])
def test_unusable_object_stops_with_its_key(tmp_path, content, message):
    folder = tmp_path / "bucket" / "quidel" / "2020_08_17"
    folder.mkdir(parents=True)
    shutil.copy(DROP, folder / "good-sars.csv")
    (folder / "bad-sars.csv").write_bytes(content)
    params = {"common": {"issue_date": "2020-08-17", "input_dir": str(tmp_path / "var" / "input"),
                         "export_dir": str(tmp_path / "export")},
              "indicator": {"base_url": str(tmp_path / "bucket"), **UPSTREAM_INDICATOR}}
    with pytest.raises(UnusableObjectError, match=message) as info:
        resolve_versions(params)
    assert info.value.file == "quidel/2020_08_17/bad-sars.csv"
    with pytest.raises(UnusableObjectError, match=message):
        run_module(params)
    assert not (tmp_path / "export").exists()


def bucket_folder(tmp_path, days: dict) -> Path:
    """A local folder in the bucket's layout: ``{received day: frame of tests}``."""
    root = tmp_path / "bucket"
    for day, frame in days.items():
        folder = root / "quidel" / f"{day:%Y_%m_%d}"
        folder.mkdir(parents=True)
        frame.to_csv(folder / f"Sofia_{day:%Y%m%d}-sars.csv", index=False)
    (root / "quidel" / "README.txt").write_text("not a test object")
    (root / "quidel" / "2020_08_15").mkdir()
    (root / "quidel" / "2020_08_15" / "notes-flu.csv").write_text("x\n")
    return root


def test_bucket_layout_past_issue_and_day_without_objects(tmp_path):
    drop = pd.read_csv(DROP, dtype=str, keep_default_na=False)
    early = drop[drop["TestDate"].isin(["7/18/20", "7/19/20", "7/20/20"])]
    late = drop[~drop.index.isin(early.index)]
    root = bucket_folder(tmp_path, {dt.date(2020, 8, 16): early, dt.date(2020, 8, 17): late})
    # issue 2020-08-17 takes both days received: the whole drop, as upstream's run on it
    ours, params = run(tmp_path, root, reproduce_top_up_bugs=True)
    assert_same(ours, upstream())
    cache = Path(params["common"]["input_dir"]) / "quidel"
    assert sorted(p.name for p in cache.glob("*.csv")) == ["20200816_tests.csv", "20200817_tests.csv"]
    sidecar = json.loads((cache / "20200817_tests.csv.version.json").read_text())
    assert [o["key"] for o in sidecar["objects"]] == ["quidel/2020_08_17/Sofia_20200817-sars.csv"]
    # a past issue reads only what had been received by then (the same cache, no new pull needed)
    past, _ = run(tmp_path, root, issue="2020-08-16", reproduce_top_up_bugs=True, export_end_date="2020-08-11")
    assert set(past["file"].str[:8]) == {"20200718", "20200719", "20200720"}
    theirs = upstream()
    assert_same(past, theirs[theirs["file"].str[:8] <= "20200720"])  # trailing windows: the same values
    # a day without a new object exports from the tests already pulled, with a warning (upstream crashed)
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        again, _ = run(tmp_path, root, issue="2020-08-18", reproduce_top_up_bugs=True)
    assert_same(again, upstream())
    assert any(e["event"].startswith("no new test object received") for e in logs)


def test_no_objects_at_all_is_exit_20(tmp_path):
    root = bucket_folder(tmp_path, {dt.date(2020, 8, 17): pd.read_csv(DROP, dtype=str, keep_default_na=False)})
    params = {"common": {"issue_date": "2020-08-10", "input_dir": str(tmp_path / "var" / "input")},
              "indicator": {"base_url": str(root), **UPSTREAM_INDICATOR}}
    with pytest.raises(UnusableObjectError, match="no test objects received on or before 2020-08-10"):
        resolve_versions(params)


def test_same_drop_on_two_issues_counts_once(tmp_path):
    ours, params = run(tmp_path, DROP, reproduce_top_up_bugs=True)
    params["common"]["issue_date"] = "2020-08-18"
    again = read_export(run_module(params))
    assert_same(again, upstream())  # not doubled: the object met again is skipped, as upstream's seen files


def test_runs_without_boto3_and_names_the_extra_for_a_bucket(tmp_path, monkeypatch):
    import sys

    from delphi_signals.sources.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 now fails, installed or not
    ours, _ = run(tmp_path, DROP, reproduce_top_up_bugs=True)
    assert len(set(ours["file"])) == 223
    params = {"common": {"issue_date": "2020-08-17", "input_dir": str(tmp_path / "b" / "input")},
              "indicator": {"base_url": "s3://some-bucket/"}}
    with pytest.raises(MissingExtraError, match=r"pip install boto3.*delphi-signals\[s3\]"):
        resolve_versions(params)


def test_wip_signal_prefixes_upstreams_way(tmp_path):
    ours, _ = run(tmp_path, DROP, wip_signal=["covid_ag_raw_pct_positive"])
    signals = {f.split("_", 2)[2][:-4] for f in ours["file"]}
    assert "wip_covid_ag_raw_pct_positive_age_0_4" in signals and "covid_ag_smoothed_pct_positive" in signals
    assert not any(s.startswith("covid_ag_raw") for s in signals)


def test_importing_quidel_loads_no_boto3():
    import subprocess
    import sys

    code = ("import sys; from delphi_signals.indicators.registry import get_indicator; "
            "get_indicator('quidel'); assert 'boto3' not in sys.modules and 'botocore' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_demo_bucket_is_seeded_late_and_in_upstreams_layout(tmp_path):
    from delphi_signals.sources.demo import quidel_key, write_quidel_drops

    folder = write_quidel_drops(tmp_path / "a", "2020-11-30", days=2)
    again = write_quidel_drops(tmp_path / "b", "2020-11-30", days=0)
    keys = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.csv"))
    assert len(keys) == 3 and keys[-1] == quidel_key("2020-11-30")
    assert (folder / keys[-1]).read_bytes() == (again / keys[-1]).read_bytes()
    frame = pd.read_csv(folder / keys[-1], dtype=str, keep_default_na=False)
    lag = (pd.to_datetime(frame["StorageDate"], format="%m/%d/%y") - pd.to_datetime(frame["TestDate"],
                                                                                     format="%m/%d/%y")).dt.days
    assert lag.between(1, 7).all() and lag.nunique() == 7
    assert 0.02 < (frame["PatientAge"] == "").mean() < 0.06 and frame["Zip"].str.contains("-").any()
    assert set(frame["OverallResult"]) == {"positive", "negative", "invalid"}


def test_broken_csv_object_is_exit_20_naming_key(tmp_path):
    text = DROP.read_text().splitlines()
    text[3] += ',"an unclosed quote'
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(UnusableObjectError, match=r"broken\.csv.*not CSV: .*EOF inside string"):
        run(tmp_path, path)


def test_cli_exit_20_naming_the_key(tmp_path, luigi_settings, capsys):
    from luigi_tasks.cli import main

    folder = tmp_path / "bucket" / "quidel" / "2020_08_17"
    folder.mkdir(parents=True)
    (folder / "broken-sars.csv").write_text("SofiaSerNum,TestDate\n1,7/18/20\n")
    luigi_settings({("delphi_signals", "data_root"): str(tmp_path / "var"),
                    ("quidel", "base_url"): str(tmp_path / "bucket")})
    code = main(["run", "--source", "quidel", "--date", "2020-08-17", "--days", "1", "--until", "export"])
    assert code == 20
    assert "quidel/2020_08_17/broken-sars.csv" in capsys.readouterr().err
    assert not (tmp_path / "var" / "export").exists()
