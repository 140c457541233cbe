"""Row batches for the analytics tests and the plain-pandas reference of the metadata cache."""

from __future__ import annotations

import numpy as np
import pandas as pd

from delphi_signals.epidata import store

KEY = ["source", "signal", "time_type", "geo_type", "geo_value", "time_value"]


def batch(source, signal, geo_type, geo_values, time_values, issue, *, time_type="day", values=None):
    """One row per (geo, time); lag = issue − time in days (weeks for weekly signals)."""
    geo, times = np.meshgrid(np.asarray(geo_values, dtype=object), np.asarray(time_values), indexing="ij")
    geo, times = geo.ravel(), times.ravel().astype(np.int64)
    n = len(geo)
    if values is None:
        values = np.round(np.arange(n) * 1.37 + issue % 97, 4)
    values = np.broadcast_to(np.asarray(values, dtype=float), (n,)).copy()
    if time_type == "day":
        lag = (pd.to_datetime(str(issue), format="%Y%m%d") - pd.to_datetime(times.astype(str), format="%Y%m%d")).days
    else:
        lag = issue - times  # the tests keep weekly signals inside one year
    return pd.DataFrame({
        "source": source, "signal": signal, "time_type": time_type, "geo_type": geo_type,
        "time_value": times, "geo_value": geo, "issue": issue, "lag": np.asarray(lag, dtype=np.int64),
        "value": values, "stderr": np.nan, "sample_size": np.nan,
        "missing_value": np.where(np.isnan(values), 5, 0), "missing_stderr": 1, "missing_sample_size": 1,
    })


def load(engine, frame):
    with store.locked_transaction(engine) as conn:
        return store.load_rows(conn, frame)


def latest_rows(batches) -> pd.DataFrame:
    """Per key, the row with the greatest issue over every batch loaded."""
    rows = pd.concat(batches, ignore_index=True).sort_values("issue", kind="stable")
    return rows.drop_duplicates(KEY, keep="last").reset_index(drop=True)


def reference_meta(batches) -> pd.DataFrame:
    """The metadata fields (without ``last_update``) in plain pandas over the latest rows."""
    latest = latest_rows(batches)
    groups = latest.groupby(["source", "signal", "time_type", "geo_type"], sort=True)
    out = pd.DataFrame({
        "min_time": groups["time_value"].min(), "max_time": groups["time_value"].max(),
        "num_locations": groups["geo_value"].nunique(),
        "min_value": groups["value"].min(), "max_value": groups["value"].max(),
        "mean_value": groups["value"].mean(), "stdev_value": groups["value"].std(ddof=0),
        "max_issue": groups["issue"].max(), "min_issue": groups["issue"].min(),
        "min_lag": groups["lag"].min(), "max_lag": groups["lag"].max(),
    }).reset_index().rename(columns={"source": "data_source"})
    return out
