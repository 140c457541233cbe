"""What the claims indicators share: which drop an issue takes (local folder, real SFTP server), bad drops (exit
code 20 naming drop, line and field, before anything is exported), an empty drop, and the kernels against plain
references."""

import gzip
import json
import io
import shutil

import numpy as np
import pandas as pd
import pytest

from delphi_signals import estimators as E
from delphi_signals.errors import InputError
from delphi_signals.indicators.claims.drops import UnusableDropError, choose_drop, parse_drop_name
from delphi_signals.indicators.claims.kernels import backfill
from delphi_signals.indicators.doctor_visits import INDICATOR as DOCTOR
from delphi_signals.indicators.hospital_admissions import INDICATOR as HOSPITAL
from delphi_signals.indicators.params import indicator_params
from delphi_signals.testing.claims_reference import padded_sums

OUTPATIENT = "SYNEDI_AGG_OUTPATIENT_07022020_1455CDT.csv.gz"
INPATIENT = "SYNEDI_AGG_INPATIENT_11062020_1451CDT.csv.gz"


@pytest.fixture(scope="module")
def outpatient_text(realdata) -> str:
    return gzip.decompress((realdata / "delphi_fixtures" / "claims" / OUTPATIENT).read_bytes()).decode()


def _params(indicator, folder, tmp, issue="2020-02-07", **extra):
    return indicator_params(indicator.params_defaults, source=indicator.source,
                            common={"export_dir": str(tmp / "export"), "input_dir": str(tmp / "input"),
                                    "issue_date": issue},
                            indicator={"base_url": str(folder), "n_backfill_days": 10, "n_waiting_days": 2,
                                       "weekday": [False], **extra})


# ---- which drop ---------------------------------------------------------------------------------------------

def test_the_newest_drop_on_or_before_the_issue_and_its_version(tmp_path):
    names = ["SYNEDI_AGG_OUTPATIENT_05022020_1455CDT.csv.gz", "SYNEDI_AGG_OUTPATIENT_07022020_0900CDT.csv.gz",
             "SYNEDI_AGG_OUTPATIENT_07022020_1455CDT.csv.gz", "SYNEDI_AGG_OUTPATIENT_09022020_1455CDT.csv.gz",
             "SYNEDI_AGG_INPATIENT_08022020_1455CDT.csv.gz", "README.txt"]
    assert choose_drop(names, "2020-02-08", "OUTPATIENT", source="x").name == names[2]
    assert choose_drop(names, "2020-02-06", "OUTPATIENT", source="x").name == names[0]
    with pytest.raises(UnusableDropError, match="no OUTPATIENT drop dated on or before 2020-02-04"):
        choose_drop(names, "2020-02-04", "OUTPATIENT", source="x")
    with pytest.raises(UnusableDropError, match="field name: the date 45022020 is neither"):
        choose_drop(names + ["SYNEDI_AGG_OUTPATIENT_45022020_1455CDT.csv.gz"], "2020-02-08", "OUTPATIENT", source="x")
    assert parse_drop_name(names[3]).date.isoformat() == "2020-02-09"


def test_a_folder_of_drops_reproduces_past_issues_and_refuses_one_without_a_drop(realdata, tmp_path,
                                                                                 luigi_settings):
    from luigi_tasks.cli import main

    folder = tmp_path / "drops"
    folder.mkdir()
    source = realdata / "delphi_fixtures" / "claims" / OUTPATIENT
    shutil.copy(source, folder / OUTPATIENT)
    shutil.copy(source, folder / "SYNEDI_AGG_OUTPATIENT_06022020_1455CDT.csv.gz")
    (version,) = DOCTOR.resolve_versions(_params(DOCTOR, folder, tmp_path, issue="2020-02-10"))
    assert version.value == OUTPATIENT and version.kind == "local"
    (version,) = DOCTOR.resolve_versions(_params(DOCTOR, folder, tmp_path, issue="2020-02-06"))
    assert version.value == "SYNEDI_AGG_OUTPATIENT_06022020_1455CDT.csv.gz"
    luigi_settings({("delphi_signals", "data_root"): str(tmp_path / "var"), ("doctor-visits", "base_url"): str(folder)})
    assert main(["run", "--source", "doctor-visits", "--date", "2020-02-05", "--days", "1", "--until", "export"]) == 20
    assert not (tmp_path / "var" / "export").exists()


# ---- bad drops --------------------------------------------------------------------------------------------

def _replace_field(text: str, line: int, column: str, value: str) -> str:
    lines = text.splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    fields = lines[line - 1].rstrip("\n").split(",")
    fields[header.index(column)] = value
    lines[line - 1] = ",".join(fields) + "\n"
    return "".join(lines)


def _drop_column(text: str, column: str) -> str:
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    return frame.drop(columns=column).to_csv(index=False)


BAD_DROPS = {
    "missing column": (lambda t: _drop_column(t, "Flu1"), 1, "Flu1", "lacks column"),
    "non-numeric count": (lambda t: _replace_field(t, 7, "Covid_like", "x12"), 7, "Covid_like", "'x12'"),
    "negative count": (lambda t: _replace_field(t, 40, "Denominator", "-3"), 40, "Denominator", "non-negative"),
    "date": (lambda t: _replace_field(t, 100, "ServiceDate", "2020-02-31"), 100, "ServiceDate", "YYYY-MM-DD"),
    "county": (lambda t: _replace_field(t, 12, "PatCountyFIPS", "1001"), 12, "PatCountyFIPS", "five digits"),
}


@pytest.mark.parametrize("case", sorted(BAD_DROPS))
def test_a_bad_drop_names_drop_line_and_field_and_exits_20_before_any_export(case, outpatient_text, tmp_path,
                                                                              luigi_settings):
    from luigi_tasks.cli import main

    mutate, line, field, words = BAD_DROPS[case]
    folder = tmp_path / "drops"
    folder.mkdir()
    (folder / OUTPATIENT).write_bytes(gzip.compress(mutate(outpatient_text).encode()))
    with pytest.raises(InputError) as caught:
        DOCTOR.run_module(_params(DOCTOR, folder, tmp_path))
    assert (caught.value.file, caught.value.line, caught.value.field) == (OUTPATIENT, line, field)
    assert words in str(caught.value)
    assert not (tmp_path / "export").exists()
    luigi_settings({("delphi_signals", "data_root"): str(tmp_path / "var"), ("doctor-visits", "base_url"): str(folder)})
    assert main(["run", "--source", "doctor-visits", "--date", "2020-02-07", "--days", "1", "--until", "export"]) == 20
    assert not (tmp_path / "var" / "export").exists()


def test_a_truncated_drop_and_a_bad_name_exit_20(realdata, tmp_path, luigi_settings, capsys):
    from luigi_tasks.cli import main

    folder = tmp_path / "drops"
    folder.mkdir()
    whole = (realdata / "delphi_fixtures" / "claims" / INPATIENT).read_bytes()
    (folder / INPATIENT).write_bytes(whole[: len(whole) // 2])
    luigi_settings({("delphi_signals", "data_root"): str(tmp_path / "var"),
                    ("hospital-admissions", "base_url"): str(folder)})
    assert main(["run", "--source", "hospital-admissions", "--date", "2020-06-11", "--days", "1",
                 "--until", "export"]) == 20
    err = capsys.readouterr().err
    assert f"{INPATIENT}, line " in err and "truncated gzip stream" in err
    (folder / INPATIENT).unlink()
    (folder / "SYNEDI_AGG_INPATIENT_11132020_1451CDT.csv.gz").write_bytes(whole)
    assert main(["run", "--source", "hospital-admissions", "--date", "2020-06-11", "--days", "1",
                 "--until", "export"]) == 20
    assert "SYNEDI_AGG_INPATIENT_11132020_1451CDT.csv.gz, field name" in capsys.readouterr().err
    assert not (tmp_path / "var" / "export").exists()


def test_an_empty_drop_writes_no_files_and_warns(tmp_path, log_records):
    folder = tmp_path / "drops"
    folder.mkdir()
    header = ",".join(["Covid_like", "Flu_like", "Mixed", "Flu1", "Denominator", "ServiceDate", "PatCountyFIPS",
                       "Pat HRR Name", "Pat HRR ID", "PatAgeGroup"])
    (folder / OUTPATIENT).write_bytes(gzip.compress(header.encode() + b"\n"))
    assert DOCTOR.run_module(_params(DOCTOR, folder, tmp_path)) == []
    assert any(r["event"].startswith("empty drop") for r in log_records)


# ---- SFTP ------------------------------------------------------------------------------------------------

class _Blob(str):
    """Bytes served by pytest-sftpserver, which serves ``str`` as files (and anything else as a folder)."""

    def __new__(cls, data: bytes):
        obj = super().__new__(cls, "blob")
        obj.data = data
        return obj

    def __len__(self):
        return len(self.data)

    def __getitem__(self, key):
        return self.data[key]


def test_the_pull_lists_an_sftp_folder_and_takes_the_right_drop(sftpserver, realdata, tmp_path):
    pytest.importorskip("paramiko")
    whole = (realdata / "delphi_fixtures" / "claims" / INPATIENT).read_bytes()
    content = {"optum": {"receiving": {
        INPATIENT: _Blob(whole),
        "SYNEDI_AGG_INPATIENT_12062020_1451CDT.csv.gz": _Blob(b"not yet"),  # a later drop: not this issue's
        "SYNEDI_AGG_OUTPATIENT_11062020_1451CDT.csv.gz": _Blob(b"another kind"),
    }}}
    credentials = {"host": sftpserver.host, "user": "user", "pass": "pw", "port": sftpserver.port}
    with sftpserver.serve_content(content):
        params = indicator_params(HOSPITAL.params_defaults, source=HOSPITAL.source,
                                  common={"export_dir": str(tmp_path / "export"), "input_dir": str(tmp_path / "input"),
                                          "issue_date": "2020-06-11"},
                                  indicator={"ftp_credentials": credentials, "start_date": "2020-06-01",
                                             "weekday": [False], "geos": ["state"]})
        (version,) = HOSPITAL.resolve_versions(params)
        assert version.kind == "drop" and version.value == INPATIENT and "pw" not in version.url
        paths = HOSPITAL.run_module(params)
    cached = tmp_path / "input" / "hospital-admissions" / "20200611_inpatient.csv.gz"
    assert cached.read_bytes() == whole and "pw" not in cached.with_name(cached.name + ".version.json").read_text()
    assert len(paths) == 14  # two signals × 7 days at state level
    local = tmp_path / "local"
    local.mkdir()
    (local / INPATIENT).write_bytes(whole)
    params["indicator"]["base_url"] = str(local)
    params["common"]["export_dir"] = str(tmp_path / "export_local")
    for a, b in zip(sorted(paths), sorted(HOSPITAL.run_module(params))):
        assert a.name == b.name and a.read_bytes() == b.read_bytes()


def test_a_malformed_drop_on_an_sftp_server_is_refused_before_any_task(sftpserver, realdata, tmp_path):
    """The version check copies an SFTP drop into the input cache and reads it: exit code 20's error, naming the
    drop, line and field, before anything is exported."""
    lines = gzip.decompress((realdata / "delphi_fixtures" / "claims" / INPATIENT).read_bytes()).decode().splitlines()
    header = lines[0].split(",")
    row = lines[2].split(",")
    row[header.index("Denominator")] = "lots"
    lines[2] = ",".join(row)
    content = {"optum": {"receiving": {INPATIENT: _Blob(gzip.compress(("\n".join(lines) + "\n").encode()))}}}
    credentials = {"host": sftpserver.host, "user": "user", "pass": "pw", "port": sftpserver.port}
    with sftpserver.serve_content(content):
        params = indicator_params(HOSPITAL.params_defaults, source=HOSPITAL.source,
                                  common={"export_dir": str(tmp_path / "export"), "input_dir": str(tmp_path / "input"),
                                          "issue_date": "2020-06-11"},
                                  indicator={"ftp_credentials": credentials, "start_date": "2020-06-01"})
        with pytest.raises(UnusableDropError) as refused:
            HOSPITAL.resolve_versions(params)
    message = str(refused.value)
    assert "line 3" in message and "Denominator" in message and "lots" in message, message
    assert not (tmp_path / "export").exists()


# ---- kernels and estimators against plain references --------------------------------------------------------

def test_backfill_sums_match_a_plain_loop():
    rng = np.random.default_rng(5)
    den = rng.poisson(rng.choice([3, 80, 400], size=(4, 1)), (4, 60)).astype(float)
    nums = rng.poisson(5, (4, 2, 60)).astype(float)
    new_den, new_nums = backfill(den, nums, 7, 500)
    for r in range(4):
        ref_den, ref_num = padded_sums(pd.Series(den[r]), pd.DataFrame(nums[r].T), k=7, min_visits=500)
        np.testing.assert_array_equal(new_den[r], ref_den.to_numpy())
        np.testing.assert_array_equal(new_nums[r], ref_num.to_numpy().T)


def test_jeffreys_estimate_and_its_standard_error_by_hand():
    p = E.jeffreys_proportion([0.0, 10.0, 100.0], [0.0, 100.0, 100.0])
    assert p.tolist() == [0.5, 10.5 / 101, 100.5 / 101]
    se = E.proportion_stderr(p, [0.0, 100.0, 100.0])
    assert np.isnan(se[0]) and se[1] == pytest.approx(np.sqrt(10.5 / 101 * 90.5 / 101 / 100))
    assert se[2] > 0  # never 0, even when every trial was an event
    assert np.isnan(E.plain_proportion([1.0], [0.0])[0])


# ---- the pipeline -----------------------------------------------------------------------------------------

def test_both_indicators_export_the_demo_drops_through_luigi(tmp_path, luigi_settings):
    import datetime as dt

    import luigi
    from luigi.execution_summary import LuigiStatusCode

    from luigi_tasks import Export

    luigi_settings({("delphi_signals", "data_root"): str(tmp_path / "var"),
                    ("doctor-visits", "base_url"): "demo", ("doctor-visits", "export_start_date"): "2020-11-20",
                    ("hospital-admissions", "base_url"): "demo",
                    ("hospital-admissions", "export_start_date"): "2020-11-20"})
    tasks = [Export(source=s, date=dt.date(2020, 11, 30)) for s in ("doctor-visits", "hospital-admissions")]
    result = luigi.build(tasks, local_scheduler=True, detailed_summary=True)
    assert result.status == LuigiStatusCode.SUCCESS, result.summary_text
    doctor = json.loads(tasks[0].output().open().read())
    hospital = json.loads(tasks[1].output().open().read())
    assert doctor["signals"] == ["smoothed_adj_cli", "smoothed_cli"] and doctor["file_count"] == 7 * 6 * 2
    assert hospital["signals"] == ["smoothed_adj_covid19_from_claims", "smoothed_adj_flu_from_claims",
                                   "smoothed_covid19_from_claims", "smoothed_flu_from_claims"]
    assert hospital["file_count"] == 7 * 6 * 4 and doctor["last_time_value"] == 20201126
    demo = tmp_path / "var" / "demo" / "doctor-visits" / "20201130"
    assert [p.name for p in demo.iterdir()] == ["SYNEDI_AGG_OUTPATIENT_30112020_1455CDT.csv.gz"]


def test_counts_without_visits_give_a_rate_of_zero_not_an_infinity(log_records):
    from delphi_signals.indicators.claims.sensor import outpatient_rates

    den = np.full((1, 30), 200.0)
    den[0, 10:20] = 0.0  # ten days without visits, yet with COVID-like counts (a broken drop)
    counts = np.zeros((1, 4, 30))
    counts[0, 0] = 10.0
    result = outpatient_rates(counts, den, jeffreys=False)
    assert np.isfinite(result.rate[0, 1:]).all()
    assert any(r["event"] == "counts without visits: rate set to 0" for r in log_records)


def test_a_folder_that_is_not_there_exits_20(tmp_path, luigi_settings, capsys):
    from luigi_tasks.cli import main

    luigi_settings({("delphi_signals", "data_root"): str(tmp_path / "var"),
                    ("doctor-visits", "base_url"): str(tmp_path / "no-such-folder")})
    assert main(["run", "--source", "doctor-visits", "--date", "2020-02-07", "--days", "1", "--until", "export"]) == 20
    assert "no such folder of drops" in capsys.readouterr().err
