"""What a person sees of ``delphi-signals run``: under a real pseudo-terminal (progress bars, warnings as
readable lines, the summary, no Luigi chatter), and with stderr a pipe (JSON lines, one INFO line per folder
or task); ``--log-file`` keeps every event at DEBUG."""

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BAR = re.compile(r"\[\d\d:\d\d")  # tqdm's elapsed-time field: "[00:03<00:01, …]" or "[00:03, …]"
SUMMARY = re.compile(r"^(issue \d{4}-\d\d-\d\d: |nightly \d{4}-\d\d-\d\d: |faults: |database: )")


@pytest.fixture
def config(tmp_path):
    """A ``luigi.cfg`` of the demo HHS source with its data root under ``tmp_path``."""
    path = tmp_path / "luigi.cfg"
    path.write_text(f"""
[delphi_signals]
data_root = {tmp_path / 'var'}
params_dir = {tmp_path / 'params'}
[nightly]
staleness_config = {REPO / 'sir_complainsalot.json'}
[hhs]
base_url = demo
export_start_date = 2020-11-01
""")
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(path), "COLUMNS": "120"}
    env.pop("LOG_DEBUG", None)
    return env


def run_in_pty(args, env, cwd) -> tuple[int, str]:
    """Run ``python -m delphi_signals *args`` with stdin, stdout and stderr on a 40×120 pseudo-terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "delphi_signals", *args], stdin=slave, stdout=slave,
                            stderr=slave, env=env, cwd=cwd, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return proc.wait(), b"".join(chunks).decode("utf-8", "replace")


def screen_lines(output: str) -> tuple[list[str], list[str]]:
    """The terminal output without escape sequences, cut at every carriage return and newline: (progress-bar segments, other lines)."""
    output = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", output)  # the cursor moves of nested bars
    segments = [s.strip() for s in re.split(r"[\r\n]+", output)]
    segments = [s for s in segments if s]
    bars = [s for s in segments if BAR.search(s)]
    return bars, [s for s in segments if not BAR.search(s)]


def test_run_in_a_terminal_shows_bars_warnings_and_the_summary(config, tmp_path):
    log_file = tmp_path / "run.jsonl"
    code, output = run_in_pty(["--log-file", str(log_file), "run", "--source", "hhs", "--days", "2"], config,
                              tmp_path)
    assert code == 0, output
    bars, lines = screen_lines(output)
    # one bar per stage: Luigi's tasks, the export, the validation, the import, the metadata cache (HHS delivers
    # its whole export: no diff)
    for stage in ("Daily", "Nightly", "export hhs", "validating 2020112", "import hhs 2020112",
                  "metadata"):
        assert any(bar.startswith(stage) for bar in bars), stage
    summary = [line for line in lines if SUMMARY.match(line)]
    # the faults line is there when the validations proposed faults (hhs's spike warnings may)
    assert [line.split(":")[0] for line in summary if not line.startswith("faults: ")] == [
        "issue 2020-11-29", "issue 2020-11-30", "nightly 2020-11-30", "database"]
    assert all("proposed, waiting for an operator" in line for line in summary if line.startswith("faults: "))
    others = [line for line in lines if not SUMMARY.match(line)]
    # besides the summary: warnings and errors alone, as readable lines (not JSON, not Luigi's INFO chatter)
    assert all(re.search(r"\[(warning|error|critical) *\]", line) for line in others), others
    assert len(lines) <= 10, lines
    assert "Informed scheduler" not in output and "inserted database rows" not in output
    # the log file keeps everything as JSON lines, the per-file DEBUG events included
    events = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert all({"event", "level", "logger", "timestamp"} <= set(e) for e in events)
    inserted = [e for e in events if e["event"] == "inserted database rows"]
    archived = len(list((tmp_path / "var" / "archive" / "successful").rglob("*.csv*")))  # every file loaded
    assert len(inserted) == archived > 1900 and {e["level"] for e in inserted} == {"debug"}
    assert any(e["logger"] == "luigi-interface" for e in events)  # Luigi's lines, in the file only


def test_run_with_stderr_a_pipe_writes_json_lines_one_info_line_per_folder(config, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "delphi_signals", "run", "--source", "hhs", "--days", "1"],
                          env=config, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert [line.split(":")[0] for line in proc.stdout.splitlines() if not line.startswith("faults: ")] == [
        "issue 2020-11-30", "nightly 2020-11-30", "database"]
    events = [json.loads(line) for line in proc.stderr.splitlines()]  # every line is JSON: no Luigi chatter
    assert events and {e["level"] for e in events} <= {"info", "warning", "error"}
    names = [e["event"] for e in events]
    assert "inserted database rows" not in names and "Signal lag" not in names
    imported = [e for e in events if e["event"] == "folder imported"]
    assert len(imported) == 1 and imported[0]["files_ok"] > 900 and imported[0]["source"] == "hhs"
    finished = [e for e in events if e["event"] == "task finished"]
    assert {e["task"].split("_")[0] for e in finished} >= {"Pull", "Export", "Validate", "Diff", "Deliver",
                                                            "Publish", "Staleness", "CoverageLatency"}
    assert all(e["logger"].startswith("delphi_signals") for e in events)


def test_quiet_prints_the_summary_alone_and_verbose_adds_luigi(config, tmp_path):
    args = ["run", "--source", "hhs", "--days", "1", "--until", "export"]
    code, output = run_in_pty(["--quiet", *args], config, tmp_path)
    bars, lines = screen_lines(output)
    assert code == 0 and bars == [] and len(lines) == 1 and lines[0].startswith("hhs issue 2020-11-30: ")
    code, output = run_in_pty(["--verbose", *args], config, tmp_path)
    assert code == 0 and "luigi INFO: " in output and "===== Luigi Execution Summary =====" in output
    code, output = run_in_pty(["--verbose", "--quiet", *args], config, tmp_path)
    assert code == 2 and "exclude each other" in output


def test_a_failed_run_in_a_terminal_says_what_failed_and_how_to_rerun_it(config, tmp_path):
    cfg = Path(config["LUIGI_CONFIG_PATH"])
    cfg.write_text(cfg.read_text().replace("base_url = demo", f"base_url = {tmp_path / 'missing.json'}"))
    code, output = run_in_pty(["run", "--source", "hhs", "--days", "1"], config, tmp_path)
    assert code == 30
    bars, lines = screen_lines(output)
    failed = [line for line in lines if "task failed" in line and not line.startswith("delphi-signals run:")]
    assert len(failed) == 1 and "[error" in failed[0] and "FetchError" in failed[0]
    assert "delphi-signals run: a task failed (exit 30)" in lines  # the exit code's one line
    assert "rerun='luigi --module luigi_tasks Pull --source hhs --date 2020-11-30'" in failed[0]
    assert "Traceback" not in output and "* 1 failed:" in output  # Luigi's summary, not its traceback
    assert len(lines) <= 25, lines
