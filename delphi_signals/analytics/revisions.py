"""Revision profiles: how complete a signal's value was at each lag, as upstream's backfill endpoint defines it.

For one location and each time value, over every issue that published a row for it: ``value_completeness``
= value at that issue ÷ value at the anchor issue, the anchor being the last issue not later than
time value + ``anchor_lag`` (days; weeks for weekly signals); ``value_rel_change`` = change relative to the
previous published issue. Built from a versioned cube (``Epidata.fetch(..., issues=(first, last))``), whose
``lag`` variable marks the cells where an issue published a row.

Examples
--------
>>> import pandas as pd
>>> from delphi_signals.epidata import Epidata, store
>>> db = Epidata("sqlite://")
>>> rows = pd.DataFrame({"source": "demo", "signal": "cases", "time_type": "day", "geo_type": "state",
...     "time_value": 20200301, "geo_value": "ca", "issue": [20200302, 20200303, 20200310], "lag": [1, 2, 9],
...     "value": [5.0, 8.0, 10.0], "stderr": None, "sample_size": None, "missing_value": 0, "missing_stderr": 1,
...     "missing_sample_size": 1})
>>> with store.locked_transaction(db.engine) as conn:
...     store.load_rows(conn, rows)
3
>>> cube = db.fetch("demo", "cases", "state", issues=("2020-03-01", "2020-03-31"))
>>> revision_profile(cube, "ca", anchor_lag=30)[["lag", "value", "is_anchor", "value_completeness"]].values.tolist()
[[1, 5.0, False, 0.5], [2, 8.0, False, 0.8], [9, 10.0, True, 1.0]]
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .. import atomic
from ..errors import InputError, NoRowsError
from .figures import save_png

COLUMNS = ("time_value", "issue", "lag", "value", "value_rel_change", "is_anchor", "value_completeness")


def revision_profile(cube: xr.Dataset, geo_value: str, *, anchor_lag: int = 60) -> pd.DataFrame:
    """One row per (time value, issue that published it) for ``geo_value``; see the module docstring.

    Parameters
    ----------
    cube : xarray.Dataset
        A versioned cube with an ``issue`` dim and a ``lag`` variable (``Epidata.fetch(..., issues=(a, b))``).
    geo_value : str
    anchor_lag : int
        The anchor issue of time value t is the last issue ≤ t + ``anchor_lag`` (days, or weeks).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`; ``time_value`` and ``issue`` as Timestamps. ``value_completeness`` is NaN
        where the time value has no issue inside the anchor window or its anchor value is 0 or missing.
    """
    if "issue" not in cube.dims or "lag" not in cube:
        raise InputError("a revision profile needs a versioned cube: fetch with issues=(first, last)")
    if isinstance(anchor_lag, bool) or not isinstance(anchor_lag, (int, np.integer)) or anchor_lag < 0:
        raise InputError(f"anchor_lag must be an int >= 0, got {anchor_lag!r}", field="anchor_lag")
    if geo_value not in cube.geo.values:
        raise InputError(f"geo {geo_value!r} is not in the cube", field="geo_value")
    unit = pd.Timedelta(days=7 if cube.attrs.get("time_type") == "week" else 1)
    one = cube.sel(geo=geo_value)
    value = one["value"].transpose("time", "issue").values
    lag = one["lag"].transpose("time", "issue").values
    times, issues = pd.DatetimeIndex(cube.time.values), pd.DatetimeIndex(cube.issue.values)
    frames = []
    for t_index, time_value in enumerate(times):
        published = np.flatnonzero(~np.isnan(lag[t_index]))
        if not len(published):
            continue
        values = value[t_index, published]
        issued = issues[published]
        inside = np.flatnonzero(issued <= time_value + anchor_lag * unit)
        anchor = inside[-1] if len(inside) else -1
        anchor_value = values[anchor] if anchor >= 0 else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            completeness = np.where(np.isfinite(anchor_value) & (anchor_value != 0), values / anchor_value, np.nan)
            previous = np.concatenate([[np.nan], values[:-1]])
            rel_change = np.where(previous != 0, (values - previous) / previous, np.nan)
        frames.append(pd.DataFrame({
            "time_value": time_value, "issue": issued, "lag": lag[t_index, published].astype(np.int64),
            "value": values, "value_rel_change": rel_change, "is_anchor": np.arange(len(published)) == anchor,
            "value_completeness": completeness}))
    if not frames:
        return pd.DataFrame({c: [] for c in COLUMNS})
    return pd.concat(frames, ignore_index=True)[list(COLUMNS)]


def completeness_by_lag(profile: pd.DataFrame) -> pd.DataFrame:
    """Per lag: how many time values were published at it, and the median, 10 % and 90 % completeness.

    Examples
    --------
    >>> profile = pd.DataFrame({"lag": [1, 1, 3], "value_completeness": [0.5, 0.7, 1.0]})
    >>> completeness_by_lag(profile).loc[1].tolist()
    [2.0, 0.6, 0.52, 0.6799999999999999]
    """
    groups = profile.dropna(subset=["value_completeness"]).groupby("lag")["value_completeness"]
    return pd.DataFrame({"count": groups.count().astype(float), "median": groups.median(),
                         "q10": groups.quantile(0.1), "q90": groups.quantile(0.9)})


def plot_revision_profile(profile: pd.DataFrame, path, *, title: str = "Revision profile") -> Path:
    """Completeness against lag (one line per time value, the median in black) as a PNG, written whole."""

    def draw(ax):
        for _, part in profile.groupby("time_value"):
            ax.plot(part["lag"], part["value_completeness"], color="tab:blue", alpha=0.3, marker=".")
        summary = completeness_by_lag(profile)
        ax.plot(summary.index, summary["median"], color="black", linewidth=2, label="median")
        ax.axhline(1.0, color="grey", linestyle=":")
        ax.set_xlabel("lag")
        ax.set_ylabel("value ÷ value at the anchor issue")
        ax.set_title(title)
        ax.legend()

    return save_png(path, draw, figsize=(8, 4.5))


REPORT_GEO_TYPES = ("state", "nation", "hhs", "msa", "hrr", "county")
"""The geo level a nightly revision report profiles: the first of these the signal is stored at."""


def _stored_levels(engine, source: str, signal: str) -> list[tuple[str, str]]:
    """``(time_type, geo_type)`` pairs stored for a signal in ``epimetric_latest``."""
    import sqlalchemy as sa

    from ..epidata.schema import epimetric_latest, geo_dim, signal_dim

    query = (sa.select(epimetric_latest.c.time_type, geo_dim.c.geo_type).distinct()
             .select_from(epimetric_latest.join(signal_dim, signal_dim.c.signal_key_id == epimetric_latest.c.signal_key_id)
                          .join(geo_dim, geo_dim.c.geo_key_id == epimetric_latest.c.geo_key_id))
             .where(signal_dim.c.source == source, signal_dim.c.signal == signal))
    with engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(query).all())


def revision_report(engine, run_date, signals: dict, *, days: int = 56, anchor_lag: int = 60) -> dict:
    """Completeness by lag of each signal over the issues of the last ``days`` days, for the nightly reports.

    For each ``source -> [signal, …]``: the versioned rows of the issues and time values in the window at the
    first level of :data:`REPORT_GEO_TYPES` the signal is stored at (per time type), every location's
    :func:`revision_profile` pooled, summarised by :func:`completeness_by_lag`. With the default anchor of 60
    days (beyond the window) the anchor is the newest issue in it: completeness is "how much of what is known
    now was known at lag k".

    Returns a JSON-ready dict: ``run_date``, ``days``, ``anchor_lag`` and ``profiles``, one entry per signal
    and time type with ``geo_type``, ``locations``, ``time_values``, ``issues`` and ``by_lag`` (rows of
    ``lag, count, median, q10, q90``); a signal not stored has no entry.
    """
    from ..epidata import Epidata

    run_date = pd.Timestamp(run_date)
    first = run_date - pd.Timedelta(days=days - 1)
    db = Epidata(engine)
    profiles = []
    for source, names in signals.items():
        for signal in names:
            levels = _stored_levels(db.engine, source, signal)
            for time_type in sorted({t for t, _ in levels}):
                stored = {g for t, g in levels if t == time_type}
                geo_type = next((g for g in REPORT_GEO_TYPES if g in stored), sorted(stored)[0])
                try:
                    cube = db.fetch(source, signal, geo_type, time_type=time_type, start=first, end=run_date,
                                    issues=(first, run_date))
                except NoRowsError:  # nothing issued in the window
                    continue
                pooled = pd.concat([revision_profile(cube, g, anchor_lag=anchor_lag) for g in cube.geo.values],
                                   ignore_index=True)
                summary = completeness_by_lag(pooled).reset_index()
                profiles.append({"source": source, "signal": signal, "time_type": time_type, "geo_type": geo_type,
                                 "locations": int(cube.sizes["geo"]), "time_values": int(cube.sizes["time"]),
                                 "issues": int(cube.sizes["issue"]),
                                 "by_lag": json.loads(summary.round(6).to_json(orient="records"))})
    return {"run_date": run_date.date().isoformat(), "days": days, "anchor_lag": anchor_lag, "profiles": profiles}


def write_revision_report(report: dict, folder) -> dict[str, Path]:
    """Write ``revisions.json`` and ``revisions.png`` (median completeness by lag, one line per signal)."""
    folder = Path(folder)
    paths = {"json": folder / "revisions.json", "png": folder / "revisions.png"}

    def draw(ax):
        for profile in report["profiles"]:
            rows = pd.DataFrame(profile["by_lag"])
            if not rows.empty:
                ax.plot(rows["lag"], rows["median"], marker=".", label=f"{profile['source']}:{profile['signal']} "
                        f"({profile['geo_type']}, {profile['time_type']})")
        if report["profiles"]:
            ax.legend(fontsize="small")
        ax.axhline(1.0, color="grey", linestyle=":")
        ax.set_xlabel("lag")
        ax.set_ylabel("median value ÷ newest value")
        ax.set_title(f"Completeness by lag, issues of the last {report['days']} days to {report['run_date']}")

    save_png(paths["png"], draw)
    atomic.write_text(paths["json"], json.dumps(report, indent=1), durable=False)
    return paths
