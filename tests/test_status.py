"""``delphi-signals status``: each problem an operator must see, from real files in a data root and real import
markers in a SQLite database (the clean state after a real pipeline run is checked in tests/luigi/test_pipeline.py)."""

import json

import pytest

from delphi_signals.epidata import schema
from delphi_signals.layout import DataRoot
from delphi_signals.status import pipeline_status, status_text

SOURCE = "demo-src"


def put(path, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def setup(tmp_path):
    """A data root whose newest issue 2020-11-30 was exported, validated, delivered and imported."""
    root = DataRoot(tmp_path / "var")
    put(root.export(SOURCE, "2020-11-30") / "_SUCCESS", json.dumps({"file_count": 12}))
    put(root.reports(SOURCE) / "20201130_validation.json", json.dumps({"failures": []}))
    put(root.diff(SOURCE, "2020-11-30") / "_DELIVERED", json.dumps({"files": 5}))
    engine = schema.engine_for(f"sqlite:///{tmp_path / 'epidata.sqlite'}")
    schema.create_schema(engine)
    with engine.begin() as conn:
        for day in ("20201129", "20201130"):
            conn.execute(schema.import_marker.insert().values(marker=f"folder:{SOURCE}/issue_{day}", row_count=5,
                                                              created_timestamp=0))
    yield root, engine
    engine.dispose()


def problems(root, engine):
    (state,) = pipeline_status(root, engine, [SOURCE])["sources"]
    return state["problems"]


def test_a_clean_state_has_no_problem(setup):
    root, engine = setup
    status = pipeline_status(root, engine, [SOURCE])
    (state,) = status["sources"]
    assert state["problems"] == [] and state["imported"] == "2020-11-30" and state["waiting"] == []
    assert status_text(status).splitlines()[0] == (
        f"{SOURCE:<16} export 2020-11-30 (12 files) · validation passed 2020-11-30 · delivered 2020-11-30 (5 files) · "
        "imported 2020-11-30 · nothing waiting")


def test_a_blocking_validation_of_the_newest_export(setup):
    root, engine = setup
    put(root.export(SOURCE, "2020-12-01") / "_SUCCESS", json.dumps({"file_count": 12}))
    failures = [{"severity": "error", "suppressed": False}, {"severity": "error", "suppressed": True},
                {"severity": "warning", "suppressed": False}]
    put(root.reports(SOURCE) / "20201201_validation.failed.json", json.dumps({"failures": failures}))
    assert problems(root, engine) == [f"validation blocks issue 2020-12-01 (1 error(s)); see {root.reports(SOURCE)}"]
    # fixed and passed the same day: the passed report wins over the failed one
    put(root.reports(SOURCE) / "20201201_validation.json", json.dumps({"failures": []}))
    assert problems(root, engine) == []


def test_a_stuck_delivery_and_files_set_aside(setup):
    root, engine = setup
    put(root.receiving("2020-11-28", SOURCE) / "20201127_state_x.csv")  # older than the newest import
    put(root.path / "archive" / "failed" / "issue_20201130" / SOURCE / "bad.csv")
    found = problems(root, engine)
    assert found == ["deliveries older than the newest import still waiting in receiving/: 2020-11-28",
                     f"files set aside by the importer for issue 2020-11-30; see {root.path / 'archive' / 'failed'}"]


def test_a_delivery_that_vanished(setup):
    root, engine = setup
    put(root.diff(SOURCE, "2020-12-01") / "_DELIVERED", json.dumps({"files": 3}))
    assert problems(root, engine) == ["issue 2020-12-01 was delivered but is neither waiting nor imported"]
    put(root.receiving("2020-12-01", SOURCE) / "20201130_state_x.csv")  # waiting for the importer: fine
    assert problems(root, engine) == []


def test_nothing_yet(tmp_path):
    status = pipeline_status(tmp_path / "empty", None, [SOURCE])
    assert status["sources"][0]["problems"] == [] and status["nightly"] is None
    assert status_text(status).splitlines() == [
        f"{SOURCE:<16} no export · not validated · not delivered · nothing imported · nothing waiting",
        "no nightly report yet"]


def test_a_source_that_is_not_configured_is_listed_with_its_remedy(tmp_path):
    status = pipeline_status(tmp_path / "empty", None, [SOURCE, "other"], {"other": "not configured: set base_url in [other]"})
    assert [s["not_configured"] for s in status["sources"]] == [None, "not configured: set base_url in [other]"]
    assert status_text(status).splitlines()[:2] == [
        f"{SOURCE:<16} no export · not validated · not delivered · nothing imported · nothing waiting",
        f"{'other':<16} not configured: set base_url in [other]"]


def test_both_ways_of_importing_count_the_same(engine, tmp_path):
    """The pipeline's folder import and the hand import (file by file) give one notion of "imported"; an issue
    with files loaded and files still waiting is imported in part (SQLite and MariaDB)."""
    from delphi_signals.epidata.imported import handled_issues
    from delphi_signals.epidata.importer import import_folder, import_receiving

    root = DataRoot(tmp_path / "var")
    rows = "geo_id,val,se,sample_size\nca,1,NA,NA\nny,2,NA,NA\n"
    put(root.receiving("2020-11-29", SOURCE) / "20201128_state_a.csv", rows)
    assert import_folder(root.path, engine, SOURCE, "2020-11-29")["files_ok"] == 1  # the pipeline's way
    put(root.diff(SOURCE, "2020-11-30") / "_DELIVERED", json.dumps({"files": 2}))
    put(root.receiving("2020-11-30", SOURCE) / "20201129_state_a.csv", rows)
    assert import_receiving(root.path, engine, source=SOURCE)["files_ok"] == 1  # by hand, one file of two
    put(root.receiving("2020-11-30", SOURCE) / "20201129_state_b.csv", rows)  # the one it did not get to
    assert handled_issues(engine)[SOURCE] == {"2020-11-29": {"folder_marker": True, "files": 1},
                                              "2020-11-30": {"folder_marker": False, "files": 1}}
    (state,) = pipeline_status(root, engine, [SOURCE])["sources"]
    assert state["imported"] == "2020-11-29" and state["waiting"] == ["2020-11-30"]
    assert state["problems"] == [f"issue 2020-11-30 imported in part: 1 file(s) left in "
                                 f"{root.receiving('2020-11-30', SOURCE)}"]
    assert import_receiving(root.path, engine, source=SOURCE)["files_ok"] == 1
    (state,) = pipeline_status(root, engine, [SOURCE])["sources"]
    assert state["imported"] == "2020-11-30" and state["waiting"] == [] and state["problems"] == []


def test_unreadable_manifests_and_reports_are_problems(setup):
    root, engine = setup
    put(root.export(SOURCE, "2020-11-30") / "_SUCCESS", '{"file_count": "twelve"}')
    put(root.reports(SOURCE) / "20201130_validation.json", "[1, 2")
    put(root.path / "reports" / "nightly" / "20201130" / "staleness.json", '{"complaints": 3}')
    status = pipeline_status(root, engine, [SOURCE])
    (state,) = status["sources"]
    assert state["export"] == {"issue": "2020-11-30", "files": None}
    assert state["problems"] == [
        f"{root.export(SOURCE, '2020-11-30') / '_SUCCESS'} is not a valid manifest (no whole-number 'file_count')",
        f"the validation report of issue 2020-11-30 in {root.reports(SOURCE)} cannot be read"]
    assert status["problems"] == [f"{root.path / 'reports' / 'nightly' / '20201130' / 'staleness.json'} cannot be "
                                  "read (TypeError: 'complaints' is not a list)"]
    assert "PROBLEM nightly:" in status_text(status) and "None" not in status_text(status)
