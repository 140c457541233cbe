"""Parse the JHU CSSE wide time series and map its UIDs to counties (spec: indicators.md §8)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...errors import InputError
from ...log import get_logger
from ...timeaxis import time_axis
from .constants import (
    CRUISE_SHIPS,
    DATE_COLUMN,
    EXTRA_ID_COLUMNS,
    ID_COLUMNS,
    TERRITORY_UIDS,
    UID_SPLITS,
    UTAH_DISTRICTS,
)

log = get_logger(__name__)


class WideSeries:
    """A JHU wide file: ``uids`` (n), ``province_state`` (n), ``dates`` (days) and ``cumulative`` (n × days)."""

    def __init__(self, uids, province_state, dates, cumulative, path):
        self.uids, self.province_state, self.dates, self.cumulative, self.path = (
            uids, province_state, dates, cumulative, path)


def _examples(items, limit=5):
    items = list(items)
    return ", ".join(map(str, items[:limit])) + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def read_wide_csv(path, metric: str) -> WideSeries:
    """Read one ``time_series_covid19_{metric}_US.csv`` strictly.

    The identifying columns must be exactly upstream's (the deaths file adds ``Population``), every other
    column a date ``M/D/YY``, the dates consecutive days, every count a whole number.

    Raises
    ------
    InputError
        Naming the file and the missing or extra columns, the missing days, or the row (UID) and date of a bad
        count.
    """
    path = Path(path)
    frame = pd.read_csv(path, dtype={"UID": "Int64"}, low_memory=False)
    columns = list(frame.columns)
    date_columns = [c for c in columns if re.fullmatch(DATE_COLUMN, str(c))]
    id_columns = [c for c in columns if c not in date_columns]
    expected = list(ID_COLUMNS + EXTRA_ID_COLUMNS[metric])
    missing = [c for c in expected if c not in id_columns]
    extra = [c for c in id_columns if c not in expected]
    if missing or extra:
        parts = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
            [f"unexpected column(s) {', '.join(extra)}"] if extra else [])
        raise InputError("; ".join(parts) + f" (a {metric} file has {', '.join(expected)} then M/D/YY dates)",
                         file=path, line=1)
    if not date_columns:
        raise InputError("no date columns (M/D/YY)", file=path, line=1)
    dates = pd.DatetimeIndex(pd.to_datetime(date_columns, format="%m/%d/%y"))
    full = time_axis(dates.min(), dates.max())
    if len(dates) != len(full) or not (dates == full).all():
        absent = full.difference(dates)
        problem = (f"missing day(s) {_examples(absent.strftime('%Y-%m-%d'))}" if len(absent)
                   else "date columns repeated or out of order")
        raise InputError(problem, file=path, line=1)
    if frame["UID"].isna().any():
        row = int(np.flatnonzero(frame["UID"].isna().to_numpy())[0]) + 2
        raise InputError("UID is empty", file=path, line=row, field="UID")
    values = frame[date_columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise InputError(f"count {frame.iat[row, len(id_columns) + col]!r} is not a whole number (UID "
                         f"{frame['UID'].iat[row]})", file=path, line=row + 2, field=date_columns[col])
    uids = frame["UID"].to_numpy(dtype=np.int64)
    if len(np.unique(uids)) != len(uids):
        raise InputError(f"UID repeated: {_examples(pd.Index(uids)[pd.Index(uids).duplicated()].unique())}",
                         file=path, field="UID")
    return WideSeries(uids, frame["Province_State"].astype(str).to_numpy(), full.as_unit("ns"), values, path)


def uid_to_fips(uid: int, province_state: str, state_codes: dict[str, str]) -> dict[str, float] | None:
    """Counties (and weights) that one JHU UID's counts go to; ``None`` for rows dropped on purpose.

    ``state_codes`` maps state names to 2-digit FIPS state codes, for the state's megacounty ``SS000``.

    Examples
    --------
    >>> uid_to_fips(84001001, "Alabama", {})
    {'01001': 1.0}
    >>> uid_to_fips(84090006, "California", {})
    {'06000': 1.0}
    >>> round(uid_to_fips(84070002, "Massachusetts", {})["25007"], 4)
    0.6191
    >>> uid_to_fips(84070004, "Michigan", {"Michigan": "26"})
    {'26000': 1.0}
    """
    if uid in UID_SPLITS:
        return dict(UID_SPLITS[uid])
    if uid in CRUISE_SHIPS:
        return None
    if uid in TERRITORY_UIDS:
        return {TERRITORY_UIDS[uid]: 1.0}
    if uid in UTAH_DISTRICTS:
        return {"49000": 1.0}
    text = str(uid)
    if len(text) == 8 and text.startswith(("8408", "8409")):  # Out of <ST>, Unassigned
        return {f"{text[6:8]}000": 1.0}
    if len(text) == 8 and text.startswith("8407"):  # other pseudo-regions (e.g. state prisons): the state's
        code = state_codes.get(province_state)
        return {f"{code}000": 1.0} if code else None
    if len(text) == 8 and text.startswith("63072"):  # Puerto Rico municipios; 888/999 out-of/unassigned
        county = text[3:]
        return {"72000" if county[2:] in ("888", "999") else county: 1.0}
    if len(text) == 8 and text.startswith("840"):
        return {text[3:]: 1.0}
    return {}


def county_matrix(series: WideSeries, state_codes: dict[str, str]):
    """Sparse ``(county, uid)`` weights and the county ids.

    Rows dropped on purpose (cruise ships) are logged at info; a UID that no rule maps is dropped with a
    warning naming it (:func:`unmapped_uids` lists them), not a failure: upstream drops them silently.
    """
    rows, cols, weights = [], [], []
    dropped, unknown = [], []
    for j, (uid, state) in enumerate(zip(series.uids.tolist(), series.province_state.tolist())):
        target = uid_to_fips(uid, state, state_codes)
        if target is None:
            dropped.append(uid)
            continue
        if not target:
            unknown.append(uid)
            continue
        for fips, weight in target.items():
            rows.append(fips)
            cols.append(j)
            weights.append(weight)
    if dropped:
        log.info("dropped rows on purpose", file=str(series.path), count=len(dropped), uids=dropped[:10])
    if unknown:
        log.warning("dropped UIDs without a county mapping", file=str(series.path), count=len(unknown),
                    uids=unknown[:50])
    counties, row_index = np.unique(np.array(rows), return_inverse=True)
    matrix = sp.csr_matrix((weights, (row_index, cols)), shape=(len(counties), len(series.uids)))
    return matrix, counties


def unmapped_uids(series: WideSeries, state_codes: dict[str, str]) -> list[int]:
    """The UIDs of ``series`` that no rule of :func:`uid_to_fips` maps (and :func:`county_matrix` drops).

    Examples
    --------
    >>> series = WideSeries(np.array([84001001, 12345]), np.array(["Alabama", "Atlantis"]), None, None, "x.csv")
    >>> unmapped_uids(series, {})
    [12345]
    """
    return sorted(int(u) for u, s in zip(series.uids.tolist(), series.province_state.tolist())
                  if uid_to_fips(u, s, state_codes) == {})


def county_cumulative(series: WideSeries, state_codes: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """County ids and their ``(county, day)`` cumulative counts (UIDs sharing a county are summed)."""
    matrix, counties = county_matrix(series, state_codes)
    return counties, np.ascontiguousarray(matrix @ series.cumulative)


def incidence(cumulative: np.ndarray) -> np.ndarray:
    """Daily new counts: the first difference, the first day's value its cumulative (the day before is 0).

    Negative values (corrections) are kept.

    Examples
    --------
    >>> incidence(np.array([[1.0, 3.0, 2.0]])).tolist()
    [[1.0, 2.0, -1.0]]
    """
    return np.diff(cumulative, axis=-1, prepend=0.0)
