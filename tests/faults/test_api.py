"""The fault record over a real ``delphi-signals serve`` on SQLite and MariaDB: reads public, writes need the write
role (401/403), filters, covidcast ``fault_ids`` only on request (with as_of), hostile input refused or escaped."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from delphi_signals.epidata import Epidata

from .conftest import READ_KEY, SIGNAL, SOURCE, WRITE_KEY


def call(base, path, body=None, key=None, form=False):
    headers = {}
    data = None
    if body is not None:
        data = urllib.parse.urlencode(body).encode() if form else json.dumps(body).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded" if form else "application/json"
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(base + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


LA = {"title": "LA backlog <script>alert('x')</script>", "category": "backlog", "links": ["https://example.org/1"],
      "scopes": [{"source": SOURCE, "signals": [SIGNAL], "geo_type": "county", "geo_values": ["06037"],
                  "start": "2020-11-03", "end": "2020-11-05", "issue_start": "2020-11-04"}]}


def test_writes_need_the_write_role_and_reads_are_public(served):
    base, url = served
    assert call(base, "/epidata/faults/", LA)[0] == 401
    assert call(base, "/epidata/faults/", LA, key="wrong")[0] == 401
    status, text = call(base, "/epidata/faults/", LA, key=READ_KEY)
    assert status == 403 and "write role" in json.loads(text)["message"]
    assert Epidata(url).faults().empty  # nothing written by a refused request
    status, text = call(base, "/epidata/faults/", LA, key=WRITE_KEY)
    assert status == 200
    fid = json.loads(text)["epidata"][0]["fault_id"]
    status, text = call(base, "/epidata/faults/?source=test-src&geo_value=06037&status=open")  # no key: public
    answer = json.loads(text)
    assert answer["result"] == 1 and [r["fault_id"] for r in answer["epidata"]] == [fid]
    assert answer["epidata"][0]["title"] == LA["title"] and answer["epidata"][0]["start"] == 20201103
    assert json.loads(call(base, "/epidata/faults/?source=test-src&geo_value=36061")[1])["result"] == -2
    assert json.loads(call(base, "/epidata/faults/?time_values=20201106-20201110")[1])["result"] == -2
    assert json.loads(call(base, "/epidata/faults/?time_values=20201101-20201103")[1])["result"] == 1
    assert call(base, f"/epidata/faults/{fid}/status", {"status": "resolved", "note": "x"}, key=READ_KEY)[0] == 403
    assert call(base, f"/epidata/faults/{fid}/status", {"status": "resolved", "note": "x"})[0] == 401
    status, _ = call(base, f"/epidata/faults/{fid}/status", {"status": "resolved", "note": "fixed"}, key=WRITE_KEY)
    assert status == 200 and Epidata(url).fault(fid)["status"] == "resolved"
    assert call(base, "/epidata/faults/999999/status", {"status": "resolved"}, key=WRITE_KEY)[0] == 404


@pytest.mark.parametrize("query, named", [
    ("source=x'%20OR%201=1--", "source"),
    ("signal=<script>", "signal"),
    ("status=closed", "status"),
    ("geo_type=county;DROP%20TABLE%20fault", "geo_type"),
    ("geo_value=06037'--", "geo_value"),
    ("time_values=2020-13-45", "time_values"),
    ("colour=red", "unknown parameter"),
])
def test_hostile_filters_are_refused_naming_the_parameter(served, query, named):
    base, _ = served
    status, text = call(base, f"/epidata/faults/?{query}")
    answer = json.loads(text)
    assert status == 200 and answer["result"] == -1 and named in answer["message"]


@pytest.mark.parametrize("body, named", [
    ({**LA, "scopes": [{"source": "test-src'; DROP TABLE fault; --"}]}, "source"),
    ({**LA, "scopes": [{"source": SOURCE, "geo_type": "county", "geo_values": ["<img src=x onerror=alert(1)>"]}]},
     "geo_values"),
    ({**LA, "scopes": [{"source": SOURCE, "start": "2020-11-05", "end": "2020-11-01"}]}, "scopes[0].end"),
    ({**LA, "category": "volcano"}, "category"),
    ({**LA, "links": ["javascript:alert(1)"]}, "links"),
    ({**LA, "scopes": []}, "scopes"),
    ({**LA, "admin": True}, "unknown field"),
])
def test_hostile_writes_are_refused_and_write_nothing(served, body, named):
    base, url = served
    before = len(Epidata(url).faults())
    status, text = call(base, "/epidata/faults/", body, key=WRITE_KEY)
    assert status == 400 and named in json.loads(text)["message"]
    assert len(Epidata(url).faults()) == before


def test_covidcast_fault_ids_only_when_asked(served):
    base, url = served
    db = Epidata(url)
    scopes = [{**LA["scopes"][0], "geo_values": ["06059"]}]  # a county no other test's fault touches
    fid = db.add_fault("Orange", "backlog", scopes, reported_date="2020-11-04")
    later = db.add_fault("later", "bad_values", [{"source": SOURCE, "geo_type": "county", "geo_values": ["06059"],
                                                  "start": "2020-11-01", "end": "2020-11-01",
                                                  "issue_start": "2020-11-01"}], reported_date="2020-11-12")
    query = (f"/epidata/covidcast/?data_source={SOURCE}&signals={SIGNAL}&time_type=day&geo_type=county"
             f"&time_values=20201101-20201106&geo_value=06059&api_key={READ_KEY}")
    plain = json.loads(call(base, query)[1])["epidata"]
    assert plain and all("fault_ids" not in row for row in plain)
    asked = json.loads(call(base, query + "&fields=time_value,issue,fault_ids")[1])["epidata"]
    expected = {20201101: str(later), 20201103: str(fid), 20201104: str(fid), 20201105: str(fid)}
    assert {r["time_value"]: r["fault_ids"] for r in asked} == {d: expected.get(d, "") for d in range(20201101,
                                                                                                      20201107)}
    as_of = json.loads(call(base, query + "&fields=time_value,issue,fault_ids&as_of=20201108")[1])["epidata"]
    # on 2020-11-08 only the first fault was known, and the rows were the 1-day-lag issues
    assert {r["time_value"]: r["fault_ids"] for r in as_of} == {
        20201101: "", 20201102: "", 20201103: str(fid), 20201104: str(fid), 20201105: str(fid), 20201106: ""}
    csv = call(base, query + "&fields=time_value,fault_ids&format=csv")[1].splitlines()
    assert csv[0] == "time_value,fault_ids" and f"20201103,{fid}" in csv


def test_page_forms_check_the_key_and_escape_everything(served):
    base, url = served
    before = len(Epidata(url).faults())
    form = {"title": "<script>alert('x')</script>", "category": "backlog", "source": SOURCE, "geo_type": "county",
            "geo_values": "06037", "start": "2020-11-03", "end": "2020-11-04"}
    status, page = call(base, "/faults/new", form, form=True)
    assert status == 401 and "missing or unknown key" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page  # kept, escaped
    assert call(base, "/faults/new", {**form, "api_key": READ_KEY}, form=True)[0] == 403
    status, page = call(base, "/faults/new", {**form, "api_key": WRITE_KEY, "source": "x'); DROP TABLE fault; --<b>"},
                        form=True)
    assert status == 400 and "unknown source" in page and "<b>" not in page and "&lt;b&gt;" in page
    status, page = call(base, "/faults/new", {**form, "api_key": WRITE_KEY, "geo_values": "06037,<img src=x>"},
                        form=True)
    assert status == 400 and "geo_values" in page and "<img" not in page
    assert len(Epidata(url).faults()) == before  # nothing written by a refused form
    status, page = call(base, "/faults?source=<script>alert(1)</script>&status=closed")
    assert status == 400 and "<script>" not in page
    status, page = call(base, "/faults/<script>")
    assert status in (400, 404) and "<script>" not in page
    assert call(base, "/faults/987654")[0] == 404
    fid = Epidata(url).add_fault("<i>t</i>", "other", {"source": SOURCE})
    status, page = call(base, f"/faults/{fid}")
    assert status == 200 and "<i>t</i>" not in page and "&lt;i&gt;t&lt;/i&gt;" in page
    assert call(base, f"/faults/{fid}/status", {"status": "resolved", "note": "x"}, form=True)[0] == 401
    assert call(base, f"/faults/{fid}/status", {"status": "resolved", "api_key": READ_KEY}, form=True)[0] == 403
    assert Epidata(url).fault(fid)["status"] == "open"
    status, svg = call(base, f"/faults/{fid}/plot.svg")
    assert status == 200 and svg.lstrip().startswith(("<?xml", "<svg"))
