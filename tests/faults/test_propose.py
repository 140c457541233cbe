"""Faults proposed by the pipeline on SQLite and MariaDB: validation findings (blocking errors, chosen warnings),
extension the next day, Sir Complains-a-lot outages and their silencing, the status listing, validate --db."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from delphi_signals.epidata import Epidata, store
from delphi_signals.faults.propose import propose_from_validation, proposed_faults, silence_and_propose
from delphi_signals.analytics.staleness import check_all, check_config
from delphi_signals.status import pipeline_status, status_text
from delphi_signals.validate.report import ValidationFailure, ValidationReport
from luigi_tasks.cli import main

from .conftest import SIGNAL, SOURCE

ISSUE = dt.date(2020, 11, 30)


def report_of(issue: dt.date, *failures, dry_run=False) -> ValidationReport:
    report = ValidationReport("jhu-csse", issue, issue - dt.timedelta(days=13), issue - dt.timedelta(days=1),
                              dry_run=dry_run)
    for f in failures:
        report.add(f)
    return report


def spike(day: dt.date, geos) -> ValidationFailure:
    return ValidationFailure("check_positive_negative_spikes", "warning", f"flagged outliers for {len(geos)}",
                             geo_type="county", signal="confirmed_incidence_num", date=day, time_type="day",
                             geo_values=tuple(geos))


def negative(day: dt.date) -> ValidationFailure:
    return ValidationFailure("check_val_lt_0", "error", "2 negative values", geo_type="state",
                             signal="confirmed_incidence_num", date=day, time_type="day")


def test_validation_proposes_and_extends_the_next_day(engine, tmp_path):
    db = Epidata(engine)
    first = report_of(ISSUE, spike(dt.date(2020, 11, 29), ["06037"]), negative(dt.date(2020, 11, 28)))
    ids = propose_from_validation(engine, first, tmp_path / "20201130_validation.failed.json", {})
    assert len(ids) == 2
    frame = db.faults(status="proposed")
    spike_row = frame[frame["title"].str.endswith("check_positive_negative_spikes")].iloc[0]
    assert (spike_row.category, spike_row.geo_values, spike_row.start, spike_row.end) == (
        "bad_values", "06037", 20201129, 20201129)
    assert (spike_row.issue_start, spike_row.issue_end) == (20201130, 20201130)
    assert spike_row.links == [(tmp_path / "20201130_validation.failed.json").as_uri()]
    # the next day: the 11-29 spike again (extended: its issue range, one more county) and one on 11-30 (a new
    # scope of the same proposal); the negative values again
    second = report_of(ISSUE + dt.timedelta(days=1), spike(dt.date(2020, 11, 29), ["06037", "36061"]),
                       spike(dt.date(2020, 11, 30), ["42101"]), negative(dt.date(2020, 11, 28)))
    assert sorted(propose_from_validation(engine, second, tmp_path / "20201201_validation.json", {})) == sorted(ids)
    again = db.fault(int(spike_row.fault_id))
    assert [(s["start"], s["geo_values"], s["issue_start"], s["issue_end"]) for s in again["scopes"]] == [
        (20201129, ["06037", "36061"], 20201130, 20201201), (20201130, ["42101"], 20201201, 20201201)]
    assert [h["action"] for h in again["history"]] == ["created", "extended"] and len(again["links"]) == 2
    assert again["history"][1]["note"].startswith(  # what the extension changed, kept in the history
        "scope county 2020-11-29: issue_end 20201130 -> 20201201, geo_values ['06037'] -> ['06037', '36061']; "
        "new scope county 2020-11-30..2020-11-30. Proposed by the validator on issue 2020-12-01")
    # running the same day again changes nothing; a finding after a day without it is a new proposal
    propose_from_validation(engine, second, tmp_path / "20201201_validation.json", {})
    assert len(db.fault(int(spike_row.fault_id))["history"]) == 2
    third = report_of(ISSUE + dt.timedelta(days=3), spike(dt.date(2020, 12, 2), ["06037"]))
    (new,) = propose_from_validation(engine, third, None, {})
    assert new not in ids


def test_only_blocking_errors_and_chosen_warnings_propose(engine):
    db = Epidata(engine)
    dry = report_of(ISSUE, negative(dt.date(2020, 11, 28)), dry_run=True)  # an error that blocks nothing
    assert propose_from_validation(engine, dry, None, {}) == []
    chosen = {"faults": {"propose_from": ["check_test_vs_reference_avg_changed"]}}
    assert propose_from_validation(engine, report_of(ISSUE, spike(dt.date(2020, 11, 29), ["06037"])), None,
                                   chosen) == []
    assert db.faults().empty


def test_staleness_proposes_outages_and_open_ones_silence(engine):
    rows = pd.DataFrame({"source": SOURCE, "signal": [SIGNAL, "other"], "time_type": "day", "geo_type": "state",
                         "time_value": 20201101, "geo_value": "ca", "issue": 20201102, "lag": 1, "value": 1.0,
                         "stderr": np.nan, "sample_size": np.nan, "missing_value": 0, "missing_stderr": 1,
                         "missing_sample_size": 1})
    with store.locked_transaction(engine) as conn:
        store.load_rows(conn, rows)
    config = check_config({"sources": {SOURCE: {"max_age": 3}}})
    report = silence_and_propose(engine, check_all(engine, config, "2020-11-10"), "2020-11-10")
    assert [c["signal"] for c in report["complaints"]] == ["other", SIGNAL] and report["silenced"] == []
    db = Epidata(engine)
    proposed = db.faults(status="proposed")
    assert sorted(proposed["signals"]) == ["other", SIGNAL] and set(proposed["category"]) == {"outage"}
    assert set(proposed["start"]) == {20201102} and set(proposed["end"]) == {20201110}
    sig_fault = int(proposed[proposed["signals"] == SIGNAL]["fault_id"].iloc[0])
    db.update_fault(sig_fault, status="open", note="source is down", date="2020-11-10")
    next_day = silence_and_propose(engine, check_all(engine, config, "2020-11-11"), "2020-11-11")
    assert [c["signal"] for c in next_day["complaints"]] == ["other"]
    assert [(s["signal"], s["geo_types"], s["fault_ids"]) for s in next_day["silenced"]] == [
        (SIGNAL, ["state"], [sig_fault])]
    assert f"silenced by fault {sig_fault}" in next_day["text"]
    assert len(db.faults()) == 2  # the 'other' proposal was extended, not repeated
    other = db.fault(int(proposed[proposed["signals"] == "other"]["fault_id"].iloc[0]))
    assert other["scopes"][0]["issue_end"] == 20201111 and other["history"][-1]["action"] == "extended"
    db.update_fault(sig_fault, status="resolved", note="back", date="2020-11-12")
    after = check_all(engine, config, "2020-11-12")
    assert [c["signal"] for c in silence_and_propose(engine, after, "2020-11-12")["complaints"]] == ["other", SIGNAL]
    listed = proposed_faults(engine)
    assert [f["category"] for f in listed] == ["outage", "outage"]  # 'other' and the new one for SIGNAL
    status = pipeline_status("/nonexistent-root", engine, [])
    assert [f["fault_id"] for f in status["proposed_faults"]] == [f["fault_id"] for f in listed]
    assert any(line.startswith(f"proposed fault {listed[0]['fault_id']} (outage") for line in
               status_text(status).splitlines())


@pytest.fixture
def nightly_db(tmp_path, luigi_settings):
    url = f"sqlite:///{tmp_path / 'epidata.sqlite'}"
    db = Epidata(url)
    rows = pd.DataFrame({"source": SOURCE, "signal": SIGNAL, "time_type": "day", "geo_type": "state",
                         "time_value": [20200601, 20200602], "geo_value": "ca", "issue": 20200603, "lag": [2, 1],
                         "value": 1.0, "stderr": np.nan, "sample_size": np.nan, "missing_value": 0,
                         "missing_stderr": 1, "missing_sample_size": 1})
    with store.locked_transaction(db.engine) as conn:
        store.load_rows(conn, rows)
    params = tmp_path / "sircal.json"
    params.write_text(json.dumps({"sources": {SOURCE: {"max_age": 3}}}))
    luigi_settings({("delphi_signals", "data_root"): str(tmp_path / "var"), ("delphi_signals", "db_url"): url,
                    ("nightly", "staleness_config"): str(params),
                    ("nightly", "coverage_signals"): json.dumps({SOURCE: [SIGNAL]}), ("nightly", "slack_webhook_url"): None})
    yield db, tmp_path / "var" / "reports" / "nightly"
    db.engine.dispose()


def test_nightly_exits_0_when_every_complaint_is_silenced(nightly_db, capsys):
    db, reports = nightly_db
    assert main(["nightly", "--date", "2020-06-10"]) == 1
    (fault_id,) = db.faults(status="proposed")["fault_id"].tolist()
    link = db.fault(fault_id)["links"][0]
    assert link.endswith("/20200610/staleness.json")
    assert main(["fault", "confirm", str(fault_id), "--db", str(db.engine.url)]) == 0
    assert main(["nightly", "--date", "2020-06-11"]) == 0
    report = json.loads((reports / "20200611" / "staleness.json").read_text())
    assert report["complaints"] == [] and [s["fault_ids"] for s in report["silenced"]] == [[fault_id]]
    assert "0 complaint(s)" in capsys.readouterr().out


def _spiky_export(folder) -> None:
    """Four weeks of one state signal; California reports a week's worth on the last day."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    days = pd.date_range("2020-11-01", "2020-11-29")
    for d in days:
        values = {s: 1000 + rng.normal(0, 30) for s in ["ca", "ny", "tx", "pa", "fl"]}
        if d == days[-1]:
            values["ca"] = 7000
        lines = ["geo_id,val,se,sample_size"] + [f"{s},{v:.1f},NA,NA" for s, v in values.items()]
        (folder / f"{d:%Y%m%d}_state_confirmed_incidence_num.csv").write_text("\n".join(lines) + "\n")


def test_standalone_validate_proposes_only_with_db(db_url, tmp_path, capsys):
    _spiky_export(tmp_path / "export")
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"validation": {"static": {"missing_se_allowed": True,
                                                             "missing_sample_size_allowed": True}}}))
    command = ["validate", str(tmp_path / "export"), "--source", "jhu-csse", "--issue-date", "2020-11-30",
               "--params", str(params), "--report", str(tmp_path / "report.json")]
    db = Epidata(db_url)
    assert main(command) == 0
    assert db.faults().empty
    assert main(command + ["--db", db_url]) == 0
    proposed = db.faults(status="proposed")  # the spike (California) and the average change (every state)
    assert sorted(t.rsplit(": ", 1)[-1] for t in proposed["title"]) == [
        "check_positive_negative_spikes", "check_test_vs_reference_avg_changed"]
    assert proposed[proposed["title"].str.endswith("avg_changed")]["geo_values"].tolist() == [""]
    (row,) = proposed[proposed["title"].str.endswith("spikes")].itertuples()
    assert (row.source, row.signals, row.geo_type, row.geo_values, row.start, row.end) == (
        "jhu-csse", "confirmed_incidence_num", "state", "ca", 20201129, 20201129)
    assert row.links == [(tmp_path / "report.json").resolve().as_uri()]
    assert "proposed fault(s): 1, 2" in capsys.readouterr().out
