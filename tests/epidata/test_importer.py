"""The importer on hand-made files, on SQLite and MariaDB: every name and row rule, issue and lag, missing
codes, archives and reasons, issue folders, reruns."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil

import numpy as np
import pytest
import sqlalchemy as sa

from delphi_signals.epidata import schema
from delphi_signals.epidata.filecheck import check_file
from delphi_signals.epidata.importer import folder_marker, import_folder, import_receiving
from dbdump import dump, latest_from_full

HEADER = "geo_id,val,se,sample_size\n"
ISSUE = dt.date(2020, 3, 5)


def deliver(root, source, name, content, folder=None):
    """Write one file into ``receiving/<source>/`` (or ``receiving/<folder>/<source>/``)."""
    where = root / "receiving" / (folder or "") / source
    where.mkdir(parents=True, exist_ok=True)
    path = where / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def test_good_files_load_with_issue_and_lag(tmp_path, engine):
    daily = deliver(tmp_path, "demo", "20200301_county_cases.csv", HEADER + "01001,1.5,0.25,10\n06037,NA,NA,NA\n")
    weekly = deliver(tmp_path, "demo", "weekly_202009_state_deaths.csv", HEADER + "CA,7,NA,NA\npa,-2e1,NA,NA\n")
    summary = import_receiving(tmp_path, engine, issue="2020-03-05")
    assert (summary["files_found"], summary["files_ok"], summary["files_failed"], summary["rows"]) == (2, 2, 0, 4)
    state = dump(engine)
    # 2020-03-05 is in epiweek 202010 (Sunday 2020-03-01 .. Saturday 2020-03-07): weekly lag 1, daily lag 4
    assert state["full"] == [
        ("county", "01001", "demo", "cases", "day", 20200301, 20200305, 4, 1.5, 0.25, 10.0, 0, 0, 0),
        ("county", "06037", "demo", "cases", "day", 20200301, 20200305, 4, None, None, None, 5, 5, 5),
        ("state", "ca", "demo", "deaths", "week", 202009, 202010, 1, 7.0, None, None, 0, 5, 5),
        ("state", "pa", "demo", "deaths", "week", 202009, 202010, 1, -20.0, None, None, 0, 5, 5),
    ]
    assert state["latest"] == state["full"] and state["latest_ids_in_full"] == 4
    for original, content in ((daily, HEADER + "01001,1.5,0.25,10\n06037,NA,NA,NA\n"),
                              (weekly, HEADER + "CA,7,NA,NA\npa,-2e1,NA,NA\n")):
        assert not original.exists()
        archived = tmp_path / "archive" / "successful" / "demo" / f"{original.name}.gz"
        assert gzip.decompress(archived.read_bytes()).decode() == content
    assert len(state["markers"]) == 2 and all(m.startswith("file:demo/") for m, _ in state["markers"])


def test_missing_codes_are_repaired_by_the_spec_rules(tmp_path, engine):
    # one row per rule: (1) no code + value → 0, (2) no code + NA → 5, (3) code 3 but a value → 0,
    # (4) code 0 but NA → 5, (5) a consistent code is kept; codes in float form ("3.0") and unparsable text count
    content = ("geo_id,val,se,sample_size,missing_val,missing_se,missing_sample_size\n"
               "ak,1,NA,NA,,1,\n"
               "al,NA,NA,NA,,x,\n"
               "ar,2,NA,NA,3,2.0,nan\n"
               "az,NA,0.5,NA,0,0,0\n"
               "ca,NA,NA,4,4.0,4,0\n")
    deliver(tmp_path, "demo", "20200301_state_codes.csv", content)
    assert import_receiving(tmp_path, engine, issue=ISSUE)["files_ok"] == 1
    codes = {row[1]: row[-3:] for row in dump(engine)["full"]}
    assert codes == {"ak": (0, 1, 5), "al": (5, 5, 5), "ar": (0, 2, 5), "az": (5, 0, 5), "ca": (4, 4, 0)}


BAD_FILES = [
    # (file name, content, line, field, words of the problem)
    ("20200231_state_x.csv", HEADER + "ca,1,NA,NA\n", None, "file name", "not a calendar day"),
    ("weekly_202153_state_x.csv", HEADER + "ca,1,NA,NA\n", None, "file name", "week 53 only in 53-week years"),
    ("20200306_state_x.csv", HEADER + "ca,1,NA,NA\n", None, "file name", "negative lag"),
    ("20200301_zip_x.csv", HEADER + "15213,1,NA,NA\n", None, "file name", "geo_type must be one of"),
    ("20200301_nowhere_x.csv", HEADER + "ca,1,NA,NA\n", None, "file name", "file name must be"),
    ("20200301_state_x';drop table epimetric_full;--.csv", HEADER + "ca,1,NA,NA\n", None, "file name",
     "signal must be"),
    ("20200301_state_a..b.csv", HEADER + "ca,1,NA,NA\n", None, "file name", "signal must be"),
    ("20200301_state_" + "s" * 65 + ".csv", HEADER + "ca,1,NA,NA\n", None, "file name", "signal must be 1-64"),
    ("20200301_state_empty.csv", "", 1, None, "empty file"),
    ("20200301_state_blank.csv", "\n\n", 1, None, "empty file"),
    ("20200301_state_header.csv", HEADER, 2, None, "header only"),
    ("20200301_state_nohead.csv", "geo_id,val,sample_size\nca,1,NA\n", 1, "header", "lacks column(s) se"),
    ("20200301_state_twice.csv", "geo_id,val,value,se,sample_size\nca,1,1,NA,NA\n", 1, "header", "twice"),
    ("20200301_state_dup.csv", HEADER + "ca,1,NA,NA\npa,2,NA,NA\nCA,3,NA,NA\n", 4, "geo_id",
     "repeated (first on line 2)"),
    ("20200301_hrr_dup.csv", HEADER + "12,1,NA,NA\n012,2,NA,NA\n", 3, "geo_id", "repeated"),
    ("20200301_state_inf.csv", HEADER + "ca,inf,NA,NA\n", 2, "val", "not a finite number"),
    ("20200301_state_infinity.csv", HEADER + "ca,1,-Infinity,NA\n", 2, "se", "not a finite number"),
    ("20200301_state_huge.csv", HEADER + "ca,1,NA,1e999\n", 2, "sample_size", "not a finite number"),
    ("20200301_state_oddnan.csv", HEADER + "ca,-nan,NA,NA\n", 2, "val", "not a number"),
    ("20200301_state_nanq.csv", HEADER + "ca,NaNQ,NA,NA\n", 2, "val", "not a number"),
    ("20200301_state_text.csv", HEADER + "ca,1,NA,NA\npa,one,NA,NA\n", 3, "val", "not a number"),
    ("20200301_state_negse.csv", HEADER + "ca,1,-0.5,NA\n", 2, "se", "must not be negative"),
    ("20200301_state_negn.csv", HEADER + "ca,1,NA,-1\n", 2, "sample_size", "must not be negative"),
    ("20200301_state_fields.csv", HEADER + "ca,1,NA\n", 2, None, "3 fields, the header has 4"),
    ("20200301_state_geo.csv", HEADER + "california,1,NA,NA\n", 2, "geo_id", "not a state geo id"),
    ("20200301_county_geo.csv", HEADER + "0100a,1,NA,NA\n", 2, "geo_id", "not a county geo id"),
    ("20200301_county_range.csv", HEADER + "99001,1,NA,NA\n", 2, "geo_id", "not a county geo id"),
    ("20200301_hhs_geo.csv", HEADER + "11,1,NA,NA\n", 2, "geo_id", "not a hhs geo id"),
    ("20200301_msa_geo.csv", HEADER + "01234,1,NA,NA\n", 2, "geo_id", "not a msa geo id"),
    ("20200301_state_sqlgeo.csv", HEADER + "ca';--,1,NA,NA\n", 2, "geo_id", "not a state geo id"),
    ("20200301_state_code.csv", "geo_id,val,se,sample_size,missing_val\nca,NA,NA,NA,7\n", 2, "missing_val",
     "missing code must be one of 0..5"),
    ("20200301_state_latin1.csv", (HEADER + "ca,1,NA,NA\n").encode() + b"p\xe9,1,NA,NA\n", 3, None, "not UTF-8"),
    ("20200301_state_nul.csv", (HEADER + "ca,1,NA,NA\n").encode() + b"pa\x00,1,NA,NA\n", 3, None, "NUL byte"),
    ("20200301_state_quoted.csv", HEADER + '"ca",1,NA,NA\n', 2, "geo_id", "not a state geo id"),
    # well-formed ids of no known region at their level (issue 22): the geography tables decide
    ("20200301_state_zz.csv", HEADER + "ca,1,NA,NA\nzz,2,NA,NA\n", 3, "geo_id", "not a known state"),
    ("20200301_state_us.csv", HEADER + "us,1,NA,NA\n", 2, "geo_id", "not a known state"),
    ("20200301_nation_ca.csv", HEADER + "us,1,NA,NA\nca,2,NA,NA\n", 3, "geo_id", "not a known nation"),
    ("20200301_county_unused.csv", HEADER + "06037,1,NA,NA\n06999,2,NA,NA\n", 3, "geo_id", "not a known county"),
    ("20200301_hrr_unused.csv", HEADER + "458,1,NA,NA\n", 2, "geo_id", "not a known hrr"),
    ("20200301_msa_unused.csv", HEADER + "10000,1,NA,NA\n", 2, "geo_id", "not a known msa"),
    # file names are ASCII: Arabic-Indic digits are no date
    ("\u0662\u0660\u0662\u0660\u0660\u0663\u0660\u0661_state_x.csv", HEADER + "ca,1,NA,NA\n", None, "file name",
     "(ASCII digits)"),
]


def test_each_rule_fails_that_file_only_with_a_reason(tmp_path, engine):
    """All the bad files of :data:`BAD_FILES` in one run beside a good one: each fails alone, with its reason."""
    good = deliver(tmp_path, "demo", "20200301_state_good.csv", HEADER + "ca,1,NA,NA\n")
    for name, content, *_ in BAD_FILES:
        deliver(tmp_path, "demo", name, content)
    summary = import_receiving(tmp_path, engine, issue=ISSUE)
    assert (summary["files_ok"], summary["files_failed"], summary["rows"]) == (1, len(BAD_FILES), 1)
    assert not good.exists() and not list((tmp_path / "receiving" / "demo").iterdir())
    reasons = {item["file"]: item["reason"] for item in summary["failed"]}
    for name, content, line, field, problem in BAD_FILES:
        failed = tmp_path / "archive" / "failed" / "demo" / name
        expected = content if isinstance(content, bytes) else content.encode()
        assert failed.read_bytes() == expected, name  # moved as it was
        report = json.loads((failed.parent / f"{name}.reason.json").read_text())
        first = report["errors"][0]
        assert (first["line"], first["field"]) == (line, field) and problem in first["problem"], (name, first)
        assert report["file"] == f"receiving/demo/{name}" and reasons[report["file"]] == report["reason"]
        assert problem in report["reason"], name
    assert [row[1] for row in dump(engine)["full"]] == ["ca"]  # only the good file's row


def test_every_bad_row_is_listed_up_to_the_limit(tmp_path, engine):
    content = HEADER + "ca,1,NA,NA\npa,x,NA,NA\nny,1,-1,NA\nnj,1,NA,NA\nca,2,NA,NA\ntx,inf,NA,NA\n"
    deliver(tmp_path, "demo", "20200301_state_many.csv", content)
    import_receiving(tmp_path, engine, issue=ISSUE)
    report = json.loads((tmp_path / "archive/failed/demo/20200301_state_many.csv.reason.json").read_text())
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (3, "val"), (4, "se"), (6, "geo_id"), (7, "val")]
    assert report["error_count"] == 4 and report["errors"][0]["value"] == "x"
    assert dump(engine)["full"] == []
    deliver(tmp_path, "demo", "20200301_state_many.csv", content)
    import_receiving(tmp_path, engine, issue=ISSUE, max_errors=2)
    report = json.loads((tmp_path / "archive/failed/demo/20200301_state_many.csv.reason.json").read_text())
    assert (report["error_count"], report["errors_listed"], len(report["errors"])) == (4, 2, 2)


@pytest.mark.parametrize("source", ["evil';drop table signal_dim;--", "a..b", "semi;colon", 'quo"te'])
def test_source_names_that_look_like_sql_or_paths_are_rejected(tmp_path, engine, source):
    deliver(tmp_path, source, "20200301_state_x.csv", HEADER + "ca,1,NA,NA\n")
    summary = import_receiving(tmp_path, engine, issue=ISSUE)
    assert summary["files_failed"] == 1 and "source (directory) name" in summary["failed"][0]["reason"]
    report = json.loads((tmp_path / "archive/failed/unknown/20200301_state_x.csv.reason.json").read_text())
    assert report["errors"][0]["field"] == "source" and report["errors"][0]["value"] == source
    with engine.connect() as conn:  # the tables are all there and empty
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.signal_dim)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.epimetric_full)).scalar() == 0


def test_issue_folders_carry_their_own_issue(tmp_path, engine):
    deliver(tmp_path, "demo", "20200301_state_x.csv", HEADER + "ca,1,NA,NA\n", folder="issue_20200302")
    deliver(tmp_path, "demo", "20200301_state_x.csv", HEADER + "ca,2,NA,NA\n", folder="issue_20200310")
    deliver(tmp_path, "demo", "weekly_202009_state_w.csv", HEADER + "ca,3,NA,NA\n", folder="issue_20200310")
    deliver(tmp_path, "demo", "20200301_state_x.csv", HEADER + "ca,9,NA,NA\n", folder="issue_20200231")
    deliver(tmp_path, "demo", "20200301_state_x.csv", HEADER + "ca,4,NA,NA\n")  # issue = the explicit one
    summary = import_receiving(tmp_path, engine, issue="20200305")
    assert (summary["files_ok"], summary["files_failed"]) == (4, 1)
    state = dump(engine)
    assert [(r[3], r[4], r[5], r[6], r[7], r[8]) for r in state["full"]] == [
        ("w", "week", 202009, 202011, 2, 3.0), ("x", "day", 20200301, 20200302, 1, 1.0),
        ("x", "day", 20200301, 20200305, 4, 4.0), ("x", "day", 20200301, 20200310, 9, 2.0)]
    assert state["latest"] == latest_from_full(state["full"])
    assert [r[8] for r in state["latest"]] == [3.0, 2.0]  # the greatest issue wins, whatever the order
    archive = tmp_path / "archive"
    assert (archive / "successful/issue_20200302/demo/20200301_state_x.csv.gz").is_file()
    assert (archive / "successful/issue_20200310/demo/20200301_state_x.csv.gz").is_file()
    assert (archive / "successful/demo/20200301_state_x.csv.gz").is_file()
    report = json.loads((archive / "failed/issue_20200231/demo/20200301_state_x.csv.reason.json").read_text())
    assert report["errors"][0]["field"] == "issue folder"


def test_other_files_are_left_in_place_and_nothing_found_needs_no_database(tmp_path):
    notes = deliver(tmp_path, "demo", "README.txt", "not data")
    hidden = deliver(tmp_path, "demo", ".20200301_state_x.csv", HEADER + "ca,1,NA,NA\n")  # still being written
    loose = tmp_path / "receiving" / "20200301_state_x.csv"  # in no source folder
    loose.write_text(HEADER + "ca,1,NA,NA\n")
    summary = import_receiving(tmp_path, "mysql+pymysql://nobody@127.0.0.1:1/none", issue=ISSUE)
    assert summary["files_found"] == 0 and notes.exists() and hidden.exists() and loose.exists()
    assert summary["ignored"] == ["receiving/20200301_state_x.csv", "receiving/demo/.20200301_state_x.csv",
                                  "receiving/demo/README.txt"]


def test_a_file_already_loaded_is_only_archived_and_a_changed_one_overwrites(tmp_path, engine):
    path = deliver(tmp_path, "demo", "20200301_state_x.csv", HEADER + "ca,1,NA,NA\npa,2,NA,NA\n")
    content = path.read_bytes()
    import_receiving(tmp_path, engine, issue=ISSUE)
    first = dump(engine)
    # a crash after the commit but before archiving leaves the file in receiving/: the rerun only archives it
    deliver(tmp_path, "demo", "20200301_state_x.csv", content)
    summary = import_receiving(tmp_path, engine, issue=ISSUE)
    assert (summary["files_ok"], summary["files_already_loaded"], summary["rows"]) == (0, 1, 0)
    assert dump(engine) == first and not path.exists()
    # the same issue delivered again with new values overwrites in place (no new versions)
    deliver(tmp_path, "demo", "20200301_state_x.csv", HEADER + "ca,5,NA,NA\n")
    assert import_receiving(tmp_path, engine, issue=ISSUE)["files_ok"] == 1
    state = dump(engine)
    assert [(r[1], r[6], r[8]) for r in state["full"]] == [("ca", 20200305, 5.0), ("pa", 20200305, 2.0)]
    assert state["latest"] == state["full"]


def test_import_folder_is_one_transaction_with_its_marker(tmp_path, engine):
    deliver(tmp_path, "demo", "20200301_state_a.csv", HEADER + "ca,1,NA,NA\n", folder="issue_20200305")
    deliver(tmp_path, "demo", "20200302_state_a.csv", HEADER + "ca,2,NA,NA\n", folder="issue_20200305")
    deliver(tmp_path, "demo", "20200303_state_a.csv", HEADER + "ca,inf,NA,NA\n", folder="issue_20200305")
    deliver(tmp_path, "other", "20200301_state_a.csv", HEADER + "ca,1,NA,NA\n", folder="issue_20200305")
    summary = import_folder(tmp_path, engine, "demo", "2020-03-05")
    assert (summary["files_ok"], summary["files_failed"], summary["rows"]) == (2, 1, 2)
    state = dump(engine)
    assert state["markers"] == [(folder_marker("demo", dt.date(2020, 3, 5)), 2)]
    assert [(r[2], r[5], r[7]) for r in state["full"]] == [("demo", 20200301, 4), ("demo", 20200302, 3)]
    assert (tmp_path / "receiving/issue_20200305/other/20200301_state_a.csv").exists()  # another source's
    # killed after the commit: the files are back, the marker is there, so they are only archived
    deliver(tmp_path, "demo", "20200301_state_a.csv", HEADER + "ca,1,NA,NA\n", folder="issue_20200305")
    again = import_folder(tmp_path, engine, "demo", dt.date(2020, 3, 5))
    assert (again["files_ok"], again["files_already_loaded"]) == (0, 1) and dump(engine) == state
    # an empty folder still gets its marker: it was handled
    (tmp_path / "receiving/issue_20200306/demo").mkdir(parents=True)
    assert import_folder(tmp_path, engine, "demo", 20200306)["files_found"] == 0
    assert (folder_marker("demo", "2020-03-06"), 0) in dump(engine)["markers"]


def test_fast_and_careful_readers_agree_on_real_exports(tmp_path, realdata):
    """Real Delphi JHU exports load through the numba reader; the Python reader gives the same rows."""
    from delphi_signals.epidata import filecheck

    exports = sorted((realdata / "delphi_fixtures/jhu_golden_2020-06-25/tests/receiving").glob("*.csv"))
    assert len(exports) == 512
    source = tmp_path / "jhu-csse"
    source.mkdir()
    for export in exports[::37]:
        path = shutil.copy(export, source / export.name)
        fast = check_file(path, "jhu-csse", dt.date(2020, 6, 25))
        assert fast.ok, fast.reason
        data = path.read_bytes()
        errors = filecheck._Errors(10)
        targets = filecheck._header(data[: data.index(b"\n")], errors)
        geo, quantities, codes = filecheck._read_careful(data, targets, fast.rows["geo_type"].iat[0], errors)
        assert errors.count == 0
        assert geo.tolist() == fast.rows["geo_value"].tolist()
        np.testing.assert_array_equal(quantities, fast.rows[["value", "stderr", "sample_size"]].to_numpy())
