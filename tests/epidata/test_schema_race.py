"""Two ``db init``s, and two imports, racing on an empty database of each backend (issue 22, item 7).

Each racer is a real process running the command line's ``main``; all of them finish importing Python, then
wait for one file to appear, so their schema creation starts within milliseconds of each other.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from delphi_signals.epidata import schema
from delphi_signals.testing.databases import mariadb_database

REPO = Path(__file__).resolve().parents[2]
RACERS = 3
WAIT_THEN_RUN = textwrap.dedent("""
    import os, sys, time
    from luigi_tasks.cli import main
    go, args = sys.argv[1], sys.argv[2:]
    open(go + "." + str(os.getpid()), "w").close()
    while not os.path.exists(go):
        time.sleep(0.001)
    sys.exit(main(args))
""")


@pytest.fixture(params=["sqlite", "mariadb"])
def empty_db(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'epidata.sqlite'}"
        return
    url, drop = mariadb_database()
    yield url
    drop()


def race(tmp_path: Path, commands: list[list[str]]) -> list[subprocess.CompletedProcess]:
    """Run every command at once (after all of them are ready); their completed processes."""
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", WAIT_THEN_RUN, str(go), *args], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args in commands]
    while len(list(tmp_path.glob("go.*"))) < len(procs):  # every racer has imported and is waiting
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.05)
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def seeds(url: str) -> tuple[int, int]:
    engine = schema.engine_for(url)
    try:
        with engine.connect() as conn:
            return (conn.execute(sa.text("SELECT COUNT(*) FROM covidcast_meta_cache")).scalar(),
                    conn.execute(sa.text("SELECT COUNT(*) FROM id_sequence")).scalar())
    finally:
        engine.dispose()


def test_db_inits_racing_on_an_empty_database(empty_db, tmp_path):
    results = race(tmp_path, [["db", "init", "--db", empty_db]] * RACERS)
    assert [r.returncode for r in results] == [0] * RACERS, [r.stderr[-2000:] for r in results]
    assert seeds(empty_db) == (1, 1)


def test_imports_racing_on_an_empty_database(empty_db, tmp_path):
    commands = []
    for i in range(RACERS):
        folder = tmp_path / f"root{i}" / "receiving" / "issue_20201130" / "demo-src"
        folder.mkdir(parents=True)
        (folder / f"20201129_state_signal_{i}.csv").write_text("geo_id,val,se,sample_size\nca,1.5,NA,NA\nny,2,NA,NA\n")
        commands.append(["import", "--source", "demo-src", "--db", empty_db, "--data-root", str(tmp_path / f"root{i}")])
    results = race(tmp_path, commands)
    assert [r.returncode for r in results] == [0] * RACERS, [r.stderr[-2000:] for r in results]
    assert seeds(empty_db) == (1, 1)
    engine = schema.engine_for(empty_db)
    try:
        with engine.connect() as conn:
            signals = conn.execute(sa.text("SELECT s.signal, COUNT(*) FROM epimetric_latest t JOIN signal_dim s "
                                           "ON s.signal_key_id = t.signal_key_id GROUP BY s.signal")).all()
    finally:
        engine.dispose()
    assert sorted(signals) == [(f"signal_{i}", 2) for i in range(RACERS)]
