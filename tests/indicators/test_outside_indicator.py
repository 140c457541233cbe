"""An indicator declared outside this repository and registered for the running process (``register``): its
own defaults come first, a source that can run nowhere is skipped and named, a past issue of current data is
refused, its smoothed signals reach the validator — with no edit to ``luigi.cfg`` or any project file."""

import datetime as dt
import json

import luigi
import pandas as pd
import pytest
from luigi.execution_summary import LuigiStatusCode

from delphi_signals.cube import from_frame
from delphi_signals.indicators import Catalogue, Indicator, register, unregister
from delphi_signals.indicators import params as P
from delphi_signals.indicators.runner import export_signals, stamp_signal
from delphi_signals.smooth import smooth
from delphi_signals.sources import fetch
from delphi_signals.sources.errors import SourceVersionError

CATALOGUE = Catalogue.product(
    "outside_{smoother}num", {"smoother": ["", "7dav_"]},
    lambda p: dict(time_type="day", geo_types=("state",), kind="count", smoothing=7 if p["smoother"] else None,
                   family="outside", representative=not p["smoother"]))


def declare(source: str, **params_defaults) -> Indicator:
    """A state-level indicator reading ``geo_value,time_value,value`` rows from ``indicator.base_url``."""

    def pull(params):
        return fetch(params["indicator"]["base_url"], source=source, data_root=P.data_root(params),
                     day=P.issue_date(params), name="counts", ext="csv").path

    def run_module(params):
        frame = pd.read_csv(pull(params), dtype={"geo_value": str}, parse_dates=["time_value"])
        counts = from_frame(frame, source=source, signal="x", geo_type="state")
        cubes = [stamp_signal(counts, CATALOGUE.signal(smoother=""), source),
                 stamp_signal(smooth(counts, "moving_average", 7), CATALOGUE.signal(smoother="7dav_"), source)]
        return export_signals(source, CATALOGUE, params, cubes)

    return Indicator(source=source, package=__name__, signals=CATALOGUE, raw_inputs=(("counts", "csv"),),
                     run_module=run_module, pull=pull, params_defaults=params_defaults)


@pytest.fixture
def outside(tmp_path, luigi_settings):
    """Register indicators for this test (forgotten afterwards); files under ``tmp_path``."""
    registered = []

    def add(source, **params_defaults):
        registered.append(register(declare(source, **params_defaults)).source)
        return registered[-1]

    (tmp_path / "var").mkdir()
    luigi_settings({("delphi_signals", "data_root"): str(tmp_path / "var"),
                    ("delphi_signals", "params_dir"): str(tmp_path / "params")})
    yield add
    for source in registered:
        unregister(source)


def counts_file(path, value: float):
    pd.DataFrame({"geo_value": ["ca", "ny"] * 3, "time_value": sorted(["2020-06-01", "2020-06-02", "2020-06-03"] * 2),
                  "value": value}).to_csv(path, index=False)
    return str(path)


def test_the_indicators_own_base_url_comes_first_and_a_section_overrides_it(outside, tmp_path, luigi_settings):
    from luigi_tasks.cli import main

    from luigi_tasks.pipeline import daily_sources

    source = outside("outside-a", indicator={"base_url": counts_file(tmp_path / "own.csv", 1.0)})
    assert source in daily_sources()  # the default run includes it
    args = ["run", "--source", source, "--date", "2020-06-04", "--days", "1", "--until", "export"]
    assert main(args) == 0
    export = tmp_path / "var" / "export" / source / "20200604"
    assert pd.read_csv(export / "20200603_state_outside_num.csv").val.tolist() == [1.0, 1.0]
    luigi_settings({(source, "base_url"): counts_file(tmp_path / "section.csv", 5.0)})
    assert main([*args[:4], "2020-06-05", *args[5:]]) == 0
    export = tmp_path / "var" / "export" / source / "20200605"
    assert pd.read_csv(export / "20200603_state_outside_num.csv").val.tolist() == [5.0, 5.0]


def test_a_source_configured_nowhere_is_skipped_listed_and_refused(outside, capsys):
    from luigi_tasks.cli import _not_configured_lines, main
    from luigi_tasks.pipeline import daily_sources, unconfigured_sources

    source = outside("outside-nowhere")
    assert source not in daily_sources() and unconfigured_sources() == [source]
    assert {"jhu-csse", "hhs", "nchs-mortality"} <= set(daily_sources())  # the project's own run is intact
    assert _not_configured_lines() == [f"{source}: not configured: set base_url in [{source}]"]  # after the summary
    assert main(["run", "--source", source, "--days", "1"]) == 2
    assert f"{source} is not configured: set base_url in [{source}]" in capsys.readouterr().err
    assert main(["db", "init"]) == 0
    assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"{source:<16} not configured: set base_url in [{source}]" in lines
    assert main(["status", "--json"]) == 0
    entry = [s for s in json.loads(capsys.readouterr().out)["sources"] if s["source"] == source]
    assert entry[0]["not_configured"] == f"not configured: set base_url in [{source}]"


def test_without_a_version_policy_a_past_issue_of_current_data_is_refused(outside, capsys, luigi_settings):
    from luigi_tasks import Pull
    from luigi_tasks.cli import main

    source = outside("outside-current", indicator={"base_url": "https://data.invalid/counts.csv"})
    assert main(["run", "--source", source, "--date", "2020-06-04", "--days", "1", "--until", "export"]) == 20
    assert "serves only current data" in capsys.readouterr().err
    # a Luigi run refuses it too, before fetching anything
    result = luigi.build([Pull(source=source, date=dt.date(2020, 6, 4))], local_scheduler=True,
                         detailed_summary=True)
    assert result.status == LuigiStatusCode.FAILED
    indicator = declare(source)
    with pytest.raises(SourceVersionError, match="--allow-current"):
        indicator.versions({"common": {"issue_date": "2020-06-04"}, "indicator": {"base_url": "https://x/y.csv"}})
    allowed = indicator.versions({"common": {"issue_date": "2020-06-04"},
                                  "indicator": {"base_url": "https://x/y.csv", "allow_current": True}})
    assert [v.kind for v in allowed] == ["current"]


def test_its_smoothed_signals_reach_the_validator_from_the_catalogue(outside, tmp_path):
    from luigi_tasks.validate import validation_params

    source = outside("outside-b", indicator={"base_url": counts_file(tmp_path / "own.csv", 1.0)},
                     validation={"dynamic": {"ref_window_size": 7}})
    validation = validation_params(source, dt.date(2020, 6, 4))
    assert validation["dynamic"] == {"ref_window_size": 7, "smoothed_signals": ["outside_7dav_num"]}
