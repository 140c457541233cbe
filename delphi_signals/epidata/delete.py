"""Physical deletion (upstream's ``delete_batch``): remove listed (key, issue) rows and re-point latest.

Distinct from the deletion rows (``missing_value`` 4) that the archive differ emits: those are new issues
saying "no longer reported"; this removes stored history, e.g. data that must never be served again.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from ..errors import InputError
from ..log import get_logger
from . import schema
from .store import _examples, _int_column, _name_column, locked_transaction

LOG = get_logger(__name__)
KEY_COLUMNS = ("source", "signal", "geo_type", "geo_value", "time_value", "issue")
_FULL_KEY = "signal_key_id, time_type, time_value, geo_key_id"
_TARGET = sa.Table(
    "epimetric_delete", sa.MetaData(),
    sa.Column("signal_key_id", schema.KEY, nullable=False),
    sa.Column("time_type", sa.String(schema.TIME_TYPE_LENGTH), nullable=False),
    sa.Column("time_value", sa.Integer, nullable=False),
    sa.Column("geo_key_id", schema.KEY, nullable=False),
    sa.Column("issue", sa.Integer, nullable=False),
    prefixes=["TEMPORARY"],
)


def read_keys(keys) -> pd.DataFrame:
    """The rows to delete, from a frame or a CSV in upstream's layout.

    Upstream's deletion CSVs have the header ``geo_id,value,stderr,sample_size,issue,time_value,geo_type,
    signal,source`` (the measurement columns are ignored); ``geo_value`` may stand for ``geo_id`` and an
    optional ``time_type`` column defaults to ``day``.
    """
    where = None
    if isinstance(keys, (str, Path)):
        where = Path(keys)
        try:
            frame = pd.read_csv(where, dtype=str, keep_default_na=False)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read deletion keys: {exc}", file=where) from None
    elif isinstance(keys, pd.DataFrame):
        frame = keys.copy()
    else:
        raise InputError(f"deletion keys must be a CSV path or a DataFrame, got {type(keys).__name__}")
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "geo_value" not in frame.columns and "geo_id" in frame.columns:
        frame = frame.rename(columns={"geo_id": "geo_value"})
    if "time_type" not in frame.columns:
        frame["time_type"] = "day"
    absent = [c for c in KEY_COLUMNS if c not in frame.columns]
    if absent:
        raise InputError(f"deletion keys lack column(s) {', '.join(absent)}", file=where, line=1 if where else None)
    try:
        for name in ("time_value", "issue"):
            frame[name] = _int_column(frame, name)
        for name, length in (("source", schema.SOURCE_LENGTH), ("signal", schema.SIGNAL_LENGTH),
                             ("geo_type", schema.GEO_TYPE_LENGTH), ("geo_value", schema.GEO_VALUE_LENGTH)):
            _name_column(frame, name, length)
    except InputError as exc:
        raise InputError(exc.reason, file=where, field=exc.field) from None
    bad = ~frame["time_type"].isin(["day", "week"])
    if bad.any():
        raise InputError(f"time_type must be 'day' or 'week', got {_examples(frame['time_type'][bad].unique())}",
                         file=where, field="time_type")
    return frame[["source", "signal", "geo_type", "geo_value", "time_type", "time_value", "issue"]]


def _drop(conn) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{_TARGET.name}")
    else:
        conn.exec_driver_sql(f"DROP TEMPORARY TABLE IF EXISTS {_TARGET.name}")


def delete_batch(engine: sa.engine.Engine, keys) -> int:
    """Delete the listed (key, issue) rows from ``epimetric_full`` and re-point ``epimetric_latest``.

    For every key touched, latest afterwards holds the newest remaining issue, or nothing if none remains.
    One transaction under the load lock. Keys that are not stored are ignored.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
    keys : str, pathlib.Path or pandas.DataFrame
        See :func:`read_keys`.

    Returns
    -------
    int
        The number of rows deleted from ``epimetric_full``.

    Examples
    --------
    >>> from delphi_signals.epidata import store
    >>> engine = schema.engine_for("sqlite://")
    >>> schema.create_schema(engine)
    >>> rows = pd.DataFrame({"source": "demo", "signal": "cases", "time_type": "day", "geo_type": "state",
    ...     "time_value": 20200301, "geo_value": "ca", "issue": [20200302, 20200303], "lag": [1, 2],
    ...     "value": [1.0, 2.0], "stderr": None, "sample_size": None, "missing_value": 0, "missing_stderr": 1,
    ...     "missing_sample_size": 1})
    >>> with store.locked_transaction(engine) as conn:
    ...     store.load_rows(conn, rows)
    2
    >>> delete_batch(engine, rows.iloc[[1]])
    1
    >>> with engine.connect() as conn:
    ...     conn.execute(sa.text("SELECT issue, value FROM epimetric_latest")).all()
    [(20200302, 1.0)]
    """
    frame = read_keys(keys)
    sig_dim, geo_dim = schema.signal_dim, schema.geo_dim
    with locked_transaction(engine) as conn:
        signals = {(s, g): k for s, g, k in conn.execute(sa.select(sig_dim.c.source, sig_dim.c.signal,
                                                                   sig_dim.c.signal_key_id).where(
            sig_dim.c.source.in_(sorted(set(frame["source"])))))}
        geos = {}
        for geo_type in sorted(set(frame["geo_type"])):
            wanted = sorted(set(frame.loc[frame["geo_type"] == geo_type, "geo_value"]))
            query = sa.select(geo_dim.c.geo_value, geo_dim.c.geo_key_id).where(
                geo_dim.c.geo_type == geo_type, geo_dim.c.geo_value.in_(wanted))
            geos.update({(geo_type, v): k for v, k in conn.execute(query)})
        targets = []
        for row in frame.itertuples(index=False):
            sig, geo = signals.get((row.source, row.signal)), geos.get((row.geo_type, row.geo_value))
            if sig is not None and geo is not None:
                targets.append({"signal_key_id": sig, "time_type": row.time_type, "time_value": int(row.time_value),
                                "geo_key_id": geo, "issue": int(row.issue)})
        if not targets:
            LOG.info("nothing to delete", listed=len(frame))
            return 0
        _drop(conn)
        _TARGET.create(conn)
        conn.execute(_TARGET.insert(), targets)
        deleted = conn.exec_driver_sql(
            f"DELETE FROM epimetric_full WHERE ({_FULL_KEY}, issue) IN "
            f"(SELECT {_FULL_KEY}, issue FROM {_TARGET.name})").rowcount
        conn.exec_driver_sql(f"DELETE FROM epimetric_latest WHERE ({_FULL_KEY}) IN "
                             f"(SELECT {_FULL_KEY} FROM {_TARGET.name})")
        columns = ", ".join(c.name for c in schema.epimetric_latest.columns)
        conn.exec_driver_sql(
            f"INSERT INTO epimetric_latest ({columns}) SELECT {', '.join('f.' + c.name for c in schema.epimetric_latest.columns)}"
            f" FROM epimetric_full f JOIN (SELECT {_FULL_KEY}, MAX(issue) AS max_issue FROM epimetric_full"
            f" WHERE ({_FULL_KEY}) IN (SELECT {_FULL_KEY} FROM {_TARGET.name}) GROUP BY {_FULL_KEY}) m"
            " ON f.signal_key_id = m.signal_key_id AND f.time_type = m.time_type AND f.time_value = m.time_value"
            " AND f.geo_key_id = m.geo_key_id AND f.issue = m.max_issue")
        schema.mark_meta_pending(conn, f"SELECT DISTINCT signal_key_id FROM {_TARGET.name}")
        _drop(conn)
    LOG.info("deleted rows", listed=len(frame), deleted=int(deleted))
    return int(deleted)

