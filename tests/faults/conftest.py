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


WRITE_KEY, READ_KEY = "w-key-123", "r-key-456"
API_KEYS = {WRITE_KEY: {"rpm": 600, "roles": ["write"]}, READ_KEY: 600}


def start_server(url: str):
    """A real ``delphi-signals serve`` over ``url`` with a write key and a read key; ``(process, base URL)``."""
    import json

    from delphi_signals.testing.servers import start_api_server

    return start_api_server(url, {"DELPHI_SIGNALS_API_KEYS": json.dumps(API_KEYS)}, probe="/epidata/faults/")


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def served(request, tmp_path_factory):
    """``(base_url, db_url)``: a running server over a database holding :func:`signal_rows`."""
    from delphi_signals.epidata.schema import create_schema, engine_for
    from delphi_signals.testing.servers import backend_database

    url, drop = backend_database(request.param, tmp_path_factory, "faults-api")
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
