"""Versioned queries on SQLite and MariaDB against a plain pandas reference: latest, as_of, issues, lag, weeks."""

from __future__ import annotations

import datetime as dt

import epiweeks
import numpy as np
import pandas as pd
import pytest

from delphi_signals.cube import check_cube, to_frame
from delphi_signals.epidata import Epidata, store
from delphi_signals.errors import InputError

GEOS = ["ca", "ny", "pa", "tx"]
CODES = ["missing_value", "missing_stderr", "missing_sample_size"]


def _day(i: int) -> int:
    d = dt.date(2020, 3, 1) + dt.timedelta(days=i)
    return d.year * 10_000 + d.month * 100 + d.day


def _week(i: int) -> int:
    w = epiweeks.Week(2020, 50) + i
    return w.year * 100 + w.week


def history(seed: int, time_type: str = "day") -> pd.DataFrame:
    """Every stored row of a random revision history: per key 1 to 4 issues, some of them deletions."""
    rng = np.random.default_rng(seed)
    step = _day if time_type == "day" else _week
    out = []
    for geo in GEOS:
        for t in range(8):
            lags = np.sort(rng.choice(np.arange(0, 7), size=rng.integers(1, 5), replace=False))
            for lag in lags:
                deleted = rng.random() < 0.15
                value = np.nan if deleted else float(rng.integers(0, 1000)) / 8
                out.append({"geo_value": geo, "time_value": step(t), "issue": step(t + int(lag)), "lag": int(lag),
                            "value": value, "stderr": np.nan if deleted else value / 10, "sample_size": np.nan,
                            "missing_value": 4 if deleted else 0, "missing_stderr": 4 if deleted else 0,
                            "missing_sample_size": 4 if deleted else 1})
    frame = pd.DataFrame(out)
    return frame.assign(source="demo", signal="cases", geo_type="state", time_type=time_type)


def load_in_batches(engine, frame: pd.DataFrame, seed: int) -> None:
    """Load in shuffled batches of whole issues (so older issues often arrive after newer ones)."""
    rng = np.random.default_rng(seed + 100)
    issues = frame["issue"].unique()
    rng.shuffle(issues)
    for chunk in np.array_split(issues, 3):
        with store.locked_transaction(engine) as conn:
            store.load_rows(conn, frame[frame["issue"].isin(chunk)])


def _times(ints, time_type):
    if time_type == "day":
        return pd.to_datetime(pd.Series(ints).astype(str), format="%Y%m%d")
    return pd.Series([pd.Timestamp(epiweeks.Week(i // 100, i % 100).startdate()) for i in ints])


def reference(rows: pd.DataFrame, time_type: str, *, drop_deleted: bool) -> pd.DataFrame:
    """The tidy frame a cube of these stored rows should give, computed from the rows alone."""
    if drop_deleted:
        rows = rows[~((rows["missing_value"] == 4) & rows["value"].isna())]
    out = pd.DataFrame({"geo_value": rows["geo_value"].to_numpy(),
                        "time_value": _times(rows["time_value"].to_numpy(), time_type).to_numpy(),
                        "issue": _times(rows["issue"].to_numpy(), time_type).to_numpy(),
                        "lag": rows["lag"].to_numpy(dtype=np.int64)})
    for name in ["value", "stderr", "sample_size", *CODES]:
        out[name] = rows[name].to_numpy()
    return out.sort_values(["time_value", "geo_value", "issue"]).reset_index(drop=True)


def latest_as_of(rows: pd.DataFrame, as_of: int | None) -> pd.DataFrame:
    known = rows if as_of is None else rows[rows["issue"] <= as_of]
    return known.sort_values("issue").groupby(["geo_value", "time_value"]).tail(1)


def got(cube) -> pd.DataFrame:
    check_cube(cube)
    frame = to_frame(cube)
    columns = ["geo_value", "time_value", "issue", "lag", "value", "stderr", "sample_size", *CODES]
    return frame[columns].sort_values(["time_value", "geo_value", "issue"]).reset_index(drop=True)


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)


@pytest.fixture
def db(engine):
    return Epidata(engine)


@pytest.mark.parametrize("seed", [1, 2])
def test_latest_and_as_of_match_the_pandas_reference(db, seed):
    rows = history(seed)
    load_in_batches(db.engine, rows, seed)
    assert_same(got(db.fetch("demo", "cases", "state")), reference(latest_as_of(rows, None), "day", drop_deleted=True))
    for as_of in sorted(rows["issue"].unique())[::3]:
        expected = reference(latest_as_of(rows, as_of), "day", drop_deleted=True)
        cube = db.fetch("demo", "cases", "state", as_of=as_of)
        assert_same(got(cube), expected)
        assert cube.attrs["as_of"] == f"{as_of // 10000}-{as_of // 100 % 100:02d}-{as_of % 100:02d}"
    # the same as_of in every accepted spelling
    as_of = int(sorted(rows["issue"].unique())[5])
    spellings = [as_of, str(as_of), dt.date(as_of // 10000, as_of // 100 % 100, as_of % 100),
                 f"{as_of // 10000}-{as_of // 100 % 100:02d}-{as_of % 100:02d}"]
    frames = [got(db.fetch("demo", "cases", "state", as_of=s)) for s in spellings]
    for frame in frames[1:]:
        assert_same(frame, frames[0])


def test_issues_list_range_and_lag_match_the_pandas_reference(db):
    rows = history(3)
    load_in_batches(db.engine, rows, 3)
    issues = sorted(rows["issue"].unique())
    picked = [issues[1], issues[4], issues[6]]
    cube = db.fetch("demo", "cases", "state", issues=picked)
    assert cube["value"].dims == ("geo", "time", "issue") and cube.sizes["issue"] == 3
    assert_same(got(cube), reference(rows[rows["issue"].isin(picked)], "day", drop_deleted=False))
    first, last = issues[2], issues[5]
    cube = db.fetch("demo", "cases", "state", issues=(first, last))
    assert_same(got(cube), reference(rows[rows["issue"].between(first, last)], "day", drop_deleted=False))
    one = db.fetch("demo", "cases", "state", issues=[issues[3]])
    assert "issue" not in one.dims
    assert_same(got(one), reference(rows[rows["issue"] == issues[3]], "day", drop_deleted=False))
    for lag in (0, 2, 5):
        cube = db.fetch("demo", "cases", "state", lag=lag)
        assert "issue" not in cube.dims
        assert_same(got(cube), reference(rows[rows["lag"] == lag], "day", drop_deleted=False))
    cube = db.fetch("demo", "cases", "state", lag=1, issues=(first, last))
    expected = rows[(rows["lag"] == 1) & rows["issue"].between(first, last)]
    assert_same(got(cube), reference(expected, "day", drop_deleted=False))


def test_window_and_geo_filter(db):
    rows = history(4)
    load_in_batches(db.engine, rows, 4)
    cube = db.fetch("demo", "cases", "state", geo_values=["NY", "tx"], start="2020-03-03",
                    end=dt.date(2020, 3, 6))
    latest = latest_as_of(rows, None)
    expected = latest[latest["geo_value"].isin(["ny", "tx"]) & latest["time_value"].between(20200303, 20200306)]
    assert_same(got(cube), reference(expected, "day", drop_deleted=True))
    assert cube.indexes["time"][0] == pd.Timestamp("2020-03-03") and cube.indexes["time"][-1] == pd.Timestamp("2020-03-06")
    assert cube.indexes["geo"].tolist() == ["ny", "tx"]


def test_weekly_as_of_is_in_epiweeks(db):
    rows = history(5, "week")
    load_in_batches(db.engine, rows, 5)
    assert_same(got(db.fetch("demo", "cases", "state", time_type="week")),
                reference(latest_as_of(rows, None), "week", drop_deleted=True))
    for issue in sorted(rows["issue"].unique())[::2]:
        week = epiweeks.Week(issue // 100, issue % 100)
        expected = reference(latest_as_of(rows, issue), "week", drop_deleted=True)
        # an epiweek int, and any day of that week (a date or a YYYYMMDD int), mean the same as_of
        for spelling in (int(issue), week.startdate() + dt.timedelta(days=3),
                         int(week.enddate().strftime("%Y%m%d"))):
            assert_same(got(db.fetch("demo", "cases", "state", time_type="week", as_of=spelling)), expected)
    cube = db.fetch("demo", "cases", "state", time_type="week", lag=2)
    assert_same(got(cube), reference(rows[rows["lag"] == 2], "week", drop_deleted=False))
    assert (cube.indexes["time"].day_of_week == 6).all()


def test_a_deleted_latest_row_is_an_empty_cell(db):
    rows = history(6).iloc[:0]
    keep = pd.DataFrame([
        {"geo_value": "ca", "time_value": 20200301, "issue": 20200302, "lag": 1, "value": 5.0, "missing_value": 0},
        {"geo_value": "ca", "time_value": 20200301, "issue": 20200304, "lag": 3, "value": np.nan, "missing_value": 4},
        {"geo_value": "pa", "time_value": 20200301, "issue": 20200302, "lag": 1, "value": 7.0, "missing_value": 0},
    ]).assign(stderr=np.nan, sample_size=np.nan, missing_stderr=1, missing_sample_size=1,
              source="demo", signal="cases", geo_type="state", time_type="day")
    with store.locked_transaction(db.engine) as conn:
        store.load_rows(conn, pd.concat([rows, keep]))
    now = db.fetch("demo", "cases", "state")
    assert to_frame(now)["geo_value"].tolist() == ["pa"]
    before = db.fetch("demo", "cases", "state", as_of=20200303)
    assert to_frame(before)[["geo_value", "value"]].values.tolist() == [["ca", 5.0], ["pa", 7.0]]
    history_cube = db.fetch("demo", "cases", "state", issues=(20200301, 20200310))
    deletions = to_frame(history_cube).query("missing_value == 4")
    assert deletions[["geo_value", "lag"]].values.tolist() == [["ca", 3]]  # the deletion itself is served


@pytest.mark.parametrize("kwargs, message", [
    ({"as_of": 20200305, "issues": [20200305]}, "as_of cannot be combined"),
    ({"as_of": 20200305, "lag": 1}, "as_of cannot be combined"),
    ({"as_of": 20200231}, "not a calendar day"),
    ({"start": "2020-02-30"}, "not a calendar day"),
    ({"start": 20200305, "end": 20200301}, "is after end"),
    ({"issues": (20200305, 20200301)}, "inverted"),
    ({"issues": (1, 2, 3)}, "is a \\(first, last\\) tuple"),
    ({"as_of": 202010}, "not a YYYYMMDD value"),
    ({"lag": "1"}, "lag must be an int"),
    ({"time_type": "month"}, "time_type must be one of"),
])
def test_bad_arguments_are_input_errors(db, kwargs, message):
    with store.locked_transaction(db.engine) as conn:
        store.load_rows(conn, history(7).iloc[:5])
    with pytest.raises(InputError, match=message):
        db.fetch("demo", "cases", "state", **kwargs)


def test_nothing_stored_is_an_input_error_and_names_never_reach_sql(db):
    with store.locked_transaction(db.engine) as conn:
        store.load_rows(conn, history(8).iloc[:5])
    with pytest.raises(InputError, match="no stored rows match demo/deaths/state/day"):
        db.fetch("demo", "deaths", "state")
    with pytest.raises(InputError, match="no stored rows"):
        db.fetch("demo' OR '1'='1", "cases' --", "state")
    with pytest.raises(InputError, match="no stored rows"):
        db.fetch("demo", "cases", "state", geo_values=["ca' OR 1=1 --"])
    assert len(to_frame(db.fetch("demo", "cases", "state"))) > 0


def test_epidata_on_an_empty_database_creates_the_schema(db_url):
    db = Epidata(db_url)
    try:
        with pytest.raises(InputError, match="no stored rows"):
            db.fetch("demo", "cases", "state")
        with store.locked_transaction(db.engine) as conn:
            store.load_rows(conn, history(9).iloc[:3])
        assert len(to_frame(Epidata(db_url).fetch("demo", "cases", "state"))) > 0
    finally:
        db.engine.dispose()


def test_values_come_back_exactly(db):
    values = [0.1, 1 / 3, 5e307, 1e-300, -2.5e-9, 123456789.12345679, 2.0 ** 0.5, 0.0]
    rows = pd.DataFrame({"geo_value": GEOS * 2, "time_value": 20200301, "issue": 20200302, "lag": 1})[:len(values)]
    rows = rows.assign(time_value=[20200301 + i // 4 for i in range(len(values))], value=values,
                       stderr=[np.nan] * 4 + values[4:], sample_size=np.nan, missing_value=0,
                       missing_stderr=[5] * 4 + [0] * 4, missing_sample_size=1, source="demo", signal="cases",
                       geo_type="state", time_type="day")
    with store.locked_transaction(db.engine) as conn:
        store.load_rows(conn, rows)
    for kwargs in ({}, {"as_of": 20200302}, {"issues": [20200302]}):
        frame = got(db.fetch("demo", "cases", "state", **kwargs))
        assert frame["value"].tolist() == [values[i] for i in (0, 1, 2, 3, 4, 5, 6, 7)]  # exact, in (time, geo) order
        assert np.isnan(frame["stderr"][:4]).all() and frame["stderr"][4:].tolist() == values[4:]
        assert frame["missing_stderr"].tolist() == [5] * 4 + [0] * 4
