"""The insert path on SQLite and MariaDB: version semantics, the latest invariant, locks, markers, bad rows."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delphi_signals.epidata import schema, store
from delphi_signals.errors import DatabaseError, InputError
from storecheck import check_invariant, load, rows, table

def test_new_key_goes_to_full_and_latest(engine):
    assert load(engine, rows(["ca", "pa"], 20200302)) == 2
    full, latest = check_invariant(engine)
    assert full[["geo_value", "issue", "value"]].values.tolist() == [["ca", 20200302, 1.0], ["pa", 20200302, 2.0]]
    assert len(latest) == 2


def test_newer_issue_replaces_latest_and_keeps_history(engine):
    load(engine, rows(["ca"], 20200302, values=[1.0]))
    load(engine, rows(["ca"], 20200305, values=[7.0], lag=4))
    full, latest = check_invariant(engine)
    assert full[["issue", "value", "lag"]].values.tolist() == [[20200302, 1.0, 1], [20200305, 7.0, 4]]
    assert latest[["issue", "value", "lag"]].values.tolist() == [[20200305, 7.0, 4]]


def test_older_issue_arriving_late_never_overwrites_latest(engine):
    load(engine, rows(["ca"], 20200305, values=[7.0]))
    load(engine, rows(["ca"], 20200302, values=[1.0]))
    full, latest = check_invariant(engine)
    assert full["issue"].tolist() == [20200302, 20200305]
    assert latest[["issue", "value"]].values.tolist() == [[20200305, 7.0]]


def test_same_issue_again_overwrites_in_place(engine):
    load(engine, rows(["ca", "pa"], 20200302, values=[1.0, 2.0]))
    load(engine, rows(["ca"], 20200302, values=[9.5]))
    full, latest = check_invariant(engine)
    assert full[["geo_value", "issue", "value"]].values.tolist() == [["ca", 20200302, 9.5], ["pa", 20200302, 2.0]]
    assert latest["value"].tolist() == [9.5, 2.0]


def test_same_old_issue_again_leaves_latest_on_the_newer_issue(engine):
    load(engine, rows(["ca"], 20200302, values=[1.0]))
    load(engine, rows(["ca"], 20200305, values=[5.0]))
    load(engine, rows(["ca"], 20200302, values=[1.5]))
    full, latest = check_invariant(engine)
    assert full["value"].tolist() == [1.5, 5.0]
    assert latest[["issue", "value"]].values.tolist() == [[20200305, 5.0]]


@pytest.mark.parametrize("issue_order", [[20200303, 20200309, 20200305], [20200309, 20200303, 20200305]])
def test_several_issues_of_one_key_in_one_batch_latest_is_the_greatest(engine, issue_order):
    # upstream bug #1427: whichever row came last won; here the greatest issue wins whatever the order
    batch = pd.concat([rows(["ca"], i, values=[float(i % 100)]) for i in issue_order], ignore_index=True)
    load(engine, batch)
    full, latest = check_invariant(engine)
    assert full["issue"].tolist() == [20200303, 20200305, 20200309]
    assert latest[["issue", "value"]].values.tolist() == [[20200309, 9.0]]


def test_batch_with_issues_older_than_latest_leaves_latest(engine):
    load(engine, rows(["ca"], 20200310, values=[10.0]))
    load(engine, pd.concat([rows(["ca"], 20200303, values=[3.0]), rows(["ca"], 20200304, values=[4.0])]))
    full, latest = check_invariant(engine)
    assert full["issue"].tolist() == [20200303, 20200304, 20200310]
    assert latest["issue"].tolist() == [20200310]


def test_deletion_rows_are_stored_as_rows_and_become_latest(engine):
    load(engine, rows(["ca", "pa"], 20200302))
    load(engine, rows(["pa"], 20200303, deleted=True))
    full, latest = check_invariant(engine)
    deleted = latest[latest.geo_value == "pa"].iloc[0]
    assert deleted["issue"] == 20200303 and np.isnan(deleted["value"]) and np.isnan(deleted["sample_size"])
    assert deleted[["missing_value", "missing_stderr", "missing_sample_size"]].tolist() == [4, 4, 4]
    assert full[full.geo_value == "pa"]["issue"].tolist() == [20200302, 20200303]


def test_epimetric_ids_are_unique_and_new_issue_gets_a_new_id(engine):
    load(engine, rows(["ca", "pa"], 20200302))
    before = table(engine, "epimetric_latest").set_index("geo_value")["epimetric_id"]
    load(engine, rows(["ca"], 20200303))
    full, latest = check_invariant(engine)
    assert full["epimetric_id"].is_unique
    after = latest.set_index("geo_value")["epimetric_id"]
    assert after["pa"] == before["pa"] and after["ca"] not in set(before)


def test_floats_round_trip_exactly(engine, db_url):
    values = [0.1, 1 / 3, -2.5e-9, 123456789.123456789, 1e-300, 5e307, 0.0, -0.0, 12.3456789, 2.0 ** 0.5]
    frame = rows([f"g{i}" for i in range(len(values))], 20200302, values=values, geo_type="hrr")
    frame["sample_size"] = np.array(values) * 3
    methods = ("load_data", "multirow") if db_url.startswith("mysql") else (None,)
    for offset, method in enumerate(methods):
        load(engine, frame.assign(issue=20200302 + offset), method=method)
    full, _ = check_invariant(engine)
    for offset in range(len(methods)):
        got = full[full.issue == 20200302 + offset].set_index("geo_value").loc[frame.geo_value]
        assert got["value"].tolist() == values  # exact equality, not approximate
        assert got["stderr"].tolist() == (np.array(values) / 10).tolist()
        assert got["sample_size"].tolist() == (np.array(values) * 3).tolist()


def test_missing_codes_left_empty_are_inferred(engine):
    frame = rows(["ca", "pa"], 20200302, values=[1.0, np.nan])
    frame[["missing_value", "missing_stderr", "missing_sample_size"]] = np.nan
    load(engine, frame)
    full, _ = check_invariant(engine)
    assert full["missing_value"].tolist() == [0, 5]  # present -> NOT_MISSING, absent -> OTHER


def test_repeated_key_and_issue_in_a_batch_is_rejected_and_nothing_written(engine):
    frame = pd.concat([rows(["ca", "pa"], 20200302), rows(["pa"], 20200302)], ignore_index=True)
    with pytest.raises(InputError, match="repeated .* 'pa', 20200301, 20200302"):
        load(engine, frame, marker="dup")
    assert table(engine, "epimetric_full").empty
    assert not store.marker_exists(engine, "dup")


@pytest.mark.parametrize("column, bad, message", [
    ("signal", "x" * 65, "signal must be text of 1 to 64"),
    ("geo_value", "", "geo_value must be text of 1 to 12"),
    ("time_type", "month", "time_type must be 'day' or 'week'"),
    ("issue", 2.5, "issue must be 32-bit integers"),
    ("value", np.inf, "value holds infinite values"),
    ("issue", 20200229, "an issue before its time value .* \\(20200301, 20200229\\)"),
])
def test_bad_rows_are_rejected_with_the_field(engine, column, bad, message):
    frame = rows(["ca"], 20200302)
    frame[column] = bad
    with pytest.raises(InputError, match=message) as info:
        load(engine, frame)
    assert info.value.field == column
    assert table(engine, "epimetric_full").empty


def test_names_that_look_like_sql_are_stored_verbatim(engine):
    source, signal = "x'); DROP TABLE signal_dim; --", "../../etc/passwd\"`;"
    load(engine, rows(["ca"], 20200302, source=source, signal=signal))
    load(engine, rows(["ca"], 20200303, source=source, signal=signal))
    full, latest = check_invariant(engine)
    assert full["source"].unique().tolist() == [source] and full["signal"].unique().tolist() == [signal]
    assert len(full) == 2 and latest["issue"].tolist() == [20200303]


def test_marker_commits_with_the_rows_and_only_then(engine):
    with pytest.raises(RuntimeError):
        with store.locked_transaction(engine) as conn:
            store.load_rows(conn, rows(["ca"], 20200302), marker="demo/20200302")
            raise RuntimeError("crash after the load, before the commit")
    assert not store.marker_exists(engine, "demo/20200302")
    assert table(engine, "epimetric_full").empty
    assert load(engine, rows(["ca"], 20200302), marker="demo/20200302") == 1
    assert store.marker_exists(engine, "demo/20200302")
    with pytest.raises(DatabaseError, match="exists already"):
        load(engine, rows(["ca"], 20200303), marker="demo/20200302")
    assert table(engine, "epimetric_full")["issue"].tolist() == [20200302]


def test_empty_batch_writes_only_the_marker(engine):
    assert load(engine, rows([], 20200302), marker="empty") == 0
    assert store.marker_exists(engine, "empty") and table(engine, "epimetric_full").empty


def test_second_loader_waits_for_the_lock_and_times_out(engine):
    holding, release = threading.Event(), threading.Event()

    def hold():
        with store.locked_transaction(engine) as conn:
            store.load_rows(conn, rows(["ca"], 20200302))
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(30)
        with pytest.raises(DatabaseError, match="not granted within 1 s"):
            with store.locked_transaction(engine, timeout=1) as conn:
                store.load_rows(conn, rows(["pa"], 20200302))
    finally:
        release.set()
        thread.join()
    assert table(engine, "epimetric_full")["geo_value"].tolist() == ["ca"]


def test_concurrent_loaders_give_the_same_result_as_serial(engine):
    batches = [rows(["ca", "pa", "ny"], 20200302 + i, values=np.arange(3.0) + i, lag=1 + i) for i in range(4)]
    threads = [threading.Thread(target=load, args=(engine, batch)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    full, latest = check_invariant(engine)
    assert len(full) == 12
    assert latest["issue"].tolist() == [20200305] * 3 and latest["value"].tolist() == [3.0, 5.0, 4.0]  # ca, ny, pa


def test_readers_see_the_committed_state_while_a_load_is_open(engine):
    load(engine, rows(["ca"], 20200302))
    with store.locked_transaction(engine) as conn:
        store.load_rows(conn, rows(["pa"], 20200302))
        assert table(engine, "epimetric_full")["geo_value"].tolist() == ["ca"]  # a read on another connection
    assert table(engine, "epimetric_full")["geo_value"].tolist() == ["ca", "pa"]


# -- property: any sequence of batches against a plain pandas model -----------------------------------------

GEOS, TIMES, ISSUES = ["ca", "pa", "ny"], [20200301, 20200302], list(range(20200303, 20200309))
_row = st.tuples(st.sampled_from(GEOS), st.sampled_from(TIMES), st.sampled_from(ISSUES),
                 st.one_of(st.none(), st.integers(-5, 5).map(float)))
_batch = st.lists(_row, min_size=1, max_size=8, unique_by=lambda r: r[:3])


def _frame(batch):
    out = [rows([g], i, time_value=t, values=[np.nan if v is None else v], deleted=v is None) for g, t, i, v in batch]
    return pd.concat(out, ignore_index=True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(_batch, min_size=1, max_size=5))
def test_any_sequence_of_batches_matches_a_pandas_model(engine, batches):
    with engine.begin() as conn:
        for name in ("epimetric_full", "epimetric_latest"):
            conn.execute(sa.text(f"DELETE FROM {name}"))
    model = {}  # (geo, time, issue) -> value: the last load of a (key, issue) wins
    for batch in batches:
        load(engine, _frame(batch))
        for g, t, i, v in batch:
            model[(g, t, i)] = np.nan if v is None else v
        full, latest = check_invariant(engine)
        assert sorted(zip(full.geo_value, full.time_value, full.issue)) == sorted(model)
        got = dict(zip(zip(full.geo_value, full.time_value, full.issue), full.value))
        assert all(got[k] == v or (np.isnan(got[k]) and np.isnan(v)) for k, v in model.items())
        expected_latest = {}
        for (g, t, i), v in sorted(model.items()):
            expected_latest[(g, t)] = i
        assert dict(zip(zip(latest.geo_value, latest.time_value), latest.issue)) == expected_latest


def test_a_server_refusing_load_data_gets_multirow_inserts(db_url, engine):
    # MariaDB: a client without local_infile; SQLite: its one path. Either way the rows arrive whole.
    extra = {"connect_args": {"local_infile": False}} if db_url.startswith("mysql") else {}
    refusing = schema.engine_for(db_url, **extra)
    try:
        with store.locked_transaction(refusing) as conn:
            assert store.load_rows(conn, rows(["ca", "pa"], 20200302, values=[0.1, 1 / 3]), method="load_data") == 2
    finally:
        refusing.dispose()
    full, _ = check_invariant(engine)
    assert full["value"].tolist() == [0.1, 1 / 3]
