"""The epidata database as the validator's reference, on SQLite and MariaDB: the same findings as the archive
cache holding the same published files, and what was known before the issue, not after it."""

import datetime as dt
import shutil

import numpy as np
import pandas as pd
import pytest

from delphi_signals.epidata import Epidata
from delphi_signals.epidata.importer import import_folder
from delphi_signals.validate import ArchiveReference, DatabaseReference, validate_export

from .conftest import JHU_ISSUE, edit, is_today_jhu, jhu_validation

SIGNALS = ("confirmed_incidence_num", "confirmed_incidence_prop")
PUBLISHED = dt.date(2020, 11, 24)  # the issue that published the reference files (data through 11-23)
COMBO = ("state", "confirmed_incidence_num", "day")


def deliver(files, root, issue: dt.date, change=None):
    """Copy ``files`` into ``root/receiving/issue_<issue>/jhu-csse/`` (optionally edited) for the importer."""
    folder = root / "receiving" / f"issue_{issue:%Y%m%d}" / "jhu-csse"
    folder.mkdir(parents=True)
    for path in files:
        shutil.copy(path, folder / path.name)
        if change is not None:
            edit(folder / path.name, change)
    return folder


@pytest.fixture
def published(jhu_files, split_export, tmp_path, db_url):
    """Today's export, the reference folder, and a database that imported the reference as one issue."""
    export, reference = split_export(jhu_files, is_today_jhu, ("state",), SIGNALS)
    deliver(sorted(reference.glob("*.csv")), tmp_path / "data", PUBLISHED)
    summary = import_folder(tmp_path / "data", db_url, "jhu-csse", PUBLISHED)
    assert summary["files_failed"] == 0
    db = Epidata(db_url)
    yield export, reference, db, tmp_path / "data"
    db.engine.dispose()


def findings(report):
    return sorted((f.check_name, f.severity, f.geo_type, f.signal, str(f.date), f.message) for f in report.failures)


def validate(export, reference):
    return validate_export(export, source="jhu-csse", issue_date=JHU_ISSUE, validation=jhu_validation(),
                           reference=reference)


def test_same_findings_as_the_archive_cache_with_a_defect_injected(published):
    export, reference, db, _ = published
    path = export / "20201128_state_confirmed_incidence_num.csv"  # a spike in one state, half the rows gone
    edit(path, lambda f: f.assign(val=np.where(f.geo_id == "ca", (f.val.astype(float) * 10).astype(str), f.val)))
    edit(export / "20201127_state_confirmed_incidence_prop.csv", lambda f: f.iloc[: len(f) // 2])
    from_db = validate(export, DatabaseReference(db, "jhu-csse", before=JHU_ISSUE))
    from_archive = validate(export, ArchiveReference(reference))
    assert findings(from_db) == findings(from_archive)
    checks = {f[0] for f in findings(from_db)}
    assert {"check_positive_negative_spikes", "check_rapid_change_num_rows"} <= checks


def test_rows_and_dates_equal_the_published_files(published):
    _, reference, db, _ = published
    ref = DatabaseReference(db, "jhu-csse", before=JHU_ISSUE)
    archive = ArchiveReference(reference)
    window = (dt.date(2020, 11, 1), dt.date(2020, 11, 30))
    assert ref.combos(*window) == archive.combos(*window) == {("state", s, "day") for s in SIGNALS}
    assert ref.latest(COMBO) == archive.latest(COMBO) == dt.date(2020, 11, 23)
    mine = ref.rows(COMBO, dt.date(2020, 11, 16), dt.date(2020, 11, 23)).sort_values(["time_value", "geo_id"])
    theirs = archive.rows(COMBO, dt.date(2020, 11, 16), dt.date(2020, 11, 23)).sort_values(["time_value", "geo_id"])
    files = [reference / f"202011{day}_state_confirmed_incidence_num.csv" for day in range(16, 24)]
    assert len(mine) == sum(len(pd.read_csv(f)) for f in files) == 8 * 56  # states, DC, 5 territories; 8 days
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), theirs.reset_index(drop=True), check_dtype=False)


def test_a_later_revision_is_not_seen_by_an_earlier_issue(published):
    _, reference, db, root = published
    day = reference / "20201123_state_confirmed_incidence_num.csv"
    deliver([day], root, dt.date(2020, 12, 3), lambda f: f.assign(val="12345.0"))
    assert import_folder(root, db.engine, "jhu-csse", dt.date(2020, 12, 3))["files_failed"] == 0
    one_day = (dt.date(2020, 11, 23), dt.date(2020, 11, 23))
    then = DatabaseReference(db, "jhu-csse", before=JHU_ISSUE).rows(COMBO, *one_day)
    now = DatabaseReference(db, "jhu-csse").rows(COMBO, *one_day)
    expected = pd.read_csv(day, dtype={"geo_id": str}).set_index("geo_id").val
    assert then.set_index("geo_id").val.sort_index().tolist() == expected.sort_index().tolist()
    assert (now.val == 12345.0).all() and len(now) == len(expected)


def test_nothing_published_before_the_first_issue(published):
    _, _, db, _ = published
    early = DatabaseReference(db, "jhu-csse", before=PUBLISHED)
    assert early.combos(dt.date(2020, 11, 1), dt.date(2020, 11, 30)) == set() and early.latest(COMBO) is None
    assert early.rows(COMBO, dt.date(2020, 11, 1), dt.date(2020, 11, 30)).empty
    assert DatabaseReference(db, "another-source").combos(dt.date(2020, 1, 1), dt.date(2021, 1, 1)) == set()


def test_an_unreadable_database_is_the_validators_fetch_error(published):
    """As upstream's validator records a failed API fetch: ``api_data_fetch_error``, an error that blocks."""
    export, _, db, _ = published
    ref = DatabaseReference(db, "jhu-csse", before=JHU_ISSUE)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE epimetric_latest RENAME TO epimetric_latest_gone")
    report = validate(export, ref)
    errors = [f for f in report.failures if f.check_name == "api_data_fetch_error"]
    assert {f.signal for f in errors} == set(SIGNALS) and all(f.severity == "error" for f in errors)
    assert "the database reference could not be read" in errors[0].message and report.blocking


def test_a_window_holding_only_deletions_has_no_reference_rows(published):
    from delphi_signals.epidata import store

    _, reference, db, _ = published
    day = pd.read_csv(reference / "20201123_state_confirmed_incidence_num.csv", dtype={"geo_id": str})
    deleted = pd.DataFrame({"source": "jhu-csse", "signal": "confirmed_incidence_num", "time_type": "day",
                            "geo_type": "state", "geo_value": day.geo_id, "time_value": 20201123, "issue": 20201202,
                            "lag": 9, "value": None, "stderr": None, "sample_size": None, "missing_value": 4,
                            "missing_stderr": 4, "missing_sample_size": 4})
    with store.locked_transaction(db.engine) as conn:
        store.load_rows(conn, deleted)
    one_day = (dt.date(2020, 11, 23), dt.date(2020, 11, 23))
    assert DatabaseReference(db, "jhu-csse").rows(COMBO, *one_day).empty
    assert len(DatabaseReference(db, "jhu-csse", before=JHU_ISSUE).rows(COMBO, *one_day)) == len(day)
