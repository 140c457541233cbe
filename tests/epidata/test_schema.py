"""The schema on SQLite and MariaDB: v4 columns, our keys, idempotent creation, WAL, and `db init`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from delphi_signals.epidata import schema, store
from delphi_signals.errors import DatabaseError
from luigi_tasks import cli
from storecheck import rows, table

REPO = Path(__file__).resolve().parents[2]
# v4 column lists as spec/epidata.md §1 gives them (typed here by hand, not read from our schema)
V4_FACT = {"epimetric_id", "signal_key_id", "geo_key_id", "strat_key_id", "issue", "data_as_of_dt", "time_type",
           "time_value", "reference_dt", "value", "stderr", "sample_size", "lag", "value_updated_timestamp",
           "computation_as_of_dt", "missing_value", "missing_stderr", "missing_sample_size"}
V4_COLUMNS = {
    "signal_dim": {"signal_key_id", "source", "signal"},
    "geo_dim": {"geo_key_id", "geo_type", "geo_value"},
    "epimetric_full": V4_FACT,
    "epimetric_latest": V4_FACT,
    "epimetric_load": V4_FACT - {"epimetric_id"} | {"epimetric_id", "source", "signal", "geo_type", "geo_value",
                                                     "is_latest_issue"},
    "covidcast_meta_cache": {"timestamp", "epidata"},
}


def test_v4_tables_have_v4_columns_and_our_keys(engine):
    inspector = sa.inspect(engine)
    for name, columns in V4_COLUMNS.items():
        assert {c["name"] for c in inspector.get_columns(name)} == columns, name
    assert inspector.get_pk_constraint("epimetric_full")["constrained_columns"] == [
        "signal_key_id", "time_type", "time_value", "geo_key_id", "issue"]
    assert inspector.get_pk_constraint("epimetric_latest")["constrained_columns"] == [
        "signal_key_id", "time_type", "time_value", "geo_key_id"]
    # no secondary indexes on the fact tables: upstream's six unique indexes are what capped its load
    for name in ("epimetric_full", "epimetric_latest"):
        assert inspector.get_indexes(name) == [] and inspector.get_unique_constraints(name) == []
    for name in ("import_marker", "file_outcome", "id_sequence"):
        assert inspector.has_table(name)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT timestamp, epidata FROM covidcast_meta_cache")).all() == [(0, "[]")]


def test_create_schema_is_idempotent_and_keeps_data(engine):
    with store.locked_transaction(engine) as conn:
        store.load_rows(conn, rows(["ca"], 20200302), marker="kept")
    schema.create_schema(engine)
    schema.create_schema(engine)
    assert table(engine, "epimetric_full")["geo_value"].tolist() == ["ca"]
    assert store.marker_exists(engine, "kept")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM covidcast_meta_cache")).scalar() == 1
        assert conn.execute(sa.text("SELECT next_id FROM id_sequence")).scalar() == 2


def test_storage_mode(engine):
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        else:
            engines = dict(conn.exec_driver_sql(
                "SELECT table_name, engine FROM information_schema.tables WHERE table_schema = DATABASE()").all())
            assert set(engines.values()) == {"InnoDB"}


def test_engine_for_rejects_other_databases():
    with pytest.raises(DatabaseError, match="unsupported database 'postgresql'"):
        schema.engine_for("postgresql://localhost/x")
    with pytest.raises(DatabaseError, match="not a database URL"):
        schema.engine_for("no url")


def _cli(*args, cwd, env=None):
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "luigi_tasks.cli", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=120)


def test_db_init_command_creates_and_upgrades(db_url, tmp_path):
    done = _cli("db", "init", "--db", db_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    engine = schema.engine_for(db_url)
    try:
        assert {"epimetric_full", "epimetric_latest", "import_marker"} <= set(sa.inspect(engine).get_table_names())
        with engine.begin() as conn:  # an older database without a bookkeeping table gets it on the next init
            conn.exec_driver_sql("DROP TABLE file_outcome")
        with store.locked_transaction(engine) as conn:
            store.load_rows(conn, rows(["ca"], 20200302))
        assert cli.main(["db", "init", "--db", db_url]) == 0  # in-process this time: the same entry point
        assert sa.inspect(engine).has_table("file_outcome")
        assert len(table(engine, "epimetric_full")) == 1
    finally:
        engine.dispose()


def test_db_init_default_is_sqlite_under_the_data_root(tmp_path):
    config = tmp_path / "luigi.cfg"
    config.write_text(f"[delphi_signals]\ndata_root = {tmp_path / 'root'}\n")
    done = _cli("db", "init", cwd=tmp_path, env={"LUIGI_CONFIG_PATH": str(config)})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "root" / "epidata.sqlite").is_file()



def test_db_init_reports_a_bad_url(capsys):
    assert cli.main(["db", "init", "--db", "postgresql://localhost/x"]) == 20  # a database missing or unusable
    assert "unsupported database 'postgresql'" in capsys.readouterr().err
