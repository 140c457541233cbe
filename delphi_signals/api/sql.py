"""One SQL statement per ``covidcast`` request, every value a bound parameter.

Shapes (spec epidata.md §7.2): the latest rows from ``epimetric_latest``; ``issues`` and ``lag`` filter
``epimetric_full``; ``as_of`` joins ``epimetric_full`` to the newest issue not newer than it per key, the same
shape :meth:`delphi_signals.epidata.Epidata.fetch` uses (a range scan of the primary key per signal).

A list of time values or issues longer than :data:`MAX_OR_RANGES` ranges is joined as a ``VALUES`` list (a
common table expression of ``(lo, hi)`` rows) instead of one ``OR`` per range: SQLite refuses an expression
deeper than 1,000 terms, and the API's lists hold up to 5,000 items.
"""

from __future__ import annotations

import sqlalchemy as sa

from .params import CovidcastQuery

_SELECT = ("g.geo_value, s.signal, s.source, g.geo_type, t.time_type, t.time_value, t.issue, t.lag, "
           "t.missing_value, t.missing_stderr, t.missing_sample_size, t.value, t.stderr, t.sample_size")
COLUMNS = ("geo_value", "signal", "source", "geo_type", "time_type", "time_value", "issue", "lag", "missing_value",
           "missing_stderr", "missing_sample_size", "value", "stderr", "sample_size")


MAX_OR_RANGES = 20
"""Up to this many ranges of one list become ``OR``-ed conditions; more become a joined ``VALUES`` list."""


def _ranges(column: str, ranges, prefix: str, params: dict) -> str:
    parts = []
    for i, (a, b) in enumerate(ranges):
        if a == b:
            parts.append(f"{column} = :{prefix}{i}")
            params[f"{prefix}{i}"] = a
        else:
            parts.append(f"{column} BETWEEN :{prefix}{i}a AND :{prefix}{i}b")
            params[f"{prefix}{i}a"], params[f"{prefix}{i}b"] = a, b
    return "(" + " OR ".join(parts) + ")"


def covidcast_statement(query: CovidcastQuery, signal_keys: list[int], limit: int, *, compat: bool = False):
    """The statement and its parameters for ``query`` over the given ``signal_dim`` keys, at most ``limit`` rows."""
    params: dict = {"time_type": query.time_type, "geo_type": query.geo_type, "limit": limit}
    statement_binds = ["signal_keys"]
    params["signal_keys"] = signal_keys
    conditions = ["{t}.signal_key_id IN :signal_keys", "{t}.time_type = :time_type"]
    ctes, joins = [], []

    def restrict(column: str, ranges, prefix: str) -> None:
        if len(ranges) <= MAX_OR_RANGES:
            conditions.append(_ranges(f"{{t}}.{column}", ranges, prefix, params))
            return
        rows = []
        for i, (a, b) in enumerate(ranges):
            rows.append(f"(:{prefix}{i}a, :{prefix}{i}b)")
            params[f"{prefix}{i}a"], params[f"{prefix}{i}b"] = a, b
        ctes.append(f"{prefix}_ranges (lo, hi) AS (VALUES {', '.join(rows)})")
        joins.append(f" JOIN {prefix}_ranges ON {{t}}.{column} BETWEEN {prefix}_ranges.lo AND {prefix}_ranges.hi")

    if query.time_ranges is not None:
        restrict("time_value", query.time_ranges, "tv")
    geo = "g.geo_type = :geo_type"
    if query.geo_values is not None:
        geo += " AND g.geo_value IN :geo_values"
        params["geo_values"] = query.geo_values
        statement_binds.append("geo_values")
    if query.issues is not None:
        restrict("issue", query.issues, "is")
    if query.lag is not None:
        conditions.append("{t}.lag = :lag")
        params["lag"] = query.lag
    where = " AND ".join(conditions).replace("{t}", "t")
    with_ = f"WITH {', '.join(ctes)} " if ctes else ""
    order = ("s.signal, t.time_value, g.geo_value, t.issue" if compat else
             "s.source, s.signal, t.time_type, t.time_value, g.geo_type, g.geo_value, t.issue")
    if query.as_of is not None:
        params["as_of"] = query.as_of
        inner = " AND ".join(conditions).replace("{t}", "f")
        sql = (f"{with_}SELECT {_SELECT} FROM ("
               f" SELECT f.signal_key_id, f.time_value, f.geo_key_id, MAX(f.issue) AS max_issue"
               f" FROM epimetric_full f{''.join(joins).replace('{t}', 'f')}"
               f" JOIN geo_dim g ON g.geo_key_id = f.geo_key_id"
               f" WHERE {inner} AND {geo} AND f.issue <= :as_of"
               f" GROUP BY f.signal_key_id, f.time_value, f.geo_key_id) m"
               f" JOIN epimetric_full t ON t.signal_key_id = m.signal_key_id AND t.time_type = :time_type"
               f" AND t.time_value = m.time_value AND t.geo_key_id = m.geo_key_id AND t.issue = m.max_issue"
               f" JOIN geo_dim g ON g.geo_key_id = t.geo_key_id"
               f" JOIN signal_dim s ON s.signal_key_id = t.signal_key_id"
               f" ORDER BY {order} LIMIT :limit")
    else:
        table = "epimetric_full" if query.versioned else "epimetric_latest"
        sql = (f"{with_}SELECT {_SELECT} FROM {table} t{''.join(joins).replace('{t}', 't')}"
               f" JOIN geo_dim g ON g.geo_key_id = t.geo_key_id"
               f" JOIN signal_dim s ON s.signal_key_id = t.signal_key_id"
               f" WHERE {where} AND {geo} ORDER BY {order} LIMIT :limit")
    statement = sa.text(sql).bindparams(*(sa.bindparam(name, expanding=True) for name in statement_binds))
    return statement, params
