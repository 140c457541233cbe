"""Real Luigi runs of the indicator stage: local scheduler, a luigid scheduler, failures and reruns."""

import datetime as dt
import json
import re
import shutil
import urllib.request
from pathlib import Path

import luigi
import pytest
from luigi.execution_summary import LuigiStatusCode

from delphi_signals.errors import UnknownNameError
from luigi_tasks import Export, Pull
from luigi_tasks.cli import main

DATE = dt.date(2020, 4, 15)


@pytest.fixture
def data_root(tmp_path, luigi_settings):
    settings = {("delphi_signals", "data_root"): str(tmp_path / "var")}
    for source in ("jhu-csse", "hhs", "nchs-mortality"):
        settings[(source, "base_url")] = "demo"
        settings[(source, "export_start_date")] = ""  # the whole demo history (luigi.cfg's demo window is recent)
    luigi_settings(settings)
    return tmp_path / "var"


def test_local_scheduler_builds_pull_and_export(data_root, monkeypatch):
    from delphi_signals import atomic

    synced, real_sync = [], atomic.sync_filesystem

    def observed(path):  # the real call, observed: every CSV is in the staging folder, the manifest is not yet
        synced.append((len(list(Path(path).glob("*.csv"))), (Path(path) / "_SUCCESS").exists()))
        real_sync(path)

    monkeypatch.setattr(atomic, "sync_filesystem", observed)
    result = luigi.build([Export(source="jhu-csse", date=DATE)], local_scheduler=True, detailed_summary=True)
    assert result.status == LuigiStatusCode.SUCCESS, result.summary_text
    folder = data_root / "export" / "jhu-csse" / "20200415"
    manifest = json.loads((folder / "_SUCCESS").read_text())
    written = sorted(p.name for p in folder.glob("*.csv"))
    assert synced == [(len(written), False)]
    assert manifest["files"] == written and manifest["file_count"] == len(written) == 12 * 6 * 84 - 4 * 6 * 6
    raw = {"20200415_time_series_covid19_confirmed_US.csv", "20200415_time_series_covid19_deaths_US.csv"}
    assert {p.name for p in (data_root / "input" / "jhu-csse").iterdir()} == raw | {f"{r}.version.json" for r in raw}
    assert not list((data_root / "export" / "jhu-csse").glob(".*"))  # no staging directory left behind
    stamp = (folder / "_SUCCESS").stat().st_mtime_ns
    luigi.task_register.Register.clear_instance_cache()
    again = luigi.build([Export(source="jhu-csse", date=DATE)], local_scheduler=True, detailed_summary=True)
    assert again.status == LuigiStatusCode.SUCCESS
    assert (folder / "_SUCCESS").stat().st_mtime_ns == stamp  # complete: nothing ran again


def test_bad_input_fails_the_task_and_exports_nothing(data_root, realdata):
    bad = data_root.parent / "bad"
    bad.mkdir()
    source = realdata / "delphi_fixtures/jhu_golden_2020-06-25/tests/test_data"
    shutil.copy(source / "bad_confirmed_missing_days.csv", bad / "confirmed.csv")
    shutil.copy(source / "small_deaths.csv", bad / "deaths.csv")
    luigi.configuration.get_config().set("jhu-csse", "base_url", str(bad / "{metric}.csv"))
    code = main(["run", "--source", "jhu-csse", "--date", "2020-03-11", "--days", "1", "--until", "export"])
    assert code == 30
    assert not (data_root / "export" / "jhu-csse" / "20200311").exists()


def test_unknown_source_is_a_clear_error(data_root, capsys):
    from delphi_signals.indicators.registry import sources

    known = ", ".join(sorted(sources()))
    assert {"hhs", "jhu-csse", "nchs-mortality", "doctor-visits", "hospital-admissions", "quidel"} <= set(sources())
    with pytest.raises(UnknownNameError, match=re.escape(f"unknown source 'nowhere'; known: {known}")):
        Pull(source="nowhere", date=DATE)
    with pytest.raises(SystemExit) as exit_info:  # the command line offers the registered sources only
        main(["run", "--source", "nowhere"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'nowhere'" in capsys.readouterr().err


def test_a_luigid_scheduler_runs_the_same_tasks(data_root, luigid):
    assert main(["run", "--source", "jhu-csse", "--date", "2020-03-20", "--days", "1", "--until", "export",
                 "--scheduler-url", luigid]) == 0
    query = urllib.request.quote(json.dumps({"status": "DONE"}))
    with urllib.request.urlopen(f"{luigid}/api/task_list?data={query}", timeout=5) as response:
        done = json.load(response)["response"]
    assert {task["name"] for task in done.values()} == {"Pull", "Export"}
    assert (data_root / "export" / "jhu-csse" / "20200320" / "_SUCCESS").exists()


def test_hhs_and_nchs_exports_run_on_the_demo(data_root, luigi_settings):
    # a few days and weeks keep the test fast
    luigi_settings({("hhs", "export_start_date"): "2020-04-08", ("nchs-mortality", "export_start_date"): "2020-03-22"})
    result = luigi.build([Export(source="hhs", date=DATE), Export(source="nchs-mortality", date=DATE)],
                         local_scheduler=True, detailed_summary=True)
    assert result.status == LuigiStatusCode.SUCCESS, result.summary_text
    assert (data_root / "demo" / "hhs" / "20200415" / "covid_hosp.json").exists()
    assert (data_root / "demo" / "nchs-mortality" / "20200415" / "nchs_weekly_deaths.csv").exists()
    assert (data_root / "input" / "hhs" / "20200415_covid_hosp.json").exists()
    assert (data_root / "input" / "nchs-mortality" / "20200415_nchs_weekly_deaths.csv").exists()
    hhs = json.loads((data_root / "export" / "hhs" / "20200415" / "_SUCCESS").read_text())
    # report dates through 04-14 → admission days 04-08 .. 04-13: 6 days × 12 signals × 3 geo levels
    assert hhs["file_count"] == 6 * 12 * 3 and hhs["files"][0] == "20200408_hhs_confirmed_admissions_covid_1d.csv"
    nchs = json.loads((data_root / "export" / "nchs-mortality" / "20200415" / "_SUCCESS").read_text())
    # complete weeks through the one ending Saturday 04-11: epiweeks 13, 14, 15 × 12 signals × state, nation
    assert {name.split("_")[1] for name in nchs["files"]} == {"202013", "202014", "202015"}
    assert nchs["file_count"] == 3 * 13 * 2


def test_a_past_issue_the_source_cannot_reproduce_exits_20_before_luigi(data_root, capsys):
    config = luigi.configuration.get_config()
    config.set("nchs-mortality", "base_url", "https://data.cdc.gov/resource/r8kw-7aab.csv")
    code = main(["run", "--source", "nchs-mortality", "--date", "2020-09-10"])
    assert code == 20
    assert "--allow-current" in capsys.readouterr().err
    assert not (data_root / "input").exists() and not (data_root / "export").exists()  # nothing fetched or run
