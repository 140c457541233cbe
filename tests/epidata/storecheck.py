"""Helpers of the insert-path tests: build row batches, read fact tables back by name, check the invariant."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from delphi_signals.epidata import store

KEY = ["source", "signal", "geo_type", "geo_value", "time_type", "time_value"]
STORED = KEY + ["issue", "lag", "value", "stderr", "sample_size", "missing_value", "missing_stderr",
                "missing_sample_size"]


def rows(geo_values, issue, *, time_value=20200301, values=None, signal="cases", source="demo", time_type="day",
         geo_type="state", lag=None, deleted=False):
    """A batch: one row per geo value (``issue`` and ``time_value`` scalars or one per row)."""
    n = len(geo_values)
    values = np.arange(1.0, n + 1) if values is None else np.asarray(values, dtype=float)
    frame = pd.DataFrame({
        "source": source, "signal": signal, "time_type": time_type, "geo_type": geo_type,
        "time_value": np.broadcast_to(time_value, n), "geo_value": list(geo_values),
        "issue": np.broadcast_to(issue, n), "value": values, "stderr": values / 10, "sample_size": 100.0,
        "missing_value": 0, "missing_stderr": 0, "missing_sample_size": 0,
    })
    frame["lag"] = 1 if lag is None else lag
    if deleted:
        frame[["value", "stderr", "sample_size"]] = np.nan
        frame[["missing_value", "missing_stderr", "missing_sample_size"]] = 4
    return frame


def load(engine, frame, **kwargs):
    with store.locked_transaction(engine) as conn:
        return store.load_rows(conn, frame, **kwargs)


def table(engine, name) -> pd.DataFrame:
    """A fact table with its names joined back, sorted by key and issue."""
    query = (f"SELECT s.source, s.signal, g.geo_type, g.geo_value, t.time_type, t.time_value, t.issue, t.lag, "
             f"t.value, t.stderr, t.sample_size, t.missing_value, t.missing_stderr, t.missing_sample_size, "
             f"t.epimetric_id, t.value_updated_timestamp FROM {name} t "
             f"JOIN signal_dim s ON s.signal_key_id = t.signal_key_id JOIN geo_dim g ON g.geo_key_id = t.geo_key_id")
    with engine.connect() as conn:
        frame = pd.read_sql(sa.text(query), conn)
    frame[["value", "stderr", "sample_size"]] = frame[["value", "stderr", "sample_size"]].astype(float)
    return frame.sort_values(KEY + ["issue"]).reset_index(drop=True)


def check_invariant(engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``latest == argmax(issue) over full``, ids included; return (full, latest)."""
    full, latest = table(engine, "epimetric_full"), table(engine, "epimetric_latest")
    expected = full.sort_values("issue").groupby(KEY, sort=False).tail(1).sort_values(KEY).reset_index(drop=True)
    pd.testing.assert_frame_equal(latest.drop(columns="value_updated_timestamp"),
                                  expected.drop(columns="value_updated_timestamp"), check_dtype=False)
    assert not full.duplicated(KEY + ["issue"]).any()
    assert (full["value_updated_timestamp"] > 1_600_000_000).all()
    return full, latest
