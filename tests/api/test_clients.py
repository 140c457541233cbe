"""The covidcast 0.2.2 client (its own virtualenv) against our server, and API keys with a rate limit."""

from __future__ import annotations

import json
import subprocess
import textwrap
import urllib.error
import urllib.request

from .conftest import SOURCE, start_server

COVIDCAST_SCRIPT = textwrap.dedent("""
    import datetime as dt, json, sys, warnings
    warnings.simplefilter("ignore")
    import covidcast
    from covidcast import covidcast as module
    module.Epidata.BASE_URL = sys.argv[1]   # the client sets its own on import; point it at our server
    frame = covidcast.signal(sys.argv[2], "sig_a", dt.date(2020, 6, 2), dt.date(2020, 6, 4), "state",
                             as_of=dt.date(2020, 6, 5))
    meta = covidcast.metadata()
    print(json.dumps({
        "rows": [[r.geo_value, r.time_value.strftime("%Y%m%d"), r.issue.strftime("%Y%m%d"), float(r.value)]
                 for r in frame.itertuples()],
        "meta": sorted(meta.signal.unique().tolist()),
        "meta_columns": sorted(meta.columns.tolist()),
    }))
""")


def test_the_covidcast_client_gets_data_frames(served, covidcast_python):
    base, _, rows = served
    out = subprocess.run([str(covidcast_python), "-c", COVIDCAST_SCRIPT, base, SOURCE], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    state = rows[(rows.signal == "sig_a") & (rows.time_value.between(20200602, 20200604)) & (rows.issue <= 20200605)]
    known = state.sort_values("issue").groupby(["time_value", "geo_value"]).tail(1)
    expected = sorted([g, str(t), str(i), float(v)] for g, t, i, v in
                      zip(known.geo_value, known.time_value, known.issue, known.value))
    assert sorted(got["rows"]) == expected and len(expected) == 9
    assert got["meta"] == ["sig_a", "sig_b", "sig_county"]
    assert {"data_source", "signal", "min_time", "max_time", "max_issue"} <= set(got["meta_columns"])


def _status(url: str, headers: dict | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_api_keys_and_their_rate_limit(served):
    _, url, _ = served
    proc, base = start_server(url, env={"DELPHI_SIGNALS_API_KEYS": json.dumps({"k1": 3})})
    try:
        query = (f"{base}/covidcast/?data_source={SOURCE}&signals=sig_a&time_type=day&geo_type=state"
                 "&time_values=20200601&geo_value=*")
        assert _status(query) == 401  # anonymous
        assert _status(query + "&api_key=nope") == 401
        assert _status(query + "&api_key=k1") == 200
        assert _status(query, {"Authorization": "Bearer k1"}) == 200
        assert _status(query + "&api_key=k1") == 200
        assert _status(query + "&api_key=k1") == 429  # the fourth request within the minute
    finally:
        proc.terminate()
        proc.wait(timeout=30)
