"""doctor-visits against upstream's own outputs on its synthetic outpatient drop, a plain-pandas reference of the
method (standard errors on), and the weekday adjustment on the demo's drop."""

import shutil

import numpy as np
import pandas as pd
import pytest

from delphi_signals.indicators.claims.sensor import adjust_counts, outpatient_rates
from delphi_signals.indicators.doctor_visits import INDICATOR
from delphi_signals.indicators.doctor_visits.run import run_module
from delphi_signals.indicators.params import indicator_params
from delphi_signals.sources.demo import claims_drop_bytes, claims_drop_name
from delphi_signals.testing.claims_reference import daily_frame, outpatient_reference

DROP = "SYNEDI_AGG_OUTPATIENT_07022020_1455CDT.csv.gz"
UPSTREAM = "doctor_visits_drop20200207_backfill10_wait2.csv.gz"
COUNTS = ["Covid_like", "Flu_like", "Mixed", "Flu1", "Denominator"]


def _params(folder, tmp, **indicator):
    base = {"drop_date": "", "n_backfill_days": 10, "n_waiting_days": 2, "weekday": [False], "se": False}
    return indicator_params(INDICATOR.params_defaults, source=INDICATOR.source,
                            common={"export_dir": str(tmp / "export"), "input_dir": str(tmp / "input"),
                                    "issue_date": "2020-02-07"},
                            indicator={"base_url": str(folder), **base, **indicator})


def _read(paths) -> pd.DataFrame:
    frames = [pd.read_csv(p, dtype={"geo_id": str}, keep_default_na=False, na_values=["NA"]).assign(file=p.name)
              for p in paths]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def drops(realdata, tmp_path_factory):
    folder = tmp_path_factory.mktemp("drops")
    shutil.copy(realdata / "delphi_fixtures" / "claims" / DROP, folder / DROP)
    return folder


@pytest.fixture(scope="module")
def upstream(realdata):
    return pd.read_csv(realdata / "delphi_fixtures" / "claims" / "upstream_outputs" / UPSTREAM, dtype={"geo_id": str},
                       keep_default_na=False, na_values=["NA"])


@pytest.fixture(scope="module")
def plain_run(drops, tmp_path_factory):
    return _read(run_module(_params(drops, tmp_path_factory.mktemp("plain"))))


@pytest.fixture(scope="module")
def se_run(drops, tmp_path_factory):
    return _read(run_module(_params(drops, tmp_path_factory.mktemp("se"), se=True)))


@pytest.fixture(scope="module")
def drop_rows(drops):
    frame = pd.read_csv(drops / DROP, dtype={"PatCountyFIPS": str}, parse_dates=["ServiceDate"])
    return frame.rename(columns={"ServiceDate": "date"})


def test_same_files_regions_and_values_as_upstream(plain_run, upstream):
    assert sorted(plain_run.file.unique()) == sorted(upstream.file.unique())
    assert len(upstream) == 14_261
    both = upstream.merge(plain_run, on=["file", "geo_id"], how="outer", suffixes=("_up", ""), indicator=True)
    assert (both["_merge"] == "both").all(), both[both["_merge"] != "both"].head()
    # upstream prints 6 decimals, we 7: the published numbers agree to upstream's last digit
    assert np.abs(both.val - both.val_up).max() <= 5e-7 + 1e-12
    assert both.se.isna().all() and both.sample_size.isna().all()
    assert (both.missing_se == 3).all() and (both.missing_sample_size == 3).all() and (both.missing_val == 0).all()


def test_standard_errors_and_jeffreys_values_match_a_plain_reference(se_run, plain_run, drop_rows):
    assert set(se_run.file.str[9:]) == {f"{g}_wip_XXXXX_smoothed_cli.csv"
                                        for g in ("county", "msa", "hrr", "state", "hhs", "nation")}
    assert (se_run.missing_se == 0).all() and (se_run.se > 0).all() and (se_run.missing_sample_size == 3).all()
    states = pd.read_csv(INDICATOR_GEODATA / "states.csv", dtype=str).set_index("state_code")["state_id"]
    drop_rows = drop_rows.assign(state=drop_rows.PatCountyFIPS.str[:2].map(states))
    checked = 0
    for geo, level, rows in [("pa", "state", drop_rows.state == "pa"), ("tx", "state", drop_rows.state == "tx"),
                             ("us", "nation", drop_rows.state.notna()),
                             ("06037", "county", drop_rows.PatCountyFIPS == "06037"),
                             ("17031", "county", drop_rows.PatCountyFIPS == "17031")]:
        days = daily_frame(drop_rows, rows, "2020-01-01", "2020-02-07", COUNTS)
        ref = outpatient_reference(days, jeffreys=True).loc["2020-01-26":"2020-02-04"]
        ref = ref[ref.include]
        ours = se_run[se_run.file.str.endswith(f"_{level}_wip_XXXXX_smoothed_cli.csv") & (se_run.geo_id == geo)]
        ours = ours.set_index(pd.to_datetime(ours.file.str[:8]))
        assert ours.index.equals(ref.index)
        assert np.abs(ours.val - ref.rate).max() < 1e-6 and np.abs(ours.se - ref.se).max() < 1e-6
        checked += len(ref)
    assert checked >= 16
    # the Jeffreys estimate moves every value a little, and not at all the set of published rows
    merged = se_run.assign(key=se_run.file.str.replace("wip_XXXXX_", "")).merge(
        plain_run.assign(key=plain_run.file), on=["key", "geo_id"])
    assert len(merged) == len(plain_run) and (merged.val_x != merged.val_y).mean() > 0.9


def test_a_percentage_over_90_is_published_with_a_warning_not_a_crash(se_run, log_records, drops, tmp_path):
    # upstream's own run stops at the county level here ("strangely high percentage")
    high = se_run[se_run.val >= 90]
    assert len(high) == 2 and high.file.str.contains("_county_").all()
    run_module(_params(drops, tmp_path, se=True))
    warned = [r for r in log_records if r["event"] == "suspicious values published" and r["geo_type"] == "county"]
    assert len(warned) == 1 and warned[0]["percent_at_least_90"] == 2
    assert warned[0]["regions"] == sorted(high.geo_id)


def test_weekday_on_with_six_days_of_data_leaves_the_adjusted_signal_out(drops, plain_run, log_records, tmp_path):
    # upstream's run fails here (an infinity reaches its scaler); six days cannot identify six weekday effects
    ours = _read(run_module(_params(drops, tmp_path, weekday=[True, False])))
    assert not ours.file.str.contains("smoothed_adj_cli").any()
    pd.testing.assert_frame_equal(ours.sort_values(["file", "geo_id"], ignore_index=True),
                                  plain_run.sort_values(["file", "geo_id"], ignore_index=True))
    failed = [r for r in log_records if r["event"] == "weekday fit failed: adjusted values left out"]
    assert len(failed) == 4 and all("at least 7 days" in r["error"] for r in failed)


def _dow_profile(frame: pd.DataFrame, signal: str) -> pd.Series:
    series = frame[frame.file.str.endswith(f"_nation_{signal}.csv")]
    series = series.set_index(pd.to_datetime(series.file.str[:8])).val.sort_index()
    detrended = series / series.rolling(7, center=True).mean()
    return detrended.groupby(detrended.index.day_of_week).mean()


def test_weekday_adjustment_removes_the_day_of_week_pattern(tmp_path):
    folder = tmp_path / "drops"
    folder.mkdir()
    (folder / claims_drop_name("OUTPATIENT", "2020-11-30")).write_bytes(
        claims_drop_bytes("OUTPATIENT", "2020-11-30", counties=300))
    params = _params(folder, tmp_path, weekday=[True, False], n_backfill_days=70, n_waiting_days=3)
    params["common"]["issue_date"] = "2020-11-30"
    ours = _read(run_module(params))
    raw, adjusted = _dow_profile(ours, "smoothed_cli"), _dow_profile(ours, "smoothed_adj_cli")
    assert raw.max() - raw.min() > 0.05  # the demo's COVID-like share of visits is higher after weekends
    assert adjusted.max() - adjusted.min() < 0.02
    assert len(ours[ours.file.str.endswith("smoothed_adj_cli.csv")]) == len(ours) // 2


def test_with_zero_weekday_effects_the_adjusted_sensor_is_the_unadjusted_one():
    rng = np.random.default_rng(3)
    dates = pd.date_range("2020-01-01", periods=40)
    den = rng.poisson(400, (3, 40)).astype(float)
    counts = np.stack([rng.binomial(den.astype(int), p) for p in (0.05, 0.02, 0.01, 0.01)], axis=1).astype(float)
    adjusted = np.stack([adjust_counts(["ca", "ny", "tx"], dates, counts[:, c], np.zeros(7), geo_type="state")
                         for c in range(4)], axis=1)
    a, b = outpatient_rates(adjusted, den, jeffreys=True), outpatient_rates(counts, den, jeffreys=True)
    np.testing.assert_array_equal(a.rate, b.rate)
    np.testing.assert_array_equal(a.stderr, b.stderr)


from delphi_signals.geo import geodata_dir  # noqa: E402

INDICATOR_GEODATA = geodata_dir()


def test_drop_date_overrides_the_name_and_names_a_renamed_drop(drops, plain_run, tmp_path):
    from delphi_signals.indicators.claims.drops import UnusableDropError

    renamed = tmp_path / "outpatient.csv.gz"
    shutil.copy(drops / DROP, renamed)
    with pytest.raises(UnusableDropError, match="indicator.drop_date is not set"):
        run_module(_params(renamed, tmp_path / "a"))
    same = _read(run_module(_params(renamed, tmp_path / "b", drop_date="2020-02-07")))
    pd.testing.assert_frame_equal(same.sort_values(["file", "geo_id"], ignore_index=True),
                                  plain_run.sort_values(["file", "geo_id"], ignore_index=True))
    earlier = _read(run_module(_params(drops, tmp_path / "c", drop_date="2020-02-06")))
    # one day earlier: the service dates of 2020-02-06 are left out and the window ends a day sooner
    assert sorted(earlier.file.str[:8].unique()) == ["20200201", "20200202", "20200203"]
