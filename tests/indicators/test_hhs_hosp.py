"""HHS hospital admissions on the real Epidata covid_hosp response (PA, 20210911..20210919)."""

import json

import pandas as pd
import pytest

from delphi_signals.cube import check_cube
from delphi_signals.errors import InputError
from delphi_signals.geo import population
from delphi_signals.indicators.hhs_hosp.constants import signal_names
from delphi_signals.indicators.hhs_hosp.pull import pull_data, read_response
from delphi_signals.indicators.hhs_hosp.run import run_module
from delphi_signals.io import read_csvs


@pytest.fixture(scope="module")
def response(realdata):
    return realdata / "delphi_fixtures" / "hhs_hosp" / "test_response.json"


@pytest.fixture(scope="module")
def raw(response):
    """The response's rows as plain pandas, independent of the code under test."""
    return pd.DataFrame(json.loads(response.read_text())["epidata"])


@pytest.fixture(scope="module")
def export(response, tmp_path_factory):
    root = tmp_path_factory.mktemp("hhs")
    params = {"common": {"export_dir": str(root / "export"), "input_dir": str(root / "input"),
                         "issue_date": "2021-10-25"},
              "indicator": {"base_url": str(response)}}
    return run_module(params), root


def _read(export_dir, name):
    return pd.read_csv(export_dir / name, dtype={"geo_id": str}).set_index("geo_id")


def test_files_cover_every_signal_geo_and_day(export):
    paths, root = export
    names = {p.name for p in paths}
    # 9 report days 0911..0919 → admission days 0910..0918; 7dav from 0916 (first full window)
    for signal in signal_names():
        days = pd.date_range("2021-09-16" if signal.endswith("_7dav") else "2021-09-10", "2021-09-18")
        for geo in ("state", "hhs", "nation"):
            for day in days:
                assert f"{day:%Y%m%d}_{geo}_{signal}.csv" in names
    assert len(paths) == 12 * 3 * 9 - 6 * 3 * 6
    assert (root / "input" / "hhs" / "20211025_covid_hosp.json").exists()


def test_counts_are_previous_day_sums(export, raw):
    _, root = export
    row = raw[raw.date == 20210915].iloc[0]  # report day 0915 → admissions of 0914
    confirmed = row.previous_day_admission_adult_covid_confirmed + row.previous_day_admission_pediatric_covid_confirmed
    both = confirmed + row.previous_day_admission_adult_covid_suspected + row.previous_day_admission_pediatric_covid_suspected
    out = root / "export"
    assert _read(out, "20210914_state_confirmed_admissions_covid_1d.csv").loc["pa", "val"] == confirmed
    assert _read(out, "20210914_state_sum_confirmed_suspected_admissions_covid_1d.csv").loc["pa", "val"] == both
    assert (_read(out, "20210914_state_confirmed_admissions_influenza_1d.csv").loc["pa", "val"]
            == row.previous_day_admission_influenza_confirmed)
    # PA is the only state here: its HHS region (3) and the nation get its counts
    assert _read(out, "20210914_hhs_confirmed_admissions_covid_1d.csv").loc["3", "val"] == confirmed
    assert _read(out, "20210914_nation_confirmed_admissions_covid_1d.csv").loc["us", "val"] == confirmed


def test_hand_computed_values(export):
    """20210911 row of the file: adult confirmed 264 + pediatric confirmed 7 = 271 on 2021-09-10."""
    _, root = export
    out = root / "export"
    assert _read(out, "20210910_state_confirmed_admissions_covid_1d.csv").loc["pa", "val"] == 271.0
    assert _read(out, "20210910_state_sum_confirmed_suspected_admissions_covid_1d.csv").loc["pa", "val"] == 271 + 379 + 25
    pa = float(population("state").sel(geo="pa"))
    prop = _read(out, "20210910_state_confirmed_admissions_covid_1d_prop.csv").loc["pa", "val"]
    assert prop == round(271 / pa * 1e5, 7)
    nation = float(population("nation").sel(geo="us"))
    assert _read(out, "20210910_nation_confirmed_admissions_covid_1d_prop.csv").loc["us", "val"] == round(
        271 / nation * 1e5, 7)


def test_7dav_is_trailing_mean(export, raw):
    _, root = export
    raw = raw.sort_values("date")
    counts = (raw.previous_day_admission_adult_covid_confirmed + raw.previous_day_admission_pediatric_covid_confirmed).to_numpy()
    out = root / "export"
    # admission day 0918 = report days 0913..0919 = rows 2..8
    expected = counts[2:9].mean()
    assert _read(out, "20210918_state_confirmed_admissions_covid_1d_7dav.csv").loc["pa", "val"] == round(expected, 7)
    pa = float(population("state").sel(geo="pa"))
    got = _read(out, "20210918_state_confirmed_admissions_covid_1d_prop_7dav.csv").loc["pa", "val"]
    assert got == pytest.approx(expected / pa * 1e5, abs=1e-7)


def test_written_csvs_read_back_as_valid_cubes(export):
    paths, _ = export
    cubes = read_csvs(paths)
    assert len(cubes) == 12 * 3
    for (source, signal, geo_type, time_type), cube in cubes.items():
        check_cube(cube)
        assert (source, time_type) == ("export", "day")  # the source of a file is its folder's name
        assert cube.sizes["time"] == (3 if signal.endswith("_7dav") else 9)
    cube = cubes[("export", "confirmed_admissions_covid_1d", "state", "day")]
    assert cube.value.sel(geo="pa").values[0] == 271.0


def _write(tmp_path, body):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(body))
    return path


def test_strict_reader_names_row_and_field(response, tmp_path):
    body = json.loads(response.read_text())
    bad = json.loads(json.dumps(body))
    del bad["epidata"][3]["previous_day_admission_influenza_confirmed"]
    with pytest.raises(InputError, match=r"r\.json, field previous_day_admission_influenza_confirmed: epidata\[3\]"):
        read_response(_write(tmp_path, bad))
    bad = json.loads(json.dumps(body))
    bad["epidata"][5]["previous_day_admission_adult_covid_confirmed"] = "12"
    with pytest.raises(InputError, match=r"field previous_day_admission_adult_covid_confirmed: epidata\[5\]: not a"):
        read_response(_write(tmp_path, bad))
    bad = json.loads(json.dumps(body))
    bad["epidata"][1]["date"] = 20210911
    with pytest.raises(InputError, match=r"epidata\[1\]: state pa and date 20210911 repeated"):
        read_response(_write(tmp_path, bad))
    bad = json.loads(json.dumps(body))
    bad["epidata"][0]["state"] = "XX"
    with pytest.raises(InputError, match=r"field state: epidata\[0\]: unknown state 'XX'"):
        read_response(_write(tmp_path, bad))
    with pytest.raises(InputError, match=r"field result: Epidata result -2"):
        read_response(_write(tmp_path, {"epidata": [], "result": -2, "message": "no results"}))


def test_null_counts_are_not_written_and_aggregates_stay_missing(response, tmp_path):
    """A null count is no row (cube contract: missing for no stated reason); ma's Tuesday flu too."""
    body = json.loads(response.read_text())
    rows = body["epidata"]
    ma = [dict(r, state="MA") for r in rows]
    # report day 20210915 → admission day Tue 2021-09-14
    tuesday = next(r for r in ma if r["date"] == 20210915)
    tuesday["previous_day_admission_influenza_confirmed"] = None
    next(r for r in rows if r["date"] == 20210915)["previous_day_admission_influenza_confirmed"] = None
    body["epidata"] = rows + ma
    params = {"common": {"export_dir": str(tmp_path / "export"), "input_dir": str(tmp_path / "input"),
                         "issue_date": "2021-10-25"}, "indicator": {"base_url": str(_write(tmp_path, body))}}
    run_module(params)
    assert not (tmp_path / "export" / "20210914_state_confirmed_admissions_influenza_1d.csv").exists()
    assert (tmp_path / "export" / "20210913_state_confirmed_admissions_influenza_1d.csv").exists()
    covid = pd.read_csv(tmp_path / "export" / "20210914_state_confirmed_admissions_covid_1d.csv", dtype={"geo_id": str})
    assert covid.geo_id.tolist() == ["ma", "pa"]
    # the nation sums the states that have a count: missing stays missing, never 0
    assert not (tmp_path / "export" / "20210914_nation_confirmed_admissions_influenza_1d.csv").exists()
    # the 7-day averages whose window holds the missing day are missing too (0914..0918), never averaged over 6
    assert not list((tmp_path / "export").glob("*_confirmed_admissions_influenza_1d_7dav.csv"))
    assert len(list((tmp_path / "export").glob("*_state_confirmed_admissions_covid_1d_7dav.csv"))) == 3
    flu = float(next(r for r in rows if r["date"] == 20210914)["previous_day_admission_influenza_confirmed"])
    hhs = pd.read_csv(tmp_path / "export" / "20210913_hhs_confirmed_admissions_influenza_1d.csv", dtype={"geo_id": str})
    assert hhs.set_index("geo_id").val.to_dict() == {"1": flu, "3": flu}  # ma in region 1, pa in region 3


# ---- issue 9: the Epidata API in 31-day chunks, as_of the issue date, with retries ----------------------------

def epidata_answer(response_path, *, fail_first_of=None, key=None):
    """An Epidata ``covid_hosp_state_timeseries`` endpoint over the real response: each request gets the rows
    whose ``date`` is in its ``dates=A-B``; ``{"result": -2}`` when none. The first request for the range
    starting ``fail_first_of`` gets HTTP 429."""
    rows = json.loads(response_path.read_text())["epidata"]
    failed = set()

    def answer(path, query, headers):
        if key is not None and query.get("api_key") != key:
            return 401, b'{"result": -1, "message": "bad key"}'
        start, stop = (int(x) for x in query["dates"].split("-"))
        if query["dates"].startswith(str(fail_first_of)) and fail_first_of not in failed:
            failed.add(fail_first_of)
            return 429, b"Too Many Requests"
        chunk = [r for r in rows if start <= r["date"] <= stop and r["issue"] <= int(query["as_of"])]
        body = {"epidata": chunk, "result": 1, "message": "success"} if chunk else {
            "epidata": [], "result": -2, "message": "no results"}
        return 200, json.dumps(body).encode()

    return answer


def _hhs_params(root, base_url, **indicator):
    return {"common": {"export_dir": str(root / "export"), "input_dir": str(root / "input"),
                       "issue_date": "2021-10-25"},
            "indicator": {"base_url": base_url, **indicator}}


@pytest.mark.parametrize("chunk_days, start_date, fail_first_of, expected_requests", [
    (31, "2021-08-01", 20210901, 4),  # 0801-0831 empty, 0901-1001 (429, then all rows), 1002-1025 empty
    (3, "2021-09-05", 20210917, 18),  # rows spread over 0911-0913 .. 0917-0919; empty chunks before and after
])
def test_chunked_api_gives_the_files_cube(response, export, local_server, tmp_path, log_records, monkeypatch,
                                          chunk_days, start_date, fail_first_of, expected_requests):

    server = local_server(epidata_answer(response, fail_first_of=fail_first_of, key="k-secret"))
    monkeypatch.setenv("DELPHI_EPIDATA_KEY", "k-secret")
    params = _hhs_params(tmp_path, f"{server.url}/epidata/covid_hosp_state_timeseries/?ignored=1",
                         chunk_days=chunk_days, start_date=start_date, retry_delay=0.05)
    paths = run_module(params)
    assert len(server.requests) == expected_requests
    assert all(r["query"]["as_of"] == "20211025" and r["query"]["states"].split(",")[:2] == ["AK", "AL"]
               for r in server.requests)
    ranges = [r["query"]["dates"] for r in server.requests]
    assert ranges[0].startswith(start_date.replace("-", "")) and ranges[-1].endswith("-20211025")  # capped
    assert [r["level"] for r in log_records if r["event"] == "http get attempt failed"] == ["warning"]
    assert "k-secret" not in json.dumps(log_records)
    # same files with the same bytes as the run on the single file
    theirs, root = export
    assert sorted(p.name for p in paths) == sorted(p.name for p in theirs)
    for path in paths:
        assert path.read_bytes() == (root / "export" / path.name).read_bytes(), path.name
    sidecar = json.loads((tmp_path / "input" / "hhs" / "20211025_covid_hosp.json.version.json").read_text())
    assert (sidecar["kind"], sidecar["value"]) == ("as_of", "20211025") and "k-secret" not in json.dumps(sidecar)


def test_as_of_before_the_data_was_issued_gives_no_rows(response, local_server, tmp_path):
    """The real rows were issued 2021-10-25: asked as of 2021-10-24, every chunk answers "no results"."""

    server = local_server(epidata_answer(response))
    params = _hhs_params(tmp_path, f"{server.url}/epidata/", start_date="2021-09-01")
    params["common"]["issue_date"] = "2021-10-24"
    with pytest.raises(InputError, match="Epidata result -2 .'no results'."):
        pull_data(params)
    assert {r["query"]["as_of"] for r in server.requests} == {"20211024"}
    assert server.requests[-1]["query"]["dates"].endswith("-20211024")


def test_persistent_server_errors_fail_after_the_retries(response, local_server, tmp_path):
    from delphi_signals.sources import FetchError

    server = local_server(lambda path, query, headers: (503, b"down"))
    params = _hhs_params(tmp_path, f"{server.url}/epidata/", start_date="2021-10-01", retries=2, retry_delay=0.01,
                         api_key="k-secret")
    with pytest.raises(FetchError, match=r"HTTP 503 .*\(after 3 attempts\)") as err:
        pull_data(params)
    assert "k-secret" not in str(err.value) and "api_key=***" in str(err.value)
    assert len(server.requests) == 3
    assert not (tmp_path / "input" / "hhs" / "20211025_covid_hosp.json").exists()
