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
def data_root(folders, tmp_path):
    config = luigi.configuration.get_config()
    saved = {key: config.get("delphi_signals", key, None) for key in ("data_root", "params_dir")}
    config.set("delphi_signals", "data_root", str(tmp_path))
    config.set("delphi_signals", "params_dir", str(tmp_path / "params"))
    luigi.task_register.Register.clear_instance_cache()
    yield tmp_path
    for key, value in saved.items():
        if value is None:
            config.remove_option("delphi_signals", key)
        else:
            config.set("delphi_signals", key, value)
    luigi.task_register.Register.clear_instance_cache()


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
