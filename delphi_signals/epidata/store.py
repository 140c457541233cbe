"""The insert path: rows → a staging table → ``epimetric_full`` (every issue) + ``epimetric_latest`` (max issue).

Public API::

    with locked_transaction(engine) as conn:      # GET_LOCK on MySQL, BEGIN EXCLUSIVE on SQLite
        n = load_rows(conn, rows, marker="jhu-csse/20201130")   # -> number of rows loaded
    marker_exists(engine, "jhu-csse/20201130")    # -> True once that transaction committed

``load_rows(conn, rows: pandas.DataFrame, *, marker: str | None = None, method: str | None = None) -> int``
takes columns ``source, signal, time_type, geo_type, time_value`` (int ``YYYYMMDD`` or ``YYYYWW``),
``geo_value, issue`` (int), ``lag`` (int), ``value, stderr, sample_size, missing_value, missing_stderr,
missing_sample_size`` and writes them inside the caller's transaction; nothing is committed here.

Version semantics (upstream's, with its bug #1427 fixed):

* ``epimetric_full`` holds one row per (key, issue); a row for a (key, issue) already stored overwrites
  it in place (a re-import of the same issue);
* ``epimetric_latest`` holds, per key, the row with the greatest issue: within a batch the greatest issue
  of each key wins, and an older issue arriving late never replaces a newer latest row;
* a deletion row (``missing_value`` 4, value NULL) is a row like any other;
* no row is published before its time value (``issue >= time_value``; the importer fails such files), which
  the ``as_of`` query relies on.

So ``latest == argmax(issue) over full`` holds after every load. Source, signal and geo names only ever
reach the database as bound parameters (the staging data holds dimension key ids and numbers only).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time

import numba
import numpy as np
import pandas as pd
import sqlalchemy as sa

from ..errors import DatabaseError, InputError
from ..log import get_logger
from ..nancodes import QUANTITIES, repair_codes
from . import schema
from .schema import epimetric_full, epimetric_latest, geo_dim, id_sequence, import_marker, signal_dim

LOG = get_logger(__name__)

ROW_COLUMNS = (
    "source", "signal", "time_type", "geo_type", "time_value", "geo_value", "issue", "lag",
    "value", "stderr", "sample_size", "missing_value", "missing_stderr", "missing_sample_size",
)
CODE_COLUMNS = ("missing_value", "missing_stderr", "missing_sample_size")
TIME_TYPES = ("day", "week")
LOCK_NAME = "delphi_signals.epidata.load"
DEFAULT_LOCK_TIMEOUT = 3600
MULTIROW_CHUNK = 20_000
STAGE_ROW_BYTES = 160  # a MEMORY-engine staging row, with its share of the heap's overhead

# staging layout: ints first (in this order), then the three quantities, then the latest flag
STAGE_INTS = ("epimetric_id", "signal_key_id", "geo_key_id", "time_type", "time_value", "issue", "lag",
              *CODE_COLUMNS)
FACT_COLUMNS = ("epimetric_id", "signal_key_id", "geo_key_id", "time_type", "time_value", "issue", "lag",
                *QUANTITIES, *CODE_COLUMNS)
_KEY = ("signal_key_id", "time_type", "time_value", "geo_key_id")


def _stage_table(name: str = "epimetric_stage") -> sa.Table:
    columns = [sa.Column(c, schema.KEY if c.endswith("_id") else sa.Integer, nullable=False)
               for c in STAGE_INTS if c != "time_type"]
    columns.insert(3, sa.Column("time_type", sa.String(schema.TIME_TYPE_LENGTH), nullable=False))
    columns += [sa.Column(q, schema.DOUBLE, nullable=True) for q in QUANTITIES]
    columns.append(sa.Column("is_latest_issue", sa.Integer, nullable=False))
    return sa.Table(name, sa.MetaData(), *columns, prefixes=["TEMPORARY"])


STAGE = _stage_table()
STAGE_COLUMNS = tuple(c.name for c in STAGE.columns)


@contextlib.contextmanager
def locked_transaction(engine: sa.engine.Engine, *, timeout: int = DEFAULT_LOCK_TIMEOUT):
    """A connection in a transaction that holds the load lock; commits on success, rolls back on error.

    MySQL/MariaDB: the named lock ``GET_LOCK('delphi_signals.epidata.load')`` for the whole transaction.
    SQLite: ``BEGIN EXCLUSIVE`` (readers of a WAL database go on reading the last committed state).
    A lock not granted within ``timeout`` seconds raises :class:`DatabaseError`.

    Examples
    --------
    >>> engine = schema.engine_for("sqlite://")
    >>> schema.create_schema(engine)
    >>> with locked_transaction(engine) as conn:
    ...     conn.execute(sa.text("SELECT 1")).scalar()
    1
    """
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            dbapi = conn.connection.driver_connection  # outside SQLAlchemy's transaction: a pragma, not a write
            dbapi.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            conn.execution_options(sqlite_begin="EXCLUSIVE")
            try:
                with conn.begin():
                    yield conn
            except sa.exc.OperationalError as exc:
                if "locked" in str(exc):
                    raise DatabaseError(f"the SQLite write lock was not granted within {timeout} s "
                                        "(another import is running)") from exc
                raise
            finally:
                dbapi.execute(f"PRAGMA busy_timeout = {int(schema.SQLITE_BUSY_TIMEOUT * 1000)}")
        return
    with engine.connect() as conn:
        granted = conn.execute(sa.text("SELECT GET_LOCK(:name, :timeout)"),
                               {"name": LOCK_NAME, "timeout": timeout}).scalar()
        conn.commit()
        if granted != 1:
            raise DatabaseError(f"the load lock {LOCK_NAME!r} was not granted within {timeout} s "
                                "(another import is running)")
        try:
            with conn.begin():
                yield conn
        finally:
            with contextlib.suppress(sa.exc.DBAPIError):
                conn.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": LOCK_NAME})
                conn.commit()


def marker_exists(engine_or_conn, marker: str) -> bool:
    """Whether a load with this marker has committed (``engine_or_conn``: an engine or a connection)."""
    query = sa.select(import_marker.c.marker).where(import_marker.c.marker == marker)
    if isinstance(engine_or_conn, sa.engine.Engine):
        with engine_or_conn.connect() as conn:
            return conn.execute(query).first() is not None
    return engine_or_conn.execute(query).first() is not None


def _now_sql(dialect: str) -> str:
    return "CAST(strftime('%s','now') AS INTEGER)" if dialect == "sqlite" else "UNIX_TIMESTAMP()"


def _examples(items, limit=5) -> str:
    items = list(items)
    more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(map(repr, items[:limit])) + more


def _int_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    try:
        as_float = pd.to_numeric(frame[name], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (ValueError, TypeError) as exc:
        raise InputError(f"rows: {name} must be integers ({exc})", field=name) from None
    bad = ~np.isfinite(as_float) | (as_float != np.round(as_float)) | (np.abs(as_float) >= 2**31)
    if bad.any():
        raise InputError(f"rows: {name} must be 32-bit integers, got {_examples(frame[name].to_numpy()[bad])}",
                         field=name)
    return as_float.astype(np.int64)


def _name_column(frame: pd.DataFrame, name: str, max_length: int) -> np.ndarray:
    values = frame[name].to_numpy(dtype=object)
    bad = [v for v in pd.unique(values) if not (isinstance(v, str) and 0 < len(v) <= max_length)]
    if bad:
        raise InputError(f"rows: {name} must be text of 1 to {max_length} characters, got {_examples(bad)}",
                         field=name)
    return values


def check_rows(rows: pd.DataFrame) -> dict:
    """Validate a batch of rows; return its columns as arrays (names as objects, the rest as numbers).

    Missing codes left empty are inferred from the quantities by the importer's rules
    (:func:`~delphi_signals.nancodes.repair_codes`).
    """
    absent = [c for c in ROW_COLUMNS if c not in rows.columns]
    if absent:
        raise InputError(f"rows lack column(s) {', '.join(absent)}")
    out = {
        "source": _name_column(rows, "source", schema.SOURCE_LENGTH),
        "signal": _name_column(rows, "signal", schema.SIGNAL_LENGTH),
        "geo_type": _name_column(rows, "geo_type", schema.GEO_TYPE_LENGTH),
        "geo_value": _name_column(rows, "geo_value", schema.GEO_VALUE_LENGTH),
    }
    time_type = rows["time_type"].to_numpy(dtype=object)
    bad = ~np.isin(time_type, TIME_TYPES)
    if bad.any():
        raise InputError(f"rows: time_type must be 'day' or 'week', got {_examples(time_type[bad])}", field="time_type")
    out["time_type"] = (time_type == "week").astype(np.int64)  # 0 day, 1 week
    for name in ("time_value", "issue", "lag"):
        out[name] = _int_column(rows, name)
    early = out["issue"] < out["time_value"]  # YYYYMMDD and YYYYWW both order as ints
    if early.any():
        pairs = list(zip(out["time_value"][early].tolist(), out["issue"][early].tolist()))
        raise InputError(f"rows: an issue before its time value (a negative lag), (time_value, issue) = "
                         f"{_examples(pairs)}", field="issue")
    for q, code in zip(QUANTITIES, CODE_COLUMNS):
        try:
            out[q] = np.array(pd.to_numeric(rows[q], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan))
        except (ValueError, TypeError) as exc:
            raise InputError(f"rows: {q} must be numbers ({exc})", field=q) from None
        if np.isinf(out[q]).any():
            raise InputError(f"rows: {q} holds infinite values", field=q)
        given = np.array(pd.to_numeric(rows[code], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))
        out[code], _ = repair_codes(out[q], given)
        out[code] = out[code].astype(np.int64)
    return out


def _dim_ids(conn, table: sa.Table, first: str, second: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Key ids of the (a, b) name pairs, inserting the pairs not yet in the dimension table."""
    pairs = pd.MultiIndex.from_arrays([a, b])
    unique = pairs.unique()
    wanted = set(unique.tolist())
    key = table.c[f"{table.name.split('_')[0]}_key_id"]
    known = {}
    for value in sorted(set(unique.get_level_values(0))):
        query = sa.select(table.c[second], key).where(table.c[first] == value)
        known.update({(value, name): k for name, k in conn.execute(query) if (value, name) in wanted})
    missing = [p for p in unique.tolist() if p not in known]
    if missing:
        conn.execute(table.insert(), [{first: x, second: y} for x, y in missing])
        for value in sorted({x for x, _ in missing}):
            query = sa.select(table.c[second], key).where(table.c[first] == value)
            known.update({(value, name): k for name, k in conn.execute(query) if (value, name) in wanted})
    ids = np.array([known[p] for p in unique.tolist()], dtype=np.int64)
    return ids[unique.get_indexer(pairs)]


def _allocate_ids(conn, count: int) -> int:
    """Reserve ``count`` consecutive ``epimetric_id`` values; return the first (caller holds the load lock)."""
    where = id_sequence.c.name == "epimetric"
    first = conn.execute(sa.select(id_sequence.c.next_id).where(where)).scalar()
    if first is None:
        raise DatabaseError("id_sequence has no 'epimetric' row: run 'delphi-signals db init' on this database")
    conn.execute(id_sequence.update().where(where).values(next_id=first + count))
    return int(first)


# -- staging file for LOAD DATA LOCAL INFILE ---------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _put_int(out, pos, k):
    if k < 0:
        out[pos] = 45
        pos += 1
        k = -k
    start = pos
    while True:
        out[pos] = 48 + k % 10
        pos += 1
        k //= 10
        if k == 0:
            break
    i, j = start, pos - 1
    while i < j:
        out[i], out[j] = out[j], out[i]
        i += 1
        j -= 1
    return pos


@numba.njit(cache=True, nogil=True)
def _exact7(x):
    """Whether ``x`` is the double nearest to ``rint(x * 1e7) / 1e7`` (so 7 decimals write it exactly)."""
    return abs(x) < 1e8 and np.rint(x * 1e7) / 1e7 == x


@numba.njit(cache=True, nogil=True)
def _needs_repr(floats):
    out = np.zeros(floats.shape, dtype=np.bool_)
    for i in range(floats.shape[0]):
        for j in range(floats.shape[1]):
            x = floats[i, j]
            out[i, j] = x == x and not _exact7(x)
    return out


@numba.njit(cache=True, nogil=True)
def _put_fixed7(out, pos, x):
    k = np.int64(np.rint(abs(x) * 1e7))
    if x < 0 and k != 0:
        out[pos] = 45
        pos += 1
    pos = _put_int(out, pos, k // 10_000_000)
    frac = k % 10_000_000
    if frac:
        out[pos] = 46
        pos += 1
        width = 7
        while frac % 10 == 0:
            frac //= 10
            width -= 1
        for i in range(width - 1, -1, -1):
            out[pos + i] = 48 + frac % 10
            frac //= 10
        pos += width
    return pos


@numba.njit(cache=True, nogil=True)
def _render_stage(ints, time_type_col, floats, side_index, side_blob, side_start, latest, out):
    """Tab-separated staging lines: the int columns (``time_type`` as day/week), floats (``\\N`` = NULL), flag."""
    pos = 0
    for i in range(ints.shape[0]):
        for j in range(ints.shape[1]):
            if j > 0:
                out[pos] = 9
                pos += 1
            if j == time_type_col:
                if ints[i, j] == 0:
                    out[pos], out[pos + 1], out[pos + 2] = 100, 97, 121  # day
                    pos += 3
                else:
                    out[pos], out[pos + 1], out[pos + 2], out[pos + 3] = 119, 101, 101, 107  # week
                    pos += 4
            else:
                pos = _put_int(out, pos, ints[i, j])
        for j in range(floats.shape[1]):
            out[pos] = 9
            pos += 1
            x = floats[i, j]
            s = side_index[i, j]
            if x != x:
                out[pos], out[pos + 1] = 92, 78  # \N
                pos += 2
            elif s >= 0:
                for b in range(side_start[s], side_start[s + 1]):
                    out[pos] = side_blob[b]
                    pos += 1
            else:
                pos = _put_fixed7(out, pos, x)
        out[pos] = 9
        out[pos + 1] = 49 if latest[i] else 48
        out[pos + 2] = 10
        pos += 3
    return pos


def stage_bytes(ints: np.ndarray, floats: np.ndarray, latest: np.ndarray) -> bytes:
    """The staging rows as tab-separated text; every float is written so that it parses back exactly."""
    needs = _needs_repr(floats)
    side_index = np.full(floats.shape, -1, dtype=np.int64)
    reprs = [repr(float(x)).encode() for x in floats[needs]]
    side_index[needs] = np.arange(len(reprs))
    side_blob = np.frombuffer(b"".join(reprs), dtype=np.uint8) if reprs else np.zeros(1, np.uint8)
    side_start = np.zeros(len(reprs) + 1, dtype=np.int64)
    side_start[1:] = np.cumsum([len(r) for r in reprs]) if reprs else []
    capacity = ints.shape[0] * (ints.shape[1] * 21 + floats.shape[1] * 26 + 4) + 1
    out = np.empty(capacity, dtype=np.uint8)
    used = _render_stage(ints, STAGE_INTS.index("time_type"), floats, side_index, side_blob, side_start,
                         latest, out)
    return out[:used].tobytes()


def _fill_stage_load_data(conn, ints, floats, latest) -> None:
    data = stage_bytes(ints, floats, latest)
    fd, path = tempfile.mkstemp(prefix="epimetric_stage_", suffix=".tsv")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        columns = ", ".join(f"`{c}`" for c in STAGE_COLUMNS)
        conn.exec_driver_sql(
            f"LOAD DATA LOCAL INFILE %s INTO TABLE {STAGE.name} CHARACTER SET ascii "
            f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({columns})",
            (path,),
        )
    finally:
        os.unlink(path)


def _stage_tuples(ints, floats, latest):
    columns = [ints[:, j].tolist() for j in range(ints.shape[1])]
    tt = STAGE_INTS.index("time_type")
    columns[tt] = np.where(ints[:, tt] == 0, "day", "week").tolist()
    for j in range(floats.shape[1]):
        col = floats[:, j]
        columns.append(np.where(np.isnan(col), None, col.astype(object)).tolist())
    columns.append(latest.astype(np.int64).tolist())
    return list(zip(*columns))


def _fill_stage_multirow(conn, ints, floats, latest) -> None:
    tuples = _stage_tuples(ints, floats, latest)
    dbapi = conn.connection.driver_connection
    cursor = dbapi.cursor()
    try:
        if conn.dialect.name == "sqlite":
            marks = ", ".join("?" * len(STAGE_COLUMNS))
            cursor.executemany(f"INSERT INTO {STAGE.name} VALUES ({marks})", tuples)
        else:  # PyMySQL rewrites an INSERT ... VALUES executemany into multi-row statements
            marks = ", ".join(["%s"] * len(STAGE_COLUMNS))
            for start in range(0, len(tuples), MULTIROW_CHUNK):
                cursor.executemany(f"INSERT INTO {STAGE.name} VALUES ({marks})", tuples[start:start + MULTIROW_CHUNK])
    finally:
        cursor.close()


def _upsert_sql(dialect: str, target: sa.Table, latest_only: bool) -> list[str]:
    """Statements that write the staged rows to ``epimetric_full`` or (the batch's latest rows) ``epimetric_latest``."""
    t = target.name
    columns = ", ".join(FACT_COLUMNS + ("value_updated_timestamp",))
    select = ", ".join(f"s.{c}" for c in FACT_COLUMNS) + f", {_now_sql(dialect)}"
    updated = [c for c in FACT_COLUMNS + ("value_updated_timestamp",) if c not in _KEY and c != "issue"]
    if dialect == "sqlite":
        where = " WHERE s.is_latest_issue = 1" if latest_only else " WHERE 1 = 1"  # WHERE: SQLite's upsert grammar
        conflict = ", ".join(_KEY + (() if latest_only else ("issue",)))
        sets = ", ".join(f"{c} = excluded.{c}" for c in updated + (["issue"] if latest_only else []))
        guard = f" WHERE excluded.issue >= {t}.issue" if latest_only else ""
        return [f"INSERT INTO {t} ({columns}) SELECT {select} FROM {STAGE.name} s{where} "
                f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}{guard}"]
    if not latest_only:
        sets = ", ".join(f"{t}.{c} = VALUES({c})" for c in updated)
        return [f"INSERT INTO {t} ({columns}) SELECT {select} FROM {STAGE.name} s ON DUPLICATE KEY UPDATE {sets}"]
    # latest on MySQL: a row older than what latest holds changes nothing. Each column is guarded by the issue
    # (one key lookup per row; a join against latest first costs a second one), and the issue comes last: MySQL
    # assigns left to right, so the guards still see the stored issue
    newer = f"VALUES(issue) >= {t}.issue"
    sets = ", ".join([f"{c} = IF({newer}, VALUES({c}), {t}.{c})" for c in updated] + [f"issue = IF({newer}, VALUES(issue), {t}.issue)"])
    return [f"INSERT INTO {t} ({columns}) SELECT {select} FROM {STAGE.name} s WHERE s.is_latest_issue = 1 "
            f"ON DUPLICATE KEY UPDATE {sets}"]


def _create_stage(conn, n: int) -> None:
    _drop_stage(conn)
    if conn.dialect.name == "mysql":  # an in-memory staging table: no undo/redo logging for rows dropped anyway
        conn.exec_driver_sql(f"SET SESSION max_heap_table_size = {max(64 << 20, n * STAGE_ROW_BYTES * 2)}")
        ddl = str(sa.schema.CreateTable(STAGE).compile(dialect=conn.dialect)).rstrip()
        conn.exec_driver_sql(f"{ddl} ENGINE=MEMORY")
    else:
        STAGE.create(conn)


def _drop_stage(conn) -> None:
    # plain DROP TABLE would commit the transaction on MySQL; DROP TEMPORARY TABLE does not
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{STAGE.name}")
    else:
        conn.exec_driver_sql(f"DROP TEMPORARY TABLE IF EXISTS {STAGE.name}")


def _duplicate_keys(order, sig, tt, tv, geo, issue) -> np.ndarray:
    same = np.ones(len(order) - 1, dtype=bool)
    for col in (sig, tt, tv, geo, issue):
        s = col[order]
        same &= s[1:] == s[:-1]
    return same


def load_rows(conn, rows: pd.DataFrame, *, marker: str | None = None, method: str | None = None) -> int:
    """Insert or update a batch of rows in ``epimetric_full`` and ``epimetric_latest``; return the row count.

    Runs inside the caller's transaction (use :func:`locked_transaction`); commits nothing.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        A connection in a transaction that holds the load lock.
    rows : pandas.DataFrame
        Columns :data:`ROW_COLUMNS`. One row per (source, signal, time_type, geo_type, time_value,
        geo_value, issue); several issues of one key may come in one batch.
    marker : str, optional
        Written to ``import_marker`` in the same transaction, so :func:`marker_exists` is true exactly
        when these rows are committed. A marker already present raises :class:`DatabaseError`.
    method : {"load_data", "multirow"}, optional
        How the staging table is filled on MySQL: ``LOAD DATA LOCAL INFILE`` (default, the faster one
        measured by ``benchmarks/bench_import.py``) or multi-row ``INSERT``. SQLite always uses
        ``executemany``.

    Raises
    ------
    InputError
        A column is missing, a name is not text of the allowed length, a number is not finite, or a
        (key, issue) appears twice in the batch. Nothing is written.
    DatabaseError
        The marker exists already, or the database refused the write.

    Examples
    --------
    >>> engine = schema.engine_for("sqlite://")
    >>> schema.create_schema(engine)
    >>> rows = pd.DataFrame({"source": "demo", "signal": "cases", "time_type": "day", "geo_type": "state",
    ...     "time_value": 20200301, "geo_value": ["ca", "pa"], "issue": 20200302, "lag": 1, "value": [1.0, 2.0],
    ...     "stderr": None, "sample_size": None, "missing_value": 0, "missing_stderr": 1, "missing_sample_size": 1})
    >>> with locked_transaction(engine) as conn:
    ...     load_rows(conn, rows, marker="demo/20200302")
    2
    >>> marker_exists(engine, "demo/20200302")
    True
    """
    started = time.perf_counter()
    dialect = conn.dialect.name
    method = method or "load_data"
    if method not in ("load_data", "multirow"):
        raise InputError(f"method must be 'load_data' or 'multirow', got {method!r}")
    cols = check_rows(rows)
    n = len(rows)
    if marker is not None:
        if not isinstance(marker, str) or not 0 < len(marker) <= schema.MARKER_LENGTH:
            raise InputError(f"marker must be text of 1 to {schema.MARKER_LENGTH} characters, got {marker!r}")
        if marker_exists(conn, marker):
            raise DatabaseError(f"marker {marker!r} exists already: this load was committed before")
    if n:
        sig = _dim_ids(conn, signal_dim, "source", "signal", cols["source"], cols["signal"])
        geo = _dim_ids(conn, geo_dim, "geo_type", "geo_value", cols["geo_type"], cols["geo_value"])
        tt, tv, issue = cols["time_type"], cols["time_value"], cols["issue"]
        order = np.lexsort((issue, geo, tv, tt, sig))  # the primary key order of epimetric_full
        dupes = _duplicate_keys(order, sig, tt, tv, geo, issue)
        if dupes.any():
            at = order[1:][dupes]
            examples = [(cols["source"][i], cols["signal"][i], cols["geo_type"][i], cols["geo_value"][i],
                         int(tv[i]), int(issue[i])) for i in at[:5]]
            raise InputError(f"{int(dupes.sum())} repeated (source, signal, geo_type, geo_value, time_value, issue) "
                             f"row(s) in one batch: {_examples(examples)}")
        same_key = np.ones(n - 1, dtype=bool)
        for col in (sig, tt, tv, geo):
            s = col[order]
            same_key &= s[1:] == s[:-1]
        latest = np.ones(n, dtype=bool)
        latest[:-1] = ~same_key  # the last row of each key, in issue order, is the batch's greatest issue
        first_id = _allocate_ids(conn, n)
        ints = np.column_stack([np.arange(first_id, first_id + n, dtype=np.int64), sig[order], geo[order],
                                tt[order], tv[order], issue[order], cols["lag"][order],
                                *(cols[c][order] for c in CODE_COLUMNS)])
        floats = np.ascontiguousarray(np.column_stack([cols[q][order] for q in QUANTITIES]))
        _create_stage(conn, n)
        if dialect == "mysql" and method == "load_data":
            try:
                _fill_stage_load_data(conn, ints, floats, latest)
            except sa.exc.OperationalError as exc:
                if "not allowed" not in str(exc) and "disabled" not in str(exc):
                    raise
                LOG.warning("LOAD DATA LOCAL INFILE refused (server or client setting); using multi-row inserts", error=str(exc))
                conn.exec_driver_sql(f"DELETE FROM {STAGE.name}")
                _fill_stage_multirow(conn, ints, floats, latest)
        else:
            _fill_stage_multirow(conn, ints, floats, latest)
        staged = time.perf_counter()
        for statement in _upsert_sql(dialect, epimetric_full, latest_only=False):
            conn.exec_driver_sql(statement)
        full_done = time.perf_counter()
        for statement in _upsert_sql(dialect, epimetric_latest, latest_only=True):
            conn.exec_driver_sql(statement)
        schema.mark_meta_pending(conn, f"SELECT DISTINCT signal_key_id FROM {STAGE.name}")
        _drop_stage(conn)
        LOG.debug("loaded rows", row_count=n, stage_seconds=round(staged - started, 3),
                  full_seconds=round(full_done - staged, 3), latest_seconds=round(time.perf_counter() - full_done, 3),
                  method=method, dialect=dialect)
    if marker is not None:
        conn.execute(import_marker.insert().values(marker=marker, row_count=n,
                                                   created_timestamp=int(time.time())))
    return n
