"""Sir Complains-a-lot on SQLite and MariaDB: fresh, stale, gapped, retired and weekly signals; Slack delivery."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from delphi_signals.analytics.staleness import (Complaint, check_all, check_config, load_config, post_to_slack,
                                                slack_messages)
from delphi_signals.epidata import Epidata
from delphi_signals.errors import DelphiSignalsError, InputError
from metarows import batch, load
from slackserver import recording_server

RUN = dt.date(2020, 6, 10)


def days_before(*offsets):
    return [int((RUN - dt.timedelta(days=k)).strftime("%Y%m%d")) for k in offsets]


def config(**sources):
    return check_config({"sources": sources})


@pytest.fixture
def engine(db_url):
    db = Epidata(db_url)
    yield db.engine
    db.engine.dispose()


def test_fresh_signal_has_no_complaint(engine):
    load(engine, batch("src", "cases", "state", ["ca", "ny"], days_before(1, 2, 3), 20200610))
    report = check_all(engine, config(src={"max_age": 2}), RUN)
    assert report["complaints"] == []
    assert [(c["geo_type"], c["age_days"], c["gap"]) for c in report["checked"]] == [("state", 1, 0)]
    assert report["text"] == "Sir Complains-a-lot: no complaints.\n"


def test_stale_signal_and_grace(engine):
    load(engine, batch("src", "cases", "state", ["ca"], days_before(5, 6), 20200606))
    load(engine, batch("src", "cases", "county", ["01001"], days_before(7), 20200606))
    load(engine, batch("src", "deaths", "state", ["ca"], days_before(5), 20200606))
    # the newest row of deaths at county has no value: the signal's age comes from rows with a value
    load(engine, batch("src", "deaths", "county", ["01001"], days_before(9, 0), 20200610, values=[1.0, float("nan")]))
    report = check_all(engine, config(src={"max_age": 2, "maintainers": ["U1", "U2"]}), RUN)
    got = [(c["signal"], c["geo_types"], c["message"], c["last_updated"], c["kind"]) for c in report["complaints"]]
    assert got == [("cases", ["county", "state"], "is 7 days old", "2020-06-03", "age"),
                   ("deaths", ["county", "state"], "is 9 days old", "2020-06-01", "age")]
    assert report["text"].splitlines()[0] == "src::cases (county, state) is 7 days old; last updated 2020-06-03"
    json.dumps(report)  # JSON-ready
    graced = check_all(engine, check_config({"grace": 5, "sources": {"src": {"max_age": 2}}}), RUN)
    assert [c["signal"] for c in graced["complaints"]] == ["deaths"]  # 7 <= 2 + 5 < 9


def test_gap_in_recent_window(engine):
    load(engine, batch("src", "cases", "state", ["ca"], days_before(1, 2, 5, 6, 12), 20200610))
    report = check_all(engine, config(src={"max_age": 3}), RUN)
    assert [(c["message"], c["kind"]) for c in report["complaints"]] == [
        ("has a 2-day gap of missing data in its most recent 7 days of data", "gap")]
    assert report["checked"][0]["dates_in_window"] == ["2020-06-04", "2020-06-05", "2020-06-08", "2020-06-09"]
    assert check_all(engine, config(src={"max_age": 3, "max_gap": 2}), RUN)["complaints"] == []
    assert check_all(engine, config(src={"max_age": 3, "max_gap": -1}), RUN)["complaints"] == []
    wide = check_all(engine, config(src={"max_age": 3, "gap_window": 14}), RUN)["complaints"]
    assert [c["message"] for c in wide] == ["has a 5-day gap of missing data in its most recent 14 days of data"]


def test_retired_by_name_and_by_geo(engine):
    for signal in ("old", "cases"):
        for geo_type, geo in (("state", "ca"), ("county", "01001"), ("msa", "10180")):
            load(engine, batch("src", signal, geo_type, [geo], days_before(8), 20200605))
    settings = {"max_age": 2, "retired-signals": ["old", ["cases", "county", "msa"]]}
    report = check_all(engine, config(src=settings), RUN)
    assert [(c["signal"], c["geo_types"]) for c in report["complaints"]] == [("cases", ["state"])]
    assert {(c["signal"], c["geo_type"]) for c in report["checked"]} == {("cases", "state")}


def test_weekly_signals_count_from_saturday(engine):
    # MMWR week 2020-01 is 2019-12-29..2020-01-04, so weeks 20, 21 and 23 end on Saturdays 2020-05-16, 2020-05-23
    # and 2020-06-06 (week 22, 05-24..05-30, is missing)
    load(engine, batch("src", "visits", "state", ["ca"], [202020, 202021, 202023], 202024, time_type="week"))
    fresh = check_all(engine, config(src={"max_age": 4, "gap_window": 28}), RUN)
    assert fresh["checked"][0]["age_days"] == 4
    assert fresh["checked"][0]["dates_in_window"] == ["2020-05-16", "2020-05-23", "2020-06-06"]
    assert fresh["complaints"] == []  # one missing week is within max_gap 1
    report = check_all(engine, config(src={"max_age": 3, "max_gap": 0, "gap_window": 28}), RUN)
    assert [(c["message"], c["last_updated"]) for c in report["complaints"]] == [
        ("is 4 days old", "2020-06-06"),
        ("has a 1-week gap of missing data in its most recent 28 days of data", "2020-06-06")]


def test_slack_receives_chunks_of_49(engine):
    load(engine, batch("src", "cases", "state", ["ca"], days_before(6), 20200606))
    load(engine, batch("other", "deaths", "state", ["ca"], days_before(6), 20200606))
    cfg = config(src={"max_age": 2, "maintainers": ["U1"]}, other={"max_age": 2, "maintainers": ["U2", "U1"]})
    report = check_all(engine, cfg, RUN)
    many = [Complaint("bulk", f"s{k:02d}", ["state"], "is 9 days old", "2020-06-01", [f"M{k % 3}"], "age")
            for k in range(60)]
    with recording_server() as (url, received):
        assert post_to_slack(url, report["complaints"]) == 1
        assert post_to_slack(url, many) == 2
    assert [r[0] for r in received] == ["/services/T0/B0/hook"] * 3
    assert received[0][1]["Content-Type"] == "application/json"
    blocks = received[0][2]["blocks"]
    assert blocks[0]["text"]["text"] == "Hi, this is Sir Complains-a-Lot. I need to speak to <@U1>, <@U2>."
    assert [b["type"] for b in blocks] == ["section", "divider", "section", "divider", "section"]
    assert blocks[2]["text"]["text"] == "*SRC* is 6 days old - (last update: 2020-06-04):\n`cases: [state]`"
    assert blocks[4]["text"]["text"] == "*OTHER* is 6 days old - (last update: 2020-06-04):\n`deaths: [state]`"
    first, second = received[1][2]["blocks"], received[2][2]["blocks"]
    # one source and one message per chunk: a greeting, a divider and one section listing that chunk's signals
    assert first[2]["text"]["text"].count("\n") == 49 and second[2]["text"]["text"].count("\n") == 11
    assert second[2]["text"]["text"].splitlines()[1] == "`s49: [state]`"
    assert first[0]["text"]["text"].endswith("<@M0>, <@M1>, <@M2>.")
    assert received[1][2]["blocks"] == slack_messages(many)[0]


def test_slack_failure_names_the_url():
    with recording_server(status=500) as (url, received):
        with pytest.raises(DelphiSignalsError, match="Slack webhook http://127.0.0.1"):
            post_to_slack(url, [Complaint("s", "x", ["state"], "is 3 days old", "2020-06-01", [], "age")])
    assert len(received) == 1


def test_config_errors_name_file_line_and_field(tmp_path):
    path = tmp_path / "params.json"
    path.write_text('{"sources": {\n "src": {"max_age": 2,}\n}}')
    with pytest.raises(InputError, match=r"params.json, line 2: not JSON"):
        load_config(path)
    path.write_text(json.dumps({"sources": {"src": {"max_gap": 1}}}))
    with pytest.raises(InputError, match=r"params.json, field sources.src.max_age: missing"):
        load_config(path)
    path.write_text(json.dumps({"sources": {"src": {"max_age": 2, "max_gap": -2}}}))
    with pytest.raises(InputError, match=r"field sources.src.max_gap: must be an integer >= -1"):
        load_config(path)
    path.write_text(json.dumps({"sources": {"src": {"max_age": 2, "retired-signals": [["x"]]}}}))
    with pytest.raises(InputError, match=r"field sources.src.retired-signals"):
        load_config(path)
    path.write_text(json.dumps({"sauces": {}}))
    with pytest.raises(InputError, match=r"unknown key\(s\) sauces"):
        load_config(path)
    with pytest.raises(InputError, match=r"missing.json: cannot read"):
        load_config(tmp_path / "missing.json")
