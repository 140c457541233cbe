"""The API answered by a real server process, queried with the official delphi-epidata client and raw HTTP.

Expected values come from the rows the fixture loaded (``served``), selected here with pandas.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.parse
import urllib.request

import pandas as pd
import pytest
import sqlalchemy as sa

from delphi_signals.epidata.schema import engine_for

from .conftest import SOURCE

FIELDS = ["geo_value", "signal", "source", "geo_type", "time_type", "time_value", "direction", "issue", "lag",
          "missing_value", "missing_stderr", "missing_sample_size", "value", "stderr", "sample_size"]


@pytest.fixture
def client(served):
    from delphi_epidata import Epidata

    saved = Epidata.BASE_URL
    Epidata.BASE_URL = served[0]
    yield Epidata
    Epidata.BASE_URL = saved


def get(base: str, path: str, **params):
    url = f"{base}/{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _latest(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.sort_values("issue").groupby(["signal", "geo_type", "time_value", "geo_value"]).tail(1)


def _as_rows(frame: pd.DataFrame) -> list[tuple]:
    return sorted(zip(frame.signal, frame.time_value, frame.geo_value, frame.issue, frame.lag,
                      frame.value.astype(float)))


def _got(epidata: list[dict]) -> list[tuple]:
    return sorted((r["signal"], r["time_value"], r["geo_value"], r["issue"], r["lag"], float(r["value"]))
                  for r in epidata)


def test_latest_rows_with_the_official_client(served, client):
    _, _, rows = served
    answer = client.covidcast(SOURCE, ["sig_a", "sig_b"], "day", "state", [client.range(20200601, 20200610)], "*")
    assert answer["result"] == 1 and answer["message"] == "success"
    expected = _latest(rows[rows.geo_type == "state"])
    assert _got(answer["epidata"]) == _as_rows(expected)
    assert list(answer["epidata"][0]) == FIELDS  # upstream's field order
    first = answer["epidata"][0]
    assert first["direction"] is None and first["stderr"] is None and first["missing_stderr"] == 5


def test_as_of_issues_lag_and_geo_values(served, client):
    _, _, rows = served
    state = rows[(rows.geo_type == "state") & (rows.signal == "sig_a")]
    answer = client.covidcast(SOURCE, "sig_a", "day", "state", client.range(20200601, 20200610), "*",
                              as_of=20200605)
    known = _latest(state[state.issue <= 20200605])
    assert _got(answer["epidata"]) == _as_rows(known) and len(known) == 4 * 3  # days 1-4 known on the 5th
    answer = client.covidcast(SOURCE, "sig_a", "day", "state", "*", "*", issues=client.range(20200603, 20200605))
    assert _got(answer["epidata"]) == _as_rows(state[state.issue.between(20200603, 20200605)])
    answer = client.covidcast(SOURCE, "sig_a", "day", "state", "*", "ca", lag=3)
    assert _got(answer["epidata"]) == _as_rows(state[(state.lag == 3) & (state.geo_value == "ca")])
    answer = client.covidcast(SOURCE, "sig_a", "day", "state", 20200602, ["ny", "tx"])
    assert _got(answer["epidata"]) == _as_rows(_latest(state[(state.time_value == 20200602)
                                                             & state.geo_value.isin(["ny", "tx"])]))


def test_metadata_with_the_official_client(served, client):
    answer = client.covidcast_meta()
    assert answer["result"] == 1
    by_signal = {(e["signal"], e["geo_type"]): e for e in answer["epidata"]}
    _, _, rows = served
    latest = _latest(rows)
    county = latest[latest.signal == "sig_county"]
    entry = by_signal[("sig_county", "county")]
    assert entry["num_locations"] == county.geo_value.nunique() == 400
    assert entry["max_value"] == county.value.max() and entry["max_issue"] == county.issue.max()


def test_formats_fields_and_the_legacy_route(served):
    base, _, rows = served
    params = dict(data_source=SOURCE, signals="sig_b", time_type="day", geo_type="state", time_values="20200603",
                  geo_value="*")
    status, body = get(base, "covidcast/", format="json", **params)
    assert status == 200 and {r["geo_value"] for r in json.loads(body)} == set(["ca", "ny", "tx"])
    status, body = get(base, "covidcast/", format="csv", fields="geo_value,value", **params)
    table = list(csv.DictReader(io.StringIO(body.decode())))
    expected = _latest(rows[(rows.signal == "sig_b") & (rows.time_value == 20200603)]).set_index("geo_value").value
    assert {r["geo_value"]: float(r["value"]) for r in table} == expected.to_dict() and list(table[0]) == [
        "geo_value", "value"]
    status, body = get(base, "covidcast/", format="jsonl", fields="-direction,-stderr", **params)
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert len(lines) == 3 and "direction" not in lines[0] and "stderr" not in lines[0] and "value" in lines[0]
    # the legacy route: compatibility rows (no source, geo_type, time_type) and the 3,650-row cap
    status, body = get(base, "api.php", endpoint="covidcast", data_source=SOURCE, signals="sig_county",
                       time_type="day", geo_type="county", time_values="20200601-20200610", geo_value="*")
    answer = json.loads(body)
    assert answer["result"] == 2 and answer["message"] == "too many results, data truncated"
    assert len(answer["epidata"]) == 3650 and "source" not in answer["epidata"][0]
    assert [r["time_value"] for r in answer["epidata"][:2]] == [20200601, 20200601]  # compat order: time first
    status, body = get(base, "api.php", source="covidcast", data_source=SOURCE, signals="sig_a", time_type="day",
                       geo_type="state", time_values="20200601", geo_value="ca")
    assert json.loads(body)["result"] == 1


@pytest.mark.parametrize("params, message", [
    (dict(time_values="20200231"), "time_values"),
    (dict(data_source="nowhere"), "data_source 'nowhere' is unknown"),
    (dict(signals="sig_a';DROP TABLE signal_dim;--"), "signals"),
    (dict(geo_value="ca' OR '1'='1"), "geo_value"),
    (dict(time_values=",".join(str(20200101 + i) for i in range(20)) + ",20200199"), "time_values"),
    (dict(geo_values=",".join(f"g{i}" for i in range(6000))), "at most 5000"),
    (dict(time_type="month"), "time_type"),
    (dict(as_of="20200605", lag="1"), "as_of cannot be combined"),
    (dict(signals="../../etc/passwd"), "signals"),
])
def test_bad_and_hostile_input_is_a_clear_error_and_changes_nothing(served, params, message):
    base, url, rows = served
    query = dict(data_source=SOURCE, signals="sig_a", time_type="day", geo_type="state", time_values="20200601",
                 geo_value="*") | params
    status, body = get(base, "covidcast/", **query)  # classic: HTTP 200 and result -1, as the clients expect
    answer = json.loads(body)
    assert status == 200 and answer["result"] == -1 and message in answer["message"] and answer["epidata"] == []
    status, body = get(base, "covidcast/", format="json", **query)
    assert status == 400 and json.loads(body)["result"] == -1
    engine = engine_for(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM epimetric_full")).scalar() == len(rows)
        assert conn.execute(sa.text("SELECT COUNT(*) FROM signal_dim")).scalar() == 3
    engine.dispose()
    assert get(base, "covidcast_meta/")[0] == 200  # still up


def test_no_results_wrong_methods_and_missing_parameters(served):
    base = served[0]
    status, body = get(base, "covidcast/", data_source=SOURCE, signals="sig_a", time_type="day", geo_type="state",
                       time_values="20190101", geo_value="*")
    assert json.loads(body) == {"epidata": [], "result": -2, "message": "no results"}
    status, body = get(base, "covidcast/", data_source=SOURCE)
    assert status == 200 and "missing parameter: signals" in json.loads(body)["message"]
    request = urllib.request.Request(f"{base}/covidcast/", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 405 and json.loads(info.value.read())["result"] == -1
    status, body = get(base, "openapi.json")  # the OpenAPI page, generated from the checked parameters
    spec = json.loads(body)
    names = {p["name"] for p in spec["paths"]["/epidata/covidcast/"]["get"]["parameters"]}
    assert {"data_source", "signals", "time_values", "as_of", "issues", "lag", "fields"} <= names


def test_post_answers_like_get(served):
    base = served[0]
    data = urllib.parse.urlencode(dict(data_source=SOURCE, signals="sig_a", time_type="day", geo_type="state",
                                       time_values="20200601-20200602", geo_value="*")).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{base}/covidcast/", data=data), timeout=30) as response:
        answer = json.loads(response.read())
    assert answer["result"] == 1 and len(answer["epidata"]) == 6


def test_coverage_and_backfill_are_computed_per_request(served):
    from delphi_signals.analytics.coverage import expected_regions

    base, _, rows = served
    status, body = get(base, "covidcast/coverage", data_source=SOURCE, signal="sig_a", date="20200610", days="10")
    answer = json.loads(body)
    assert answer["result"] == 1
    days = {r["time_value"]: r for r in answer["epidata"] if r["geo_type"] == "state"}
    n_states = len(expected_regions("state"))
    assert sorted(days) == list(range(20200601, 20200611))
    assert all(r["count"] == 3 and r["fraction"] == round(3 / n_states, 6) for r in days.values())
    status, body = get(base, "covidcast/backfill", data_source=SOURCE, signal="sig_a", geo_type="state",
                       geo_value="ca", issues="20200601-20200620")
    answer = json.loads(body)
    assert answer["result"] == 1
    ca = rows[(rows.signal == "sig_a") & (rows.geo_value == "ca")]
    final = ca[ca.lag == 3].set_index("time_value").value
    first = ca[ca.lag == 1].set_index("time_value").value
    profile = {(r["time_value"], r["lag"]): r for r in answer["epidata"]}
    assert len(profile) == len(ca)
    for t in final.index:  # the anchor is the last issue, lag 3: completeness at lag 1 = first / final value
        assert profile[(t, 3)]["value_completeness"] == pytest.approx(1.0)
        assert profile[(t, 1)]["value_completeness"] == pytest.approx(first[t] / final[t])
    status, body = get(base, "covidcast/backfill", data_source=SOURCE, signal="nope", geo_type="state",
                       geo_value="ca", issues="20200601-20200620")
    assert json.loads(body)["result"] == -1
