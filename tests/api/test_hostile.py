"""Issue 22's API findings, over HTTP against a real server on SQLite and on MariaDB: lists at their documented
limit of 5,000 items, a query the database refuses (an error in every format, never an empty success), range
checks of every parameter of every route, and the ISO range form ``YYYY-MM-DD--YYYY-MM-DD``."""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
import urllib.request

import pandas as pd
import pytest
import sqlalchemy as sa

from delphi_signals.api.params import MAX_LIST_ITEMS
from delphi_signals.epidata import store
from delphi_signals.epidata.schema import create_schema, engine_for

from .conftest import SOURCE, make_rows, start_server
from .test_server import get


def _every_other_day(count: int) -> list[int]:
    """``count`` days two apart (no two merge into a range), 2020-06-01 (the data's first day) the 4,001st."""
    first = pd.Timestamp("2020-06-01") - pd.Timedelta(days=2 * (count - 1000))
    return [int(d.strftime("%Y%m%d")) for d in pd.date_range(first, periods=count, freq="2D")]


def _latest(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.sort_values("issue").groupby(["signal", "geo_type", "time_value", "geo_value"]).tail(1)


def _base_query(**params) -> dict:
    return dict(data_source=SOURCE, signals="sig_a", time_type="day", geo_type="state", time_values="*",
                geo_value="*") | params


def _answer_rows(fmt: str, body: bytes) -> list[tuple]:
    if fmt == "csv":
        records = list(csv.DictReader(io.StringIO(body.decode())))
    else:
        answer = json.loads(body)
        records = answer["epidata"] if fmt == "classic" else answer
    return sorted((r["geo_value"], int(r["time_value"]), int(r["issue"])) for r in records)


@pytest.mark.parametrize("fmt", ["classic", "json", "csv"])
def test_5000_separate_time_values_answer_the_rows_in_every_format(served, fmt):
    base, _, rows = served
    days = _every_other_day(MAX_LIST_ITEMS)
    assert len(set(days)) == MAX_LIST_ITEMS and 20200601 in days
    status, body = get(base, "covidcast/", **_base_query(time_values=",".join(map(str, days)), format=fmt))
    assert status == 200
    state = rows[(rows.signal == "sig_a")]
    expected = _latest(state[state.time_value.isin(days)])
    assert len(expected) > 0
    assert _answer_rows(fmt, body) == sorted(zip(expected.geo_value, expected.time_value, expected.issue))


def test_every_list_parameter_at_its_limit(served):
    base, _, rows = served
    issues = _every_other_day(MAX_LIST_ITEMS)
    geo_values = ["ca"] + [f"{i:05d}" for i in range(MAX_LIST_ITEMS - 1)]
    signals = ["sig_a"] * MAX_LIST_ITEMS
    query = _base_query(signals=",".join(signals), geo_values=",".join(geo_values),
                        issues=",".join(map(str, issues)), format="json")
    query.pop("geo_value")
    data = urllib.parse.urlencode(query).encode()  # over the 64 KiB a query string may hold: POST, as documented
    with urllib.request.urlopen(urllib.request.Request(f"{base}/covidcast/", data=data), timeout=60) as response:
        status, body = response.status, response.read()
    assert status == 200
    ca = rows[(rows.signal == "sig_a") & (rows.geo_value == "ca") & rows.issue.isin(issues)]
    assert len(ca) > 0
    assert _answer_rows("json", body) == sorted(zip(ca.geo_value, ca.time_value, ca.issue))
    for name, items in (("time_values", issues), ("issues", issues), ("geo_values", geo_values),
                        ("signals", signals)):
        over = _base_query(**{name: ",".join(map(str, items + items[:1]))}, format="json")
        status, body = get(base, "covidcast/", **over)
        assert status == 400, name
        message = json.loads(body)["message"]
        assert f"at most {MAX_LIST_ITEMS}" in message and (name.rstrip("s") in message), message


def test_the_iso_range_form(served):
    base, _, rows = served
    status, body = get(base, "covidcast/", **_base_query(time_values="2020-06-02--2020-06-04", format="json"))
    assert status == 200
    expected = _latest(rows[(rows.signal == "sig_a") & rows.time_value.between(20200602, 20200604)])
    assert _answer_rows("json", body) == sorted(zip(expected.geo_value, expected.time_value, expected.issue))
    assert len(expected) == 9


BAD_PARAMETERS = [
    ("covidcast/coverage", dict(data_source=SOURCE, signal="sig_a", date="00010101"), "date"),
    ("covidcast/coverage", dict(data_source=SOURCE, signal="sig_a", date="99991231"), "date"),
    ("covidcast/coverage", dict(data_source=SOURCE, signal="sig_a", days="99999999999999999999"), "days"),
    ("covidcast/coverage", dict(data_source=SOURCE, signal="sig_a", days="0"), "days"),
    ("covidcast/coverage", dict(data_source=SOURCE, signal="sig_a", days="ten"), "days"),
    ("covidcast/backfill", dict(data_source=SOURCE, signal="sig_a", geo_type="state", geo_value="ca",
                                issues="20200601-20200620", anchor_lag="99999999999999999999999"), "anchor_lag"),
    ("covidcast/backfill", dict(data_source=SOURCE, signal="sig_a", geo_type="state", geo_value="ca",
                                issues="20200601-20200620", anchor_lag="-1"), "anchor_lag"),
    ("covidcast/backfill", dict(data_source=SOURCE, signal="sig_a", geo_type="planet", geo_value="ca",
                                issues="20200601-20200620"), "geo_type"),
    ("covidcast/backfill", dict(data_source=SOURCE, signal="sig_a", geo_type="state", geo_value="c a",
                                issues="20200601-20200620"), "geo_value"),
    ("covidcast/backfill", dict(data_source=SOURCE, signal="sig_a", geo_type="state", geo_value="ca",
                                time_type="month", issues="20200601-20200620"), "time_type"),
    ("covidcast/backfill", dict(data_source=SOURCE, signal="sig_a", geo_type="state", geo_value="ca",
                                issues="00010101-99991231"), "issues"),
    ("covidcast/", _base_query(time_values="99991231"), "time_values"),
    ("covidcast/", _base_query(as_of="00010101"), "as_of"),
    ("covidcast/", _base_query(issues="20200101-99991231"), "issues"),
    ("covidcast/", _base_query(lag="99999999999999999999"), "lag"),
    ("covidcast_meta/", dict(time_types="month"), "time_types"),
    ("covidcast_meta/", dict(geo_types="planet"), "geo_types"),
]


@pytest.mark.parametrize("route, params, name", BAD_PARAMETERS)
def test_every_parameter_is_range_checked(served, route, params, name):
    base = served[0]
    status, body = get(base, route, **params)  # classic: HTTP 200, result -1 naming the parameter
    answer = json.loads(body)
    assert status == 200 and answer["result"] == -1 and name in answer["message"], answer
    status, body = get(base, route, **params, format="json")
    assert status == 400 and name in json.loads(body)["message"]


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def broken_server(request, tmp_path_factory):
    """A server whose database loses its ``epimetric_latest`` table after the server has started."""
    from delphi_signals.testing.servers import backend_database

    url, drop = backend_database(request.param, tmp_path_factory, "broken")
    engine = engine_for(url)
    create_schema(engine)
    with store.locked_transaction(engine) as conn:
        store.load_rows(conn, make_rows().head(30))
    proc, base = start_server(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE epimetric_latest"))
    engine.dispose()
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        drop()


@pytest.mark.parametrize("fmt, status", [("classic", 200), ("json", 500), ("csv", 500), ("jsonl", 500)])
def test_a_query_the_database_cannot_run_is_an_error_in_every_format(broken_server, fmt, status):
    got, body = get(broken_server, "covidcast/", **_base_query(time_values="20200601", format=fmt))
    answer = json.loads(body)
    assert got == status and answer["result"] == -1 and answer["epidata"] == []
    assert answer["message"] == "the database could not run this query"



@pytest.mark.parametrize("fmt", ["classic", "json", "csv", "jsonl"])
def test_a_connection_lost_after_the_first_batch(tmp_path, fmt):
    """Once the status line is out, a failure cannot turn into an error status: a classic answer ends with
    ``result -1``; the streamed formats raise, so the server breaks the response off (an incomplete body) rather
    than closing it as if complete. Shown on the response generator itself, over a real SQLite database whose
    connection is invalidated between the first and the second batch."""
    from starlette.requests import Request

    from delphi_signals.api.app import BATCH_ROWS, _OpenRows, _stream
    from delphi_signals.api.params import parse_covidcast
    from delphi_signals.api.sql import covidcast_statement

    engine = engine_for(f"sqlite:///{tmp_path / 'epidata.sqlite'}")
    create_schema(engine)
    days = pd.date_range("2019-01-01", periods=BATCH_ROWS // 48 + 5)  # 48 counties a day: over one batch
    rows = pd.DataFrame([(SOURCE, "sig_a", "day", "county", int(d.strftime("%Y%m%d")), f"{c:05d}", 20300101, 1, 1.0,
                          float("nan"), float("nan"), 0, 5, 5) for d in days for c in range(1001, 1049)],
                        columns=list(store.ROW_COLUMNS))
    with store.locked_transaction(engine) as conn:
        store.load_rows(conn, rows)
    query = parse_covidcast(_base_query(geo_type="county", format=fmt))
    with engine.connect() as conn:
        keys = [conn.execute(sa.text("SELECT signal_key_id FROM signal_dim")).scalar()]
    statement, bound = covidcast_statement(query, keys, 10**7)
    opened = _OpenRows(engine, statement, bound)
    assert len(opened.first) == BATCH_ROWS  # more rows than one batch: a second one follows
    request = Request({"type": "http", "method": "GET", "path": "/epidata/covidcast/", "query_string": b"",
                       "headers": []})
    body = _stream(opened, query, 10**7, request, 0.0)
    head = next(body) + next(body)  # the opening and the first batch are out: the status line is sent
    assert head
    opened.conn.invalidate()  # the database connection is lost
    if fmt == "classic":
        tail = b"".join(body)
        assert tail.endswith(b'],"result":-1,"message":"error while reading rows"}')
    else:
        with pytest.raises(sa.exc.SQLAlchemyError):
            b"".join(body)
    engine.dispose()
