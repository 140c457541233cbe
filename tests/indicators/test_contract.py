"""The indicator contract: the registry, the catalogues, params merging, and a toy indicator run through Luigi."""

import ast
import datetime as dt
import json
import textwrap
from pathlib import Path

import luigi
import pandas as pd
import pytest
from luigi.execution_summary import LuigiStatusCode

from delphi_signals.errors import InputError, UnknownNameError
from delphi_signals.indicators.contract import Catalogue, Signal, signal_name
from delphi_signals.indicators.params import indicator_params
from delphi_signals.indicators.registry import get_indicator, indicators, sources

REPO = Path(__file__).resolve().parents[2]
BUILTIN = {"jhu-csse": "jhu", "hhs": "hhs_hosp", "nchs-mortality": "nchs_mortality"}


def test_builtin_indicators_are_registered_by_entry_point():
    assert set(BUILTIN) <= set(sources())
    for source, package in BUILTIN.items():
        indicator = get_indicator(source)
        assert indicator.source == source and indicator.package == f"delphi_signals.indicators.{package}"


def test_unknown_names_list_the_known_ones():
    with pytest.raises(UnknownNameError) as info:
        get_indicator("jhu")
    assert set(BUILTIN) <= set(info.value.known) and "unknown source 'jhu'" in str(info.value)
    catalogue = get_indicator("hhs").signals
    with pytest.raises(UnknownNameError, match="confirmed_admissions_covid_1d_prop_7dav"):
        catalogue["confirmed_admissions_covid_1d_7dav_prop"]  # parts in the wrong order
    with pytest.raises(UnknownNameError, match="unknown signal parts"):
        catalogue.signal(base="confirmed_admissions_covid_1d", sensor="_pct", smoother="")
    with pytest.raises(UnknownNameError, match="unknown time type 'month'"):
        Signal(name="x", time_type="month", geo_types=("state",), kind="count")


@pytest.mark.parametrize("indicator", indicators(), ids=lambda i: i.source)
def test_catalogue_facts_hold_for_every_indicator(indicator):
    names = indicator.signals.names(active_only=False)
    assert len(names) == len(set(names))
    for signal in indicator.signals:
        parts = dict(signal.parts)
        assert signal.name.startswith("wip_") == signal.wip
        # the name carries what the facts say: per-capita rates say prop, smoothed signals 7dav (or, for the
        # claims signals, which are all smoothed, "smoothed_"), totals cumulative
        assert ("prop" in signal.name) == (signal.kind == "rate")
        assert ("7dav" in signal.name or "smoothed_" in signal.name) == signal.is_smoothed
        assert ("cumulative" in signal.name) == signal.cumulative
        assert indicator.signals.signal(**parts) is signal
    families = {s.family for s in indicator.signals}
    representatives = indicator.signals.representatives()
    assert sorted(s.family for s in representatives) == sorted(families)  # exactly one per family
    # a raw count where the family has one (a family of smoothed signals only is represented by a smoothed one)
    assert all(s.kind != "rate" and (not s.is_smoothed or all(t.is_smoothed for t in indicator.signals
                                                              if t.family == s.family))
               for s in representatives)
    smoothed = indicator.params_defaults["validation"]["dynamic"]["smoothed_signals"]
    assert smoothed == [s.name for s in indicator.signals if s.is_smoothed]


def test_catalogue_product_order_and_skips():
    cat = Catalogue.product("{a}_{b}", {"a": ["x", "y"], "b": ["1", "2"]},
                            lambda p: None if p == {"a": "y", "b": "1"} else
                            dict(time_type="week", geo_types=("nation",), kind="count", family=p["a"]))
    assert cat.names() == ["x_1", "x_2", "y_2"]
    assert signal_name("{a}_{b}", {"a": "x", "b": "1"}, wip=True) == "wip_x_1"


def test_params_defaults_merge_with_the_params_file(tmp_path):
    defaults = get_indicator("jhu-csse").params_defaults
    (tmp_path / "jhu-csse.json").write_text(json.dumps({
        "validation": {"static": {"minimum_sample_size": 5},
                       "common": {"suppressed_errors": [{"check_name": "check_val_missing"}]}}}))
    params = indicator_params(defaults, source="jhu-csse", params_dir=tmp_path,
                              common={"issue_date": "2020-11-30", "export_dir": None},
                              indicator={"export_start_date": "2020-11-01", "base_url": None})
    static = params["validation"]["static"]
    assert static["minimum_sample_size"] == 5 and static["missing_se_allowed"] is True  # the rest kept
    assert params["validation"]["common"]["suppressed_errors"] == [{"check_name": "check_val_missing"}]  # lists replace
    assert params["indicator"]["base_url"] == defaults["indicator"]["base_url"]  # None leaves the default
    assert params["indicator"]["export_start_date"] == "2020-11-01" and "export_dir" not in params["common"]
    assert defaults["validation"]["static"]["minimum_sample_size"] == 0  # the defaults are not mutated
    (tmp_path / "hhs.json").write_text('{"validation": {,}}')
    with pytest.raises(InputError, match=r"hhs.json, line 1: not valid JSON"):
        indicator_params({}, source="hhs", params_dir=tmp_path)


def _string_constants(path: Path):
    """Every string literal of a module that is not a docstring."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.value


def test_each_source_name_and_default_path_is_written_in_one_place():
    files = [p for folder in ("delphi_signals", "luigi_tasks") for p in (REPO / folder).rglob("*.py")
             if "testing" not in p.parts]
    where: dict[str, set] = {}
    for path in files:
        for value in _string_constants(path):
            where.setdefault(value, set()).add(path.relative_to(REPO).as_posix())
    for source, package in BUILTIN.items():
        if source == "hhs":  # also the name of a geo type
            continue
        assert where[source] - {"luigi_tasks/cli.py"} == {f"delphi_signals/indicators/{package}/constants.py"}, source
    assert where["var"] == {"delphi_signals/layout.py"}
    assert where["epidata.sqlite"] == {"delphi_signals/layout.py"}


TOY_PACKAGE = '''
"""A toy indicator living outside delphi_signals: state counts from one CSV (geo_value,time_value,value)."""
import pandas as pd

from delphi_signals.cube import from_frame
from delphi_signals.geo import aggregate, per_capita
from delphi_signals.indicators import params as P
from delphi_signals.indicators.contract import Catalogue, Indicator
from delphi_signals.indicators.runner import export_signals, stamp_signal
from delphi_signals.sources import fetch

SOURCE = "toy-source"
CATALOGUE = Catalogue.product(
    "toy_{sensor}", {"sensor": ["num", "prop"]},
    lambda p: dict(time_type="day", geo_types=("state", "nation"), kind="rate" if p["sensor"] == "prop" else "count",
                   family="toy", representative=p["sensor"] == "num"))


def pull(params):
    return fetch(params["indicator"]["base_url"], source=SOURCE, data_root=P.data_root(params),
                 day=P.issue_date(params), name="counts", ext="csv").path


def run_module(params):
    frame = pd.read_csv(pull(params), dtype={"geo_value": str}, parse_dates=["time_value"])
    states = from_frame(frame, source=SOURCE, signal="toy_num", geo_type="state")

    def cubes():
        for geo in ("state", "nation"):
            counts = states if geo == "state" else aggregate(states, "nation")
            yield stamp_signal(counts, CATALOGUE.signal(sensor="num"), SOURCE)
            yield stamp_signal(per_capita(counts), CATALOGUE.signal(sensor="prop"), SOURCE)

    return export_signals(SOURCE, CATALOGUE, params, cubes())


INDICATOR = Indicator(source=SOURCE, package=__name__, signals=CATALOGUE, raw_inputs=(("counts", "csv"),),
                      run_module=run_module, pull=pull, params_defaults={"validation": {}})
'''


@pytest.fixture
def toy_indicator(tmp_path, monkeypatch, luigi_settings):
    """A package with its entry point on a temporary ``sys.path`` entry: found, never installed."""
    site = tmp_path / "site"
    (site / "toy_indicator").mkdir(parents=True)
    (site / "toy_indicator" / "__init__.py").write_text(textwrap.dedent(TOY_PACKAGE))
    info = site / "toy_indicator-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-indicator\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[delphi_signals.indicators]\ntoy-source = toy_indicator:INDICATOR\n")
    monkeypatch.syspath_prepend(str(site))
    data = tmp_path / "toy.csv"
    pd.DataFrame({"geo_value": ["ca", "ca", "ny", "ny"], "time_value": ["2020-06-01", "2020-06-02"] * 2,
                  "value": [10.0, 12.0, 5.0, 7.0]}).to_csv(data, index=False)
    luigi_settings({("delphi_signals", "data_root"): str(tmp_path / "var"), ("toy-source", "base_url"): str(data)})
    return tmp_path / "var"


def test_a_toy_indicator_in_another_package_runs_through_luigi_unchanged(toy_indicator):
    from delphi_signals.geo import population
    from luigi_tasks import Export
    from luigi_tasks.cli import main

    assert "toy-source" in sources()
    result = luigi.build([Export(source="toy-source", date=dt.date(2020, 6, 3))], local_scheduler=True,
                         detailed_summary=True)
    assert result.status == LuigiStatusCode.SUCCESS, result.summary_text
    folder = toy_indicator / "export" / "toy-source" / "20200603"
    manifest = json.loads((folder / "_SUCCESS").read_text())
    assert manifest["file_count"] == 8 and manifest["signals"] == ["toy_num", "toy_prop"]
    nation = pd.read_csv(folder / "20200602_nation_toy_num.csv", dtype={"geo_id": str})
    assert nation.geo_id.tolist() == ["us"] and nation.val.tolist() == [19.0]
    prop = pd.read_csv(folder / "20200601_state_toy_prop.csv", dtype={"geo_id": str}).set_index("geo_id").val
    assert prop["ca"] == pytest.approx(round(10.0 / float(population("state").sel(geo="ca")) * 1e5, 7))
    assert main(["run", "--source", "toy-source", "--date", "2020-06-04", "--days", "1", "--until", "export"]) == 0  # the CLI offers it too
    assert (toy_indicator / "export" / "toy-source" / "20200604" / "_SUCCESS").exists()
