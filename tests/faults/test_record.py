"""The fault record on SQLite and MariaDB: add, list, change with history; fault_ids per cell against a plain
per-cell reference, with as_of; bad scopes refused with nothing written; db init on an existing database."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from delphi_signals.cube import to_frame
from delphi_signals.epidata import Epidata
from delphi_signals.epidata.schema import create_schema, engine_for, fault, fault_history, fault_scope
from delphi_signals.errors import InputError

from .conftest import COUNTIES, DAYS, SIGNAL, SOURCE, day_int

matplotlib.use("Agg")


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_add_list_update_keeps_history(loaded):
    db = Epidata(loaded)
    fid = db.add_fault("Backlog <b>LA</b>", "backlog", [
        {"source": SOURCE, "signals": [SIGNAL], "geo_type": "county", "geo_values": ["6037"],
         "start": "2020-11-03", "end": "2020-11-05"},
        {"source": SOURCE, "geo_type": "state"}], description="a week at once", links=["https://example.org/x"],
        reported_by="oncall", reported_date="2020-11-06")
    frame = db.faults(source=SOURCE)
    assert frame["fault_id"].tolist() == [fid, fid]
    assert frame["geo_values"].tolist() == ["06037", ""]  # zero-padded; "" = every region
    assert frame["signals"].tolist() == [SIGNAL, ""]
    assert frame["issue_start"].tolist() == [20201106, 20201106] and frame["issue_end"].isna().all()
    assert frame["title"][0] == "Backlog <b>LA</b>" and frame["links"][0] == ["https://example.org/x"]
    assert db.faults(geo_value="36061")["geo_values"].tolist() == [""]  # only the all-regions scope names it
    assert db.faults(status="resolved").empty
    db.update_fault(fid, status="resolved", note="fixed upstream", date="2020-11-09")
    record = db.fault(fid)
    assert record["status"] == "resolved" and record["resolved_date"] == 20201109
    assert [s["issue_end"] for s in record["scopes"]] == [20201109, 20201109]
    assert [(h["action"], h["status"]) for h in record["history"]] == [("created", "open"), ("status", "resolved")]
    with pytest.raises(InputError, match="closed fault"):
        db.update_fault(fid, status="open")
    assert _count(loaded, fault_history) == 2


@pytest.mark.parametrize("scope, field", [
    ({"source": "nope"}, "source"),
    ({"source": SOURCE, "signals": ["sig'; DROP TABLE fault; --"]}, "scopes[0].signals"),
    ({"source": SOURCE, "geo_type": "county", "geo_values": ["99999"]}, "scopes[0].geo_values"),
    ({"source": SOURCE, "geo_type": "county", "geo_values": ["<script>"]}, "scopes[0].geo_values"),
    ({"source": SOURCE, "geo_type": "planet"}, "scopes[0].geo_type"),
    ({"source": SOURCE, "start": "2020-11-05", "end": "2020-11-01"}, "scopes[0].end"),
    ({"source": SOURCE, "start": "20201332"}, "scopes[0].start"),
    ({"source": SOURCE, "colour": "red"}, "scope"),
])
def test_bad_scope_writes_nothing(loaded, scope, field):
    db = Epidata(loaded)
    with pytest.raises(InputError) as caught:
        db.add_fault("t", "other", [{"source": SOURCE}, scope])
    assert field.split(".")[-1] in str(caught.value)
    assert _count(loaded, fault) == 0 and _count(loaded, fault_scope) == 0
    with pytest.raises(InputError, match="category"):
        db.add_fault("t", "volcano", [{"source": SOURCE}])


def _reference(cells: pd.DataFrame, faults: list[dict], as_of=None) -> list[str]:
    """Per row of ``cells`` (geo_value, time_value, issue ints), the covering fault ids, cell by cell."""
    out = []
    for row in cells.itertuples(index=False):
        ids = []
        for f in faults:
            if f["status"] not in ("open", "resolved") and as_of is None:
                continue
            if as_of is not None:
                if f["reported"] > as_of or (f["resolved"] is not None and f["resolved"] < as_of):
                    continue
                if f["status_on"](as_of) not in ("open", "resolved"):
                    continue
            for s in f["scopes"]:
                issue_end = s.get("issue_end") or f["resolved"] or 99999999
                if (s.get("geo_values") is None or row.geo_value in s["geo_values"]) \
                        and s.get("start", 0) <= row.time_value <= s.get("end", 99999999) \
                        and s.get("issue_start", f["reported"]) <= row.issue <= issue_end:
                    ids.append(str(f["id"]))
                    break
        out.append(",".join(ids))
    return out


def test_fetch_fault_ids_match_reference(loaded):
    db = Epidata(loaded)
    rng = np.random.default_rng(5)
    faults = []
    for k in range(12):
        scopes = []
        for _ in range(rng.integers(1, 3)):
            a, b = sorted(rng.choice(len(DAYS), 2))
            scope = {"source": SOURCE, "start": day_int(DAYS[a]), "end": day_int(DAYS[b]),
                     "issue_start": day_int(DAYS[a] + pd.Timedelta(days=int(rng.integers(0, 6))))}
            if rng.random() < 0.6:
                scope.update(geo_type="county", geo_values=sorted(rng.choice(COUNTIES, rng.integers(1, 3),
                                                                             replace=False).tolist()))
            if rng.random() < 0.3:
                scope["issue_end"] = scope["issue_start"] + 2
            if rng.random() < 0.2:
                scope["signals"] = [SIGNAL]
            scopes.append(scope)
        status = ["open", "proposed", "open", "resolved"][k % 4]
        reported = day_int(DAYS[int(rng.integers(0, 10))])
        fid = db.add_fault(f"fault {k}", "other", scopes, status="proposed" if status == "proposed" else "open",
                           reported_date=reported)
        resolved = None
        if status == "resolved":
            resolved = reported + int(rng.integers(1, 5))
            db.update_fault(fid, status="resolved", note="done", date=resolved)
        faults.append({"id": fid, "scopes": scopes, "status": status, "reported": reported, "resolved": resolved,
                       "status_on": (lambda d, s=status, r=resolved: "proposed" if s == "proposed" else
                                     ("resolved" if r is not None and d >= r else "open"))})
    # a scope of another geo level and of another signal never covers these cells
    db.add_fault("states only", "other", [{"source": SOURCE, "geo_type": "state"}], reported_date=20201101)
    db.add_fault("other signal", "other", [{"source": "jhu-csse", "signals": ["confirmed_incidence_num"]}],
                 reported_date=20201101)
    for as_of in (None, 20201104, 20201108, 20201112):
        cube = db.fetch(SOURCE, SIGNAL, "county", as_of=as_of, faults=True)
        tidy = to_frame(cube)
        cells = pd.DataFrame({"geo_value": tidy["geo_value"], "time_value": tidy["time_value"].dt.strftime(
            "%Y%m%d").astype(int), "issue": tidy["issue"].dt.strftime("%Y%m%d").astype(int)})
        expected = _reference(cells, faults, as_of)
        assert tidy["fault_ids"].tolist() == expected, as_of
        assert any(expected)  # the check sees covered cells
    plain = db.fetch(SOURCE, SIGNAL, "county")
    assert "fault_ids" not in plain.data_vars


def test_series_shades_fault_windows(loaded):
    db = Epidata(loaded)
    fid = db.add_fault("backlog", "backlog", [{"source": SOURCE, "geo_type": "county", "geo_values": ["06037"],
                                               "start": "2020-11-03", "end": "2020-11-05"}], reported_date=20201101)
    cube = db.fetch(SOURCE, SIGNAL, "county", faults=True)
    ax = cube.epi.series("06037")
    spans = [p for p in ax.patches if p.get_label() == f"fault {fid}"]
    assert len(spans) == 1
    x0, x1 = spans[0].get_x(), spans[0].get_x() + spans[0].get_width()
    assert matplotlib.dates.num2date(x0).date().isoformat() == "2020-11-02"  # half a day before the 3rd
    assert matplotlib.dates.num2date(x1).date().isoformat() == "2020-11-05"
    assert not [p for p in cube.epi.series("36061").patches if p.get_label().startswith("fault")]


def test_db_init_adds_fault_tables_to_an_existing_database(loaded, db_url):
    with loaded.begin() as conn:
        for table in (fault_history, fault_scope, fault):
            table.drop(conn)
    assert "fault" not in sa.inspect(loaded).get_table_names()
    from luigi_tasks.cli import main

    assert main(["db", "init", "--db", db_url]) == 0
    engine = engine_for(db_url)
    try:
        assert {"fault", "fault_scope", "fault_history"} <= set(sa.inspect(engine).get_table_names())
        assert Epidata(engine).fetch(SOURCE, SIGNAL, "county")["value"].count() == len(COUNTIES) * len(DAYS)
        create_schema(engine)
        assert Epidata(engine).add_fault("t", "other", {"source": SOURCE}) == 1
        assert json.loads(json.dumps(Epidata(engine).fault(1)["scopes"]))[0]["source"] == SOURCE
    finally:
        engine.dispose()
