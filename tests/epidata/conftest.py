"""Database fixtures: every epidata test runs twice, on a SQLite file and on a fresh MariaDB database.

The MariaDB server comes from ``$DELPHI_SIGNALS_TEST_MYSQL`` (default ``mysql+pymysql://root@127.0.0.1:3306``);
each test gets a database of its own with a unique name, dropped afterwards. An unreachable server fails the
test (no skips): the MariaDB half is part of what these tests show.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

MYSQL_SERVER = os.environ.get("DELPHI_SIGNALS_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306")
BACKENDS = ("sqlite", "mariadb")


def _server_engine():
    return sa.create_engine(MYSQL_SERVER, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def mariadb_database():
    """Create a uniquely named MariaDB database; return ``(url, drop)`` where ``drop()`` removes it."""
    name = f"ds_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    server = _server_engine()
    with server.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")

    def drop():
        with server.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        server.dispose()

    return f"{MYSQL_SERVER}/{name}", drop


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """URL of an empty database: a SQLite file under ``tmp_path``, or a fresh MariaDB database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'epidata.sqlite'}"
        return
    url, drop = mariadb_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def engine(db_url):
    """An engine on ``db_url`` with the schema created (:func:`delphi_signals.epidata.schema.create_schema`)."""
    from delphi_signals.epidata.schema import create_schema, engine_for

    eng = engine_for(db_url)
    create_schema(eng)
    try:
        yield eng
    finally:
        eng.dispose()
