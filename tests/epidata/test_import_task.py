"""The Luigi ``Import`` task and the ``delphi-signals import`` command, on SQLite and MariaDB."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import luigi
import pytest
from luigi.execution_summary import LuigiStatusCode

import luigi_tasks
from dbdump import dump
from delphi_signals.epidata import schema
from delphi_signals.epidata.importer import folder_marker
from luigi_tasks import EpidataMarker, Import
from luigi_tasks.cli import main

HEADER = "geo_id,val,se,sample_size\n"
DAY = dt.date(2020, 3, 5)


@pytest.fixture
def configured(tmp_path, db_url, luigi_settings):
    """``[delphi_signals]`` pointing at a fresh data root and the test's database; restored afterwards."""
    luigi_settings({("delphi_signals", "data_root"): str(tmp_path / "var"), ("delphi_signals", "db_url"): db_url})
    return tmp_path / "var", db_url


def deliver(root: Path, folder: str, name: str, content: str) -> Path:
    where = root / "receiving" / folder
    where.mkdir(parents=True, exist_ok=True)
    (where / name).write_text(content)
    return where / name


def test_import_task_loads_the_folder_and_its_marker_is_the_target(configured):
    root, url = configured
    deliver(root, "issue_20200305/demo", "20200301_state_cases.csv", HEADER + "ca,1,NA,NA\npa,2,NA,NA\n")
    deliver(root, "issue_20200305/demo", "weekly_202009_state_deaths.csv", HEADER + "ca,3,NA,NA\n")
    deliver(root, "issue_20200305/demo", "20200301_state_bad.csv", HEADER + "ca,nan,NA,NA\nca,1,NA,NA\n")
    task = Import(source="demo", date=DAY)
    assert not task.complete()
    result = luigi.build([task], local_scheduler=True, detailed_summary=True)
    assert result.status == LuigiStatusCode.SUCCESS, result.summary_text
    assert Import(source="demo", date=DAY).complete()
    engine = schema.engine_for(url)
    try:
        state = dump(engine)
    finally:
        engine.dispose()
    assert state["markers"] == [(folder_marker("demo", DAY), 3)]
    # daily lag 4 days; weekly: 2020-03-05 is in epiweek 202010, one week after 202009
    assert [(r[1], r[3], r[5], r[6], r[7], r[8]) for r in state["full"]] == [
        ("ca", "cases", 20200301, 20200305, 4, 1.0), ("ca", "deaths", 202009, 202010, 1, 3.0),
        ("pa", "cases", 20200301, 20200305, 4, 2.0)]
    archive = root / "archive"
    assert sorted(p.name for p in (archive / "successful/issue_20200305/demo").iterdir()) == [
        "20200301_state_cases.csv.gz", "weekly_202009_state_deaths.csv.gz"]
    report = json.loads((archive / "failed/issue_20200305/demo/20200301_state_bad.csv.reason.json").read_text())
    assert report["errors"][0]["line"] == 3 and "repeated" in report["errors"][0]["problem"]
    again = luigi.build([Import(source="demo", date=DAY)], local_scheduler=True, detailed_summary=True)
    assert again.status == LuigiStatusCode.SUCCESS and "Did not run any tasks" in again.summary_text


def test_import_task_waits_for_its_folder(configured):
    root, url = configured
    missing = Import(source="demo", date=dt.date(2020, 3, 6))
    result = luigi.build([missing], local_scheduler=True, detailed_summary=True)
    assert result.status == LuigiStatusCode.MISSING_EXT
    assert not missing.complete() and not EpidataMarker(url, folder_marker("demo", "2020-03-06")).exists()


def test_a_folder_imported_by_hand_makes_the_task_complete(configured):
    """The task and ``status`` share one notion of imported: a hand import of every file of the folder completes
    it; one that stopped part-way does not, and the task then loads what is left (issue 22)."""
    from delphi_signals.epidata.importer import import_receiving

    root, url = configured
    deliver(root, "issue_20200305/demo", "20200301_state_cases.csv", HEADER + "ca,1,NA,NA\npa,2,NA,NA\n")
    assert import_receiving(root, url, source="demo")["files_ok"] == 1
    late = deliver(root, "issue_20200305/demo", "20200302_state_cases.csv", HEADER + "ca,5,NA,NA\n")
    assert not Import(source="demo", date=DAY).complete()  # in part: one file left
    result = luigi.build([Import(source="demo", date=DAY)], local_scheduler=True, detailed_summary=True)
    assert result.status == LuigiStatusCode.SUCCESS and not late.exists()
    engine = schema.engine_for(url)
    try:
        assert sorted((r[1], r[5]) for r in dump(engine)["full"]) == [("ca", 20200301), ("ca", 20200302),
                                                                      ("pa", 20200301)]
    finally:
        engine.dispose()
    deliver(root, "issue_20200306/demo", "20200302_state_cases.csv", HEADER + "ny,7,NA,NA\n")
    assert import_receiving(root, url, source="demo")["files_ok"] == 1
    assert Import(source="demo", date=dt.date(2020, 3, 6)).complete()  # by hand, whole: nothing for the task


def _command(*args: str) -> subprocess.CompletedProcess:
    checkout = str(Path(luigi_tasks.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([checkout, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "luigi_tasks.cli", "import", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_import_command_prints_the_summary_and_exits_by_outcome(tmp_path, db_url):
    deliver(tmp_path, "demo", "20200301_state_cases.csv", HEADER + "ca,1,NA,NA\n")
    deliver(tmp_path, "issue_20200303/demo", "20200301_state_cases.csv", HEADER + "ca,0.5,NA,NA\n")
    deliver(tmp_path, "other", "20200301_state_cases.csv", HEADER + "ca,9,NA,NA\n")  # another source: left alone
    done = _command("--source", "demo", "--issue", "2020-03-05", "--db", db_url, "--data-root", str(tmp_path))
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["files_found"], summary["files_ok"], summary["files_failed"], summary["rows"]) == (2, 2, 0, 2)
    assert (tmp_path / "receiving/other/20200301_state_cases.csv").exists()
    deliver(tmp_path, "demo", "20200302_state_cases.csv", HEADER + "ca,-inf,NA,NA\n")
    failed = _command("--source", "demo", "--issue", "2020-03-05", "--db", db_url, "--data-root", str(tmp_path))
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["failed"] == [
        {"file": "receiving/demo/20200302_state_cases.csv", "reason": "line 2, field val: not a finite number"}]
    engine = schema.engine_for(db_url)
    try:
        assert [(r[6], r[8]) for r in dump(engine)["full"]] == [(20200303, 0.5), (20200305, 1.0)]
    finally:
        engine.dispose()


def test_import_command_usage_errors_exit_2(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    with pytest.raises(SystemExit) as exited:
        main(["import", "--source", "demo", "--issue", "2020-02-31", "--db", url, "--data-root", str(tmp_path)])
    assert exited.value.code == 2
    with pytest.raises(SystemExit) as exited:
        main(["import", "--db", url])  # --source is required
    assert exited.value.code == 2
    assert main(["import", "--source", "../etc", "--db", url, "--data-root", str(tmp_path)]) == 2
    assert "source must be" in capsys.readouterr().err
