"""Issue 22, as a user meets it: ``delphi-signals`` in a real process, asked to do what it cannot, answers with
the exit code of the README's table and a message naming what is wrong, and never a traceback.

The on-call view (``status``) after the README's recovery path, on broken manifests and in a fresh clone;
``--days`` and ``--port`` out of range; a data root that is a file, read-only or missing with its parents; a
malformed ``luigi.cfg``; a port in use; an unknown source; a missing folder to diff. Then every subcommand
with bad arguments and with a broken data root.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from delphi_signals.epidata import schema

CONFIG = """\
[core]
log_level = WARNING
[delphi_signals]
data_root = {root}
[pipeline]
sources = jhu-csse
"""
STATE_FILE = "geo_id,val,se,sample_size\nca,{v},NA,NA\nny,2,NA,NA\ntx,3,NA,NA\n"


def workdir(path: Path, root="var") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "luigi.cfg").write_text(CONFIG.format(root=root))
    return path


def cli(cwd: Path, *args: str, prefix: tuple = ()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LUIGI_CONFIG_PATH"}
    return subprocess.run([*prefix, sys.executable, "-m", "delphi_signals", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def put(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def assert_message(done, code: int, *words: str) -> None:
    assert done.returncode == code, (done.returncode, done.stderr[-3000:])
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-3000:]
    for word in words:
        assert word in done.stderr + done.stdout, (word, done.stdout[-1000:], done.stderr[-2000:])


@pytest.fixture
def delivered(tmp_path):
    """Issue 2020-11-30 of jhu-csse exported, validated and delivered (two files waiting in ``receiving/``), and
    2020-11-29 imported by the pipeline (its folder marker) into the data root's SQLite database."""
    cwd = workdir(tmp_path / "clone")
    var = cwd / "var"
    put(var / "export" / "jhu-csse" / "20201130" / "_SUCCESS", json.dumps({"file_count": 2}))
    put(var / "reports" / "jhu-csse" / "20201130_validation.json", json.dumps({"failures": []}))
    put(var / "diff" / "jhu-csse" / "20201130" / "_DELIVERED", json.dumps({"files": 2}))
    folder = var / "receiving" / "issue_20201130" / "jhu-csse"
    for signal, value in (("confirmed_incidence_num", 1), ("deaths_incidence_num", 4)):
        put(folder / f"20201129_state_{signal}.csv", STATE_FILE.format(v=value))
    assert cli(cwd, "db", "init").returncode == 0
    engine = schema.engine_for(f"sqlite:///{var / 'epidata.sqlite'}")
    with engine.begin() as conn:
        conn.execute(schema.import_marker.insert().values(marker="folder:jhu-csse/issue_20201129", row_count=3,
                                                          created_timestamp=0))
    engine.dispose()
    return cwd, folder


def test_status_after_the_readme_recovery_path(delivered):
    """Item 4: a hand import loads the waiting issue; ``status`` then counts it imported, with no problem."""
    cwd, _ = delivered
    assert_message(cli(cwd, "status"), 0, "imported 2020-11-29", "waiting: 2020-11-30")
    assert_message(cli(cwd, "import", "--source", "jhu-csse"), 0, '"files_ok": 2')
    done = cli(cwd, "status")
    assert_message(done, 0, "imported 2020-11-30 · nothing waiting")
    assert "PROBLEM" not in done.stdout


def test_status_names_an_issue_imported_in_part(delivered):
    """Item 4: one file of the issue loaded by hand, the other still waiting (an import stopped part-way)."""
    cwd, folder = delivered
    held = folder / "20201129_state_deaths_incidence_num.csv"
    aside = held.rename(cwd / held.name)
    assert_message(cli(cwd, "import", "--source", "jhu-csse"), 0, '"files_ok": 1')
    aside.rename(held)
    done = cli(cwd, "status")
    assert_message(done, 1, "imported 2020-11-29",
                   "PROBLEM jhu-csse: issue 2020-11-30 imported in part: 1 file(s) left in "
                   "var/receiving/issue_20201130/jhu-csse")
    assert_message(cli(cwd, "import", "--source", "jhu-csse"), 0, '"files_ok": 1')
    assert_message(cli(cwd, "status"), 0, "imported 2020-11-30")


def test_status_reports_broken_manifests_and_reports(delivered):
    """Item 5: a staleness report cut short, an export manifest and a delivery manifest replaced by garbage."""
    cwd, _ = delivered
    var = cwd / "var"
    put(var / "reports" / "nightly" / "20201130" / "staleness.json", '{"complaints": [{"source": "jh')
    done = cli(cwd, "status")
    assert_message(done, 1, "PROBLEM nightly:", "staleness.json cannot be read (JSONDecodeError",
                   "nightly 2020-11-30: report unreadable")
    put(var / "export" / "jhu-csse" / "20201130" / "_SUCCESS", "garbage \x00\x01")
    put(var / "diff" / "jhu-csse" / "20201130" / "_DELIVERED", json.dumps(["not", "a", "manifest"]))
    done = cli(cwd, "status")
    assert_message(done, 1, "export 2020-11-30 (manifest unreadable)", "delivered 2020-11-30 (manifest unreadable)",
                   f"PROBLEM jhu-csse: {Path('var/export/jhu-csse/20201130/_SUCCESS')} cannot be read",
                   "_DELIVERED is not a valid manifest")
    assert "None" not in done.stdout
    done = cli(cwd, "status", "--json")
    assert done.returncode == 1 and json.loads(done.stdout)["sources"][0]["export"]["files"] is None


def test_status_in_a_fresh_clone(tmp_path):
    """Item 6: nothing has run yet; nothing is created."""
    cwd = workdir(tmp_path)
    assert_message(cli(cwd, "status"), 0, "nothing has run yet: no data root at var")
    assert not (cwd / "var").exists()
    missing = tmp_path / "nowhere" / "epidata.sqlite"  # a database named with --db must be there
    assert_message(cli(cwd, "status", "--db", f"sqlite:///{missing}"), 20, f"database sqlite:///{missing}: no such")
    assert not missing.parent.exists()


@pytest.mark.parametrize("days, until", [("0", "publish"), ("-1", "export"), ("two", "publish")])
def test_days_out_of_range_is_bad_usage(tmp_path, days, until):
    """Item 8."""
    assert_message(cli(workdir(tmp_path), "run", "--days", days, "--until", until), 2,
                   f"argument --days: must be a whole number of at least 1, got '{days}'")
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize("args", [["run"], ["status"], ["db", "init"], ["import", "--source", "jhu-csse"],
                                  ["nightly", "--date", "2020-11-30"], ["meta"], ["serve"],
                                  ["diff", "--source", "jhu-csse", "--date", "2020-11-30"]])
def test_a_data_root_that_is_a_file(tmp_path, args):
    """Item 9: a message naming the path and what is wrong, exit 20."""
    cwd = workdir(tmp_path)
    put(cwd / "var", "I am a file")
    assert_message(cli(cwd, *args), 20, "var: is a file, not a folder")


def _read_only_mount_prefix(folder: Path) -> tuple:
    """A command prefix running the command with ``folder`` bind-mounted read-only in a mount namespace of its
    own (``unshare -m``; the test machine's root may do this)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) to mount a read-only data root")
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'
    probe = subprocess.run(["unshare", "-m", "sh", "-c", script, str(folder), "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a read-only mount here: {probe.stderr.decode()[-200:]}")
    return ("unshare", "-m", "sh", "-c", script, str(folder))


@pytest.mark.parametrize("args", [["run"], ["db", "init"], ["import", "--source", "jhu-csse"]])
def test_a_read_only_data_root(tmp_path, args):
    """Item 9: on a read-only file system (a bind mount of the data root, read-only in this process only)."""
    cwd = workdir(tmp_path)
    (cwd / "var").mkdir()
    assert_message(cli(cwd, *args, prefix=_read_only_mount_prefix(cwd / "var")), 20,
                   "data root var: not writable")


def test_a_missing_data_root_is_created_with_its_parents(tmp_path):
    """Item 9."""
    cwd = workdir(tmp_path, root=str(tmp_path / "a" / "b" / "var"))
    assert_message(cli(cwd, "db", "init"), 0, "epidata schema ready")
    assert (tmp_path / "a" / "b" / "var" / "epidata.sqlite").is_file()


@pytest.mark.parametrize("text, line, words", [
    ("[delphi_signals\ndata_root = var\n", 1, "a section header ([name]) must come first, got '[delphi_signals'"),
    ("[core]\nlog_level = INFO\n[delphi_signals\ndata_root = var\n", 3,
     "not a section header, option or comment: '[delphi_signals'"),
    ("[core]\nlog_level = INFO\n[core]\n", 3, "section 'core' already exists"),
])
def test_a_malformed_luigi_cfg(tmp_path, text, line, words):
    """Item 10: the file and the line, exit 2, for every subcommand (the check comes before Luigi reads it)."""
    (tmp_path / "luigi.cfg").write_text(text)
    for args in (["status"], ["run"], ["db", "init"]):
        assert_message(cli(tmp_path, *args), 2, f"delphi-signals: luigi.cfg, line {line}: {words}")


def test_a_luigi_cfg_value_that_does_not_parse(tmp_path):
    """Item 10: a value of the wrong kind is bad usage too, named by section and option."""
    cwd = workdir(tmp_path)
    with open(cwd / "luigi.cfg", "a") as config:
        config.write("first_date = someday\n")  # in [pipeline], the file's last section
    assert_message(cli(cwd, "run", "--days", "1"), 2, "[pipeline] first_date in the Luigi configuration: time data "
                   "'someday' does not match format '%Y-%m-%d'")


def test_serve_refuses_a_bad_or_busy_port(tmp_path):
    """Item 11."""
    cwd = workdir(tmp_path)
    assert_message(cli(cwd, "serve", "--port", "99999"), 2, "argument --port: must be a port number 1..65535")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert_message(cli(cwd, "serve", "--port", str(port)), 20, f"port {port} on 127.0.0.1: already in use")


def test_exit_codes_of_an_unknown_source_and_a_missing_folder(tmp_path):
    """Item 12."""
    cwd = workdir(tmp_path)
    assert_message(cli(cwd, "import", "--source", "nosuch"), 2, "unknown source 'nosuch'")
    done = cli(cwd, "diff", "--export", "/nonexistent", "--cache", str(tmp_path), "--out", str(tmp_path / "out"))
    assert_message(done, 20, "--export /nonexistent: no such folder")


BAD_ARGUMENTS = [
    ["--bogus"], ["nosuch"],
    ["run", "--date", "2020-13-01"], ["run", "--workers", "0"], ["run", "--source", "nosuch"],
    ["validate", "/nonexistent", "--source", "jhu-csse"],
    ["validate", ".", "--source", "jhu-csse", "--issue-date", "x"],
    ["diff", "--export", "/x"], ["diff", "--source", "jhu-csse", "--date", "yesterday"],
    ["db", "drop"], ["db", "init", "--db", "nonsense"], ["db", "init", "--db", "mysql+pymysql://root@127.0.0.1:1/x"],
    ["import", "--source", "jhu-csse", "--issue", "2020-02-31"], ["import", "--source", "jhu-csse", "--db", "nonsense"],
    ["nightly", "--date", "x"], ["nightly", "--db", "nonsense"],
    ["meta", "--db", "postgresql://localhost/x"], ["meta", "--fast"],
    ["status", "--db", "mysql+pymysql://root@127.0.0.1:1/nowhere"], ["status", "-x"],
    ["serve", "--port", "0"], ["serve", "--db", "nonsense"], ["serve", "--host", "no-such-host.invalid"],
]


@pytest.mark.parametrize("args", BAD_ARGUMENTS, ids=" ".join)
def test_no_subcommand_answers_bad_arguments_with_a_traceback(tmp_path, args):
    done = cli(workdir(tmp_path), *args)
    assert done.returncode in (2, 20), (done.returncode, done.stderr[-3000:])
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-3000:]
    assert done.stderr.strip(), "an error says what is wrong"


def test_status_creates_no_database(delivered):
    """``status`` only reads: with no database file yet it says nothing was imported, and creates none."""
    cwd, _ = delivered
    (cwd / "var" / "epidata.sqlite").unlink()
    for leftover in (cwd / "var").glob("epidata.sqlite-*"):
        leftover.unlink()
    assert_message(cli(cwd, "status"), 0, "nothing imported · waiting: 2020-11-30")
    assert not (cwd / "var" / "epidata.sqlite").exists()
