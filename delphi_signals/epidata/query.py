"""Versioned queries: a signal as it is now, as it was known on a date (``as_of``), per issue, or at a lag.

Semantics (Epidata's, spec §7.2):

* default: the latest issue of every (geo, time) key (``epimetric_latest``);
* ``as_of=d``: per key, the newest issue not newer than ``d`` (for weekly signals ``d`` is compared as an
  epiweek, so a date means the epiweek holding it);
* ``issues=[...]`` or ``issues=(first, last)``: every stored row of those issues (an ``issue`` dim when
  several issues are asked for);
* ``lag=n``: the row published ``n`` days (weeks) after its time value, at most one per key.

A latest (or as-of) row that is a deletion (``missing_value`` 4) is an empty cell, so ``as_of`` gives back
the export that was published on that date. Every name reaches SQL only as a bound parameter.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import numpy as np
import pandas as pd
import sqlalchemy as sa
import xarray as xr

from ..cube import CODES, check_geo_type, normalize_geo_values
from ..errors import InputError, NoRowsError
from ..nancodes import QUANTITIES, Nans, repair_codes
from ..timeaxis import check_time_type, format_weeks, parse_days, parse_weeks, time_axis
from . import schema
from .schema import create_schema, engine_for

ROW_FIELDS = ("geo_value", "time_value", "issue", "lag", *QUANTITIES, *CODES)
_DAY_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def time_int(value, time_type: str, what: str = "time") -> int:
    """A date in any accepted form as the database's ``YYYYMMDD`` (day) or ``YYYYWW`` (week) int.

    Accepted: ``datetime.date``/``datetime``/``pandas.Timestamp``, ISO ``"YYYY-MM-DD"`` strings,
    ``YYYYMMDD`` ints or digit strings, and for weeks also ``YYYYWW``. A day given for a weekly signal
    means the epiweek that holds it.

    Examples
    --------
    >>> time_int("2020-03-05", "day"), time_int(dt.date(2020, 3, 5), "week"), time_int(202010, "week")
    (20200305, 202010, 202010)
    >>> time_int(20200305, "week")
    202010
    """
    check_time_type(time_type)
    if isinstance(value, (dt.date, pd.Timestamp, np.datetime64)):
        day = pd.Timestamp(value)
    elif isinstance(value, str) and _DAY_ISO.fullmatch(value.strip()):
        try:
            day = pd.Timestamp(dt.date.fromisoformat(value.strip()))
        except ValueError:
            raise InputError(f"{what} {value!r} is not a calendar day") from None
    elif isinstance(value, (int, np.integer, str)) and not isinstance(value, bool) and str(value).strip().isdigit():
        digits = str(value).strip()
        if len(digits) == 8:
            day = parse_days([int(digits)])[0]
        elif len(digits) == 6 and time_type == "week":
            return int(format_weeks(parse_weeks([int(digits)]))[0])
        else:
            form = "YYYYMMDD or YYYYWW" if time_type == "week" else "YYYYMMDD"
            raise InputError(f"{what} {value!r} is not a {form} value")
    else:
        raise InputError(f"{what} must be a date, an ISO string or a YYYYMMDD/YYYYWW int, got {value!r}")
    if time_type == "day":
        return int(day.year * 10_000 + day.month * 100 + day.day)
    return int(format_weeks(pd.DatetimeIndex([day]))[0])


def _times(ints: np.ndarray, time_type: str) -> pd.DatetimeIndex:
    return parse_days(ints) if time_type == "day" else parse_weeks(ints)


class Epidata:
    """The epidata database as signal cubes.

    Parameters
    ----------
    url : str or sqlalchemy.engine.Engine
        ``sqlite:///path.sqlite`` or ``mysql+pymysql://user@host/db``. An empty database gets the schema.

    Examples
    --------
    >>> from delphi_signals.epidata import store
    >>> db = Epidata("sqlite://")
    >>> rows = pd.DataFrame({"source": "demo", "signal": "cases", "time_type": "day", "geo_type": "state",
    ...     "time_value": [20200301, 20200301, 20200302], "geo_value": "ca",
    ...     "issue": [20200302, 20200304, 20200303], "lag": [1, 3, 1], "value": [1.0, 1.5, 2.0],
    ...     "stderr": None, "sample_size": None, "missing_value": 0, "missing_stderr": 1, "missing_sample_size": 1})
    >>> with store.locked_transaction(db.engine) as conn:
    ...     store.load_rows(conn, rows)
    3
    >>> db.fetch("demo", "cases", "state").value.values.tolist()
    [[1.5, 2.0]]
    >>> db.fetch("demo", "cases", "state", as_of="2020-03-03").value.values.tolist()
    [[1.0, 2.0]]
    """

    def __init__(self, url):
        self.engine = url if isinstance(url, sa.engine.Engine) else engine_for(url)
        create_schema(self.engine)

    def fetch(self, source: str, signal: str, geo_type: str, *, geo_values=None, time_type: str = "day",
              start=None, end=None, as_of=None, issues=None, lag=None, faults: bool = False) -> xr.Dataset:
        """One signal at one geo level as a cube carrying ``issue`` and ``lag`` per cell.

        Parameters
        ----------
        source, signal, geo_type : str
            What to fetch.
        geo_values : list of str, optional
            Only these geo ids (default: all of ``geo_type``).
        time_type : {"day", "week"}
        start, end : date-like, optional
            Inclusive window of time values (default: everything stored).
        as_of : date-like, optional
            What was known on that date: per key, the newest issue not newer than it.
        issues : date-like, list of date-likes, or (first, last) tuple, optional
            Rows of these issues. Several issues give a cube with an ``issue`` dim.
        lag : int, optional
            Rows published ``lag`` days (weeks, for weekly signals) after their time value.
        faults : bool
            Add a variable ``fault_ids``: per cell, the comma-separated ids of the confirmed faults whose scope
            covers it ("" for none); with ``as_of``, the faults known on that date
            (:mod:`delphi_signals.faults.cover`).

        Returns
        -------
        xarray.Dataset
            A signal cube over ``(geo, time)``, or ``(geo, time, issue)`` when several issues are asked
            for, with data variables ``issue`` (datetime64; NaT in empty cells; only without an issue
            dim) and ``lag`` (float; NaN in empty cells).

        Raises
        ------
        InputError
            ``as_of`` together with ``issues`` or ``lag``, an unknown geo or time type, a bad date, or
            no stored row matches.
        """
        check_time_type(time_type)
        check_geo_type(geo_type)
        if as_of is not None and (issues is not None or lag is not None):
            raise InputError("as_of cannot be combined with issues or lag: as_of picks one issue per key itself")
        if lag is not None and (isinstance(lag, bool) or not isinstance(lag, (int, np.integer))):
            raise InputError(f"lag must be an int, got {lag!r}")
        params = {"source": source, "signal": signal, "geo_type": geo_type, "time_type": time_type}
        conditions = []
        if start is not None:
            params["start"] = time_int(start, time_type, "start")
            conditions.append("{t}.time_value >= :start")
        if end is not None:
            params["end"] = time_int(end, time_type, "end")
            conditions.append("{t}.time_value <= :end")
        if start is not None and end is not None and params["start"] > params["end"]:
            raise InputError(f"start {start!r} is after end {end!r}")
        geo_list = None
        if geo_values is not None:
            geo_list = normalize_geo_values(list(np.atleast_1d(geo_values)), geo_type).tolist()
            if not geo_list:
                raise InputError("geo_values is empty; leave it out to fetch every geo")
        issue_dim = False
        if issues is not None:
            if isinstance(issues, tuple):
                if len(issues) != 2:
                    raise InputError(f"an issue range is a (first, last) tuple, got {issues!r}")
                params["issue_first"] = time_int(issues[0], time_type, "issues")
                params["issue_last"] = time_int(issues[1], time_type, "issues")
                if params["issue_first"] > params["issue_last"]:
                    raise InputError(f"issue range {issues!r} is inverted")
                conditions.append("{t}.issue BETWEEN :issue_first AND :issue_last")
                issue_dim = True
            else:
                listed = list(issues) if isinstance(issues, (list, np.ndarray, pd.Index)) else [issues]
                if not listed:
                    raise InputError("issues is empty")
                params["issue_list"] = sorted({time_int(i, time_type, "issues") for i in listed})
                conditions.append("{t}.issue IN :issue_list")
                issue_dim = len(params["issue_list"]) > 1
        if lag is not None:
            params["lag"] = int(lag)
            conditions.append("{t}.lag = :lag")
        if as_of is not None:
            params["as_of"] = time_int(as_of, time_type, "as_of")
        frame = self._rows(params, conditions, geo_list, versioned=issues is not None or lag is not None)
        if issues is None and lag is None:  # a deletion that is the latest word is no row at all
            deleted = (frame["missing_value"] == Nans.DELETED) & frame["value"].isna()
            frame = frame[~deleted.to_numpy()]
        if frame.empty:
            raise NoRowsError(f"no stored rows match {source}/{signal}/{geo_type}/{time_type}"
                             + "".join(f", {k}={params[k]}" for k in ("start", "end", "as_of", "lag") if k in params)
                             + (f", issues={issues!r}" if issues is not None else ""))
        attrs = {"source": source, "signal": signal, "geo_type": geo_type, "time_type": time_type}
        if as_of is not None:
            attrs["as_of"] = _times(np.array([params["as_of"]]), time_type)[0].strftime("%Y-%m-%d")
        window = (params.get("start"), params.get("end"))
        cube = _cube(frame, attrs, geo_list, window, issue_dim)
        if faults:
            from ..faults.cover import covering_scopes, fault_ids

            scopes = covering_scopes(self.engine, source, signal, geo_type,
                                     as_of=None if as_of is None else attrs["as_of"])
            cube["fault_ids"] = (cube["value"].dims, fault_ids(cube, scopes))
        return cube

    def add_fault(self, title: str, category: str, scopes, *, description: str = "", links=(),
                  reported_by: str | None = None, status: str = "open", reported_date=None) -> int:
        """Record a known fault with its scopes; return its id (:func:`delphi_signals.faults.add_fault`).

        Each scope is a dict with keys ``source``, ``signals``, ``geo_type``, ``geo_values``, ``start``,
        ``end``, ``issue_start``, ``issue_end`` (omitted: all / open).
        """
        from ..faults import add_fault

        return add_fault(self.engine, title, category, scopes, description=description, links=links,
                         reported_by=reported_by, status=status, reported_date=reported_date)

    def faults(self, source=None, signal=None, status=None, geo_type=None, geo_value=None) -> pd.DataFrame:
        """The faults, one row per fault and scope (:func:`delphi_signals.faults.list_faults`)."""
        from ..faults import list_faults

        return list_faults(self.engine, source=source, signal=signal, status=status, geo_type=geo_type,
                           geo_value=geo_value)

    def fault(self, fault_id) -> dict:
        """One fault with its scopes and history (:func:`delphi_signals.faults.get_fault`)."""
        from ..faults import get_fault

        return get_fault(self.engine, fault_id)

    def update_fault(self, fault_id, *, status: str | None = None, note: str | None = None, date=None) -> None:
        """Change a fault's status or add a note, kept as a history row (:func:`delphi_signals.faults.update_fault`)."""
        from ..faults import update_fault

        update_fault(self.engine, fault_id, status=status, note=note, date=date)

    def update_meta(self, full: bool = False):
        """Refresh the metadata cache (see :func:`delphi_signals.analytics.meta.update_meta`)."""
        from ..analytics.meta import update_meta

        return update_meta(self.engine, full=full)

    def metadata(self) -> pd.DataFrame:
        """The cached metadata (see :func:`delphi_signals.analytics.meta.read_meta`)."""
        from ..analytics.meta import read_meta

        return read_meta(self.engine)

    def _rows(self, params: dict, conditions: list[str], geo_list, versioned: bool) -> pd.DataFrame:
        """The stored rows that answer the query (geo ids by name); see the module docstring."""
        geo = schema.geo_dim
        with self.engine.connect() as conn:
            sig = schema.signal_dim
            key = conn.execute(sa.select(sig.c.signal_key_id).where(
                sig.c.source == params["source"], sig.c.signal == params["signal"])).scalar()
            query = sa.select(geo.c.geo_key_id, geo.c.geo_value).where(geo.c.geo_type == params["geo_type"])
            if geo_list:
                query = query.where(geo.c.geo_value.in_(geo_list))
            geo_names = dict(conn.execute(query).all())
            if key is None or not geo_names:
                return pd.DataFrame({name: [] for name in ROW_FIELDS})
            params["signal_key_id"] = key
            # The geo level is filtered here, not joined in SQL: with the key (signal, time_type, time_value,
            # geo) a join that starts from geo_dim scans the whole signal once per geo id. An explicit (short)
            # list of geo ids is sent as key ids.
            if geo_list:
                params["geo_keys"] = sorted(geo_names)
                conditions = conditions + ["{t}.geo_key_id IN :geo_keys"]

            def where(alias: str) -> str:
                return (f"{alias}.signal_key_id = :signal_key_id AND {alias}.time_type = :time_type"
                        + "".join(" AND " + c.format(t=alias) for c in conditions))

            fields = ("t.geo_key_id, t.time_value, t.issue, t.lag, t.value, t.stderr, t.sample_size, "
                      "t.missing_value, t.missing_stderr, t.missing_sample_size")
            if "as_of" in params:
                # per key: the latest row if it is not newer than as_of (most keys, read from the small
                # table), else the newest issue <= as_of from the history of the keys revised after as_of
                join = "STRAIGHT_JOIN" if conn.dialect.name == "mysql" else "JOIN"
                # stored rows have issue >= time_value, so time values after as_of have nothing to give
                statements = [
                    f"SELECT {fields} FROM epimetric_latest t WHERE {where('t')} AND t.time_value <= :as_of"
                    f" AND t.issue <= :as_of",
                    f"SELECT {fields} FROM (SELECT l.time_value, l.geo_key_id, MAX(f.issue) AS max_issue"
                    f" FROM epimetric_latest l {join} epimetric_full f ON f.signal_key_id = l.signal_key_id"
                    f" AND f.time_type = l.time_type AND f.time_value = l.time_value AND f.geo_key_id = l.geo_key_id"
                    f" AND f.issue <= :as_of WHERE {where('l')} AND l.time_value <= :as_of AND l.issue > :as_of"
                    f" GROUP BY l.time_value, l.geo_key_id) m"
                    f" {join} epimetric_full t ON t.signal_key_id = :signal_key_id AND t.time_type = :time_type"
                    f" AND t.time_value = m.time_value AND t.geo_key_id = m.geo_key_id AND t.issue = m.max_issue",
                ]
            else:
                table = "epimetric_full" if versioned else "epimetric_latest"
                statements = [f"SELECT {fields} FROM {table} t WHERE {where('t')}"]
            frame = pd.concat([_fetch(conn, sql, params) for sql in statements], ignore_index=True)
        names = frame["geo_key_id"].map(geo_names)
        frame = frame[names.notna().to_numpy()].assign(geo_value=names.dropna()).drop(columns="geo_key_id")
        frame = frame[list(ROW_FIELDS)].reset_index(drop=True)
        return frame


_FETCHED = ("geo_key_id", *ROW_FIELDS[1:])


def _fetch(conn, sql: str, params: dict) -> pd.DataFrame:
    """Run one query of :data:`_FETCHED` columns into a frame (time values, issues and codes as ints).

    On MySQL the rows travel packed, one text field per time value (``GROUP_CONCAT``; the server writes
    doubles in their shortest round-trip form, so nothing is lost): PyMySQL decodes every field in Python,
    which costs more than the query itself when tens of thousands of rows come back.
    """
    mysql = conn.dialect.name == "mysql"
    if mysql:
        conn.exec_driver_sql("SET SESSION group_concat_max_len = 1073741824")
        packed = ", ".join(f"IFNULL(q.{c}, '')" for c in _FETCHED)
        sql = (f"SELECT GROUP_CONCAT(CONCAT_WS(',', {packed}) SEPARATOR '\\n') FROM ({sql}) q "
               f"GROUP BY q.time_value")
    statement = sa.text(sql)
    for name in ("issue_list", "geo_keys"):
        if name in params:
            statement = statement.bindparams(sa.bindparam(name, expanding=True))
    result = conn.execute(statement, params).all()
    if mysql:
        text = "\n".join(row[0] for row in result)
        frame = (pd.read_csv(io.StringIO(text), header=None, names=list(_FETCHED), dtype=np.float64)
                 if text else pd.DataFrame({c: np.array([], dtype=np.float64) for c in _FETCHED}))
    else:
        frame = pd.DataFrame(result, columns=list(_FETCHED), dtype=np.float64)
    for q, code in zip(QUANTITIES, CODES):
        if frame[code].isna().any():  # a code stored as NULL: inferred, as the importer would
            frame[code] = repair_codes(frame[q].to_numpy(), frame[code].to_numpy())[0]
    for name in ("geo_key_id", "time_value", "issue", "lag", *CODES):
        frame[name] = frame[name].astype(np.int64)
    return frame


def _cube(frame: pd.DataFrame, attrs: dict, geo_list, window, issue_dim: bool) -> xr.Dataset:
    time_type = attrs["time_type"]
    geo = np.asarray(sorted(set(frame["geo_value"]) | set(geo_list or [])), dtype=str)
    times = _times(frame["time_value"].to_numpy(), time_type)
    first = times.min() if window[0] is None else min(times.min(), _times(np.array([window[0]]), time_type)[0])
    last = times.max() if window[1] is None else max(times.max(), _times(np.array([window[1]]), time_type)[0])
    axis = time_axis(first, last, time_type)
    gi = pd.Index(geo).get_indexer(frame["geo_value"].to_numpy(dtype=str))
    ti = axis.get_indexer(times)
    issue_times = _times(frame["issue"].to_numpy(), time_type)
    shape = [len(geo), len(axis)]
    index = [gi, ti]
    coords = {"geo": geo, "time": axis}
    if time_type == "week":
        coords["epiweek"] = ("time", format_weeks(axis))
    dims = ("geo", "time")
    if issue_dim:
        issue_axis = pd.DatetimeIndex(sorted(set(issue_times)))
        shape.append(len(issue_axis))
        index.append(issue_axis.get_indexer(issue_times))
        coords["issue"] = issue_axis
        dims = ("geo", "time", "issue")
    index = tuple(index)
    data = {}
    for q in QUANTITIES:
        arr = np.full(shape, np.nan)
        arr[index] = frame[q].to_numpy()
        data[q] = (dims, arr)
    for name in CODES:
        arr = np.full(shape, Nans.OTHER, dtype=np.int8)
        arr[index] = frame[name].to_numpy()
        data[name] = (dims, arr)
    lag = np.full(shape, np.nan)
    lag[index] = frame["lag"].to_numpy()
    data["lag"] = (dims, lag)
    if not issue_dim:
        issue = np.full(shape, np.datetime64("NaT"), dtype="datetime64[ns]")
        issue[index] = issue_times.to_numpy()
        data["issue"] = (dims, issue)
    return xr.Dataset(data, coords=coords, attrs=attrs)


