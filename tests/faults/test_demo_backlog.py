"""The demo's reporting backlog (Los Angeles reports a week of cases on 2020-11-29) is flagged by the validator's
spike check as a warning, so validating the demo's JHU export with --db proposes a fault that covers it."""

from __future__ import annotations

from delphi_signals.epidata import Epidata
from luigi_tasks.cli import main


def test_demo_backlog_proposes_a_fault(tmp_path, luigi_settings, capsys):
    root = tmp_path / "var"
    luigi_settings({("delphi_signals", "data_root"): str(root), ("jhu-csse", "base_url"): "demo",
                    ("jhu-csse", "export_start_date"): "2020-11-01"})
    assert main(["run", "--source", "jhu-csse", "--until", "export", "--date", "2020-11-30", "--days", "1"]) == 0
    url = f"sqlite:///{tmp_path / 'epidata.sqlite'}"
    export = root / "export" / "jhu-csse" / "20201130"
    assert main(["validate", str(export), "--source", "jhu-csse", "--db", url]) == 0  # warnings block nothing
    assert "check_positive_negative_spikes  confirmed_incidence_num" in capsys.readouterr().out
    found = Epidata(url).faults(source="jhu-csse", signal="confirmed_incidence_num", geo_type="county",
                                geo_value="06037", status="proposed")
    spikes = found[found["title"].str.endswith("check_positive_negative_spikes") & (found["start"] == 20201129)]
    assert len(spikes) == 1 and spikes["end"].tolist() == [20201129] and spikes["category"].tolist() == ["bad_values"]
    assert "06037" in spikes["geo_values"].iloc[0].split(",")
    assert spikes["links"].iloc[0] == [export.resolve().as_uri()]
