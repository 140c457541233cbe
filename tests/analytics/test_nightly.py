"""The nightly Luigi tasks and the ``nightly``/``meta`` commands, end to end on a SQLite database file."""

from __future__ import annotations

import datetime as dt
import json

import luigi
import pytest
from luigi.execution_summary import LuigiStatusCode

from delphi_signals.epidata import Epidata
from luigi_tasks import MetaCache, Staleness
from luigi_tasks.cli import main
from metarows import batch, load
from slackserver import recording_server

RUN = dt.date(2020, 6, 10)


@pytest.fixture
def nightly_setup(tmp_path, luigi_settings):
    url = f"sqlite:///{tmp_path / 'epidata.sqlite'}"
    db = Epidata(url)
    load(db.engine, batch("src", "fresh", "state", ["ca", "ny"], [20200607, 20200608, 20200609], 20200610))
    load(db.engine, batch("src", "stale", "state", ["ca"], [20200601], 20200602))
    params = tmp_path / "sircal.json"
    params.write_text(json.dumps({"sources": {"src": {"max_age": 3, "maintainers": ["U1"]}}}))
    with recording_server() as (hook, received):
        luigi_settings({("delphi_signals", "data_root"): str(tmp_path / "var"), ("delphi_signals", "db_url"): url,
                        ("nightly", "staleness_config"): str(params),
                        ("nightly", "coverage_signals"): json.dumps({"src": ["fresh", "stale"]}),
                        ("nightly", "slack_webhook_url"): hook})
        yield {"root": tmp_path / "var", "url": url, "params": params, "received": received, "db": db}
    db.engine.dispose()


def test_nightly_writes_reports_and_exits_1_on_complaints(nightly_setup):
    folder = nightly_setup["root"] / "reports" / "nightly" / "20200610"
    assert main(["nightly", "--date", "2020-06-10"]) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["coverage.json", "coverage.png", "latency.png", "meta.json",
                                                      "revisions.json", "revisions.png", "staleness.json",
                                                      "staleness.txt"]
    report = json.loads((folder / "staleness.json").read_text())
    assert [(c["signal"], c["message"]) for c in report["complaints"]] == [("stale", "is 9 days old")]
    assert (folder / "staleness.txt").read_text() == "src::stale (state) is 9 days old; last updated 2020-06-01\n"
    assert report["slack_messages_sent"] == 1 and len(nightly_setup["received"]) == 1
    assert "*SRC* is 9 days old" in nightly_setup["received"][0][2]["blocks"][2]["text"]["text"]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["update"]["mode"] == "full" and [m["signal"] for m in meta["metadata"]] == ["fresh", "stale"]
    coverage = json.loads((folder / "coverage.json").read_text())
    assert [(r["signal"], r["latency_days"]) for r in coverage["latency"]] == [("fresh", 1), ("stale", 9)]
    assert assert_no_temporaries(folder)
    # a rerun finds every target complete: nothing is posted again, the complaints still decide the exit code
    assert main(["nightly", "--date", "2020-06-10"]) == 1 and len(nightly_setup["received"]) == 1


def assert_no_temporaries(folder) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_staleness_task_succeeds_with_complaints(nightly_setup):
    result = luigi.build([Staleness(date=RUN)], local_scheduler=True, detailed_summary=True)
    assert result.status == LuigiStatusCode.SUCCESS
    assert json.loads(open(Staleness(date=RUN).output().path).read())["complaints"][0]["signal"] == "stale"
    assert MetaCache.resources == {"epidata_db": 1}


def test_nightly_without_complaints_exits_0(nightly_setup):
    nightly_setup["params"].write_text(json.dumps({"sources": {"src": {"max_age": 3, "retired-signals": ["stale"]}}}))
    assert main(["nightly", "--date", "2020-06-10", "--db", nightly_setup["url"]]) == 0
    assert nightly_setup["received"] == []


def test_without_staleness_config_each_indicator_brings_its_own_limits(nightly_setup):
    """Sir Complains-a-lot's limits come from each registered indicator's ``staleness`` declaration; the
    ``[nightly] staleness_config`` file, when set, only overrides them."""
    from delphi_signals.indicators import Catalogue, Indicator, register, unregister

    catalogue = Catalogue.product("{s}", {"s": ["fresh", "stale"]}, lambda p: dict(
        time_type="day", geo_types=("state",), kind="count", family=p["s"], representative=True))
    register(Indicator("src", __name__, catalogue, (("raw", "csv"),), run_module=print, pull=print,
                       params_defaults={"staleness": {"max_age": 3, "maintainers": ["U1"]}}))
    try:
        luigi.configuration.get_config().remove_option("nightly", "staleness_config")
        luigi.task_register.Register.clear_instance_cache()
        assert main(["nightly", "--date", "2020-06-11"]) == 1
        report = json.loads((nightly_setup["root"] / "reports" / "nightly" / "20200611" / "staleness.json")
                            .read_text())
        assert [(c["source"], c["signal"], c["message"], c["maintainers"]) for c in report["complaints"]] == [
            ("src", "stale", "is 10 days old", ["U1"])]
        # the config file overrides the declaration: a 20-day limit, no complaint
        nightly_setup["params"].write_text(json.dumps({"sources": {"src": {"max_age": 20}}}))
        luigi.configuration.get_config().set("nightly", "staleness_config", str(nightly_setup["params"]))
        luigi.task_register.Register.clear_instance_cache()
        assert main(["nightly", "--date", "2020-06-12"]) == 0
    finally:
        unregister("src")


def test_meta_command(tmp_path, capsys, nightly_setup):
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    assert main(["meta", "--db", empty]) == 1
    assert "lacks table(s) covidcast_meta_cache, meta_pending, signal_dim: run 'delphi-signals db init'" in \
        capsys.readouterr().err
    assert main(["db", "init", "--db", empty]) == 0
    assert main(["meta", "--db", empty]) == 1  # nothing to cache: the cache is left alone, exit 1
    assert "not written" in capsys.readouterr().out
    assert main(["meta", "--db", nightly_setup["url"]]) == 0
    assert "metadata full: 2 pair(s) recomputed, 2 cache rows, written" in capsys.readouterr().out
    assert main(["meta", "--db", nightly_setup["url"]]) == 0
    assert "metadata unchanged" in capsys.readouterr().out
    load(nightly_setup["db"].engine, batch("src", "fresh", "state", ["tx"], [20200609], 20200611))
    assert main(["meta", "--db", nightly_setup["url"]]) == 0
    assert "metadata incremental: 1 pair(s) recomputed" in capsys.readouterr().out
    assert main(["meta", "--db", nightly_setup["url"], "--full"]) == 0
    assert nightly_setup["db"].metadata().set_index("signal").loc["fresh", "num_locations"] == 3
