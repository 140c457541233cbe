"""The epidata database schema (SQLAlchemy Core) for SQLite and MySQL/MariaDB.

The tables and columns are upstream's v4 layout (``signal_dim``, ``geo_dim``, ``epimetric_load``,
``epimetric_full``, ``epimetric_latest``, ``covidcast_meta_cache``); the indexes are ours. Upstream puts six
unique secondary indexes on ``epimetric_full``, which caps its load speed; here the natural key
``(signal_key_id, time_type, time_value, geo_key_id, issue)`` is the primary key of ``epimetric_full`` and
``(signal_key_id, time_type, time_value, geo_key_id)`` that of ``epimetric_latest``, and every query of
:mod:`delphi_signals.epidata.query` is a range scan of one of them. Our bookkeeping tables:
``import_marker`` (one row per completed load, written in the load's transaction), ``file_outcome`` (what
happened to each imported file) and ``id_sequence`` (the source of ``epimetric_id``); the fault record:
``fault``, ``fault_scope`` and ``fault_history`` (:mod:`delphi_signals.faults`).

Examples
--------
>>> engine = engine_for("sqlite://")
>>> create_schema(engine)
>>> create_schema(engine)  # idempotent: creates what is missing, touches nothing else
>>> sorted(sa.inspect(engine).get_table_names())[:3]
['covidcast_meta_cache', 'epimetric_full', 'epimetric_latest']
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from ..errors import DatabaseError

metadata = sa.MetaData()

MYSQL_TABLE_ARGS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
# BIGINT on MySQL; INTEGER on SQLite, where only "INTEGER PRIMARY KEY" auto-increments
KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite").with_variant(mysql.BIGINT(unsigned=True), "mysql")
DOUBLE = sa.Double().with_variant(mysql.DOUBLE(asdecimal=False), "mysql")  # floats, not 10-place decimals
CODE = sa.Integer()

SOURCE_LENGTH, SIGNAL_LENGTH, GEO_TYPE_LENGTH, GEO_VALUE_LENGTH, TIME_TYPE_LENGTH = 32, 64, 12, 12, 12
MARKER_LENGTH = 255
SQLITE_BUSY_TIMEOUT = 60.0


def _strings(*names_lengths, nullable=False, default=None):
    return [sa.Column(name, sa.String(length), nullable=nullable, server_default=default) for name, length in names_lengths]


def _measurement_columns():
    """The v4 fact columns after the keys, shared by ``epimetric_full`` and ``epimetric_latest``."""
    return [
        sa.Column("strat_key_id", KEY, nullable=False, server_default="1"),
        sa.Column("data_as_of_dt", sa.DateTime, nullable=True),
        sa.Column("reference_dt", sa.DateTime, nullable=True),
        sa.Column("value", DOUBLE, nullable=True),
        sa.Column("stderr", DOUBLE, nullable=True),
        sa.Column("sample_size", DOUBLE, nullable=True),
        sa.Column("lag", sa.Integer, nullable=False),
        sa.Column("value_updated_timestamp", sa.Integer, nullable=False),
        sa.Column("computation_as_of_dt", sa.DateTime, nullable=True),
        sa.Column("missing_value", CODE, nullable=True, server_default="0"),
        sa.Column("missing_stderr", CODE, nullable=True, server_default="0"),
        sa.Column("missing_sample_size", CODE, nullable=True, server_default="0"),
    ]


signal_dim = sa.Table(
    "signal_dim", metadata,
    sa.Column("signal_key_id", KEY, primary_key=True, autoincrement=True),
    *_strings(("source", SOURCE_LENGTH), ("signal", SIGNAL_LENGTH)),
    sa.UniqueConstraint("source", "signal", name="signal_dim_index"),
    **MYSQL_TABLE_ARGS,
)

geo_dim = sa.Table(
    "geo_dim", metadata,
    sa.Column("geo_key_id", KEY, primary_key=True, autoincrement=True),
    *_strings(("geo_type", GEO_TYPE_LENGTH), ("geo_value", GEO_VALUE_LENGTH)),
    sa.UniqueConstraint("geo_type", "geo_value", name="geo_dim_index"),
    **MYSQL_TABLE_ARGS,
)

epimetric_full = sa.Table(
    "epimetric_full", metadata,
    sa.Column("epimetric_id", KEY, nullable=False, autoincrement=False),
    sa.Column("signal_key_id", KEY, nullable=False, autoincrement=False),
    sa.Column("geo_key_id", KEY, nullable=False, autoincrement=False),
    sa.Column("issue", sa.Integer, nullable=False, autoincrement=False),
    sa.Column("time_type", sa.String(TIME_TYPE_LENGTH), nullable=False),
    sa.Column("time_value", sa.Integer, nullable=False, autoincrement=False),
    *_measurement_columns(),
    sa.PrimaryKeyConstraint("signal_key_id", "time_type", "time_value", "geo_key_id", "issue",
                            name="epimetric_full_key"),
    **MYSQL_TABLE_ARGS,
)

epimetric_latest = sa.Table(
    "epimetric_latest", metadata,
    sa.Column("epimetric_id", KEY, nullable=False, autoincrement=False),
    sa.Column("signal_key_id", KEY, nullable=False, autoincrement=False),
    sa.Column("geo_key_id", KEY, nullable=False, autoincrement=False),
    sa.Column("issue", sa.Integer, nullable=False, autoincrement=False),
    sa.Column("time_type", sa.String(TIME_TYPE_LENGTH), nullable=False),
    sa.Column("time_value", sa.Integer, nullable=False, autoincrement=False),
    *_measurement_columns(),
    sa.PrimaryKeyConstraint("signal_key_id", "time_type", "time_value", "geo_key_id", name="epimetric_latest_key"),
    **MYSQL_TABLE_ARGS,
)

# v4's staging table, kept with its columns for layout compatibility; our loader stages each batch in a
# per-connection temporary table instead (see store.py), because emptying a shared staging table with DELETE
# costs as much as the load itself and TRUNCATE would end the transaction on MySQL.
epimetric_load = sa.Table(
    "epimetric_load", metadata,
    sa.Column("epimetric_id", KEY, primary_key=True, autoincrement=True),
    sa.Column("signal_key_id", KEY, nullable=True),
    sa.Column("geo_key_id", KEY, nullable=True),
    sa.Column("strat_key_id", KEY, nullable=False, server_default="1"),
    sa.Column("issue", sa.Integer, nullable=False),
    sa.Column("data_as_of_dt", sa.DateTime, nullable=True),
    *_strings(("source", SOURCE_LENGTH), ("signal", SIGNAL_LENGTH), ("geo_type", GEO_TYPE_LENGTH),
              ("geo_value", GEO_VALUE_LENGTH), ("time_type", TIME_TYPE_LENGTH)),
    sa.Column("time_value", sa.Integer, nullable=False),
    sa.Column("reference_dt", sa.DateTime, nullable=True),
    sa.Column("value", DOUBLE, nullable=True),
    sa.Column("stderr", DOUBLE, nullable=True),
    sa.Column("sample_size", DOUBLE, nullable=True),
    sa.Column("lag", sa.Integer, nullable=False),
    sa.Column("value_updated_timestamp", sa.Integer, nullable=False),
    sa.Column("computation_as_of_dt", sa.DateTime, nullable=True),
    sa.Column("is_latest_issue", sa.Boolean, nullable=False, server_default="0"),
    sa.Column("missing_value", CODE, nullable=True, server_default="0"),
    sa.Column("missing_stderr", CODE, nullable=True, server_default="0"),
    sa.Column("missing_sample_size", CODE, nullable=True, server_default="0"),
    sa.UniqueConstraint("source", "signal", "time_type", "geo_type", "time_value", "geo_value", "issue",
                        name="epimetric_load_key"),
    sqlite_autoincrement=True,
    **MYSQL_TABLE_ARGS,
)

covidcast_meta_cache = sa.Table(
    "covidcast_meta_cache", metadata,
    sa.Column("timestamp", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("epidata", sa.Text().with_variant(mysql.LONGTEXT(), "mysql"), nullable=False),
    **MYSQL_TABLE_ARGS,
)

import_marker = sa.Table(
    "import_marker", metadata,
    sa.Column("marker", sa.String(MARKER_LENGTH), primary_key=True),
    sa.Column("row_count", sa.BigInteger, nullable=False),
    sa.Column("created_timestamp", sa.Integer, nullable=False),
    **MYSQL_TABLE_ARGS,
)

file_outcome = sa.Table(
    "file_outcome", metadata,
    sa.Column("file_outcome_id", KEY, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(255), nullable=False),
    sa.Column("file_name", sa.String(512), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),  # "success" or "failed"
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("row_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("issue", sa.Integer, nullable=True),
    sa.Column("marker", sa.String(MARKER_LENGTH), nullable=True),
    sa.Column("recorded_timestamp", sa.Integer, nullable=False),
    **MYSQL_TABLE_ARGS,
)

id_sequence = sa.Table(
    "id_sequence", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("next_id", sa.BigInteger, nullable=False),
    **MYSQL_TABLE_ARGS,
)

# (source, signal) pairs written since the last metadata update, for the incremental update
# (delphi_signals.analytics.meta); loads and deletions add their signal_key_ids in their own transaction
meta_pending = sa.Table(
    "meta_pending", metadata,
    sa.Column("signal_key_id", KEY, primary_key=True, autoincrement=False),
    **MYSQL_TABLE_ARGS,
)


# The fault record (delphi_signals.faults): what is known to be wrong in a signal, with the exact scopes it
# touches. ``fault`` holds each fault's current state, ``fault_scope`` its scopes (a NULL field means "all" or
# "open"), ``fault_history`` one row per change (creation, status change, extension), never updated.
# Dates are YYYYMMDD ints; signal and geo lists are JSON text (NULL: every signal / geo of the level).
fault = sa.Table(
    "fault", metadata,
    sa.Column("fault_id", KEY, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reported_by", sa.String(128), nullable=True),
    sa.Column("reported_date", sa.Integer, nullable=False),
    sa.Column("reported_timestamp", sa.Integer, nullable=False),
    sa.Column("resolved_date", sa.Integer, nullable=True),
    sa.Column("resolution", sa.Text, nullable=True),
    sa.Column("links", sa.Text, nullable=False),
    sa.Column("proposal_key", sa.String(255), nullable=True),
    sa.Index("fault_proposal_index", "proposal_key"),
    sqlite_autoincrement=True,
    **MYSQL_TABLE_ARGS,
)

fault_scope = sa.Table(
    "fault_scope", metadata,
    sa.Column("fault_scope_id", KEY, primary_key=True, autoincrement=True),
    sa.Column("fault_id", KEY, nullable=False),
    sa.Column("source", sa.String(SOURCE_LENGTH), nullable=False),
    sa.Column("signals", sa.Text, nullable=True),
    sa.Column("geo_type", sa.String(GEO_TYPE_LENGTH), nullable=True),
    sa.Column("geo_values", sa.Text, nullable=True),
    sa.Column("start_date", sa.Integer, nullable=True),
    sa.Column("end_date", sa.Integer, nullable=True),
    sa.Column("issue_start", sa.Integer, nullable=True),
    sa.Column("issue_end", sa.Integer, nullable=True),
    sa.Index("fault_scope_fault_index", "fault_id"),
    sa.Index("fault_scope_source_index", "source"),
    sqlite_autoincrement=True,
    **MYSQL_TABLE_ARGS,
)

fault_history = sa.Table(
    "fault_history", metadata,
    sa.Column("fault_history_id", KEY, primary_key=True, autoincrement=True),
    sa.Column("fault_id", KEY, nullable=False),
    sa.Column("changed_date", sa.Integer, nullable=False),
    sa.Column("changed_timestamp", sa.Integer, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("changed_by", sa.String(128), nullable=True),
    sa.Index("fault_history_fault_index", "fault_id"),
    sqlite_autoincrement=True,
    **MYSQL_TABLE_ARGS,
)

FAULT_TABLES = (fault, fault_scope, fault_history)


def mark_meta_pending(conn, select_ids_sql: str) -> None:
    """Add the signal_key_ids that ``select_ids_sql`` (a SELECT of one column) returns to ``meta_pending``."""
    ignore = "OR IGNORE" if conn.dialect.name == "sqlite" else "IGNORE"
    conn.exec_driver_sql(f"INSERT {ignore} INTO meta_pending (signal_key_id) {select_ids_sql}")


SEED_ROWS = {
    covidcast_meta_cache: {"timestamp": 0, "epidata": "[]"},
    id_sequence: {"name": "epimetric", "next_id": 1},
}


def _sqlite_events(engine: sa.engine.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy, not pysqlite, decides when a transaction begins
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers go on while an import writes
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {'EXCLUSIVE' if mode == 'EXCLUSIVE' else 'DEFERRED'}")


def engine_for(url: str, **kwargs) -> sa.engine.Engine:
    """An engine for a database URL, set up as this package needs it.

    SQLite: WAL journal, a 60 s busy timeout, and transactions that begin where SQLAlchemy says (so a
    load can take ``BEGIN EXCLUSIVE``). MySQL/MariaDB through PyMySQL: ``local_infile`` on, for
    ``LOAD DATA LOCAL INFILE``.

    Examples
    --------
    >>> engine_for("sqlite://").dialect.name
    'sqlite'
    """
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise DatabaseError(f"not a database URL: {url!r} ({exc})") from None
    if parsed.get_backend_name() == "sqlite":
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False, **kwargs.pop("connect_args", {})}
        engine = sa.create_engine(parsed, connect_args=connect_args, **kwargs)
        _sqlite_events(engine)
        return engine
    if parsed.get_backend_name() == "mysql":
        connect_args = dict(kwargs.pop("connect_args", {}))
        if parsed.get_driver_name() == "pymysql":
            connect_args.setdefault("local_infile", True)
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_recycle", 3600)
        return sa.create_engine(parsed, connect_args=connect_args, **kwargs)
    raise DatabaseError(f"unsupported database {parsed.get_backend_name()!r} in {url!r}; use sqlite:/// or "
                        "mysql+pymysql://")


SCHEMA_LOCK = "delphi_signals.epidata.schema"
SCHEMA_LOCK_TIMEOUT = 600


def _schema_complete(engine: sa.engine.Engine) -> bool:
    """Every table exists and holds its seed row (read only: a server's read-only user gets this far)."""
    if not set(metadata.tables) <= set(sa.inspect(engine).get_table_names()):
        return False
    with engine.connect() as conn:
        return all(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in SEED_ROWS)


def _create_and_seed(conn) -> None:
    metadata.create_all(conn, checkfirst=True)
    for table, row in SEED_ROWS.items():
        if conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0:
            conn.execute(table.insert().values(**row))


def create_schema(engine: sa.engine.Engine) -> None:
    """Create every missing table and seed row; existing tables and rows are left as they are.

    Safe when several processes create the same new database at once: SQLite creates and seeds in one
    ``BEGIN EXCLUSIVE`` transaction (its DDL is transactional); MySQL/MariaDB, whose DDL commits at once, under
    the named lock ``GET_LOCK('delphi_signals.epidata.schema')``, the check for what is missing included.
    """
    if _schema_complete(engine):
        return
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(sqlite_begin="EXCLUSIVE")
            with conn.begin():
                _create_and_seed(conn)
            return
        granted = conn.execute(sa.text("SELECT GET_LOCK(:name, :timeout)"),
                               {"name": SCHEMA_LOCK, "timeout": SCHEMA_LOCK_TIMEOUT}).scalar()
        conn.commit()
        if granted != 1:
            raise DatabaseError(f"the schema lock {SCHEMA_LOCK!r} was not granted within {SCHEMA_LOCK_TIMEOUT} s")
        try:
            with conn.begin():
                _create_and_seed(conn)
        finally:
            conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": SCHEMA_LOCK})
            conn.commit()
