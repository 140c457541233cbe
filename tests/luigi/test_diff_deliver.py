"""Real Luigi runs of the publication stage: Diff and Deliver, range runs, refusals, retries, the CLI."""

import datetime as dt
import json

import luigi
import pytest
from luigi.execution_summary import LuigiStatusCode

from delphi_signals.errors import InputError
from delphi_signals.io.archive import CACHE_MANIFEST, ArchiveDiffer
from delphi_signals.io.delivery import deliver
from luigi_tasks import Deliver, Diff, delivery_chain
from luigi_tasks.cli import main

HEAD4 = "geo_id,val,se,sample_size\n"
HEAD7 = "geo_id,val,se,sample_size,missing_val,missing_se,missing_sample_size\n"
D1, D2 = dt.date(2020, 4, 14), dt.date(2020, 4, 15)


DRY_RUN = {"validation": {"common": {"dry_run": True}}}


@pytest.fixture
def data_root(tmp_path, luigi_settings):
    # these tests are about diffing and delivery: the validator runs (Diff requires Validate) in dry-run mode,
    # since a few days of demo export cannot fill upstream's 14-day validation span
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "jhu-csse.json").write_text(json.dumps(DRY_RUN))
    luigi_settings({("delphi_signals", "data_root"): str(tmp_path / "var"),
                    ("delphi_signals", "params_dir"): str(tmp_path / "params"),
                    ("jhu-csse", "base_url"): "demo", ("jhu-csse", "export_start_date"): "2020-04-05"})
    return tmp_path / "var"


def build(*tasks):
    luigi.task_register.Register.clear_instance_cache()
    return luigi.build(list(tasks), local_scheduler=True, detailed_summary=True)


def fake_export(root, day, files: dict, window=None):
    """A finished Export target written by hand (so Luigi does not run the indicator)."""
    folder = root / "export" / "jhu-csse" / f"{day:%Y%m%d}"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    manifest = {"source": "jhu-csse", "issue_date": day.isoformat(), "files": sorted(files)}
    if window:
        manifest.update(first_time_value=window[0], last_time_value=window[1])
    (folder / "_SUCCESS").write_text(json.dumps(manifest))
    return folder


def csv_bytes(folder):
    return {p.name: p.read_bytes() for p in folder.glob("*.csv")}


def test_a_range_run_delivers_each_day_and_moves_the_cache_after_it(data_root):
    result = build(*delivery_chain("jhu-csse", [D1, D2]))
    assert result.status == LuigiStatusCode.SUCCESS, result.summary_text
    exports = [data_root / "export" / "jhu-csse" / f"{d:%Y%m%d}" for d in (D1, D2)]
    manifest = json.loads((exports[1] / "_SUCCESS").read_text())
    assert (manifest["first_time_value"], manifest["last_time_value"]) == (20200405, 20200414)
    first, second = csv_bytes(exports[0]), csv_bytes(exports[1])
    receiving = [data_root / "receiving" / f"issue_{d:%Y%m%d}" / "jhu-csse" for d in (D1, D2)]
    assert csv_bytes(receiving[0]).keys() == first.keys()  # the first issue: every file is new
    changed = {n for n in second if n not in first or first[n] != second[n]}  # bytes differ <=> values differ here
    assert set(csv_bytes(receiving[1])) == changed and 0 < len(changed) < len(second)
    for day in (D1, D2):
        folder = data_root / "diff" / "jhu-csse" / f"{day:%Y%m%d}"
        assert (folder / "_DELIVERED").exists() and not (folder / "csv").exists()
    diff_manifest = json.loads((data_root / "diff" / "jhu-csse" / "20200415" / "_SUCCESS").read_text())
    assert diff_manifest["cache_issue"] == "2020-04-14" and sorted(diff_manifest["files"]) == sorted(changed)
    cache = data_root / "cache" / "jhu-csse"
    assert csv_bytes(cache) == second
    assert json.loads((cache / CACHE_MANIFEST).read_text())["issue"] == "2020-04-15"
    assert not list((data_root / "diff" / "jhu-csse").glob(".*"))  # no staging folder left behind


def test_diff_refuses_when_the_cache_holds_that_issue_or_a_later_one(data_root):
    export = fake_export(data_root, D1, {"20200410_state_x.csv": HEAD4 + "a,1.0,NA,NA\n"})
    ArchiveDiffer(data_root / "cache" / "jhu-csse", export, issue_date=D2).commit()
    result = build(Diff(source="jhu-csse", date=D1))
    assert result.status == LuigiStatusCode.FAILED
    assert not (data_root / "diff" / "jhu-csse" / "20200414").exists()


def test_a_waiting_delivery_is_refused_and_the_retry_loses_nothing(data_root):
    fake_export(data_root, D1, {"20200410_state_x.csv": HEAD4 + "a,1.0,NA,NA\nb,2.0,NA,NA\n"})
    assert build(Deliver(source="jhu-csse", date=D1)).status == LuigiStatusCode.SUCCESS
    fake_export(data_root, D2, {"20200410_state_x.csv": HEAD4 + "a,1.5,NA,NA\nb,2.0,NA,NA\n"})
    waiting = data_root / "receiving" / "issue_20200415" / "jhu-csse"
    waiting.mkdir(parents=True)
    (waiting / "someone_else.csv").write_text(HEAD4)
    assert build(Deliver(source="jhu-csse", date=D2)).status == LuigiStatusCode.FAILED
    assert (waiting / "someone_else.csv").exists() and not (waiting / "20200410_state_x.csv").exists()
    assert ArchiveDiffer(data_root / "cache" / "jhu-csse", waiting).cache_issue() == D1  # cache not moved
    (waiting / "someone_else.csv").unlink()
    waiting.rmdir()
    assert build(Deliver(source="jhu-csse", date=D2)).status == LuigiStatusCode.SUCCESS
    assert (waiting / "20200410_state_x.csv").read_text() == HEAD7 + "a,1.5,NA,NA,NA,NA,NA\n"


def test_deliver_finishes_after_a_crash_between_the_rename_and_its_target(data_root):
    fake_export(data_root, D1, {"20200410_state_x.csv": HEAD4 + "a,1.0,NA,NA\n"})
    assert build(Diff(source="jhu-csse", date=D1)).status == LuigiStatusCode.SUCCESS
    folder = data_root / "diff" / "jhu-csse" / "20200414"
    deliver(folder / "csv", data_root / "receiving", "jhu-csse", D1)  # the rename happened, then a crash
    assert build(Deliver(source="jhu-csse", date=D1)).status == LuigiStatusCode.SUCCESS
    assert json.loads((folder / "_DELIVERED").read_text())["cache"]["issue"] == "2020-04-14"
    assert (data_root / "cache" / "jhu-csse" / "20200410_state_x.csv").exists()


def test_full_delivery_hands_over_the_whole_export(data_root):
    params = data_root.parent / "params" / "jhu-csse.json"  # the indicator's params file chooses full delivery
    params.write_text(json.dumps({**DRY_RUN, "delivery": {"mode": "full"}}))
    files = {"20200410_state_x.csv": HEAD4 + "a,1.0,NA,NA\n", "20200411_state_x.csv": HEAD4 + "a,2.0,NA,NA\n"}
    fake_export(data_root, D1, files)
    assert build(Deliver(source="jhu-csse", date=D1)).status == LuigiStatusCode.SUCCESS
    fake_export(data_root, D2, files)
    assert build(Deliver(source="jhu-csse", date=D2)).status == LuigiStatusCode.SUCCESS
    received = data_root / "receiving" / "issue_20200415" / "jhu-csse"
    assert {n: b.decode() for n, b in csv_bytes(received).items()} == files  # unchanged, yet delivered whole
    assert json.loads((data_root / "diff" / "jhu-csse" / "20200415" / "_SUCCESS").read_text())["mode"] == "full"


def test_deliver_refuses_a_waiting_folder_by_name(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    deliver(tmp_path / "a", tmp_path / "receiving", "hhs", dt.date(2021, 1, 2))
    with pytest.raises(InputError) as err:
        deliver(tmp_path / "b", tmp_path / "receiving", "hhs", dt.date(2021, 1, 2))
    assert "issue_20210102/hhs" in str(err.value) and "already waiting" in str(err.value)
    assert (tmp_path / "b").is_dir()
    with pytest.raises(InputError, match="does not exist"):
        deliver(tmp_path / "gone", tmp_path / "receiving", "hhs", dt.date(2021, 1, 3))


def test_the_diff_command_by_hand(data_root, capsys):
    export = fake_export(data_root, D2, {"20200410_state_x.csv": HEAD4 + "a,1.5,NA,NA\n"}, window=(20200410, 20200414))
    cache = data_root / "somecache"
    cache.mkdir()
    (cache / "20200410_state_x.csv").write_text(HEAD4 + "a,1.0,NA,NA\n")
    (cache / "20200412_state_x.csv").write_text(HEAD4 + "b,1.0,NA,NA\n")
    assert main(["diff", "--export", str(export), "--cache", str(cache), "--out", str(data_root / "out")]) == 0
    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert counts == {"new": 0, "changed": 1, "unchanged": 0, "vanished": 1, "outside_window": 0, "rows": 2}
    assert main(["diff", "--export", str(export), "--cache", str(cache), "--out", str(data_root / "out")]) == 30
    assert main(["diff", "--export", str(export)]) == 2
    assert main(["diff", "--source", "jhu-csse", "--date", "2020-04-15"]) == 0
    assert (data_root / "diff" / "jhu-csse" / "20200415" / "csv" / "20200410_state_x.csv").exists()


def test_validation_errors_block_the_diff_and_delivery(data_root):
    (data_root.parent / "params" / "jhu-csse.json").write_text("{}")  # the indicator's defaults: errors block
    result = build(Deliver(source="jhu-csse", date=D1))
    assert result.status == LuigiStatusCode.FAILED
    failed = data_root / "reports" / "jhu-csse" / "20200414_validation.failed.json"
    assert json.loads(failed.read_text())["unsuppressed_errors"]  # the report says why
    assert not (data_root / "diff" / "jhu-csse").exists() and not (data_root / "receiving").exists()
