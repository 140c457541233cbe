"""Throwaway databases for tests and benchmarks: a uniquely named MariaDB database on the local server.

The server comes from ``$DELPHI_SIGNALS_TEST_MYSQL`` (default ``mysql+pymysql://root@127.0.0.1:3306``).
"""

from __future__ import annotations

import os
import uuid

import sqlalchemy as sa

MYSQL_SERVER = os.environ.get("DELPHI_SIGNALS_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306")


def mariadb_database(prefix: str = "ds_test"):
    """Create a uniquely named MariaDB database; return ``(url, drop)`` where ``drop()`` removes it."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    server = sa.create_engine(MYSQL_SERVER, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with server.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")

    def drop():
        with server.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        server.dispose()

    return f"{MYSQL_SERVER}/{name}", drop
