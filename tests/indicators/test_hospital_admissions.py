"""hospital-admissions against upstream's own outputs on its synthetic inpatient drop (``params.json.template``),
and against a plain-pandas reference of the method for the weekday-adjusted signals and the standard errors."""

import shutil

import numpy as np
import pandas as pd
import pytest

from delphi_signals.geo import geodata_dir
from delphi_signals.indicators.claims.window import window
from delphi_signals.indicators.hospital_admissions import INDICATOR
from delphi_signals.indicators.hospital_admissions.data_tools import pooled_effects
from delphi_signals.indicators.hospital_admissions.geo import geo_map
from delphi_signals.indicators.hospital_admissions.run import run_module
from delphi_signals.indicators.params import indicator_params
from delphi_signals.testing.claims_reference import daily_frame, inpatient_reference

DROP = "SYNEDI_AGG_INPATIENT_11062020_1451CDT.csv.gz"
UPSTREAM = "hospital_admissions_drop20200611_template.csv.gz"
TEMPLATE = {"start_date": "2020-02-01", "end_date": None, "drop_date": None, "n_backfill_days": 70,
            "n_waiting_days": 3, "write_se": False, "obfuscated_prefix": "foo_obfuscated", "parallel": False,
            "geos": ["state", "msa", "hrr", "county"], "weekday": [True, False]}


def _params(folder, tmp, **indicator):
    return indicator_params(INDICATOR.params_defaults, source=INDICATOR.source,
                            common={"export_dir": str(tmp / "export"), "input_dir": str(tmp / "input"),
                                    "issue_date": "2020-06-11"},
                            indicator={"base_url": str(folder), **TEMPLATE, **indicator})


def _read(paths) -> pd.DataFrame:
    frames = [pd.read_csv(p, dtype={"geo_id": str}, keep_default_na=False, na_values=["NA"]).assign(file=p.name)
              for p in paths]
    out = pd.concat(frames, ignore_index=True)
    return out.assign(day=pd.to_datetime(out.file.str[:8]), geo=out.file.str.split("_").str[1],
                      signal=out.file.str.split("_", n=2).str[2].str[:-4])


@pytest.fixture(scope="module")
def drops(realdata, tmp_path_factory):
    folder = tmp_path_factory.mktemp("drops")
    shutil.copy(realdata / "delphi_fixtures" / "claims" / DROP, folder / DROP)
    return folder


@pytest.fixture(scope="module")
def upstream(realdata):
    up = pd.read_csv(realdata / "delphi_fixtures" / "claims" / "upstream_outputs" / UPSTREAM, dtype={"geo_id": str},
                     keep_default_na=False, na_values=["NA"])
    return up.assign(signal=up.file.str.split("_", n=2).str[2].str[:-4])


@pytest.fixture(scope="module")
def ours(drops, tmp_path_factory):
    return _read(run_module(_params(drops, tmp_path_factory.mktemp("template"))))


@pytest.fixture(scope="module")
def drop_rows(drops):
    frame = pd.read_csv(drops / DROP, dtype={"PatCountyFIPS": str, "Pat HRR ID": str}, parse_dates=["ServiceDate"])
    states = pd.read_csv(geodata_dir() / "states.csv", dtype=str).set_index("state_code")["state_id"]
    return frame.rename(columns={"ServiceDate": "date"}).assign(state=frame.PatCountyFIPS.str[:2].map(states))


def test_same_files_and_regions_as_upstream_and_the_unadjusted_values(ours, upstream):
    assert len(upstream) == 72_352 and upstream.file.nunique() == 112
    # upstream writes HRR ids as the drop's floats ("1.0"); an HRR id is a whole number (API, geo tables)
    assert upstream[upstream.file.str.contains("_hrr_")].geo_id.str.endswith(".0").all()
    upstream = upstream.assign(geo_id=upstream.geo_id.str.replace(r"\.0$", "", regex=True))
    assert sorted(ours.file.unique()) == sorted(upstream.file.unique())
    both = upstream.merge(ours, on=["file", "geo_id"], how="outer", suffixes=("_up", ""), indicator=True)
    assert (both["_merge"] == "both").all()
    plain = both[~both.file.str.contains("_adj_")]
    assert len(plain) == 36_176 and np.abs(plain.val - plain.val_up).max() <= 5e-7 + 1e-12
    assert both.se.isna().all() and (both.missing_se == 3).all() and (both.missing_sample_size == 3).all()


def test_upstreams_weekday_fit_failed_ours_adjusts(ours, upstream):
    # upstream's adjusted files hold its unadjusted values: its legacy solver returned no fit (log of the zero
    # admissions before the data began), so it divided by exp(0); ours fits on the days with admissions
    def pair(frame, disease):
        wide = frame[frame.signal.str.endswith(f"{disease}_from_claims")].pivot_table(
            index=["file_day", "geo_id"], columns="adj", values="val")
        return wide[True], wide[False]

    for frame in (upstream, ours):
        frame["file_day"] = frame.file.str.split("_smoothed").str[0]
        frame["adj"] = frame.signal.str.contains("_adj_")
    for disease in ("covid19", "flu"):
        up_adj, up_plain = pair(upstream, disease)
        assert (up_adj == up_plain).all()
        our_adj, our_plain = pair(ours, disease)
        assert (np.abs(our_adj / our_plain - 1) > 1e-4).mean() > 0.9


@pytest.mark.parametrize("level, region, column", [("state", "pa", "Covid_like"), ("state", "ca", "Flu1"),
                                                    ("hrr", "134", "Covid_like")])
def test_adjusted_values_match_a_plain_reference_with_the_fitted_effects(ours, drop_rows, level, region, column):
    days = window(INDICATOR_FIRST_DAY, pd.Timestamp("2020-06-11").date(), n_backfill_days=70, n_waiting_days=3,
                  start_date="2020-02-01")
    frame = drop_rows.rename(columns={"PatCountyFIPS": "county", "Pat HRR ID": "hrr"}).fillna({"hrr": ""})
    frame["hrr"] = frame.hrr.str.replace(r"\.0$", "", regex=True)
    columns = ("Denominator", "Covid_like", "Flu1")
    _, counts = geo_map(frame, columns, days.fit_dates, level)
    effects = pooled_effects(counts, columns.index(column), days, what="test")
    assert np.isfinite(effects).all() and abs(effects.sum()) < 1e-9
    rows = (drop_rows.state == region) if level == "state" else (frame.hrr == region)
    daily = daily_frame(drop_rows, rows, "2020-01-01", "2020-06-11", ["Denominator", column])
    daily[column] = daily[column] / np.exp(effects[daily.index.day_of_week])
    ref = inpatient_reference(daily, column).loc["2020-06-01":"2020-06-07"]
    ref = ref[ref.include]
    disease = "covid19" if column == "Covid_like" else "flu"
    got = ours[(ours.geo == level) & (ours.geo_id == region) & (ours.signal == f"smoothed_adj_{disease}_from_claims")]
    got = got.set_index("day").sort_index()
    assert got.index.equals(ref.index) and len(got) == 7
    assert np.abs(got.val - ref.rate).max() < 1e-6


def test_write_se_obfuscates_and_publishes_the_standard_errors(drops, ours, drop_rows, tmp_path):
    se = _read(run_module(_params(drops, tmp_path, write_se=True, weekday=[False], geos=["state", "county"])))
    assert set(se.signal) == {"foo_obfuscated_smoothed_covid19_from_claims", "foo_obfuscated_smoothed_flu_from_claims"}
    assert (se.se > 0).all() and (se.missing_se == 0).all() and (se.missing_sample_size == 3).all()
    # hospital-admissions always takes the Jeffreys estimate: the values do not change with write_se
    plain = ours[ours.signal.isin(["smoothed_covid19_from_claims", "smoothed_flu_from_claims"])
                 & ours.geo.isin(["state", "county"])]
    merged = se.assign(signal=se.signal.str.replace("foo_obfuscated_", "")).merge(
        plain, on=["day", "geo", "geo_id", "signal"])
    assert len(merged) == len(plain) == len(se) and (merged.val_x == merged.val_y).all()
    daily = daily_frame(drop_rows, drop_rows.state == "ny", "2020-01-01", "2020-06-11", ["Denominator", "Covid_like"])
    ref = inpatient_reference(daily, "Covid_like").loc["2020-06-01":"2020-06-07"]
    got = se[(se.geo == "state") & (se.geo_id == "ny") & se.signal.str.contains("covid19")]
    got = got.set_index("day").sort_index()
    assert np.abs(got.se - ref.se).max() < 1e-6 and np.abs(got.val - ref.rate).max() < 1e-6


INDICATOR_FIRST_DAY = pd.Timestamp("2020-01-01").date()
