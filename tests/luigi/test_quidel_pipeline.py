"""quidel offline through the whole pipeline (local scheduler, SQLite): the demo bucket, pull, export, validation
with upstream's defaults (blocking), diff, delivery, import with stderr and sample size, then the nightly."""

import json
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from delphi_signals.epidata import Epidata
from delphi_signals.epidata.schema import engine_for
from luigi_tasks.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_demo_quidel_publishes_offline(tmp_path, luigi_settings, capsys):
    root = tmp_path / "var"
    luigi_settings({("delphi_signals", "data_root"): str(root), ("delphi_signals", "db_url"): None,
                    ("delphi_signals", "params_dir"): str(tmp_path / "params"), ("quidel", "base_url"): "demo",
                    ("quidel", "export_start_date"): None, ("pipeline", "sources"): "quidel",
                    ("pipeline", "first_date"): "2020-11-30",
                    ("nightly", "staleness_config"): str(REPO / "sir_complainsalot.json")})
    assert main(["run", "--source", "quidel", "--date", "2020-11-30", "--days", "1"]) == 0
    out = capsys.readouterr().out
    assert "issue 2020-11-30: quidel" in out and "0 staleness complaint(s)" in out
    # the demo bucket: one object per day received, pulled into one cache file per day
    objects = sorted((root / "demo" / "quidel" / "20201130" / "quidel-demo").glob("*/*-sars.csv"))
    assert len(objects) == 46 and objects[-1].parent.name == "2020_11_30"
    assert len(list((root / "input" / "quidel").glob("*_tests.csv"))) == 46
    report = json.loads((root / "reports" / "quidel" / "20201130_validation.json").read_text())
    assert not report["dry_run"] and not report["blocking"] and report["errors"] == 0 and report["files_checked"]
    export = root / "export" / "quidel" / "20201130"
    files = sorted(p.name for p in export.glob("*.csv"))
    assert files[-1].startswith("20201125_")  # the export ends 5 days before the day received
    assert files[0].startswith("20201016_")  # and starts 40 days before that
    assert {f.split("_")[1] for f in files} == {"county", "msa", "hrr", "state", "hhs", "nation"}
    engine = engine_for(f"sqlite:///{root / 'epidata.sqlite'}")
    with engine.connect() as conn:
        stored = pd.DataFrame(conn.execute(sa.text(
            "SELECT s.signal, g.geo_type, f.value, f.stderr, f.sample_size FROM epimetric_latest f "
            "JOIN signal_dim s ON s.signal_key_id = f.signal_key_id JOIN geo_dim g ON g.geo_key_id = f.geo_key_id "
            "WHERE s.source = 'quidel'")).fetchall(), columns=["signal", "geo_type", "value", "stderr", "sample_size"])
    engine.dispose()
    assert len(stored) > 1000 and stored["stderr"].notna().all() and (stored["sample_size"] >= 50).all()
    assert set(stored["signal"]) == {f"covid_ag_{s}_pct_positive{a}" for s in ("raw", "smoothed") for a in
                                     ("", "_age_0_4", "_age_5_17", "_age_18_49", "_age_50_64", "_age_65plus",
                                      "_age_0_17")}
    # the metadata cache and the nightly coverage hold it
    meta = Epidata(f"sqlite:///{root / 'epidata.sqlite'}").metadata()
    meta = meta[meta["data_source"] == "quidel"].set_index(["signal", "geo_type"])
    entry = meta.loc[("covid_ag_smoothed_pct_positive", "state")]
    assert entry["max_time"] == 20201125 and entry["num_locations"] == 3 and entry["max_issue"] == 20201130
    coverage = json.loads((root / "reports" / "nightly" / "20201130" / "coverage.json").read_text())
    assert "quidel" in json.dumps(coverage)
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert "quidel" in json.dumps(status) and "2020-11-30" in json.dumps(status)
