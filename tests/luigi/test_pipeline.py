"""The whole pipeline under a real ``luigid``, against MariaDB: two consecutive issues of the demo HHS source
through Daily (pull, export, validate, diff, deliver, import) with two workers, then Nightly; a rerun is a no-op."""

import datetime as dt
import json
import shlex
import urllib.request
from pathlib import Path

import luigi
import pandas as pd
import pytest
import sqlalchemy as sa
from luigi.cmdline_parser import CmdlineParser

from delphi_signals.epidata import Epidata
from delphi_signals.epidata.schema import engine_for
from delphi_signals.testing.databases import mariadb_database
from luigi_tasks.cli import main

REPO = Path(__file__).resolve().parents[2]
DATES = [dt.date(2020, 11, 29), dt.date(2020, 11, 30)]


@pytest.fixture
def pipeline_config(tmp_path, luigi_settings):
    url, drop = mariadb_database()
    luigi_settings({("delphi_signals", "data_root"): str(tmp_path / "var"), ("delphi_signals", "db_url"): url,
                ("delphi_signals", "params_dir"): str(tmp_path / "params"), ("hhs", "base_url"): "demo",
                ("hhs", "export_start_date"): "2020-11-01", ("pipeline", "sources"): "hhs",
                ("pipeline", "first_date"): DATES[0].isoformat(),
                ("nightly", "staleness_config"): str(REPO / "sir_complainsalot.json")})
    yield tmp_path / "var", url
    drop()


def export_rows(folder: Path) -> pd.DataFrame:
    """Every row of an export folder, with plain pandas: signal, geo_type, time_value, geo_value, val."""
    frames = []
    for path in folder.glob("*.csv"):
        day, geo_type, signal = path.name[:8], path.name.split("_")[1], path.name[9:-4].split("_", 1)[1]
        frame = pd.read_csv(path, dtype={"geo_id": str})
        frames.append(frame.assign(signal=signal, geo_type=geo_type, time_value=int(day)))
    return pd.concat(frames).rename(columns={"geo_id": "geo_value"})


def test_two_issues_under_luigid_on_mariadb_then_a_rerun_does_nothing(pipeline_config, luigid, capsys):
    root, url = pipeline_config
    args = ["run", "--source", "hhs", "--date", "2020-11-30", "--days", "2", "--workers", "2",
            "--scheduler-url", luigid]
    assert main(args) == 0
    waiting = Epidata(url).faults(status="proposed")["fault_id"].nunique()  # the summary names the proposed faults
    assert f"faults: {waiting} proposed, waiting for an operator" in capsys.readouterr().out
    # the scheduler's record: every stage ran, for both dates
    query = urllib.request.quote(json.dumps({"status": "DONE"}))
    with urllib.request.urlopen(f"{luigid}/api/task_list?data={query}", timeout=10) as response:
        done = json.load(response)["response"].values()
    names = {task["name"] for task in done}
    assert {"Daily", "Publish", "Deliver", "Diff", "Validate", "Export", "Pull", "Nightly", "MetaCache",
            "Staleness", "CoverageLatency", "RevisionProfiles"} <= names
    assert {task["params"]["date"] for task in done if task["name"] == "Publish"} == {d.isoformat() for d in DATES}
    # the database holds each issue with the right lags (HHS delivers its whole export every day, as upstream)
    engine = engine_for(url)
    with engine.connect() as conn:
        stored = pd.DataFrame(conn.execute(sa.text(
            "SELECT s.signal, g.geo_type, g.geo_value, f.time_value, f.issue, f.lag, f.value FROM epimetric_full f "
            "JOIN signal_dim s ON s.signal_key_id = f.signal_key_id JOIN geo_dim g ON g.geo_key_id = f.geo_key_id"))
            .fetchall(), columns=["signal", "geo_type", "geo_value", "time_value", "issue", "lag", "value"])
    engine.dispose()
    first = export_rows(root / "export" / "hhs" / "20201129")
    assert (stored.issue == 20201129).sum() == len(first)
    second = stored[stored.issue == 20201130]
    assert len(second) == len(export_rows(root / "export" / "hhs" / "20201130"))
    days = (pd.to_datetime(stored.issue.astype(str)) - pd.to_datetime(stored.time_value.astype(str))).dt.days
    assert (stored.lag == days).all()
    # the metadata cache matches the data
    meta = Epidata(url).metadata().set_index(["signal", "geo_type"])
    latest = stored.sort_values("issue").groupby(["signal", "geo_type", "geo_value", "time_value"]).tail(1)
    for (signal, geo_type), rows in latest.groupby(["signal", "geo_type"]):
        entry = meta.loc[(signal, geo_type)]
        assert entry.max_time == rows.time_value.max() and entry.num_locations == rows.geo_value.nunique()
        assert entry.max_issue == rows.issue.max()
    # the nightly reports exist and say what the data implies: fresh data, full state coverage on its last day
    nightly = root / "reports" / "nightly" / "20201130"
    assert json.loads((nightly / "staleness.json").read_text())["complaints"] == []
    coverage = json.loads((nightly / "coverage.json").read_text())["coverage"]
    last = export_rows(root / "export" / "hhs" / "20201130")
    signal = "confirmed_admissions_covid_1d"  # the family's representative signal, from the catalogue
    newest = last[(last.signal == signal) & (last.geo_type == "state")].time_value.max()
    want = last[(last.signal == signal) & (last.geo_type == "state") & (last.time_value == newest)].geo_value.nunique()
    got = [r["count"] for r in coverage if r["signal"] == signal and r["geo_type"] == "state"
           and r["time_value"] == newest]
    assert got == [want] and want > 50
    # the operator's view agrees: the newest issue went through every stage, nothing waits, nothing is wrong
    files = len(list((root / "export" / "hhs" / "20201130").glob("*.csv")))
    capsys.readouterr()
    assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        f"hhs              export 2020-11-30 ({files} files) · validation passed 2020-11-30 · delivered 2020-11-30 "
        f"({files} files) · imported 2020-11-30 · nothing waiting", "nightly 2020-11-30: 0 staleness complaint(s)"]
    proposed = Epidata(url).faults(status="proposed")  # the validator's warnings, waiting for an operator
    assert len(lines[2:]) == (proposed["fault_id"].nunique() + 1 if len(proposed) else 0)
    # a rerun is a no-op: nothing is rebuilt, nothing more is imported
    stamps = {p: p.stat().st_mtime_ns for p in root.rglob("_DELIVERED")}
    assert main(args) == 0
    assert {p: p.stat().st_mtime_ns for p in root.rglob("_DELIVERED")} == stamps
    engine = engine_for(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM epimetric_full")).scalar() == len(stored)
    engine.dispose()


@pytest.fixture
def webhook():
    """A local HTTP server that records the JSON bodies POSTed to it."""
    import http.server
    import threading

    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def test_a_failed_task_posts_a_notice_and_every_task_logs_time_and_memory(tmp_path, webhook, luigi_settings):
    import logging

    from luigi_tasks import Export

    lines = []
    collector = logging.Handler()
    collector.emit = lambda record: lines.append(record.getMessage())
    logging.getLogger("delphi_signals").addHandler(collector)

    url, received = webhook
    luigi_settings({("delphi_signals", "data_root"): str(tmp_path / "var"), ("nightly", "slack_webhook_url"): url,
                    ("hhs", "base_url"): str(tmp_path / "missing.json")})
    try:
        result = luigi.build([Export(source="hhs", date=dt.date(2020, 11, 30))], local_scheduler=True,
                             detailed_summary=True)
    finally:
        logging.getLogger("delphi_signals").removeHandler(collector)
    assert result.status.name == "FAILED"
    assert len(received) == 1 and "Pull" in received[0]["text"] and "failed" in received[0]["text"]
    # the notice names the task, the error and the command that reruns it (Luigi parses it back to the same task)
    notice = received[0]
    assert notice["task"].startswith("Pull_") and notice["error"].startswith("FetchError: ")
    assert notice["rerun"] == "luigi --module luigi_tasks Pull --source hhs --date 2020-11-30"
    assert notice["error"][:60] in notice["text"] and notice["rerun"] in notice["text"]
    with CmdlineParser.global_instance(shlex.split(notice["rerun"])[1:]) as parsed:
        assert parsed.get_task_obj().task_id == notice["task"]
    failed = [json.loads(line) for line in lines if '"task failed"' in line]
    assert len(failed) == 1 and failed[0]["task"].startswith("Pull_") and "FetchError" in failed[0]["error"]
    assert failed[0]["rerun"] == notice["rerun"]
    assert failed[0]["peak_memory_mb"] > 0 and failed[0]["elapsed_seconds"] >= 0
