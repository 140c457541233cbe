"""The metadata cache: one summary row per (source, signal, time_type, geo_type), aggregated in SQL.

Each row holds upstream's fields (spec ``epidata.md`` §4) plus ``min_issue``, over ``epimetric_latest``:
``min_time``/``max_time`` (``YYYYMMDD``, or ``YYYYWW`` for weekly signals), ``num_locations``, ``min_value``,
``max_value``, ``mean_value`` and ``stdev_value`` (population stdev; both rounded to 7 decimals),
``last_update`` (unix seconds), ``max_issue``, ``min_issue``, ``min_lag``, ``max_lag``. The value aggregates
ignore NULL values (all NULL gives ``None``); rows with a NULL value still count for every other field.

The list is stored as JSON in the single row of ``covidcast_meta_cache``, sorted by (source, signal,
time_type, geo_type) with the keys in :data:`FIELDS` order. :func:`update_meta` recomputes every pair
(``full=True``) or only the (source, signal) pairs that loads and deletions marked in ``meta_pending``
since the last update; both run the same query per pair (one partial row per location, combined per geo type
with the exact pairwise mean and variance), so they give the same cache. A computation that
gives no rows never replaces the stored cache.

Examples
--------
>>> import pandas as pd
>>> from delphi_signals.epidata import Epidata, store
>>> db = Epidata("sqlite://")
>>> rows = pd.DataFrame({"source": "demo", "signal": "cases", "time_type": "day", "geo_type": "state",
...     "time_value": 20200301, "geo_value": ["ca", "pa"], "issue": 20200302, "lag": 1, "value": [10.0, 20.0],
...     "stderr": None, "sample_size": None, "missing_value": 0, "missing_stderr": 1, "missing_sample_size": 1})
>>> with store.locked_transaction(db.engine) as conn:
...     store.load_rows(conn, rows)
2
>>> db.update_meta().row_count
1
>>> meta = db.metadata()
>>> print(meta[["data_source", "num_locations", "mean_value", "stdev_value", "max_issue"]].to_string(index=False))
data_source  num_locations  mean_value  stdev_value  max_issue
       demo              2        15.0          5.0   20200302
"""

from __future__ import annotations

import dataclasses
import json
import math
import time

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ..epidata.schema import covidcast_meta_cache, geo_dim, meta_pending, signal_dim
from ..errors import DatabaseError
from ..log import get_logger, progress

LOG = get_logger(__name__)

FIELDS = (
    "data_source", "signal", "time_type", "geo_type", "min_time", "max_time", "num_locations",
    "min_value", "max_value", "mean_value", "stdev_value", "last_update", "max_issue", "min_issue",
    "min_lag", "max_lag",
)
_INT_FIELDS = ("min_time", "max_time", "num_locations", "last_update", "max_issue", "min_issue", "min_lag",
               "max_lag")
_ROUNDED = ("mean_value", "stdev_value")
# Per-location partial aggregates of one pair: grouping by (time_type, geo_key_id) needs no join, and the
# partials of each geo type are then combined exactly (Chan et al.'s pairwise variance). Grouping the rows by
# geo_type through a join to geo_dim measured 4-5x slower on MariaDB (a temporary table and a filesort).
_PARTIAL_SQL = """
SELECT t.time_type, t.geo_key_id, MIN(t.time_value), MAX(t.time_value), COUNT(t.value), MIN(t.value),
       MAX(t.value), AVG(t.value), {stdev}(t.value), MAX(t.value_updated_timestamp), MAX(t.issue), MIN(t.issue),
       MIN(t.lag), MAX(t.lag)
FROM epimetric_latest t
WHERE t.signal_key_id = :signal_key_id
GROUP BY t.time_type, t.geo_key_id
"""
_PARTIALS = ("time_type", "geo_key_id", "min_time", "max_time", "count", "min_value", "max_value", "mean", "stdev",
             "last_update", "max_issue", "min_issue", "min_lag", "max_lag")
SQLITE_STDEV = "meta_stdev_pop"


class _PopulationStdev:
    """SQLite aggregate: population standard deviation of the non-NULL values (Welford's update)."""

    def __init__(self):
        self.count, self.mean, self.squares = 0, 0.0, 0.0

    def step(self, value):
        if value is None:
            return
        self.count += 1
        delta = value - self.mean
        self.mean += delta / self.count
        self.squares += delta * (value - self.mean)

    def finalize(self):
        return None if self.count == 0 else math.sqrt(max(self.squares, 0.0) / self.count)


def _register(dbapi_connection, _record=None) -> None:
    dbapi_connection.create_aggregate(SQLITE_STDEV, 1, _PopulationStdev)


def install_sqlite_functions(engine: sa.engine.Engine) -> None:
    """Register the population-stdev aggregate on every SQLite connection of ``engine`` (no-op elsewhere).

    Examples
    --------
    >>> engine = sa.create_engine("sqlite://")
    >>> install_sqlite_functions(engine)
    >>> with engine.connect() as conn:
    ...     conn.exec_driver_sql("SELECT meta_stdev_pop(x) FROM (SELECT 10.0 AS x UNION ALL SELECT 20.0)").scalar()
    5.0
    """
    if engine.dialect.name != "sqlite" or sa.event.contains(engine, "connect", _register):
        return
    sa.event.listen(engine, "connect", _register)


def _stdev_function(conn) -> str:
    if conn.dialect.name == "sqlite":
        _register(conn.connection.driver_connection)  # connections opened before install_sqlite_functions
        return SQLITE_STDEV
    return "STDDEV_POP"


def _combine(part: pd.DataFrame) -> dict:
    """One metadata entry from the per-location partials of one (time_type, geo_type)."""
    entry = {"min_time": int(part["min_time"].min()), "max_time": int(part["max_time"].max()),
             "num_locations": len(part)}
    valued = part[part["count"] > 0]
    if valued.empty:
        entry.update(min_value=None, max_value=None, mean_value=None, stdev_value=None)
    else:
        n, mean_i, var_i = (valued[c].to_numpy(dtype=np.float64) for c in ("count", "mean", "stdev"))
        var_i = var_i ** 2
        total = n.sum()
        mean = float((n * mean_i).sum() / total)
        variance = float(((n * var_i).sum() + (n * (mean_i - mean) ** 2).sum()) / total)
        entry.update(min_value=float(valued["min_value"].min()), max_value=float(valued["max_value"].max()),
                     mean_value=round(mean, 7), stdev_value=round(math.sqrt(max(variance, 0.0)), 7))
    entry.update({"last_update": int(part["last_update"].max()), "max_issue": int(part["max_issue"].max()),
                  "min_issue": int(part["min_issue"].min()), "min_lag": int(part["min_lag"].min()),
                  "max_lag": int(part["max_lag"].max())})
    return entry


def _pair_rows(conn, signal_key_id: int, source: str, signal: str, geo_types: dict) -> list[dict]:
    sql = sa.text(_PARTIAL_SQL.format(stdev=_stdev_function(conn)))
    partials = pd.DataFrame(conn.execute(sql, {"signal_key_id": signal_key_id}).fetchall(), columns=list(_PARTIALS))
    if partials.empty:
        return []
    partials["geo_type"] = partials["geo_key_id"].map(geo_types)
    out = []
    for (time_type, geo_type), part in partials.groupby(["time_type", "geo_type"], sort=True):
        entry = {"data_source": source, "signal": signal, "time_type": time_type, "geo_type": geo_type,
                 **_combine(part)}
        out.append({k: entry[k] for k in FIELDS})
    return out


def _sort_key(entry: dict):
    return tuple(entry[k] for k in FIELDS[:4])


def compute_meta(engine: sa.engine.Engine, pairs=None) -> list[dict]:
    """The metadata rows of the given ``(source, signal)`` pairs (default: every pair), sorted.

    One aggregate query per pair, a range scan of ``epimetric_latest``'s primary key giving one partial
    row per location; the partials of each (time_type, geo_type) are combined exactly.
    """
    with engine.connect() as conn:
        geo_types = dict(conn.execute(sa.select(geo_dim.c.geo_key_id, geo_dim.c.geo_type)).all())
        known = {(s, g): k for k, s, g in conn.execute(sa.select(signal_dim.c.signal_key_id, signal_dim.c.source,
                                                                 signal_dim.c.signal))}
        wanted = sorted(known) if pairs is None else sorted(p for p in set(map(tuple, pairs)) if p in known)
        rows = []
        for source, signal in progress(wanted, desc="metadata", unit="signal"):
            rows += _pair_rows(conn, known[(source, signal)], source, signal, geo_types)
    return sorted(rows, key=_sort_key)


def read_cache(engine: sa.engine.Engine) -> tuple[int, list[dict]]:
    """``(timestamp, rows)`` of the stored cache; ``(0, [])`` when it was never computed."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(covidcast_meta_cache.c.timestamp, covidcast_meta_cache.c.epidata)).first()
    if row is None:
        return 0, []
    return int(row[0]), json.loads(row[1])


def to_json(rows: list[dict]) -> str:
    """The cache text: the rows sorted, each with the keys in :data:`FIELDS` order."""
    ordered = [{k: entry[k] for k in FIELDS} for entry in sorted(rows, key=_sort_key)]
    return json.dumps(ordered, allow_nan=False)


@dataclasses.dataclass
class MetaUpdate:
    """What :func:`update_meta` did."""

    mode: str  # "full", "incremental" or "unchanged"
    pairs: list  # the (source, signal) pairs recomputed
    row_count: int  # rows in the cache afterwards
    written: bool  # whether the cache row was replaced
    seconds: float


def _pending(conn) -> dict[int, tuple[str, str]]:
    query = sa.select(meta_pending.c.signal_key_id, signal_dim.c.source, signal_dim.c.signal).join(
        signal_dim, signal_dim.c.signal_key_id == meta_pending.c.signal_key_id, isouter=True)
    return {int(k): (s, g) for k, s, g in conn.execute(query)}


def _set_pending(engine, ids, present: bool) -> None:
    if not ids:
        return
    with engine.begin() as conn:
        if present:
            already = {r[0] for r in conn.execute(sa.select(meta_pending.c.signal_key_id))}
            new = sorted(set(ids) - already)
            if new:
                conn.execute(meta_pending.insert(), [{"signal_key_id": k} for k in new])
        else:
            conn.execute(meta_pending.delete().where(meta_pending.c.signal_key_id.in_(sorted(ids))))


def update_meta(engine: sa.engine.Engine, *, full: bool = False) -> MetaUpdate:
    """Refresh the metadata cache: every pair (``full``, or a cache never computed) or only pending ones.

    The pending marks taken are cleared before computing, so a load that commits meanwhile marks its pair
    again for the next update; if the computation fails or gives no rows, the marks are put back.

    Raises
    ------
    DatabaseError
        The database lacks the epidata tables (``delphi-signals db init`` creates them).

    Returns
    -------
    MetaUpdate
        ``written`` is False when nothing was pending or when the result was empty (the stored cache is
        then left as it was, as upstream does: "unable to cache epidata").
    """
    started = time.perf_counter()
    inspector = sa.inspect(engine)
    missing = [t.name for t in (covidcast_meta_cache, meta_pending, signal_dim) if not inspector.has_table(t.name)]
    if missing:
        raise DatabaseError(f"{engine.url.render_as_string(hide_password=True)} lacks table(s) {', '.join(missing)}: "
                            "run 'delphi-signals db init' on it")
    install_sqlite_functions(engine)
    with engine.connect() as conn:
        pending = _pending(conn)
    timestamp, cached = read_cache(engine)
    full = full or timestamp == 0
    if not full and not pending:
        LOG.info("metadata unchanged: no pending pairs")
        return MetaUpdate("unchanged", [], len(cached), False, time.perf_counter() - started)
    _set_pending(engine, pending, present=False)
    try:
        pairs = None if full else sorted(p for p in pending.values() if p[0] is not None)
        computed = compute_meta(engine, pairs)
    except BaseException:
        _set_pending(engine, pending, present=True)
        raise
    calculated = time.perf_counter()
    if full:
        rows, pairs = computed, sorted({(r["data_source"], r["signal"]) for r in computed})
    else:
        redone = set(pairs)
        rows = [r for r in cached if (r["data_source"], r["signal"]) not in redone] + computed
    mode = "full" if full else "incremental"
    if not rows:
        _set_pending(engine, pending, present=True)
        LOG.error("no results (code -2)", mode=mode)
        LOG.error("unable to cache epidata", mode=mode)
        return MetaUpdate(mode, pairs, len(cached), False, time.perf_counter() - started)
    text = to_json(rows)
    with engine.begin() as conn:
        stamp = int(time.time())
        if conn.execute(covidcast_meta_cache.update().values(timestamp=stamp, epidata=text)).rowcount == 0:
            conn.execute(covidcast_meta_cache.insert().values(timestamp=stamp, epidata=text))
    finished = time.perf_counter()
    LOG.info("metadata cache updated", mode=mode, pair_count=len(pairs), row_count=len(rows),
             metadata_calculation_interval_in_seconds=round(calculated - started, 3),
             metadata_update_interval_in_seconds=round(finished - calculated, 3),
             total_runtime_in_seconds=round(finished - started, 3))
    return MetaUpdate(mode, pairs, len(rows), True, finished - started)


def read_meta(engine: sa.engine.Engine) -> pd.DataFrame:
    """The cached metadata as a DataFrame with upstream's field names (:data:`FIELDS`), as the API serves it.

    Times and issues are ``YYYYMMDD`` ints (``YYYYWW`` for weekly signals), ``last_update`` unix seconds;
    ``attrs["timestamp"]`` is when the cache was written (0: never).
    """
    timestamp, rows = read_cache(engine)
    frame = pd.DataFrame(rows, columns=list(FIELDS))
    for name in _INT_FIELDS:
        frame[name] = frame[name].astype("int64")
    for name in ("min_value", "max_value", *_ROUNDED):
        frame[name] = frame[name].astype("float64")
    frame.attrs["timestamp"] = timestamp
    return frame


def refresh(engine: sa.engine.Engine, *, full: bool = False) -> dict:
    """:func:`update_meta`, then the run's summary and the cached rows as a JSON-ready dict."""
    result = update_meta(engine, full=full)
    return {"update": dataclasses.asdict(result), "metadata": read_cache(engine)[1]}
