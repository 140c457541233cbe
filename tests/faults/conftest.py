"""Builders for fault tests: a small county signal with two issues, loaded into the database under test."""

from __future__ import annotations

import pandas as pd
import pytest

from delphi_signals.epidata import store

SOURCE, SIGNAL = "test-src", "sig"
COUNTIES = ["06037", "06059", "36061", "42101"]
DAYS = pd.date_range("2020-11-01", periods=10)


def day_int(day) -> int:
    return int(pd.Timestamp(day).strftime("%Y%m%d"))


def signal_rows(source: str = SOURCE, signal: str = SIGNAL) -> pd.DataFrame:
    """Each county and day issued 1 day later (value v) and 5 days later (value v + 0.5, a revision)."""
    rows = []
    for g, geo in enumerate(COUNTIES):
        for d, day in enumerate(DAYS):
            for lag, extra in ((1, 0.0), (5, 0.5)):
                rows.append((source, signal, "day", "county", day_int(day), geo,
                             day_int(day + pd.Timedelta(days=lag)), lag, 10.0 * g + d + extra, None, None, 0, 1, 1))
    return pd.DataFrame(rows, columns=list(store.ROW_COLUMNS))


@pytest.fixture
def loaded(engine):
    """The engine of a database holding :func:`signal_rows`."""
    with store.locked_transaction(engine) as conn:
        store.load_rows(conn, signal_rows())
    return engine


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


WRITE_KEY, READ_KEY = "w-key-123", "r-key-456"
API_KEYS = {WRITE_KEY: {"rpm": 600, "roles": ["write"]}, READ_KEY: 600}


def start_server(url: str):
    """A real ``delphi-signals serve`` over ``url`` with a write key and a read key; ``(process, base URL)``."""
    import json
    import os
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request
    from pathlib import Path

    port = free_port()
    env = {**os.environ, "DELPHI_SIGNALS_API_KEYS": json.dumps(API_KEYS)}
    proc = subprocess.Popen([sys.executable, "-m", "delphi_signals", "serve", "--db", url, "--port", str(port)],
                            cwd=Path(__file__).resolve().parents[2], env=env, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read()[-3000:]}")
        try:
            urllib.request.urlopen(f"{base}/epidata/faults/", timeout=2).read()
            return proc, base
        except urllib.error.HTTPError:
            return proc, base
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not answer within 90 s")


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def served(request, tmp_path_factory):
    """``(base_url, db_url)``: a running server over a database holding :func:`signal_rows`."""
    from delphi_signals.epidata.schema import create_schema, engine_for
    from delphi_signals.testing.databases import mariadb_database

    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('faults-api') / 'epidata.sqlite'}", (lambda: None)
    else:
        url, drop = mariadb_database()
    engine = engine_for(url)
    create_schema(engine)
    with store.locked_transaction(engine) as conn:
        store.load_rows(conn, signal_rows())
    engine.dispose()
    proc, base = start_server(url)
    try:
        yield base, url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        drop()
