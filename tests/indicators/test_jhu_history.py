"""Past JHU issues as they were known: a local git history built from the real published versions.

One commit per version, dated D 12:00 UTC where the file name says ``__thru_D``: issue D+1 must pull version D.
"""

import json
import os
import shutil
import subprocess

import pytest

from delphi_signals.indicators.jhu.constants import REPO_PATH
from delphi_signals.indicators.jhu.pull import pull_metric, resolve_version
from delphi_signals.indicators.jhu.run import run_module
from delphi_signals.sources import SourceVersionError
from delphi_signals.sources.versions import CommitsApiHistory, GitHistory, resolve_commit

VERSIONS = ("20200909", "20200929", "20201111")


def _git(repo, *args, env=None):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.org",
                           *args], check=True, capture_output=True, env=env).stdout.decode()


@pytest.fixture(scope="module")
def vintages(realdata):
    return realdata / "jhu_csse" / "vintages"


@pytest.fixture(scope="module")
def repo(vintages, tmp_path_factory):
    """A git repository holding the CSSE files as published, one commit per version, dated D 12:00 UTC."""
    root = tmp_path_factory.mktemp("csse")
    _git(root, "init", "-q")
    for day in VERSIONS:
        for metric in ("confirmed", "deaths"):
            target = root / REPO_PATH.format(metric=metric)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(vintages / f"time_series_covid19_{metric}_US__thru_{day}.csv", target)
        when = f"{day[:4]}-{day[4:6]}-{day[6:]}T12:00:00Z"
        env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", f"data through {day}", env=env)
    return root


@pytest.fixture(scope="module")
def sha_of(repo):
    """Commit id of each version, by its message (independent of the resolver)."""
    lines = _git(repo, "log", "--format=%H %s").splitlines()
    return {line.split()[-1]: line.split()[0] for line in lines}


@pytest.mark.parametrize("issue, version", [
    ("2020-09-10", "20200909"), ("2020-09-29", "20200909"), ("2020-09-30", "20200929"),
    ("2020-10-01", "20200929"), ("2020-11-12", "20201111"), ("2021-06-01", "20201111"),
])
def test_issue_pulls_the_version_committed_before_it_began(repo, sha_of, issue, version):
    for metric in ("confirmed", "deaths"):
        found, _ = resolve_version(metric, history=str(repo), issue_date=issue)
        assert (found.kind, found.value) == ("commit", sha_of[version])
        assert found.committed_at == f"{version[:4]}-{version[4:6]}-{version[6:]}T12:00:00+00:00"


def test_an_issue_before_the_first_version_is_refused(repo):
    with pytest.raises(SourceVersionError, match=r"jhu-csse issue 2020-09-09: no commit of csse_covid_19_data/.*"
                                                 r"confirmed_US\.csv before 2020-09-09T00:00:00Z"):
        resolve_version("confirmed", history=str(repo), issue_date="2020-09-09")


@pytest.mark.parametrize("issue, version", [("2020-09-10", "20200909"), ("2020-10-01", "20200929")])
def test_exports_equal_the_versions_own_exports(repo, sha_of, vintages, tmp_path, issue, version):
    last_day = f"{version[:4]}-{version[4:6]}-{version[6:]}"
    common = {"issue_date": issue}
    by_git = run_module({"common": {**common, "export_dir": str(tmp_path / "git" / "export"),
                                    "input_dir": str(tmp_path / "git" / "input")},
                         "indicator": {"history": str(repo), "export_start_date": last_day}})
    own = run_module({"common": {**common, "export_dir": str(tmp_path / "own" / "export"),
                                 "input_dir": str(tmp_path / "own" / "input")},
                      "indicator": {"base_url": str(vintages / f"time_series_covid19_{{metric}}_US__thru_{version}.csv"),
                                    "export_start_date": last_day}})
    assert len(by_git) == len(own) == 6 * 12  # one day (the version's last), 6 levels, 12 signals
    assert {p.name for p in by_git} == {p.name for p in own}
    assert {p.name.split("_")[0] for p in by_git} == {version}
    for path in by_git:
        assert path.read_bytes() == (tmp_path / "own" / "export" / path.name).read_bytes(), path.name
    day = issue.replace("-", "")
    for metric in ("confirmed", "deaths"):
        cached = tmp_path / "git" / "input" / "jhu-csse" / f"{day}_time_series_covid19_{metric}_US.csv"
        assert cached.read_bytes() == (vintages / f"time_series_covid19_{metric}_US__thru_{version}.csv").read_bytes()
        sidecar = json.loads(cached.with_name(cached.name + ".version.json").read_text())
        assert (sidecar["kind"], sidecar["value"], sidecar["issue_date"]) == ("commit", sha_of[version], issue)
        own_file = tmp_path / "own" / "input" / "jhu-csse" / f"{day}_time_series_covid19_{metric}_US__thru_{version}.csv"
        local = json.loads(own_file.with_name(own_file.name + ".version.json").read_text())
        assert (local["kind"], local["value"]) == ("local", None)


def commits_api(repo):
    """A hosting service's commits API and raw-file server over the local repository. It ignores ``until``
    (answers every commit, newest first), so the client's own selection rule must pick the version."""

    def answer(path, query, headers):
        if path == "/repos/CSSEGISandData/COVID-19/commits":
            log = _git(repo, "log", "--format=%H %cI", "--", query["path"]).splitlines()
            body = [{"sha": sha, "commit": {"committer": {"date": when}}} for sha, when in (x.split() for x in log)]
            return 200, json.dumps(body).encode()
        if path.startswith("/raw/"):
            sha, file = path[len("/raw/"):].split("/", 1)
            return 200, subprocess.run(["git", "-C", str(repo), "show", f"{sha}:{file}"], check=True,
                                       capture_output=True).stdout
        return 404, b"not found"

    return answer


def test_commits_api_resolver_picks_the_same_version(repo, sha_of, vintages, local_server, tmp_path):
    server = local_server(commits_api(repo))
    api = f"{server.url}/repos/CSSEGISandData/COVID-19"
    path = REPO_PATH.format(metric="deaths")
    via_api = resolve_commit(CommitsApiHistory(api, f"{server.url}/raw"), path, "2020-10-01", source="jhu-csse")
    via_git = resolve_commit(GitHistory(repo), path, "2020-10-01", source="jhu-csse")
    assert via_api.value == via_git.value == sha_of["20200929"]
    assert server.requests[0]["query"] == {"path": path, "until": "2020-10-01T00:00:00Z", "per_page": "100"}
    cube = pull_metric("deaths", data_root=tmp_path, issue_date="2020-10-01", history=api,
                     history_raw=f"{server.url}/raw")
    cached = tmp_path / "input" / "jhu-csse" / "20201001_time_series_covid19_deaths_US.csv"
    assert cached.read_bytes() == (vintages / "time_series_covid19_deaths_US__thru_20200929.csv").read_bytes()
    assert cube.attrs["input_version"] == sha_of["20200929"]
    assert str(cube.indexes["time"][-1].date()) == "2020-09-29"
    # the same day again: cached, the sidecar names the same commit, nothing fetched
    before = len(server.requests)
    pull_metric("deaths", data_root=tmp_path, issue_date="2020-10-01", history=api, history_raw=f"{server.url}/raw")
    assert len(server.requests) == before + 1  # only the commits listing


def test_a_live_url_without_history_refuses_a_past_issue(tmp_path):
    with pytest.raises(SourceVersionError, match="--allow-current"):
        pull_metric("confirmed", base_url="https://mirror.invalid/{metric}.csv", data_root=tmp_path,
                  issue_date="2020-09-10")
    assert not (tmp_path / "input").exists()


def test_resolve_versions_of_every_indicator_for_the_contract(repo, sha_of, tmp_path):
    """Each indicator's ``pull.resolve_versions(params)``: what a pull would fetch, or SourceVersionError."""
    from delphi_signals.indicators.hhs_hosp.pull import resolve_versions as hhs_versions
    from delphi_signals.indicators.jhu.pull import resolve_versions as jhu_versions
    from delphi_signals.indicators.nchs_mortality.pull import resolve_versions as nchs_versions

    common = {"issue_date": "2020-10-01", "input_dir": str(tmp_path / "input")}
    jhu = jhu_versions({"common": common, "indicator": {"history": str(repo)}})
    assert [(v.kind, v.value) for v in jhu] == [("commit", sha_of["20200929"])] * 2
    assert [v.url.rsplit("_", 2)[-2] for v in jhu] == ["confirmed", "deaths"]
    assert [(v.kind, v.value) for v in hhs_versions({"common": common})] == [("as_of", "20201001")]
    with pytest.raises(SourceVersionError, match="--allow-current"):
        nchs_versions({"common": common})
    allowed = nchs_versions({"common": common, "indicator": {"allow_current": True}})
    assert [(v.kind, v.url) for v in allowed] == [("current", "https://data.cdc.gov/resource/r8kw-7aab.csv")]
    assert not (tmp_path / "input").exists()  # nothing fetched
