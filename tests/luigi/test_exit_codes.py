"""The README's exit-code table, row by row: each code is produced by a real ``delphi-signals`` process in a
scenario where it should be, and the table lists no code without such a scenario (issue 22)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BASE_CONFIG = """\
[core]
log_level = WARNING
[delphi_signals]
data_root = var
[nightly]
staleness_config = {staleness}
[nchs-mortality]
base_url = demo
"""


def readme_exit_codes() -> dict[int, str]:
    """The rows of the README's exit-code table: code → meaning."""
    text = (REPO / "README.md").read_text()
    table = text[text.index("| exit code | meaning |"):].split("\n\n", 1)[0]
    return {int(m.group(1)): m.group(2).strip() for m in re.finditer(r"^\| (\d+) \| (.+?) \|$", table, re.MULTILINE)}


def workdir(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "sir.json").write_text(json.dumps({"grace": 0, "sources": {"jhu-csse": {"max_age": 5}}}))
    (tmp_path / "luigi.cfg").write_text(BASE_CONFIG.format(staleness=tmp_path / "sir.json") + extra)
    return tmp_path


def cli(cwd: Path, *args: str, python_code: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", python_code, *args] if python_code else [sys.executable, "-m", "delphi_signals",
                                                                                 *args]
    env = {k: v for k, v in os.environ.items() if k != "LUIGI_CONFIG_PATH"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def code_0(tmp_path, luigid):
    return cli(workdir(tmp_path), "db", "init"), "epidata schema ready"


def code_1(tmp_path, luigid):
    root = workdir(tmp_path)
    (root / "var" / "export" / "jhu-csse" / "20201130").mkdir(parents=True)
    (root / "var" / "export" / "jhu-csse" / "20201130" / "_SUCCESS").write_text("garbage")
    return cli(root, "status"), "PROBLEM jhu-csse"


def code_2(tmp_path, luigid):
    return cli(workdir(tmp_path), "import", "--source", "nosuch"), "unknown source 'nosuch'"


def code_10(tmp_path, luigid):
    """Another worker of the same ``luigid`` runs the pull this command needs."""
    import luigi.rpc

    from luigi_tasks import Pull

    task = Pull(source="nchs-mortality", date=dt.date(2020, 11, 30))
    scheduler = luigi.rpc.RemoteScheduler(luigid)
    scheduler.add_task(worker="holder", task_id=task.task_id, status="PENDING", runnable=True,
                       family=task.task_family, params=task.to_str_params())
    assert scheduler.get_work(worker="holder")["task_id"] == task.task_id  # now RUNNING, by the holder
    done = cli(workdir(tmp_path), "run", "--until", "export", "--source", "nchs-mortality", "--days", "1",
               "--scheduler-url", luigid)
    assert not (tmp_path / "var" / "export" / "nchs-mortality" / "20201130").exists()
    return done, "already running"


def code_20(tmp_path, luigid):
    return cli(workdir(tmp_path), "validate", str(tmp_path / "nowhere"), "--source", "jhu-csse"), "no such export"


def code_25(tmp_path, luigid):
    """The metadata cache needs the ``epidata_db`` resource, which this scheduler has none of."""
    root = workdir(tmp_path, "[resources]\nepidata_db = 0\n")
    assert cli(root, "db", "init").returncode == 0
    return cli(root, "nightly", "--date", "2020-11-30"), "not granted run permission"


def code_30(tmp_path, luigid):
    """The staleness task fails: its config names a file that is not there."""
    root = workdir(tmp_path)
    (root / "sir.json").unlink()
    assert cli(root, "db", "init").returncode == 0
    return cli(root, "nightly", "--date", "2020-11-30"), "a task failed"


def code_35(tmp_path, luigid):
    """The daily tasks cannot even be scheduled: ``[pipeline] first_date`` is not a date."""
    root = workdir(tmp_path, "[pipeline]\nfirst_date = someday\n")
    return cli(root, "run", "--source", "nchs-mortality", "--days", "1"), "scheduling failed"


INTERNAL_ERROR = textwrap.dedent("""
    import sys
    import delphi_signals.status
    from delphi_signals.__main__ import main

    def broken(*args, **kwargs):  # a bug, as the code could have one
        return {}["sources"]

    delphi_signals.status.pipeline_status = broken
    sys.exit(main(sys.argv[1:]))
""")


def code_40(tmp_path, luigid):
    """An unexpected internal error (a bug put into a real process): its traceback goes to the log."""
    done = cli(workdir(tmp_path), "status", python_code=INTERNAL_ERROR)
    assert "Traceback" in done.stderr and "KeyError" in done.stderr
    return done, "unexpected internal error (KeyError"


SCENARIOS = {0: code_0, 1: code_1, 2: code_2, 10: code_10, 20: code_20, 25: code_25, 30: code_30, 35: code_35,
             40: code_40}


def test_every_row_of_the_table_has_a_scenario():
    assert set(readme_exit_codes()) == set(SCENARIOS)


@pytest.mark.parametrize("code", sorted(SCENARIOS))
def test_exit_code(code, tmp_path, luigid):
    done, words = SCENARIOS[code](tmp_path, luigid)
    assert done.returncode == code, done.stderr[-3000:]
    assert words in done.stdout + done.stderr, done.stderr[-3000:]
    if code != 40:
        assert "unexpected internal error" not in done.stderr
