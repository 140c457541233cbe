"""The real JHU versions through the whole publishing path, as successive issues: indicator → differ →
delivery → import; then ``fetch(as_of=issue)`` gives back each version's dense export, row for row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from delphi_signals.cube import to_frame
from delphi_signals.epidata import Epidata
from delphi_signals.epidata.importer import import_folder
from delphi_signals.indicators.jhu.pull import pull_metric
from delphi_signals.indicators.jhu.run import build_signals
from delphi_signals.io import ArchiveDiffer, deliver, write_csvs

VERSIONS = [("vintages/time_series_covid19_{metric}_US__thru_20200909.csv", "2020-09-10"),
            ("vintages/time_series_covid19_{metric}_US__thru_20200929.csv", "2020-09-30"),
            ("vintages/time_series_covid19_{metric}_US__thru_20201111.csv", "2020-11-12"),
            ("time_series_covid19_{metric}_US.csv", "2020-12-01")]
SIGNALS = {"confirmed_cumulative_num", "deaths_incidence_num"}  # state level, from 2020-08-15
START = "2020-08-15"


@pytest.fixture(scope="module")
def exports(realdata, tmp_path_factory):
    """Each version's dense export (state level, two signals), as the indicator writes it."""
    root = tmp_path_factory.mktemp("jhu_issues")
    out = []
    for template, issue in VERSIONS:
        folder = root / "export" / issue
        for metric in ("confirmed", "deaths"):
            cumulative = pull_metric(metric, base_url=str(realdata / "jhu_csse" / template), data_root=root,
                                   issue_date=issue)
            for name, cube in build_signals(cumulative, metric, "state"):
                if name in SIGNALS:
                    write_csvs(cube, folder, start=START)
        out.append((folder, issue))
    return out


def dense_rows(folder: Path, signal: str) -> pd.DataFrame:
    """One signal's rows of an export folder, with plain pandas: geo_value, time_value, value."""
    frames = []
    for path in sorted(folder.glob(f"*_state_{signal}.csv")):
        frame = pd.read_csv(path, dtype={"geo_id": str})
        frame["time_value"] = pd.Timestamp(path.name[:8])
        frames.append(frame)
    rows = pd.concat(frames).rename(columns={"geo_id": "geo_value", "val": "value"})
    return rows[["geo_value", "time_value", "value"]].sort_values(["time_value", "geo_value"]).reset_index(drop=True)


def test_as_of_each_issue_gives_back_that_versions_export(exports, db_url, tmp_path):
    cache, data_dir = tmp_path / "cache", tmp_path / "var"
    delivered_rows = []
    for folder, issue in exports:
        differ = ArchiveDiffer(cache, folder, issue_date=issue)
        summary = differ.diff(tmp_path / "diff" / issue)
        deliver(tmp_path / "diff" / issue, data_dir / "receiving", "jhu-csse", issue)
        result = import_folder(data_dir, db_url, "jhu-csse", issue)
        assert result["files_failed"] == 0 and result["rows"] == summary["rows"]
        delivered_rows.append(summary["rows"])
        differ.commit()
    export_rows = [sum(len(dense_rows(folder, s)) for s in SIGNALS) for folder, _ in exports]
    assert delivered_rows[0] == export_rows[0]  # the first issue is delivered whole, later ones only what changed
    assert all(diff < whole for diff, whole in zip(delivered_rows[1:], export_rows[1:]))
    epidata = Epidata(db_url)
    for folder, issue in exports:
        for signal in sorted(SIGNALS):
            got = to_frame(epidata.fetch("jhu-csse", signal, "state", start=START, as_of=issue))
            want = dense_rows(folder, signal)
            got = got[["geo_value", "time_value", "value"]].reset_index(drop=True)
            assert len(got) == len(want), (issue, signal)
            pd.testing.assert_frame_equal(got[["geo_value", "time_value"]], want[["geo_value", "time_value"]],
                                          check_dtype=False)
            assert np.array_equal(got.value.round(7).to_numpy(), want.value.to_numpy(), equal_nan=True)
    # the latest view is the last version, and every row carries the issue that last changed it
    latest = to_frame(epidata.fetch("jhu-csse", "confirmed_cumulative_num", "state", start=START))
    assert latest.issue.max() == pd.Timestamp("2020-12-01") and latest.issue.min() >= pd.Timestamp("2020-09-10")
