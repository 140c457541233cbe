"""fetch(): URLs through fsspec into the dated input cache, with retries, the same-day skip and content checks."""

import hashlib
import sys

import fsspec
import pytest
from structlog.testing import capture_logs

from delphi_signals.errors import DelphiSignalsError, InputError
from delphi_signals.sources import ContentError, FetchError, MissingExtraError, Retry, fetch

DAY = "2020-11-30"
GOOD_CSV = b"UID,FIPS,1/22/20,1/23/20\n84001001,1001.0,0,1\n84001003,1003.0,2,3\n"  # as the server's
HTML_PAGE = b"<!DOCTYPE html>\n<html><head><title>Service unavailable</title></head><body>Try later</body></html>\n"
FAST = Retry(attempts=3, delay=0.001, factor=2.0)


def files_under(root):
    """Every file below root, as sorted relative posix paths (hidden temporaries included)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_http_fetch_stores_the_exact_bytes_under_the_dated_name(http_server, tmp_path):
    assert (http_server.good_csv, http_server.html_page) == (GOOD_CSV, HTML_PAGE)
    result = fetch(http_server.url("/good.csv"), source="jhu-csse", data_root=tmp_path, day=DAY, retry=FAST)
    assert result.path == tmp_path / "input" / "jhu-csse" / "20201130_good.csv"
    assert result.path.read_bytes() == GOOD_CSV
    assert (result.nbytes, result.sha256) == (len(GOOD_CSV), hashlib.sha256(GOOD_CSV).hexdigest())
    assert (result.skipped, result.attempts, result.url) == (False, 1, http_server.url("/good.csv"))
    assert files_under(tmp_path) == ["input/jhu-csse/20201130_good.csv"]


def test_same_day_is_skipped_without_a_request_unless_forced(http_server, tmp_path):
    url = http_server.url("/counts.csv")
    http_server.bodies["/counts.csv"] = b"geo_id,val\n01001,1\n"
    first = fetch(url, source="s", data_root=tmp_path, day=DAY, retry=FAST)
    http_server.bodies["/counts.csv"] = b"geo_id,val\n01001,2\n"
    again = fetch(url, source="s", data_root=tmp_path, day=DAY, retry=FAST)
    assert again.skipped and again.attempts == 0 and http_server.hits["/counts.csv"] == 1
    assert again.sha256 == first.sha256 and first.path.read_bytes() == b"geo_id,val\n01001,1\n"

    forced = fetch(url, source="s", data_root=tmp_path, day=DAY, retry=FAST, force=True)
    assert not forced.skipped and http_server.hits["/counts.csv"] == 2
    assert forced.path.read_bytes() == b"geo_id,val\n01001,2\n" and forced.sha256 != first.sha256

    next_day = fetch(url, source="s", data_root=tmp_path, day="2020-12-01", retry=FAST)
    assert next_day.path.name == "20201201_counts.csv" and not next_day.skipped


def test_html_error_page_served_with_200_is_rejected_and_set_aside(http_server, tmp_path):
    url = http_server.url("/error.csv")
    with pytest.raises(ContentError, match=r"error\.csv, line 1: an HTML page, not csv data") as info:
        fetch(url, source="s", data_root=tmp_path, day=DAY, retry=FAST)
    assert info.value.rule == "html" and isinstance(info.value, InputError)
    assert http_server.hits["/error.csv"] == 1  # content failures are not retried
    assert files_under(tmp_path) == ["input/s/rejected/20201130_error.csv", "input/s/rejected/20201130_error.csv.reason"]
    assert (tmp_path / "input/s/rejected/20201130_error.csv").read_bytes() == HTML_PAGE
    reason = (tmp_path / "input/s/rejected/20201130_error.csv.reason").read_text()
    assert f"url: {url}\n" in reason and "rule: html\n" in reason


def test_rejected_bytes_can_be_dropped_instead(http_server, tmp_path):
    with pytest.raises(ContentError):
        fetch(http_server.url("/error.csv"), source="s", data_root=tmp_path, day=DAY, keep_rejected=False)
    assert files_under(tmp_path) == []


def test_csv_cut_mid_row_is_rejected_with_its_line(http_server, tmp_path):
    with pytest.raises(ContentError, match=r"cut\.csv, line 3: csv row has 3 fields, the header has 4") as info:
        fetch(http_server.url("/cut.csv"), source="s", data_root=tmp_path, day=DAY, keep_rejected=False)
    assert info.value.rule == "csv_fields" and info.value.line == 3
    assert files_under(tmp_path) == []


def test_body_shorter_than_content_length_is_retried_then_fails_leaving_nothing(http_server, tmp_path):
    with pytest.raises(FetchError, match=r"short\.csv: incomplete download.*\(after 3 attempts\)") as info:
        fetch(http_server.url("/short.csv"), source="s", data_root=tmp_path, day=DAY, retry=FAST)
    assert info.value.attempts == 3 and http_server.hits["/short.csv"] == 3
    assert files_under(tmp_path) == []  # no partial file, no temporary left behind


def test_server_errors_are_retried_with_exponential_backoff(http_server, tmp_path):
    waits = []
    retry = Retry(attempts=4, delay=0.5, factor=3.0, max_delay=1.0)
    with capture_logs() as logs:
        result = fetch(http_server.url("/flaky/2/a.csv"), source="s", data_root=tmp_path, day=DAY, retry=retry,
                       sleep=waits.append)
    assert result.attempts == 3 and result.path.read_bytes() == GOOD_CSV
    assert waits == [0.5, 1.0]  # 0.5, then 1.5 capped at max_delay
    events = [(e["event"], e.get("attempt")) for e in logs]
    assert events == [("fetch attempt failed", 1), ("fetch attempt failed", 2), ("fetched file", 3)]
    assert logs[0]["error"].startswith("HTTP 500") and logs[0]["retry_in"] == 0.5
    assert {k: logs[-1][k] for k in ("source", "url", "file")} == {
        "source": "s", "url": http_server.url("/flaky/2/a.csv"), "file": str(result.path)}


def test_retries_are_bounded(http_server, tmp_path):
    with pytest.raises(FetchError, match=r"HTTP 500 .*\(after 2 attempts\)"):
        fetch(http_server.url("/flaky/5/b.csv"), source="s", data_root=tmp_path, day=DAY,
              retry=Retry(attempts=2, delay=0.001))
    assert http_server.hits["/flaky/5/b.csv"] == 2 and files_under(tmp_path) == []


@pytest.mark.parametrize(("path", "message"), [("/missing.csv", "not found"), ("/forbidden.csv", "HTTP 403")])
def test_client_errors_fail_at_once(http_server, tmp_path, path, message):
    with capture_logs() as logs, pytest.raises(FetchError, match=message) as info:
        fetch(http_server.url(path), source="s", data_root=tmp_path, day=DAY, retry=FAST)
    assert info.value.url == http_server.url(path) and http_server.hits[path] == 1
    assert [(e["event"], e["attempt"]) for e in logs] == [("fetch failed", 1)]


def test_failed_forced_refetch_keeps_the_old_file(http_server, tmp_path):
    http_server.bodies["/daily.csv"] = GOOD_CSV
    first = fetch(http_server.url("/daily.csv"), source="s", data_root=tmp_path, day=DAY)
    http_server.bodies["/daily.csv"] = HTML_PAGE
    with pytest.raises(ContentError):
        fetch(http_server.url("/daily.csv"), source="s", data_root=tmp_path, day=DAY, force=True)
    assert first.path.read_bytes() == GOOD_CSV


def test_json_is_checked(http_server, tmp_path):
    good = fetch(http_server.url("/data.json"), source="hhs", data_root=tmp_path, day=DAY)
    assert good.path.name == "20201130_data.json"
    with pytest.raises(ContentError, match=r"bad\.json, line 1: invalid JSON") as info:
        fetch(http_server.url("/bad.json"), source="hhs", data_root=tmp_path, day=DAY)
    assert info.value.rule == "json"


def test_url_query_is_not_part_of_the_name_and_name_ext_override(http_server, tmp_path):
    result = fetch(http_server.url("/good.csv?$limit=50000"), source="s", data_root=tmp_path, day=DAY)
    assert result.path.name == "20201130_good.csv"
    named = fetch(http_server.url("/good.csv"), source="s", data_root=tmp_path, day=DAY, name="confirmed")
    assert named.path.name == "20201130_confirmed.csv"
    with pytest.raises(ValueError, match="extension '' is empty"):
        fetch(http_server.url("/api/rows"), source="s", data_root=tmp_path, day=DAY)


def test_file_url_plain_and_relative_paths(tmp_path, monkeypatch):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "deaths.csv.gz").write_bytes(__import__("gzip").compress(GOOD_CSV))
    by_url = fetch(f"file://{tmp_path}/src/deaths.csv.gz", source="a", data_root=tmp_path / "var", day=DAY)
    by_path = fetch(tmp_path / "src" / "deaths.csv.gz", source="b", data_root=tmp_path / "var", day=DAY)
    monkeypatch.chdir(tmp_path)
    relative = fetch("src/deaths.csv.gz", source="c", data_root="var", day=DAY)
    assert by_url.path.name == by_path.path.name == relative.path.name == "20201130_deaths.csv.gz"
    assert by_url.sha256 == by_path.sha256 == relative.sha256 == hashlib.sha256(
        (tmp_path / "src" / "deaths.csv.gz").read_bytes()).hexdigest()  # compressed bytes kept as fetched


def test_missing_local_file_is_not_retried(tmp_path):
    waits = []
    with pytest.raises(FetchError, match="nope.csv: not found"):
        fetch(tmp_path / "nope.csv", source="s", data_root=tmp_path, day=DAY, sleep=waits.append)
    assert waits == []


def test_any_fsspec_filesystem_works(tmp_path):
    fs = fsspec.filesystem("memory")
    fs.pipe("/bucket/state.csv", GOOD_CSV)
    result = fetch("memory://bucket/state.csv", source="s", data_root=tmp_path, day=DAY)
    assert result.path.read_bytes() == GOOD_CSV
    fs.rm("/bucket/state.csv")


def test_size_mismatch_on_other_filesystems_is_retried_as_incomplete(tmp_path, monkeypatch):
    fs = fsspec.filesystem("memory")
    fs.pipe("/bucket/growing.csv", GOOD_CSV)
    monkeypatch.setattr(fs, "size", lambda path: len(GOOD_CSV) + 10)  # as if the file grew while we read it
    waits = []
    with pytest.raises(FetchError, match=r"incomplete download: got 65 of 75 bytes \(after 3 attempts\)"):
        fetch("memory://bucket/growing.csv", source="s", data_root=tmp_path, day=DAY, retry=FAST, sleep=waits.append)
    assert len(waits) == 2 and files_under(tmp_path) == []
    fs.rm("/bucket/growing.csv")


@pytest.mark.parametrize(("url", "module", "package"), [
    ("sftp://host.example/data/a.csv", "paramiko", "paramiko"),
    ("s3://bucket/a.csv", "s3fs", "s3fs"),
])
def test_missing_optional_package_names_the_extra(tmp_path, monkeypatch, url, module, package):
    monkeypatch.setitem(sys.modules, module, None)  # import of it now fails, installed or not
    monkeypatch.setitem(sys.modules, "fsspec.implementations.sftp", None)
    for protocol in ("sftp", "s3"):
        monkeypatch.delitem(sys.modules["fsspec.registry"]._registry, protocol, raising=False)
    with pytest.raises(MissingExtraError, match=rf"needs the optional package '{package}'.*pip install {package}"):
        fetch(url, source="s", data_root=tmp_path, day=DAY)
    assert files_under(tmp_path) == []


def test_unknown_protocol(tmp_path):
    with pytest.raises(FetchError, match="unknown protocol 'nosuch'") as info:
        fetch("nosuch://x/a.csv", source="s", data_root=tmp_path, day=DAY)
    assert isinstance(info.value, DelphiSignalsError)


def test_skip_is_logged_with_fixed_fields(http_server, tmp_path):
    fetch(http_server.url("/good.csv"), source="s", data_root=tmp_path, day=DAY)
    with capture_logs() as logs:
        fetch(http_server.url("/good.csv"), source="s", data_root=tmp_path, day=DAY)
    assert logs == [{"event": "fetch skipped: cached", "log_level": "debug", "source": "s",
                     "url": http_server.url("/good.csv"), "file": str(tmp_path / "input/s/20201130_good.csv")}]


def test_retry_policy_is_validated():
    assert Retry(attempts=5, delay=1, factor=2, max_delay=5).delays() == [1, 2, 4, 5]
    with pytest.raises(ValueError, match="attempts >= 1"):
        Retry(attempts=0)
