"""``delphi-signals fault …`` on SQLite and MariaDB: add, list, show, resolve, dismiss; bad scopes exit 2 naming
what is wrong and write nothing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from delphi_signals.epidata import Epidata
from luigi_tasks.cli import main

from .conftest import SIGNAL, SOURCE


def _add(db_url, *extra):
    return ["fault", "add", "--db", db_url, "--source", SOURCE, "--start", "2020-11-02", "--end", "2020-11-04",
            "--category", "backlog", "--title", "LA backlog", *extra]


def test_add_list_show_resolve_dismiss(loaded, db_url, capsys):
    assert main(_add(db_url, "--signal", SIGNAL, "--geo-type", "county", "--geo", "6037", "--geo", "36061",
                     "--link", "https://example.org/issue/1", "--description", "a week on one day")) == 0
    first = int(capsys.readouterr().out.strip())
    assert main(_add(db_url, "--status", "proposed")) == 0
    second = int(capsys.readouterr().out.strip())
    assert main(["fault", "list", "--db", db_url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["fault_id"], r["status"], r["geo_values"]) for r in listed] == [
        (second, "proposed", ""), (first, "open", "06037,36061")]
    assert main(["fault", "list", "--db", db_url, "--status", "proposed"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].split()[:2] == [str(second), "proposed"]
    assert main(["fault", "resolve", str(first), "--db", db_url, "--note", "JHU fixed it", "--by", "me"]) == 0
    assert main(["fault", "dismiss", str(second), "--db", db_url, "--note", "noise"]) == 0
    capsys.readouterr()
    assert main(["fault", "show", str(first), "--db", db_url]) == 0
    shown = capsys.readouterr().out
    assert "resolved" in shown and "scope: test-src sig county:06037,36061 time 2020-11-02..2020-11-04" in shown
    assert "link: https://example.org/issue/1" in shown and "status -> resolved by me: JHU fixed it" in shown
    record = Epidata(db_url).fault(second)
    assert record["status"] == "dismissed" and record["resolution"] == "noise"


@pytest.mark.parametrize("extra, named", [
    (["--source", "no-such-source"], "unknown source 'no-such-source'"),
    (["--signal", "x' OR '1'='1"], "signals"),
    (["--geo-type", "county", "--geo", "99999"], "geo_values"),
    (["--geo-type", "state", "--geo", "zz"], "unknown state geo value"),
    (["--end", "2020-11-01"], "end"),
    (["--start", "2020-02-30"], "start"),
])
def test_bad_scope_exits_2_naming_it(loaded, db_url, capsys, extra, named):
    assert main(_add(db_url, *extra)) == 2
    assert named in capsys.readouterr().err
    assert Epidata(db_url).faults().empty


def test_unknown_id_and_entry_point(loaded, db_url, capsys):
    assert main(["fault", "show", "4242", "--db", db_url]) == 2
    assert "no fault with id 4242" in capsys.readouterr().err
    assert main(["fault", "resolve", "1; DROP TABLE fault", "--db", db_url, "--note", "x"]) == 2
    done = subprocess.run([sys.executable, "-m", "delphi_signals", "fault", "add", "--db", db_url, "--source", SOURCE,
                           "--start", "2020-11-05", "--end", "2020-11-01", "--category", "outage", "--title", "t"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "scopes[0].end" in done.stderr
