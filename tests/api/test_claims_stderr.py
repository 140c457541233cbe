"""Standard errors end to end: doctor-visits with ``se`` on, from upstream's synthetic drop through the export, the
importer and the database to ``Epidata.fetch`` and the official ``delphi_epidata`` client against our server."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from delphi_signals.cube import to_frame
from delphi_signals.epidata import Epidata
from delphi_signals.epidata.importer import import_folder
from delphi_signals.indicators.doctor_visits import INDICATOR
from delphi_signals.indicators.params import indicator_params

from .conftest import start_server

DROP = "SYNEDI_AGG_OUTPATIENT_07022020_1455CDT.csv.gz"
SIGNAL = "wip_xxxxx_smoothed_cli"  # the importer stores signal names in lower case, as upstream's does


@pytest.fixture(scope="module")
def loaded(realdata, tmp_path_factory):
    """``(db_url, exported rows)``: the se-on state files of issue 2020-02-07 imported into SQLite."""
    root = tmp_path_factory.mktemp("claims_api")
    drops = root / "drops"
    drops.mkdir()
    shutil.copy(realdata / "delphi_fixtures" / "claims" / DROP, drops / DROP)
    receiving = root / "var" / "receiving" / "issue_20200207" / "doctor-visits"
    params = indicator_params(INDICATOR.params_defaults, source=INDICATOR.source,
                              common={"export_dir": str(root / "export"), "input_dir": str(root / "var" / "input"),
                                      "issue_date": "2020-02-07"},
                              indicator={"base_url": str(drops), "n_backfill_days": 10, "n_waiting_days": 2,
                                         "weekday": [False], "se": True})
    paths = INDICATOR.run_module(params)
    receiving.mkdir(parents=True)
    exported = []
    for path in paths:
        if "_state_" in path.name:
            shutil.copy(path, receiving / path.name)
            frame = pd.read_csv(path, keep_default_na=False, na_values=["NA"])
            exported.append(frame.assign(time_value=int(path.name[:8])))
    url = f"sqlite:///{root / 'epidata.sqlite'}"
    summary = import_folder(root / "var", url, "doctor-visits", "2020-02-07")
    assert summary["files_ok"] == 4 and summary["files_failed"] == 0
    return url, pd.concat(exported, ignore_index=True)


def test_stderr_and_censored_sample_size_in_the_database(loaded):
    url, exported = loaded
    frame = to_frame(Epidata(url).fetch("doctor-visits", SIGNAL, "state"))
    assert len(frame) == len(exported) == 204
    merged = frame.assign(time_value=frame.time_value.dt.strftime("%Y%m%d").astype(int)).merge(
        exported, left_on=["geo_value", "time_value"], right_on=["geo_id", "time_value"], suffixes=("", "_csv"))
    assert len(merged) == 204
    np.testing.assert_allclose(merged.stderr, merged.se, rtol=0, atol=1e-12)
    assert (merged.stderr > 0).all() and merged.sample_size.isna().all()
    assert (merged.missing_stderr == 0).all() and (merged.missing_sample_size == 3).all()


def test_the_official_client_receives_the_standard_errors(loaded):
    from delphi_epidata import Epidata as Client

    url, exported = loaded
    proc, base = start_server(url)
    try:
        Client.BASE_URL = base
        answer = Client.covidcast("doctor-visits", SIGNAL, "day", "state", Client.range(20200201, 20200204), "pa,tx")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert answer["result"] == 1, answer
    got = {(r["geo_value"], r["time_value"]): (r["value"], r["stderr"], r["sample_size"], r["missing_stderr"],
                                               r["missing_sample_size"]) for r in answer["epidata"]}
    want = exported[exported.geo_id.isin(["pa", "tx"])]
    assert len(got) == len(want) == 8
    for row in want.itertuples():
        value, stderr, sample_size, missing_stderr, missing_sample_size = got[(row.geo_id, row.time_value)]
        assert value == pytest.approx(row.val, abs=1e-9) and stderr == pytest.approx(row.se, abs=1e-9)
        assert sample_size is None and missing_stderr == 0 and missing_sample_size == 3
