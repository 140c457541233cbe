"""The content sanity check and the cache helpers."""

import datetime as dt
import gzip
import io
import os
import zipfile

import pytest

from delphi_signals.sources import ContentError, cache_path, check_content, content_format, latest_cached, parse_day
from delphi_signals.sources.cache import split_filename, store

CSV = b"geo_id,val,se\n01001,1.5,0.1\n01003,2.0,0.2\n"


def zipped(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# (bytes, format, gz) that must pass
GOOD = [
    (CSV, "csv", False),
    (b"\xef\xbb\xbf" + CSV.replace(b"\n", b"\r\n"), "csv", False),  # BOM and CRLF
    (b'name,note\n"Do\xc3\xb1a Ana, NM","two\nlines"\n', "csv", False),  # quoted comma and newline
    (CSV + b"\n\n", "csv", False),  # trailing blank lines
    (CSV.replace(b",", b"\t"), "tsv", False),
    (gzip.compress(CSV), "csv", True),
    (b'{"epidata": [], "result": -2}', "json", False),
    (b'{"a": 1}\n\n{"a": 2}\n', "jsonl", False),
    (zipped({"a.csv": CSV}), "zip", False),
    (b"<!DOCTYPE html><html><body>a report</body></html>", "html", False),
    (b"\x00\x01 not text", "binary", False),
]

# (bytes, format, gz, rule, line) that must fail
BAD = [
    (b"", "csv", False, "empty", None),
    (b"\n\n", "csv", False, "empty", None),
    (gzip.compress(b""), "csv", True, "empty", None),
    (b"<!DOCTYPE html>\n<html><body>Error 503</body></html>", "csv", False, "html", 1),
    (b"\xef\xbb\xbf  \n<html lang='en'><head>", "json", False, "html", 1),
    (b"<HTML><BODY>Login</BODY></HTML>", "binary", False, "html", 1),
    (b"<html>\n<title>Not Found</title>", "text", False, "html", 1),
    (CSV[:-6], "csv", False, "csv_fields", 3),  # last row cut before its last comma
    (CSV + b"01005,1,2,3\n", "csv", False, "csv_fields", 4),  # extra field
    (b'name,note\n"Dona Ana, NM","two\nli', "csv", False, "csv_syntax", 3),  # quote never closed
    (b"geo_id,val,se\n", "csv", False, "csv_no_rows", None),
    (gzip.compress(CSV)[:-10], "csv", True, "gzip", None),
    (b'{"epidata": [1, 2', "json", False, "json", 1),
    (b'{"a": 1}\n{"a": ', "jsonl", False, "json", 2),
    (zipped({"a.csv": CSV * 50})[:-30], "zip", False, "zip", None),
]


@pytest.mark.parametrize(("data", "fmt", "gz"), GOOD)
def test_plausible_content_passes(data, fmt, gz):
    assert check_content(data, fmt, gz=gz, origin="x") is None


@pytest.mark.parametrize(("data", "fmt", "gz", "rule", "line"), BAD)
def test_bad_content_fails_naming_rule_origin_and_line(data, fmt, gz, rule, line):
    with pytest.raises(ContentError) as info:
        check_content(data, fmt, gz=gz, origin="https://host/a")
    assert (info.value.rule, info.value.line, info.value.file) == (rule, line, "https://host/a")
    assert str(info.value).startswith("https://host/a")


def test_error_messages_read_well():
    messages = {}
    for data, fmt in [(b"", "csv"), (b"<html><body>", "csv"), (CSV[:-6], "csv"), (b"geo_id,val\n", "csv")]:
        with pytest.raises(ContentError) as info:
            check_content(data, fmt, origin="u.csv")
        messages[info.value.rule] = str(info.value)
    assert messages == {
        "empty": "u.csv: empty file (0 bytes)",
        "html": "u.csv, line 1: an HTML page, not csv data (an error or login page served with 200?)",
        "csv_fields": "u.csv, line 3: csv row has 2 fields, the header has 3 (truncated file?)",
        "csv_no_rows": "u.csv: csv has a header but no data rows",
    }


def test_unknown_format_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown content format 'parquet'"):
        check_content(b"x", "parquet")


@pytest.mark.parametrize(("ext", "expected"), [
    ("csv", ("csv", False)), ("CSV.GZ", ("csv", True)), ("tsv", ("tsv", False)), ("ndjson", ("jsonl", False)),
    ("json.gz", ("json", True)), ("zip", ("zip", False)), ("txt", ("text", False)), ("htm", ("html", False)),
    ("xlsx", ("binary", False)), ("gz", ("binary", True)),
])
def test_content_format_from_extension(ext, expected):
    assert content_format(ext) == expected


def test_cache_path_and_its_guards(tmp_path):
    assert cache_path(tmp_path, "usa-facts", dt.date(2020, 3, 1), "covid_confirmed_usafacts", "csv") == (
        tmp_path / "input" / "usa-facts" / "20200301_covid_confirmed_usafacts.csv")
    with pytest.raises(ValueError, match=r"source '\.\./etc' is not a plain file-name part"):
        cache_path(tmp_path, "../etc", None, "a", "csv")
    with pytest.raises(ValueError, match="name 'a/b'"):
        cache_path(tmp_path, "s", None, "a/b", "csv")
    with pytest.raises(ValueError, match="extension 'c/v'"):
        cache_path(tmp_path, "s", None, "a", "c/v")


def test_parse_day():
    assert parse_day(dt.datetime(2020, 11, 30, 23, 59)) == parse_day("20201130") == dt.date(2020, 11, 30)
    assert parse_day(None) == dt.date.today()
    with pytest.raises(ValueError, match="'2020-13-01' is not a date"):
        parse_day("2020-13-01")


@pytest.mark.parametrize(("filename", "expected"), [
    ("a.csv", ("a", "csv")), ("a.b.csv", ("a.b", "csv")), ("a.csv.gz", ("a", "csv.gz")), ("a.gz", ("a", "gz")),
    ("noext", ("noext", "")), (".hidden", (".hidden", "")),
])
def test_split_filename(filename, expected):
    assert split_filename(filename) == expected


def test_latest_cached_picks_the_newest_on_or_before(tmp_path):
    folder = tmp_path / "input" / "jhu-csse"
    folder.mkdir(parents=True)
    for name in ["20201128_confirmed.csv", "20201130_confirmed.csv", "20201202_confirmed.csv",
                 "20201203_deaths.csv", "20201204_confirmed.csv.gz", ".20201205_confirmed.csv.x.part"]:
        (folder / name).write_text("x")
    assert latest_cached(tmp_path, "jhu-csse", "confirmed", "csv") == folder / "20201202_confirmed.csv"
    assert latest_cached(tmp_path, "jhu-csse", "confirmed", "csv", on_or_before="2020-12-01") == (
        folder / "20201130_confirmed.csv")
    assert latest_cached(tmp_path, "jhu-csse", "confirmed", "csv", on_or_before="2020-11-01") is None
    assert latest_cached(tmp_path, "jhu-csse", "confirmed", "csv.gz") == folder / "20201204_confirmed.csv.gz"


def test_store_leaves_nothing_when_the_writer_dies_midway(tmp_path):
    target = tmp_path / "input" / "s" / "20201130_a.csv"

    def write_half_then_crash(tmp):
        tmp.write_bytes(CSV[:10])
        raise ConnectionResetError("peer hung up")

    with pytest.raises(ConnectionResetError):
        store(target, write_half_then_crash, url="u")
    assert os.listdir(target.parent) == []


def test_store_with_a_custom_check_and_without_check(tmp_path):
    target = tmp_path / "20201130_a.csv"
    seen = []
    assert store(target, lambda tmp: tmp.write_bytes(b"anything"), url="u", check=lambda d, o: seen.append((d, o)))[1] == 8
    assert seen == [(b"anything", "u")]
    store(target, lambda tmp: tmp.write_bytes(b"<html><body>"), url="u", check=None)
    assert target.read_bytes() == b"<html><body>"
    with pytest.raises(ContentError, match="invalid JSON"):
        store(target, lambda tmp: tmp.write_bytes(b"{"), url="u", check="json", keep_rejected=False)
    assert target.read_bytes() == b"<html><body>"
