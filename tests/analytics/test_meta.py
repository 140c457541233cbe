"""The metadata cache on SQLite and MariaDB against a plain-pandas computation over the same rows."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import sqlalchemy as sa

from delphi_signals.analytics.meta import FIELDS, read_cache
from delphi_signals.epidata import Epidata, delete_batch
from metarows import batch, latest_rows, load, reference_meta

STATES = ["ca", "ny", "pa", "tx"]
COUNTIES = ["01001", "06037", "42003"]
DAYS = [20200601, 20200602, 20200603, 20200605]


def mixed_batches():
    """Daily and weekly signals, several issues per key, NULL values, an all-NULL group, a deletion row."""
    first = [
        batch("src-a", "cases", "state", STATES, DAYS, 20200606),
        batch("src-a", "cases", "county", COUNTIES, DAYS[:2], 20200604),
        batch("src-a", "deaths", "state", STATES, DAYS[:3], 20200605,
              values=np.where(np.arange(12) % 5 == 0, np.nan, np.arange(12) * 2.5 - 4)),
        batch("src-a", "deaths", "hrr", ["1", "2"], DAYS[:2], 20200605, values=np.nan),
        batch("src-b", "visits", "state", STATES[:3], [202021, 202022, 202023], 202024, time_type="week"),
        batch("src-b", "visits", "nation", ["us"], [202022], 202023, time_type="week", values=[7.25]),
    ]
    revised = batch("src-a", "cases", "state", STATES[:2], DAYS[:2], 20200609, values=[100.0, -3.5, 0.125, 42.0])
    deletion = batch("src-a", "cases", "county", COUNTIES[:1], DAYS[:1], 20200610, values=np.nan)
    deletion[["missing_value", "missing_stderr", "missing_sample_size"]] = 4
    late_old = batch("src-a", "cases", "state", STATES[2:], DAYS[:1], 20200601, values=[-99.0, -98.0])
    weekly_revision = batch("src-b", "visits", "state", STATES[:1], [202023], 202026, time_type="week", values=[0.5])
    return first + [revised, deletion, late_old, weekly_revision]


def check_against_reference(meta: pd.DataFrame, batches, engine) -> None:
    expected = reference_meta(batches)
    assert list(meta.columns) == list(FIELDS)
    got = meta.drop(columns="last_update").reset_index(drop=True)
    keys = ["data_source", "signal", "time_type", "geo_type"]
    assert got[keys].values.tolist() == expected[keys].values.tolist()
    for name in ("min_time", "max_time", "num_locations", "max_issue", "min_issue", "min_lag", "max_lag"):
        assert got[name].tolist() == expected[name].astype(int).tolist(), name
    for name in ("min_value", "max_value"):
        np.testing.assert_array_equal(got[name].to_numpy(), expected[name].to_numpy(), err_msg=name)
    for name in ("mean_value", "stdev_value"):  # rounded to 7 decimals; summation order may differ in the last bit
        np.testing.assert_allclose(got[name].to_numpy(), expected[name].to_numpy(), rtol=0, atol=1.01e-7,
                                   err_msg=name)
        assert np.isnan(got[name]).tolist() == np.isnan(expected[name]).tolist()
    with engine.connect() as conn:
        stamps = pd.read_sql(sa.text(
            "SELECT s.source AS data_source, s.signal, t.time_type, g.geo_type, t.value_updated_timestamp AS ts"
            " FROM epimetric_latest t JOIN signal_dim s ON s.signal_key_id = t.signal_key_id"
            " JOIN geo_dim g ON g.geo_key_id = t.geo_key_id"), conn)
    last = stamps.groupby(keys, sort=True)["ts"].max()
    assert meta["last_update"].tolist() == last.astype(int).tolist()


def test_full_metadata_equals_pandas(db_url):
    db = Epidata(db_url)
    before = int(time.time())
    batches = mixed_batches()
    for frame in batches:
        load(db.engine, frame)
    result = db.update_meta(full=True)
    assert result.written and result.mode == "full" and result.row_count == 6
    meta = db.metadata()
    check_against_reference(meta, batches, db.engine)
    assert (meta["last_update"] >= before).all() and (meta["last_update"] <= time.time()).all()
    weekly = meta[meta["time_type"] == "week"].set_index("geo_type")
    assert weekly.loc["state", ["min_time", "max_time", "max_issue", "min_issue"]].tolist() == \
        [202021, 202023, 202026, 202024]
    db.engine.dispose()


def test_population_stdev_and_null_rules(db_url):
    db = Epidata(db_url)
    load(db.engine, batch("demo", "x", "state", ["ca", "ny", "pa"], [20200301], 20200303,
                          values=[10.0, 20.0, np.nan]))
    load(db.engine, batch("demo", "x", "county", ["01001", "01003"], [20200301, 20200302], 20200304,
                          values=np.nan))
    db.update_meta()
    meta = db.metadata().set_index("geo_type")
    state, county = meta.loc["state"], meta.loc["county"]
    # values 10 and 20: population stdev 5 (sample stdev would be 7.07); the NULL row counts as a location
    assert (state["stdev_value"], state["mean_value"], state["num_locations"]) == (5.0, 15.0, 3)
    assert (state["min_value"], state["max_value"], state["min_lag"], state["max_lag"]) == (10.0, 20.0, 2, 2)
    # an all-NULL group: every value aggregate is null, the rest still counts
    assert county[["min_value", "max_value", "mean_value", "stdev_value"]].isna().all()
    assert (county["num_locations"], county["min_time"], county["max_time"]) == (2, 20200301, 20200302)
    assert (county["min_lag"], county["max_lag"]) == (2, 3)
    assert [e["mean_value"] for e in json.loads(cache_text(db.engine))] == [None, 15.0]  # JSON null
    db.engine.dispose()


def cache_text(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT epidata FROM covidcast_meta_cache")).scalar()


def test_incremental_equals_full_after_imports(db_url):
    db = Epidata(db_url)
    batches = mixed_batches()
    for frame in batches[:6]:
        load(db.engine, frame)
    assert db.update_meta().mode == "full"  # a cache never computed is computed in full
    assert db.update_meta().mode == "unchanged"
    steps = [batches[6:8], batches[8:10], [batch("src-c", "new", "state", STATES, DAYS, 20200611)]]
    for step in steps:
        for frame in step:
            load(db.engine, frame)
        result = db.update_meta()
        touched = sorted({(s, g) for frame in step for s, g in zip(frame["source"], frame["signal"])})
        assert result.mode == "incremental" and result.written and result.pairs == touched
        incremental = cache_text(db.engine)
        assert db.update_meta(full=True).mode == "full"
        assert cache_text(db.engine) == incremental
    batches += steps[-1]
    gone = latest_rows([batches[1]]).iloc[[0]]  # physically delete one county row of src-a/cases
    assert delete_batch(db.engine, gone) == 1
    assert db.update_meta().pairs == [("src-a", "cases")]
    incremental = cache_text(db.engine)
    db.update_meta(full=True)
    assert cache_text(db.engine) == incremental
    remaining = [b.merge(gone[["source", "signal", "geo_type", "geo_value", "time_value", "issue"]], how="left",
                         indicator=True).query("_merge == 'left_only'").drop(columns="_merge") for b in batches]
    check_against_reference(db.metadata(), remaining, db.engine)
    entry = json.loads(incremental)[0]
    assert list(entry) == list(FIELDS)  # deterministic key order
    db.engine.dispose()


def test_empty_result_never_overwrites(db_url):
    db = Epidata(db_url)
    result = db.update_meta(full=True)
    assert not result.written and read_cache(db.engine) == (0, [])
    rows = batch("demo", "x", "state", ["ca"], [20200301], 20200302, values=[1.0])
    load(db.engine, rows)
    assert db.update_meta().written
    good = cache_text(db.engine)
    delete_batch(db.engine, rows)
    result = db.update_meta()
    assert result.mode == "incremental" and not result.written
    assert cache_text(db.engine) == good
    assert not db.update_meta(full=True).written and cache_text(db.engine) == good
    assert db.metadata()["num_locations"].tolist() == [1]
    db.engine.dispose()
