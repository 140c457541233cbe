"""benchmarks/run_all.py: the table of RESULTS.md, its comparison with the previous file, and a real smoke run."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name: str):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}_module", BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCHMARKS))


results = load("results")
run_all = load("run_all")

HEADER = {"argv": "", "when": "2026-11-30 12:00 UTC", "commit": "abc1234", "machine": "2 cores",
          "load_start": 0.5, "load_end": 1.5}


def make_row(benchmark="diff", figure="full day", ours=2.0, baseline=50.0, unit="s", **kw):
    return results.record(benchmark, figure, ours=ours, baseline=baseline, unit=unit, **kw)


def make_run(benchmark="diff", exit_code=0, figures=1):
    return {"benchmark": benchmark, "commit": "abc1234", "command": f"python benchmarks/bench_{benchmark}.py",
            "seconds": 12.0, "exit": exit_code, "figures": figures}


@pytest.mark.parametrize("unit, ours, baseline, expected", [
    ("s", 2.0, 50.0, 25.0),            # times: baseline / ours
    ("ms", 4.0, 2.0, 0.5),
    ("rows/s", 22_400.0, 3_200.0, 7.0),  # rates: ours / baseline
])
def test_ratio_is_above_one_when_ours_is_faster(unit, ours, baseline, expected):
    assert make_row(unit=unit, ours=ours, baseline=baseline)["ratio"] == pytest.approx(expected)


def test_met_follows_the_direction_of_the_target():
    assert make_row(target=20)["met"] is True and make_row(target=30)["met"] is False
    limit = dict(ours=1.5, baseline=1.0, ratio=1.5, target=2.0, better="lower")
    assert make_row(**limit)["met"] is True
    assert make_row(**{**limit, "ratio": 2.5})["met"] is False
    assert make_row()["met"] is None  # no target: information only
    assert make_row(baseline=None, unit="queries/s")["ratio"] is None


def test_record_appends_one_json_line_per_figure(tmp_path, monkeypatch):
    path = tmp_path / "figures.jsonl"
    monkeypatch.setenv(results.RESULTS_ENV, str(path))
    make_row(figure="a")
    make_row(figure="b", target=4)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["figure"] for r in rows] == ["a", "b"] and rows[1]["met"] is True


def test_table_round_trips_and_flags_a_regression():
    first = run_all.render([make_row(target=4), make_row("geo", "state", ours=1.0, baseline=90.0, unit="ms")],
                           [make_run(), make_run("geo")], "", HEADER)
    assert run_all.parse_previous(first) == {("diff", "full day"): 25.0, ("geo", "state"): 90.0}
    # the diff got slower (25x -> 10x: lost more than a fifth), geo was not run this time
    second = run_all.render([make_row(ours=5.0, target=4)], [make_run()], first, HEADER)
    rows = {cells[0]: cells for cells in run_all.parse_rows(second)}
    col = {name: i for i, name in enumerate(run_all.COLUMNS)}
    assert rows["diff"][col["ratio"]] == "10×" and rows["diff"][col["previous"]] == "25×"
    assert rows["diff"][col["Δ"]] == "▼ 0.40" and rows["diff"][col["met"]] == "yes"
    assert rows["geo"][col["ratio"]] == "90×", "rows of benchmarks not run are kept as they were"
    assert "kept from the previous file" in second
    assert list(run_all.parse_runs(second)) == ["geo", "diff"], "and so is their run, in the benchmarks' order"
    assert [cells[0] for cells in run_all.parse_rows(second)] == ["geo", "diff"]


def test_small_change_is_not_a_regression_and_limits_invert():
    assert not run_all.regressed(make_row(ours=2.2, baseline=50.0), 25.0)  # 22.7x vs 25x
    upper = make_row(ours=1.0, baseline=1.0, ratio=1.6, target=2.0, better="lower")
    assert run_all.regressed(upper, 1.2) and not run_all.regressed(upper, 1.5)


def test_missed_target_is_marked():
    text = run_all.render([make_row(target=40)], [make_run(exit_code=1)], "", HEADER)
    (cells,) = run_all.parse_rows(text)
    assert cells[run_all.COLUMNS.index("met")] == "**MISSED**"
    assert cells[run_all.COLUMNS.index("target")] == "≥ 40×"


def test_smoke_run_of_a_real_benchmark(tmp_path, monkeypatch, capsys):
    """run_all runs bench_csv in its own process and tabulates what it recorded (small sizes: no targets)."""
    monkeypatch.delenv(results.RESULTS_ENV, raising=False)
    out = tmp_path / "RESULTS.md"
    code = run_all.main(["--quick", "--only", "csv", "--output", str(out), "--log-dir", str(tmp_path / "logs")])
    assert code == 0
    recorded = [json.loads(line) for line in (tmp_path / "logs" / "csv.jsonl").read_text().splitlines()]
    assert [r["figure"].split(",")[0] for r in recorded] == ["export", "read back"]
    rows = run_all.parse_rows(out.read_text())
    assert len(rows) == 2
    for cells, row in zip(rows, recorded):
        assert row["ratio"] == pytest.approx(row["baseline"] / row["ours"])
        assert cells[run_all.COLUMNS.index("ratio")] == f"{row['ratio']:.3g}×"
        assert cells[run_all.COLUMNS.index("target")] == "", "a smoke run sets no targets"
    assert "byte-identical: True" in out.read_text() and "values exact: True" in out.read_text()
    (run,) = run_all.parse_runs(out.read_text()).values()
    assert run[0] == "csv" and run[2].startswith("`python benchmarks/bench_csv.py --geos 300") and run[4] == "0"


def test_a_smoke_run_judges_no_speed_target(monkeypatch, tmp_path):
    """Under ``--quick`` a missed target neither fails the benchmark nor appears in its recorded row."""
    monkeypatch.delenv(results.QUICK_ENV, raising=False)
    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path / "r.jsonl"))
    assert results.target_met(2.7, 3.0) is False and results.target_met(3.0, 3.0) is True
    assert results.target_met(float("nan"), 3.0) is False
    assert results.record("csv", "read back", ours=1.0, baseline=2.7, unit="s", target=3.0)["met"] is False
    monkeypatch.setenv(results.QUICK_ENV, "1")
    assert results.target_met(2.7, 3.0) is True and results.target_met(9.0, 2.0, better="lower") is True
    row = results.record("csv", "read back", ours=1.0, baseline=2.7, unit="s", target=3.0)
    assert row["target"] is None and row["met"] is None
