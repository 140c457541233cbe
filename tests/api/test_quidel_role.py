"""quidel is served only to API keys with the ``quidel`` role, as upstream's API; a plain key still reads the rest."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pandas as pd
import pytest

from delphi_signals.api.app import parse_api_keys
from delphi_signals.epidata import store
from delphi_signals.epidata.schema import covidcast_meta_cache, create_schema, engine_for
from delphi_signals.testing.servers import backend_database

from .conftest import make_rows, meta_entries, start_server

KEYS = {"reader": 60, "lab": {"rpm": 60, "roles": ["quidel"]}, "other": {"rpm": 60, "roles": ["write"]}}


def quidel_rows() -> pd.DataFrame:
    rows = []
    for i, day in enumerate(pd.date_range("2020-06-01", periods=5)):
        for geo, value in (("ca", 12.5 + i), ("tx", 20.0 - i)):
            t = int(f"{day:%Y%m%d}")
            issue = int(f"{day + pd.Timedelta(days=5):%Y%m%d}")
            rows.append(("quidel", "covid_ag_smoothed_pct_positive", "day", "state", t, geo, issue, 5, value,
                         1.25, 312.5, 0, 0, 0))
    return pd.DataFrame(rows, columns=list(store.ROW_COLUMNS))


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def served(request, tmp_path_factory):
    url, drop = backend_database(request.param, tmp_path_factory, "quidel-api")
    rows = make_rows()
    quidel = quidel_rows()
    engine = engine_for(url)
    create_schema(engine)
    with store.locked_transaction(engine) as conn:
        store.load_rows(conn, pd.concat([rows, quidel], ignore_index=True))
    meta = meta_entries(rows) + [{"data_source": "quidel", "signal": "covid_ag_smoothed_pct_positive",
                                  "time_type": "day", "geo_type": "state", "min_time": 20200601,
                                  "max_time": 20200605, "num_locations": 2}]
    with engine.begin() as conn:
        conn.execute(covidcast_meta_cache.insert().values(timestamp=1600000000, epidata=json.dumps(meta)))
    engine.dispose()
    proc, base = start_server(url, {"DELPHI_SIGNALS_API_KEYS": json.dumps(KEYS)})
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        drop()


def get(base: str, route: str, key: str | None = None, **params) -> tuple[int, dict]:
    if key:
        params["api_key"] = key
    try:
        with urllib.request.urlopen(f"{base}/{route}?{urllib.parse.urlencode(params)}", timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


QUERY = {"data_source": "quidel", "signals": "covid_ag_smoothed_pct_positive", "time_type": "day",
         "geo_type": "state", "time_values": "20200601-20200605", "geo_value": "*"}


def test_parse_api_keys_keeps_the_plain_form():
    assert parse_api_keys(KEYS) == ({"reader": 60, "lab": 60, "other": 60},
                                    {"reader": frozenset(), "lab": frozenset({"quidel"}),
                                     "other": frozenset({"write"})})


def test_the_quidel_role_reads_quidel_with_stderr_and_sample_size(served):
    status, body = get(served, "covidcast/", "lab", **QUERY)
    assert status == 200 and body["result"] == 1 and len(body["epidata"]) == 10
    first = sorted(body["epidata"], key=lambda r: (r["time_value"], r["geo_value"]))[0]
    assert (first["geo_value"], first["value"], first["stderr"], first["sample_size"]) == ("ca", 12.5, 1.25, 312.5)
    _, meta = get(served, "covidcast_meta/", "lab")
    assert "quidel" in {e["data_source"] for e in meta["epidata"]}


@pytest.mark.parametrize("key", ["reader", "other"])
def test_other_keys_do_not_see_quidel(served, key):
    status, body = get(served, "covidcast/", key, **QUERY)
    assert body["result"] == -1 and "data_source 'quidel' is unknown" in body["message"] and not body["epidata"]
    status, body = get(served, "covidcast/", key, **{**QUERY, "data_source": "nosuch"})
    assert "quidel" not in body["message"]  # not listed among the known sources either
    _, meta = get(served, "covidcast_meta/", key)
    assert {e["data_source"] for e in meta["epidata"]} == {"test-src"}
    status, body = get(served, "covidcast/coverage", key, data_source="quidel",
                       signal="covid_ag_smoothed_pct_positive")
    assert body["result"] == -1
    # the plain key still reads everything else
    status, body = get(served, "covidcast/", key, data_source="test-src", signals="sig_a", time_type="day",
                       geo_type="state", time_values="20200601", geo_value="ca")
    assert status == 200 and body["result"] == 1 and len(body["epidata"]) == 1


def test_no_key_is_refused(served):
    status, body = get(served, "covidcast/", None, **QUERY)
    assert status == 401 and body["result"] == -1


def test_legacy_route_hides_quidel_too(served):
    status, body = get(served, "api.php", "reader", endpoint="covidcast", **QUERY)
    assert body["result"] == -1
    status, body = get(served, "api.php", "lab", endpoint="covidcast", **QUERY)
    assert body["result"] == 1 and len(body["epidata"]) == 10
    np.testing.assert_allclose(sorted(r["value"] for r in body["epidata"]),
                               sorted(quidel_rows()["value"]))
