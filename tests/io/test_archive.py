"""The archive differ: every rule on hand-made files, and the real JHU versions diffed in date order."""

import io
import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from delphi_signals.errors import InputError
from delphi_signals.indicators.jhu.pull import pull_metric
from delphi_signals.indicators.jhu.run import build_signals
from delphi_signals.io import write_csvs
from delphi_signals.io.archive import CACHE_MANIFEST, ArchiveDiffer

HEAD4 = "geo_id,val,se,sample_size\n"
HEAD7 = "geo_id,val,se,sample_size,missing_val,missing_se,missing_sample_size\n"
SEVEN = HEAD7.strip().split(",")
NAME = "20200801_state_x.csv"


def put(folder: Path, files: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def run_diff(tmp_path, cache: dict, export: dict, **kwargs):
    differ = ArchiveDiffer(put(tmp_path / "cache", cache), put(tmp_path / "export", export), **kwargs)
    summary = differ.diff(tmp_path / "out")
    return summary, {p.name: p.read_text() for p in (tmp_path / "out").glob("*.csv")}


def test_na_equals_na_and_rounding_to_seven_decimals(tmp_path):
    cache = {NAME: HEAD4 + "a,1.0,NA,NA\nb,NA,0.5,NA\nc,2.0,NA,10.0\n"}
    export = {NAME: HEAD4 + "a,1.00000001,nan,\nb,,0.50000004,NA\nc,2.0,NA,10.0\n"}
    summary, out = run_diff(tmp_path, cache, export)
    assert summary["unchanged"] == [NAME] and summary["changed"] == [] and out == {}


@pytest.mark.parametrize("before, after", [
    ("a,1.0,NA,NA", "a,1.0000001,NA,NA"),  # val moves in the 7th decimal
    ("a,1.0,0.1,NA", "a,1.0,0.1000001,NA"),  # se too
    ("a,1.0,NA,10.0", "a,1.0,NA,10.00000001"),  # sample_size is not rounded
    ("a,1.0,NA,NA", "a,NA,NA,NA"),  # a value becomes NA
])
def test_a_change_beyond_rounding_is_a_changed_row(tmp_path, before, after):
    summary, out = run_diff(tmp_path, {NAME: HEAD4 + before + "\nb,5.0,NA,NA\n"},
                            {NAME: HEAD4 + after + "\nb,5.0,NA,NA\n"})
    assert summary["changed"] == [NAME] and summary["rows"] == 1
    frame = pd.read_csv(tmp_path / "out" / NAME, dtype={"geo_id": str})
    assert list(frame.columns) == SEVEN and frame.geo_id.tolist() == ["a"]
    expected = [float(x) if x != "NA" else np.nan for x in after.split(",")[1:]]
    expected[:2] = np.round(expected[:2], 7)  # sample_size is written as is
    np.testing.assert_array_equal(frame[["val", "se", "sample_size"]].to_numpy()[0], expected)


def test_missing_codes_are_compared_and_gaining_the_columns_changes_every_row(tmp_path):
    cache = {NAME: HEAD7 + "a,1.0,NA,NA,0,1,1\nb,NA,NA,NA,5,1,1\n",
             "20200802_state_x.csv": HEAD4 + "a,1.0,NA,NA\nb,2.0,NA,NA\n"}
    export = {NAME: HEAD7 + "a,1.0,NA,NA,0,1,1\nb,NA,NA,NA,3,1,1\n",
              "20200802_state_x.csv": HEAD7 + "a,1.0,NA,NA,0,1,1\nb,2.0,NA,NA,0,1,1\n"}
    summary, out = run_diff(tmp_path, cache, export)
    assert summary["changed"] == [NAME, "20200802_state_x.csv"]
    assert out[NAME] == HEAD7 + "b,NA,NA,NA,3,1,1\n"
    assert out["20200802_state_x.csv"] == HEAD7 + "a,1.0,NA,NA,0,1,1\nb,2.0,NA,NA,0,1,1\n"


def test_deleted_added_and_changed_rows_sorted_by_geo_with_seven_columns(tmp_path):
    cache = {NAME: HEAD4 + "ca,1.0,NA,NA\nny,2.0,NA,NA\ntx,3.0,NA,NA\n"}
    export = {NAME: HEAD4 + "wa,9.0,NA,NA\nny,2.5,NA,NA\ntx,3.0,NA,NA\naz,0.25,NA,NA\n"}  # unsorted on purpose
    summary, out = run_diff(tmp_path, cache, export)
    assert out[NAME] == HEAD7 + "az,0.25,NA,NA,NA,NA,NA\nca,NA,NA,NA,4,4,4\nny,2.5,NA,NA,NA,NA,NA\n" \
                                "wa,9.0,NA,NA,NA,NA,NA\n"
    assert summary["rows"] == 4


def test_new_files_are_written_whole_and_vanished_ones_deleted_inside_the_window(tmp_path):
    cache = {"20200801_state_x.csv": HEAD4 + "a,1.0,NA,NA\n", "20200802_state_x.csv": HEAD4 + "a,2.0,NA,NA\nb,1.0,NA,NA\n",
             "20200803_state_x.csv": HEAD4 + "a,3.0,NA,NA\n"}
    export = {"20200801_state_x.csv": HEAD4 + "a,1.0,NA,NA\n", "20200803_state_x.csv": HEAD4 + "a,3.0,NA,NA\n",
              "20200804_state_x.csv": HEAD7 + "b,1e-05,NA,NA,0,1,1\na,4.0,NA,NA,0,1,1\n",
              "20200805_state_x.csv": HEAD4}
    summary, out = run_diff(tmp_path, cache, export)
    assert summary["new"] == ["20200804_state_x.csv", "20200805_state_x.csv"]
    assert summary["vanished"] == ["20200802_state_x.csv"] and summary["outside_window"] == []
    assert out["20200802_state_x.csv"] == HEAD7 + "a,NA,NA,NA,4,4,4\nb,NA,NA,NA,4,4,4\n"
    assert out["20200804_state_x.csv"] == HEAD7 + "a,4.0,NA,NA,0,1,1\nb,1e-05,NA,NA,0,1,1\n"
    assert out["20200805_state_x.csv"] == HEAD7
    assert sorted(out) == sorted(summary["new"] + summary["vanished"])


def test_a_file_outside_todays_window_is_not_deleted(tmp_path):
    """Without a manifest the window is the span of today's files; with one, the manifest's days."""
    cache = {"20200801_state_x.csv": HEAD4 + "a,1.0,NA,NA\n", "20200805_state_x.csv": HEAD4 + "a,5.0,NA,NA\n"}
    export = {"20200803_state_x.csv": HEAD4 + "a,3.0,NA,NA\n", "20200804_state_x.csv": HEAD4 + "a,4.0,NA,NA\n"}
    summary, out = run_diff(tmp_path, cache, export)
    assert summary["outside_window"] == ["20200801_state_x.csv", "20200805_state_x.csv"] and not summary["vanished"]
    assert sorted(out) == ["20200803_state_x.csv", "20200804_state_x.csv"]
    manifest = {"issue_date": "2020-08-06", "first_time_value": 20200802, "last_time_value": 20200805}
    (tmp_path / "export" / "_SUCCESS").write_text(json.dumps(manifest))
    summary = ArchiveDiffer(tmp_path / "cache", tmp_path / "export").diff(tmp_path / "out2")
    assert summary["vanished"] == ["20200805_state_x.csv"] and summary["outside_window"] == ["20200801_state_x.csv"]
    assert (tmp_path / "out2" / "20200805_state_x.csv").read_text() == HEAD7 + "a,NA,NA,NA,4,4,4\n"
    summary = ArchiveDiffer(tmp_path / "cache", tmp_path / "export", emit_vanished=False).diff(tmp_path / "out3")
    assert not summary["vanished"] and not (tmp_path / "out3" / "20200805_state_x.csv").exists()


def test_weekly_files_are_diffed_and_their_window_is_their_week(tmp_path):
    weekly = "weekly_202031_nation_x.csv"  # epiweek 31 of 2020: 2020-07-26 .. 2020-08-01
    cache = {weekly: HEAD4 + "us,1.0,NA,NA\n"}
    export = {"20200801_state_x.csv": HEAD4 + "a,1.0,NA,NA\n"}
    summary, out = run_diff(tmp_path, cache, export)
    assert summary["vanished"] == [weekly] and out[weekly] == HEAD7 + "us,NA,NA,NA,4,4,4\n"


def test_byte_identical_files_are_skipped_without_parsing(tmp_path):
    broken = HEAD4 + "a,not-a-number,NA,NA\n"  # parsing it would fail
    summary, out = run_diff(tmp_path, {NAME: broken}, {NAME: broken})
    assert summary["unchanged"] == [NAME] and out == {}
    (tmp_path / "export" / NAME).write_text(broken.replace("not-a-number", "not-a-numbr"))
    with pytest.raises(InputError) as err:  # a real difference is parsed, and the bad field named
        ArchiveDiffer(tmp_path / "cache", tmp_path / "export").diff(tmp_path / "out2")
    assert "line 2" in str(err.value) and "field val" in str(err.value) and NAME in str(err.value)


def test_the_recorded_hashes_spare_reading_the_cache(tmp_path):
    put(tmp_path / "cache", {})
    put(tmp_path / "export", {NAME: HEAD4 + "a,1.0,NA,NA\n"})
    ArchiveDiffer(tmp_path / "cache", tmp_path / "export", issue_date="2020-08-02").commit()
    record = json.loads((tmp_path / "cache" / CACHE_MANIFEST).read_text())
    assert record["issue"] == "2020-08-02" and list(record["files"]) == [NAME]
    (tmp_path / "cache" / NAME).write_text(HEAD4 + "a,9.0,NA,NA\n")  # same size, edited behind our back
    differ = ArchiveDiffer(tmp_path / "cache", tmp_path / "export", issue_date="2020-08-03")
    assert differ.diff(tmp_path / "out")["unchanged"] == [NAME]  # judged by the recorded hash alone
    (tmp_path / "cache" / CACHE_MANIFEST).unlink()  # a commit that crashed midway leaves no record …
    assert differ.diff(tmp_path / "out2")["changed"] == [NAME]  # … so the bytes are compared


def test_diff_never_touches_the_cache_and_commit_makes_it_equal_to_the_export(tmp_path):
    cache = {"20200801_state_x.csv": HEAD4 + "a,1.0,NA,NA\n", "20200802_state_x.csv": HEAD4 + "a,2.0,NA,NA\n",
             "20200730_state_x.csv": HEAD4 + "a,0.5,NA,NA\n"}
    export = {"20200801_state_x.csv": HEAD4 + "a,1.5,NA,NA\n", "20200803_state_x.csv": HEAD4 + "a,3.0,NA,NA\n"}
    put(tmp_path / "cache", cache)
    put(tmp_path / "export", export)
    differ = ArchiveDiffer(tmp_path / "cache", tmp_path / "export", issue_date="2020-08-04")
    differ.diff(tmp_path / "out")
    assert {p.name: p.read_text() for p in (tmp_path / "cache").iterdir()} == cache
    assert differ.cache_issue() is None
    differ.commit()
    assert {p.name: p.read_text() for p in (tmp_path / "cache").glob("*.csv")} == export
    assert str(differ.cache_issue()) == "2020-08-04"
    with pytest.raises(InputError, match="already holds issue 2020-08-04"):
        differ.diff(tmp_path / "again")  # the cache never runs ahead of what was published
    later = ArchiveDiffer(tmp_path / "cache", tmp_path / "export", issue_date="2020-08-05")
    summary = later.diff(tmp_path / "next")
    assert summary["unchanged"] == sorted(export) and summary["rows"] == 0
    with pytest.raises(InputError, match="later issue"):
        ArchiveDiffer(tmp_path / "cache", tmp_path / "export", issue_date="2020-08-01").commit()


def test_commit_syncs_the_copied_files_before_the_record_vouches_for_them(tmp_path, monkeypatch):
    """The README's promise: one syncfs, after every copy and before the record (the real call, observed)."""
    from delphi_signals import atomic

    export = {f"2020080{d}_state_x.csv": HEAD4 + f"a,{d}.0,NA,NA\n" for d in range(1, 6)}
    put(tmp_path / "export", export)
    seen = []
    real_sync = atomic.sync_filesystem

    def observed(path):
        seen.append((sorted(p.name for p in (tmp_path / "cache").glob("*.csv")),
                     (tmp_path / "cache" / CACHE_MANIFEST).exists()))
        real_sync(path)

    monkeypatch.setattr(atomic, "sync_filesystem", observed)
    ArchiveDiffer(tmp_path / "cache", tmp_path / "export", issue_date="2020-08-06").commit()
    assert seen == [(sorted(export), False)]
    assert (tmp_path / "cache" / CACHE_MANIFEST).exists()


def test_a_failed_delivery_is_retried_without_losing_a_change(tmp_path):
    """Day 1's diff is never delivered (no commit): day 2's diff still carries day 1's change."""
    put(tmp_path / "cache", {NAME: HEAD4 + "a,1.0,NA,NA\nb,2.0,NA,NA\n"})
    ArchiveDiffer(tmp_path / "cache", put(tmp_path / "day0", {NAME: HEAD4 + "a,1.0,NA,NA\nb,2.0,NA,NA\n"}),
                  issue_date="2020-08-02").commit()
    day1 = put(tmp_path / "day1", {NAME: HEAD4 + "a,1.5,NA,NA\nb,2.0,NA,NA\n"})
    ArchiveDiffer(tmp_path / "cache", day1, issue_date="2020-08-03").diff(tmp_path / "out1")  # delivery fails
    day2 = put(tmp_path / "day2", {NAME: HEAD4 + "a,1.5,NA,NA\nb,2.5,NA,NA\n"})
    ArchiveDiffer(tmp_path / "cache", day2, issue_date="2020-08-04").diff(tmp_path / "out2")
    assert (tmp_path / "out2" / NAME).read_text() == HEAD7 + "a,1.5,NA,NA,NA,NA,NA\nb,2.5,NA,NA,NA,NA,NA\n"


def test_numbers_beyond_the_fast_formatter_are_written_like_pandas(tmp_path):
    export = {NAME: HEAD7 + "a,123456789.123456789,NA,2.5,0,1,0\nb,-0.00000004,NA,1e16,0,1,0\n"}
    summary, out = run_diff(tmp_path, {}, export)
    frame = pd.DataFrame({"geo_id": ["a", "b"], "val": [123456789.123456789, -0.00000004],
                          "se": [np.nan, np.nan], "sample_size": [2.5, 1e16], "missing_val": [0, 0],
                          "missing_se": [1, 1], "missing_sample_size": [0, 0]})
    frame[["val", "se"]] = frame[["val", "se"]].round(7)
    assert out[NAME] == frame.to_csv(index=False, na_rep="NA")


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="geo_id repeated: a"):
        run_diff(tmp_path, {}, {NAME: HEAD4 + "b,1.0,NA,NA\na,1.0,NA,NA\na,2.0,NA,NA\n"})
    (tmp_path / "out" / "stray.csv").write_text(HEAD4)
    with pytest.raises(InputError, match="already holds CSV files"):
        ArchiveDiffer(tmp_path / "cache", tmp_path / "export").diff(tmp_path / "out")
    with pytest.raises(InputError, match="no issue date"):
        ArchiveDiffer(tmp_path / "cache", tmp_path / "export").commit()
    with pytest.raises(InputError, match="no export folder"):
        ArchiveDiffer(tmp_path / "cache", tmp_path / "nowhere").diff(tmp_path / "out4")
    with pytest.raises(InputError, match="unknown archive backend 's3'"):
        ArchiveDiffer(tmp_path / "cache", tmp_path / "export", backend="s3")


def test_git_backend_keeps_every_issue(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # an outer repository must stay untouched
    cache = tmp_path / "cache"
    first = put(tmp_path / "d1", {NAME: HEAD4 + "a,1.0,NA,NA\n"})
    second = put(tmp_path / "d2", {NAME: HEAD4 + "a,2.0,NA,NA\n", "20200802_state_x.csv": HEAD4 + "a,1.0,NA,NA\n"})
    ArchiveDiffer(cache, first, "git", issue_date="2020-08-02").commit()
    differ = ArchiveDiffer(cache, second, "git", issue_date="2020-08-03")
    assert differ.diff(tmp_path / "out")["changed"] == [NAME]
    differ.commit()
    history = differ.history()
    assert [str(issue) for _, issue in history] == ["2020-08-03", "2020-08-02"]
    assert differ.read_cached(NAME, history[1][0]) == (first / NAME).read_bytes()
    assert differ.read_cached(NAME, history[0][0]) == (second / NAME).read_bytes()
    log = subprocess.run(["git", "log", "--name-status", "--format=%s"], cwd=cache, capture_output=True, text=True)
    assert "A\t20200802_state_x.csv" in log.stdout
    outer = subprocess.run(["git", "rev-list", "--all"], cwd=tmp_path, capture_output=True, text=True)
    assert outer.stdout == ""  # the cache is its own repository: nothing was committed to the outer one
    (cache / NAME).write_text("edited by hand")
    with pytest.raises(InputError, match="uncommitted changes"):
        ArchiveDiffer(cache, second, "git", issue_date="2020-08-04").diff(tmp_path / "out2")


# --- the real JHU versions, diffed in date order ------------------------------------------------------------

VERSIONS = [("vintages/time_series_covid19_{metric}_US__thru_20200909.csv", "2020-09-10"),
            ("vintages/time_series_covid19_{metric}_US__thru_20200929.csv", "2020-09-30"),
            ("vintages/time_series_covid19_{metric}_US__thru_20201111.csv", "2020-11-12"),
            ("time_series_covid19_{metric}_US.csv", "2020-12-01")]
SIGNALS = {"county": {"confirmed_7dav_incidence_prop"},
           "state": {"confirmed_cumulative_num", "confirmed_7dav_incidence_prop", "deaths_incidence_num"}}


@pytest.fixture(scope="module")
def jhu_exports(realdata, tmp_path_factory):
    """Each version as one day's source, exported from 2020-08-15 (a few signals at two levels)."""
    root = tmp_path_factory.mktemp("jhu_versions")
    exports = []
    for template, issue in VERSIONS:
        folder = root / "export" / issue
        for metric in ("confirmed", "deaths"):
            cumulative = pull_metric(metric, base_url=str(realdata / "jhu_csse" / template), data_root=root,
                                   issue_date=issue)
            for level, signals in SIGNALS.items():
                for name, cube in build_signals(cumulative, metric, level):
                    if name in signals:
                        write_csvs(cube, folder, start="2020-08-15")
        exports.append((folder, issue))
    return root, exports


CODES = ["missing_val", "missing_se", "missing_sample_size"]
KEY = ["file", "geo_id"]


def pandas_rows(folder: Path) -> tuple[pd.DataFrame, set]:
    """Every row of every file of ``folder`` in one frame keyed by (file, geo_id), val/se rounded to 7 decimals
    (plain pandas, one ``read_csv`` over the files' lines); and the set of file names."""
    lines, names = ["file," + HEAD7], set()
    for path in sorted(folder.glob("*.csv")):
        header, *rows = path.read_text().splitlines()
        assert header + "\n" == HEAD7, path  # these exports (and every diff) carry the seven columns
        name = path.name
        lines.extend(f"{name},{row}\n" for row in rows)
        names.add(name)
    frame = pd.read_csv(io.StringIO("".join(lines)), dtype={"geo_id": str, "file": str})
    frame[SEVEN[1:]] = frame[SEVEN[1:]].astype(float)
    frame[["val", "se"]] = frame[["val", "se"]].round(7)
    return frame.set_index(KEY).sort_index(), names


def expected_diff(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Changed and added rows with today's values, deleted rows as NA and code 4, by an outer comparison."""
    common = before.index.intersection(after.index)
    a, b = before.loc[common], after.loc[common]
    changed = ~((a == b) | (a.isna() & b.isna())).all(axis=1)
    deleted = before.loc[before.index.difference(after.index)].copy()
    deleted[["val", "se", "sample_size"]] = np.nan
    deleted[CODES] = 4.0
    return pd.concat([deleted, b[changed], after.loc[after.index.difference(before.index)]]).sort_index()


def test_real_versions_diff_to_exactly_the_changed_rows_and_rebuild_the_last_export(jhu_exports):
    root, exports = jhu_exports
    cache = root / "cache"
    (first, issue), rest = exports[0], exports[1:]
    ArchiveDiffer(cache, first, issue_date=issue).commit()
    state, _ = previous, previous_names = pandas_rows(first)
    changed_rows = 0
    for folder, issue in rest:
        today, today_names = pandas_rows(folder)
        summary = ArchiveDiffer(cache, folder, issue_date=issue).diff(root / "diff" / issue)
        got, delivered = pandas_rows(root / "diff" / issue)
        want = expected_diff(previous, today)
        files = set(want.index.get_level_values("file")) | (today_names - previous_names)
        assert delivered == files, issue  # exactly the files with a change; unchanged files are not delivered
        assert summary["unchanged"] == sorted((previous_names & today_names) - files)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert summary["rows"] == len(got)
        for name in delivered:  # rows sorted by geo_id within each file
            geo = pd.read_csv(root / "diff" / issue / name, dtype={"geo_id": str}).geo_id
            assert geo.is_monotonic_increasing
        changed_rows += int(got.index.get_level_values("file").isin(summary["changed"]).sum())
        ArchiveDiffer(cache, folder, issue_date=issue).commit()
        gone = (got[CODES] == 4).all(axis=1)  # apply the diff to the running state, as the importer would
        state = state[~state.index.isin(got.index)]
        state = pd.concat([state, got[~gone]]).sort_index()
        previous, previous_names = today, today_names
    assert changed_rows > 0  # old days really are revised between the versions
    last, _ = pandas_rows(exports[-1][0])
    pd.testing.assert_frame_equal(state, last, check_exact=True)
