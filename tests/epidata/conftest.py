"""Database fixtures: every epidata test runs twice, on a SQLite file and on a fresh MariaDB database.

The MariaDB server comes from ``$DELPHI_SIGNALS_TEST_MYSQL`` (default ``mysql+pymysql://root@127.0.0.1:3306``);
each test gets a database of its own with a unique name, dropped afterwards. An unreachable server fails the
test (no skips): the MariaDB half is part of what these tests show.
"""

from __future__ import annotations

import pytest

from delphi_signals.testing.databases import mariadb_database

BACKENDS = ("sqlite", "mariadb")


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
