"""Which faults cover which cells of a cube: the ``fault_ids`` variable of ``Epidata.fetch(..., faults=True)``.

A confirmed fault (``open`` or ``resolved``; never ``proposed`` or ``dismissed``) covers a cell when one of its
scopes names the cube's source, signal (or every signal) and geo type (or every level), the cell's region
(or every region), its time value lies in the scope's time range and the cell's issue in the scope's issue
range. With ``as_of=D`` only the faults known on D count: reported on or before D, confirmed by then (the
status of their newest history row of D or earlier) and not resolved before D.

The cells of each fault are marked with slices of the cube (a region list times a time range); the id lists
are then built once per distinct combination of faults, so the cost grows with the cells faults touch, not with
the number of faults times the cube.

Examples
--------
>>> import pandas as pd
>>> from delphi_signals.testing import make_cube
>>> cube = make_cube(["ca", "ny"], days=3, geo_type="state")
>>> scopes = pd.DataFrame({"fault_id": [7, 9], "geo_values": [None, '["ny"]'], "start_date": [None, 20200302],
...                        "end_date": [None, None], "issue_start": [None, None], "issue_end": [None, None]})
>>> issue = pd.DatetimeIndex(["2020-03-05"] * 6).to_numpy().reshape(2, 3)
>>> cube_issue = cube.assign(issue=(("geo", "time"), issue))
>>> str(cube_issue.time.values[1])[:10], fault_ids(cube_issue, scopes).tolist()
('2020-03-02', [['7', '7', '7'], ['7', '7,9', '7,9']])
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ..epidata.schema import fault, fault_history, fault_scope
from .record import day_int, json_list

CONFIRMED = ("open", "resolved")
_OPEN_END = np.iinfo(np.int64).max


def covering_scopes(engine: sa.engine.Engine, source: str, signal: str | None, geo_type: str,
                    as_of=None) -> pd.DataFrame:
    """The scopes of the confirmed faults that may cover cells of (source, signal, geo_type) (see module doc).

    Columns ``fault_id``, ``geo_values`` (JSON text or None), ``start_date``, ``end_date``, ``issue_start``,
    ``issue_end`` (``YYYYMMDD`` ints or None); with ``signal=None``, every signal's scopes and their
    ``signals`` (JSON text or None) too.
    """
    columns = ["fault_id", "signals", "geo_values", "start_date", "end_date", "issue_start", "issue_end"]
    query = (sa.select(fault_scope.c.fault_id, fault_scope.c.signals, fault_scope.c.geo_values,
                       fault_scope.c.start_date, fault_scope.c.end_date, fault_scope.c.issue_start,
                       fault_scope.c.issue_end)
             .select_from(fault_scope.join(fault, fault.c.fault_id == fault_scope.c.fault_id))
             .where(fault_scope.c.source == source,
                    sa.or_(fault_scope.c.geo_type.is_(None), fault_scope.c.geo_type == geo_type)))
    if as_of is None:
        query = query.where(fault.c.status.in_(CONFIRMED))
    else:
        day = day_int(as_of, "as_of")
        query = query.where(fault.c.reported_date <= day, fault.c.status != "dismissed",
                            sa.or_(fault.c.resolved_date.is_(None), fault.c.resolved_date >= day))
    with engine.connect() as conn:
        rows = pd.DataFrame([tuple(r) for r in conn.execute(query)], columns=columns, dtype=object)
        if as_of is not None and len(rows):  # the status each fault had on as_of: its newest change by then
            history = pd.DataFrame(conn.execute(
                sa.select(fault_history.c.fault_id, fault_history.c.status)
                .where(fault_history.c.fault_id.in_(sorted(set(rows["fault_id"].tolist()))),
                       fault_history.c.changed_date <= day)
                .order_by(fault_history.c.fault_history_id)).all(), columns=["fault_id", "status"])
            status = history.groupby("fault_id")["status"].last()
            rows = rows[rows["fault_id"].map(status).isin(CONFIRMED).to_numpy()]
    if signal is None:
        return rows.reset_index(drop=True)
    keep = np.array([json_list(s) is None or signal in json_list(s) for s in rows["signals"]], dtype=bool)
    return rows.loc[keep].drop(columns="signals").reset_index(drop=True)


class RowFaults:
    """Fault ids of single rows (the API's ``fault_ids`` field): ``RowFaults(scopes)(signal, geo, time, issue)``.

    ``scopes`` is :func:`covering_scopes` with ``signal=None``; time values and issues are ``YYYYMMDD`` ints
    (``week=True``: ``YYYYWW`` epiweeks, compared by their first day).

    Examples
    --------
    >>> scopes = pd.DataFrame({"fault_id": [3], "signals": ['["a"]'], "geo_values": [None], "start_date": [20200301],
    ...                        "end_date": [20200302], "issue_start": [20200301], "issue_end": [None]})
    >>> row_faults = RowFaults(scopes)
    >>> row_faults("a", "ca", 20200302, 20200305), row_faults("b", "ca", 20200302, 20200305)
    ('3', '')
    """

    def __init__(self, scopes: pd.DataFrame, week: bool = False):
        self.week = week
        self.scopes = []
        for scope in scopes.sort_values("fault_id", kind="stable").itertuples(index=False):
            signals, geos = json_list(scope.signals), json_list(scope.geo_values)
            self.scopes.append((int(scope.fault_id), None if signals is None else frozenset(signals),
                                None if geos is None else frozenset(geos), _bound(scope.start_date, 0),
                                _bound(scope.end_date, _OPEN_END), max(_bound(scope.issue_start, 0), 0),
                                _bound(scope.issue_end, _OPEN_END)))

    def _day(self, value) -> int:
        if not self.week:
            return int(value)
        from ..timeaxis import parse_weeks

        return int(parse_weeks([int(value)])[0].strftime("%Y%m%d"))

    def __call__(self, signal: str, geo_value: str, time_value, issue) -> str:
        if not self.scopes or time_value is None or issue is None:
            return ""
        time_value, issue = self._day(time_value), self._day(issue)
        found = []
        for fid, signals, geos, start, end, issue_start, issue_end in self.scopes:
            if (signals is None or signal in signals) and (geos is None or geo_value in geos) \
                    and start <= time_value <= end and issue_start <= issue <= issue_end \
                    and (not found or found[-1] != fid):
                found.append(fid)
        return ",".join(map(str, found))


def _day_ints(values: np.ndarray) -> np.ndarray:
    """datetime64 values as ``YYYYMMDD`` int64; NaT as -1."""
    stamps = pd.DatetimeIndex(values.ravel())
    out = (stamps.year * 10_000 + stamps.month * 100 + stamps.day).to_numpy(dtype=np.float64)
    return np.where(np.isnan(out), -1, out).astype(np.int64).reshape(values.shape)


def _bound(value, default: int) -> int:
    return default if value is None or pd.isna(value) else int(value)


def fault_ids(cube, scopes: pd.DataFrame) -> np.ndarray:
    """Per cell of ``cube``, the comma-separated ids of the faults in ``scopes`` covering it ("" for none).

    ``cube`` needs an ``issue`` variable or dim (the cell's issue; an empty cell has NaT and is never covered).
    Returns an object array shaped as ``cube["value"]``.
    """
    shape = cube["value"].shape
    dims = cube["value"].dims
    if "issue" in cube.dims:
        issue = np.broadcast_to(_day_ints(cube["issue"].values).reshape(1, 1, -1), shape)
    else:
        issue = _day_ints(cube["issue"].transpose(*dims).values)
    empty = np.isnan(cube["value"].values) & np.isnan(cube["stderr"].values) & np.isnan(cube["sample_size"].values)
    issue = np.where(empty, -1, issue)
    times = _day_ints(cube["time"].values)
    geo_index = pd.Index(cube["geo"].values.astype(str))
    code = np.zeros(shape, dtype=np.int32)
    combos, combo_of = [""], {}
    by_fault: dict[int, list] = {}
    for scope in scopes.itertuples(index=False):
        by_fault.setdefault(int(scope.fault_id), []).append(scope)
    def relabel(old_codes: np.ndarray, fid: int) -> np.ndarray:
        """The codes of the fault combinations ``old_codes`` plus fault ``fid``."""
        before, inverse = np.unique(old_codes, return_inverse=True)
        after = np.empty(len(before), dtype=np.int32)
        for i, old in enumerate(before.tolist()):
            key = (old, fid)
            if key not in combo_of:
                combo_of[key] = len(combos)
                combos.append(f"{combos[old]},{fid}" if old else str(fid))
            after[i] = combo_of[key]
        return after[inverse]

    for fid in sorted(by_fault):
        parts = []  # (rows, first time, end time, covered cells of that block) per scope
        for scope in by_fault[fid]:
            listed = json_list(scope.geo_values)
            if listed is None:
                rows = slice(None)
            else:
                found = geo_index.get_indexer(listed)
                rows = np.unique(found[found >= 0])
                if not len(rows):
                    continue
            t0 = np.searchsorted(times, _bound(scope.start_date, 0), side="left")
            t1 = np.searchsorted(times, _bound(scope.end_date, _OPEN_END), side="right")
            if t0 >= t1:
                continue
            part = issue[rows, t0:t1]
            ok = (part >= max(_bound(scope.issue_start, 0), 0)) & (part <= _bound(scope.issue_end, _OPEN_END))
            ok &= part >= 0
            if ok.any():
                parts.append((rows, t0, t1, ok))
        if len(parts) == 1:  # the usual case: relabel inside the scope's block only
            rows, t0, t1, ok = parts[0]
            block = code[rows, t0:t1]
            block[ok] = relabel(block[ok], fid)
            code[rows, t0:t1] = block
        elif parts:  # several scopes may overlap: a cell is counted once per fault
            mask = np.zeros(shape, dtype=bool)
            for rows, t0, t1, ok in parts:
                mask[rows, t0:t1] |= ok
            code[mask] = relabel(code[mask], fid)
    return np.array(combos, dtype=object)[code]
