"""Pull the HHS state time series (Epidata ``covid_hosp`` JSON) into the input cache and parse it strictly.

The response has the Epidata shape ``{"epidata": [row, ...], "result": 1, "message": "success"}``; each row
is one state and day with ``state`` (upper case), ``date`` (YYYYMMDD), ``issue`` and ~118 columns, of which
the ``previous_day_admission_*`` counts in :data:`~.constants.REQUIRED_FIELDS` are read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import InputError
from ...geo import geo_values
from ...log import get_logger
from ...sources import fetch
from .. import params as P
from .constants import CACHE_NAME, DEFAULT_BASE_URL, REQUIRED_FIELDS, SOURCE

log = get_logger(__name__, source=SOURCE)


def source_url(params: dict) -> str:
    """``indicator.base_url`` (a URL or local path) or the Epidata endpoint, with its fields filled in.

    Examples
    --------
    >>> source_url({"indicator": {"base_url": "/data/{end}.json"}, "common": {"issue_date": "2021-10-25"}})
    '/data/20211025.json'
    """
    template = str((params.get("indicator") or {}).get("base_url") or DEFAULT_BASE_URL)
    states = ",".join(s.upper() for s in geo_values("state"))
    return template.replace("{states}", states).replace("{end}", P.issue_date(params).strftime("%Y%m%d"))


def pull_data(params: dict) -> pd.DataFrame:
    """Fetch the day's response into ``<data_root>/input/hhs/<YYYYMMDD>_covid_hosp.json`` and parse it.

    Returns
    -------
    pandas.DataFrame
        See :func:`read_response`.
    """
    result = fetch(source_url(params), source=SOURCE, data_root=P.data_root(params), day=P.issue_date(params),
                   name=CACHE_NAME, ext="json", force=bool((params.get("indicator") or {}).get("force_pull")))
    return read_response(result.path)


def _number(value, path, index, field):
    if value is None:
        return np.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
        raise InputError(f"epidata[{index}]: not a non-negative number or null: {value!r}", file=path, field=field)
    return float(value)


def read_response(path) -> pd.DataFrame:
    """Parse an Epidata ``covid_hosp`` response strictly.

    Every row must have the same fields, among them ``state``, ``date`` and the admission counts; a count
    is a non-negative number or null (missing); a state is a known state id; ``date`` a real YYYYMMDD day;
    no (state, date) twice.

    Returns
    -------
    pandas.DataFrame
        Columns ``state`` (lower-case state id), ``date`` (datetime64, the report day: counts are for the
        day before) and one float column per required count field (NaN = null), sorted by state and date.

    Raises
    ------
    InputError
        Naming the file, the row (``epidata[i]``) and the field.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.json"
    >>> _ = path.write_text('{"epidata": [], "result": -2, "message": "no results"}')
    >>> read_response(path)
    Traceback (most recent call last):
    ...
    delphi_signals.errors.InputError: .../r.json, field result: Epidata result -2 ('no results'), expected 1
    """
    path = Path(path)
    try:
        body = json.loads(path.read_bytes())
    except ValueError as exc:
        raise InputError(f"not valid JSON ({exc})", file=path) from None
    if not isinstance(body, dict) or "epidata" not in body or "result" not in body:
        raise InputError("not an Epidata response: expected an object with 'epidata' and 'result'", file=path)
    if body["result"] != 1:
        raise InputError(f"Epidata result {body['result']} ({body.get('message')!r}), expected 1", file=path,
                         field="result")
    rows = body["epidata"]
    if not isinstance(rows, list) or not rows:
        raise InputError("'epidata' holds no rows", file=path, field="epidata")
    fields = set(rows[0]) if isinstance(rows[0], dict) else set()
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    if missing:
        raise InputError(f"epidata[0] lacks field(s) {', '.join(missing)}", file=path, field=missing[0])
    known_states = set(geo_values("state").tolist())
    columns = {f: np.empty(len(rows)) for f in REQUIRED_FIELDS[2:]}
    states, days = [], []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InputError(f"epidata[{i}] is not an object", file=path)
        if set(row) != fields:
            absent, extra = sorted(fields - set(row)), sorted(set(row) - fields)
            detail = "; ".join(([f"lacks {', '.join(absent)}"] if absent else [])
                               + ([f"has extra {', '.join(extra)}"] if extra else []))
            raise InputError(f"epidata[{i}] fields differ from epidata[0]: {detail}", file=path,
                             field=(absent or extra)[0])
        state = str(row["state"]).lower()
        if state not in known_states:
            raise InputError(f"epidata[{i}]: unknown state {row['state']!r}", file=path, field="state")
        states.append(state)
        days.append(str(row["date"]))
        for f, col in columns.items():
            col[i] = _number(row[f], path, i, f)
    # one vectorised parse (a per-row parse cost seconds on a year of states)
    parsed = pd.to_datetime(pd.Series(days), format="%Y%m%d", errors="coerce")
    if parsed.isna().any():
        i = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise InputError(f"epidata[{i}]: not a YYYYMMDD day: {rows[i]['date']!r}", file=path, field="date")
    frame = pd.DataFrame({"state": states, "date": pd.DatetimeIndex(parsed).as_unit("ns"), **columns})
    dupes = frame.duplicated(["state", "date"])
    if dupes.any():
        i = int(np.flatnonzero(dupes.to_numpy())[0])
        raise InputError(f"epidata[{i}]: state {frame.state[i]} and date {frame.date[i]:%Y%m%d} repeated",
                         file=path, field="date")
    log.info("read hhs response", file=str(path), rows=len(frame), states=int(frame.state.nunique()),
             issue=body["epidata"][0].get("issue"))
    return frame.sort_values(["state", "date"], ignore_index=True)
