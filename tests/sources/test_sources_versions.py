"""Version resolution for past issues, the version sidecar, and the retrying HTTP GET (local server only)."""

import dataclasses
import datetime as dt
import json
import subprocess

import pytest

from delphi_signals.errors import InputError
from delphi_signals.sources import FetchError, Retry, SourceVersionError
from delphi_signals.sources.cache import read_version, version_sidecar, write_version
from delphi_signals.sources.http import http_get, redact
from delphi_signals.sources.versions import (
    GitHistory,
    as_of_version,
    current_version,
    fetch_commit,
    is_local,
    resolve_commit,
    select_commit,
)

UTC = dt.timezone.utc


def test_select_commit_needs_a_commit_strictly_before_the_issue_began():
    commits = [("at-midnight", dt.datetime(2020, 9, 10, 0, 0, tzinfo=UTC)),
               ("late", dt.datetime(2020, 9, 9, 23, 59, 59, tzinfo=UTC)),
               ("early", dt.datetime(2020, 9, 9, 1, 0, tzinfo=UTC))]
    assert select_commit(commits, "2020-09-10", source="s", path="f")[0] == "late"
    assert select_commit(list(reversed(commits)), "2020-09-10", source="s", path="f")[0] == "late"  # any order
    assert select_commit(commits, "2020-09-11", source="s", path="f")[0] == "at-midnight"
    # a commit time in another zone is compared in UTC: 2020-09-09T20:30-04:00 is 09-10 00:30 UTC
    eastern = [("ny", dt.datetime(2020, 9, 9, 20, 30, tzinfo=dt.timezone(dt.timedelta(hours=-4))))]
    with pytest.raises(SourceVersionError):
        select_commit(eastern, "2020-09-10", source="s", path="f")


def test_source_version_error_is_an_input_error_naming_source_and_issue():
    err = SourceVersionError("no history", source="nchs-mortality", issue_date=dt.date(2020, 9, 10))
    assert isinstance(err, InputError)
    assert (str(err), err.source, err.issue_date) == ("nchs-mortality issue 2020-09-10: no history",
                                                      "nchs-mortality", "2020-09-10")


def test_current_local_and_as_of_versions(tmp_path):
    today = dt.date(2020, 9, 10)
    assert current_version("x", "2020-09-10", "https://h/t.csv", today=today).kind == "current"
    assert current_version("x", "2020-09-01", "https://h/t.csv", today=today, allow_current=True).kind == "current"
    with pytest.raises(SourceVersionError, match="--allow-current"):
        current_version("x", "2020-09-09", "https://h/t.csv", today=today)
    for local in (str(tmp_path / "t.csv"), f"file://{tmp_path}/t.csv"):
        assert is_local(local) and current_version("x", "2000-01-01", local, today=today).kind == "local"
    version = as_of_version("hhs", "2021-10-25", "https://h/api/")
    assert (version.kind, version.value) == ("as_of", "20211025")


def test_sidecar_round_trip(tmp_path):
    cached = tmp_path / "input" / "hhs" / "20211025_covid_hosp.json"
    cached.parent.mkdir(parents=True)
    cached.write_text("{}")
    assert read_version(cached) is None
    record = as_of_version("hhs", "2021-10-25", "https://h/api/").record()
    path = write_version(cached, record)
    assert path == version_sidecar(cached) and path.name == "20211025_covid_hosp.json.version.json"
    assert read_version(cached) == json.loads(path.read_text()) == record
    assert record["issue_date"] == "2021-10-25"
    assert sorted(p.name for p in cached.parent.iterdir()) == [cached.name, path.name]  # no temp file left


def test_git_history_and_fetch_commit(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args, when=None):
        env = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "PATH": "/usr/bin:/bin"} if when else None
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e.org", *args], check=True,
                       capture_output=True, env=env)

    git("init", "-q")
    for day, text in (("2020-09-09", "a,b\n1,2\n"), ("2020-09-10", "a,b\n1,3\n")):
        (repo / "data.csv").write_text(text)
        git("add", "data.csv")
        git("commit", "-qm", day, when=f"{day}T12:00:00Z")
    history = GitHistory(repo)
    version = resolve_commit(history, "data.csv", "2020-09-10", source="demo")
    assert version.committed_at == "2020-09-09T12:00:00+00:00"
    result = fetch_commit(history, "data.csv", version, data_root=tmp_path / "var", name="data", ext="csv")
    assert result.path.read_text() == "a,b\n1,2\n" and not result.skipped
    assert read_version(result.path)["value"] == version.value
    assert fetch_commit(history, "data.csv", version, data_root=tmp_path / "var", name="data", ext="csv").skipped
    # a later version for the same cache day (e.g. after a fix of the selection) replaces the file
    newer = resolve_commit(history, "data.csv", "2020-09-11", source="demo")
    replaced = fetch_commit(history, "data.csv", dataclasses.replace(newer, issue_date=version.issue_date),
                            data_root=tmp_path / "var", name="data", ext="csv")
    assert not replaced.skipped and replaced.path.read_text() == "a,b\n1,3\n"
    with pytest.raises(FetchError, match="not a git repository"):
        GitHistory(tmp_path / "var")


def test_http_get_retries_429_and_5xx_then_fails_naming_the_redacted_url(http_server):
    slept = []
    body = http_get(http_server.url("/flaky/2/x.csv"), retry=Retry(attempts=3, delay=0.5), sleep=slept.append)
    assert body == http_server.good_csv and slept == [0.5, 1.0]
    with pytest.raises(FetchError, match=r"HTTP 500 .*\(after 2 attempts\)") as err:
        http_get(http_server.url("/flaky/9/y.csv?api_key=s3cret&dates=1"), retry=Retry(attempts=2, delay=0),
                 sleep=slept.append)
    assert "s3cret" not in str(err.value) and "api_key=***" in str(err.value)
    before = http_server.hits["/forbidden.csv"]
    with pytest.raises(FetchError, match="HTTP 403"):
        http_get(http_server.url("/forbidden.csv"), retry=Retry(attempts=3, delay=0), sleep=slept.append)
    assert http_server.hits["/forbidden.csv"] == before + 1  # not retried


def test_redact_keeps_everything_but_secrets():
    assert redact("https://h/r.csv?$limit=5&$$app_token=t0k&token=x") == "https://h/r.csv?$limit=5&$$app_token=***&token=***"
