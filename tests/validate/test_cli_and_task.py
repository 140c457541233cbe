"""``delphi-signals validate`` exit codes, and the Luigi ``Validate`` task's complete-or-absent report."""

import json
import os
import subprocess
import sys
from pathlib import Path

import luigi
import numpy as np
import pytest
from luigi.execution_summary import LuigiStatusCode

from luigi_tasks import Validate
from luigi_tasks.cli import main

from .conftest import JHU_ISSUE, copy_files, edit, jhu_validation

SIGNAL = "_state_deaths_incidence_num.csv"


@pytest.fixture
def folders(jhu_files, tmp_path):
    """One real state signal: today's export in a folder named by its issue (with an Export manifest), the
    earlier days as the archive cache, and the params file."""
    export = copy_files(jhu_files, tmp_path / "export" / "jhu-csse" / "20201201",
                        lambda n: n.endswith(SIGNAL) and n[:8] >= "20201124")
    cache = copy_files(jhu_files, tmp_path / "cache" / "jhu-csse", lambda n: n.endswith(SIGNAL) and n[:8] < "20201124")
    (export / "_SUCCESS").write_text(json.dumps({"source": "jhu-csse", "issue_date": JHU_ISSUE.isoformat(),
                                                 "files": sorted(p.name for p in export.glob("*.csv"))}))
    params = tmp_path / "params" / "jhu-csse.json"
    params.parent.mkdir()
    validation = jhu_validation()
    # real deaths corrections (negative daily counts) are suppressed, as upstream's JHU params do
    validation["common"]["suppressed_errors"] = [{"check_name": "check_val_lt_0"}]
    params.write_text(json.dumps({"validation": validation}))
    return export, cache, params


def inject_error(export):
    edit(export / f"20201130{SIGNAL}", lambda f: f.assign(geo_id=np.where(f.geo_id == "ca", "c4", f.geo_id)))


def cli(export, cache, params, *extra):
    return main(["validate", str(export), "--source", "jhu-csse", "--reference", str(cache), "--params", str(params),
                 *extra])


def test_cli_passes_with_the_manifests_issue_date_and_writes_the_report(folders, tmp_path, capsys):
    export, cache, params = folders
    out = tmp_path / "report.json"
    assert cli(export, cache, params, "--report", str(out)) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("jhu-csse issue 2020-12-01 (2020-11-24..2020-11-30, 7 files): passed")
    data = json.loads(out.read_text())
    assert data["blocking"] is False and data["files_checked"] == 7


def test_cli_exit_codes(folders, tmp_path, capsys):
    export, cache, params = folders
    inject_error(export)
    assert cli(export, cache, params) == 1
    assert "error    check_geo_id_format  deaths_incidence_num  x1" in capsys.readouterr().out
    assert cli(export, cache, params, "--issue-date", "2020-12-01") == 1
    assert main(["validate", str(tmp_path / "nowhere"), "--source", "jhu-csse"]) == 20
    bad_params = tmp_path / "bad.json"
    bad_params.write_text("{not json")
    assert cli(export, cache, bad_params) == 2
    bad_params.write_text(json.dumps({"common": {"suppressed_errors": [{"checkname": "x"}]}}))
    assert cli(export, cache, bad_params) == 2
    assert "suppressed_errors[0]" in capsys.readouterr().err
    (export / "_SUCCESS").unlink()
    plain = export.rename(export.parent / "today")  # neither a manifest nor a YYYYMMDD name: no issue date
    assert main(["validate", str(plain), "--source", "jhu-csse"]) == 2
    with pytest.raises(SystemExit) as usage:
        main(["validate", str(plain)])  # --source is required
    assert usage.value.code == 2


def test_cli_exit_code_in_a_real_process(folders):
    export, cache, params = folders
    inject_error(export)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                                        os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "luigi_tasks.cli", "validate", str(export), "--source", "jhu-csse",
                           "--reference", str(cache), "--params", str(params)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "BLOCKED" in done.stdout


@pytest.fixture
def data_root(folders, tmp_path, luigi_settings):
    luigi_settings({("delphi_signals", "data_root"): str(tmp_path),
                    ("delphi_signals", "params_dir"): str(tmp_path / "params"),
                    ("delphi_signals", "db_url"): f"sqlite:///{tmp_path / 'epidata.sqlite'}"})
    return tmp_path


def build():
    return luigi.build([Validate(source="jhu-csse", date=JHU_ISSUE)], local_scheduler=True, detailed_summary=True)


def test_task_writes_the_report_when_nothing_blocks(data_root):
    result = build()
    assert result.status == LuigiStatusCode.SUCCESS, result.summary_text
    report = json.loads((data_root / "reports" / "jhu-csse" / "20201201_validation.json").read_text())
    assert report["blocking"] is False and report["files_checked"] == 7
    assert report["suppressed_errors"] >= 1  # the real negative corrections, suppressed by params/jhu-csse.json
    assert not (data_root / "reports" / "jhu-csse" / "20201201_validation.failed.json").exists()


def test_task_fails_and_leaves_the_target_absent_when_errors_block(data_root, folders):
    export, _, _ = folders
    inject_error(export)
    result = build()
    assert result.status == LuigiStatusCode.FAILED
    folder = data_root / "reports" / "jhu-csse"
    assert not (folder / "20201201_validation.json").exists()
    failed = json.loads((folder / "20201201_validation.failed.json").read_text())
    assert [f["check_name"] for f in failed["failures"] if not f["suppressed"] and f["severity"] == "error"] == [
        "check_geo_id_format", "check_bad_geo_id_value"]
    # fixing the export lets a rerun pass, and the stale failed report goes
    edit(export / f"20201130{SIGNAL}", lambda f: f.assign(geo_id=np.where(f.geo_id == "c4", "ca", f.geo_id)))
    luigi.task_register.Register.clear_instance_cache()
    assert build().status == LuigiStatusCode.SUCCESS
    assert (folder / "20201201_validation.json").exists() and not (folder / "20201201_validation.failed.json").exists()


def test_task_with_the_database_as_reference_finds_what_the_archive_finds(data_root, folders):
    """The same published days, once as the archive cache and once imported into the database."""
    from delphi_signals.epidata.importer import import_folder

    export, cache, params = folders
    edit(export / f"20201128{SIGNAL}", lambda f: f.assign(val=np.where(f.geo_id == "ca", "99999.0", f.val)))
    assert build().status == LuigiStatusCode.SUCCESS
    report = data_root / "reports" / "jhu-csse" / "20201201_validation.json"
    from_archive = json.loads(report.read_text())["failures"]
    # a check that compares with the reference catches it
    assert [(f["check_name"], f["date"]) for f in from_archive if not f["suppressed"]] == [
        ("check_test_vs_reference_avg_changed", "2020-11-28")]

    receiving = data_root / "receiving" / "issue_20201124" / "jhu-csse"
    receiving.parent.mkdir(parents=True)
    cache.rename(receiving)  # the archive cache is gone: only the database knows what was published
    published = len(list(receiving.glob("*.csv")))
    assert import_folder(data_root, luigi.configuration.get_config().get("delphi_signals", "db_url"), "jhu-csse",
                         "2020-11-24")["files_ok"] == published == 14
    settings = json.loads(params.read_text())
    settings["validation"]["common"]["reference"] = "database"
    params.write_text(json.dumps(settings))
    report.unlink()
    luigi.task_register.Register.clear_instance_cache()
    assert build().status == LuigiStatusCode.SUCCESS
    assert json.loads(report.read_text())["failures"] == from_archive

    settings["validation"]["common"]["reference"] = "the moon"
    params.write_text(json.dumps(settings))
    report.unlink()
    luigi.task_register.Register.clear_instance_cache()
    assert build().status == LuigiStatusCode.FAILED
