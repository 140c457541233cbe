"""doctor-visits and hospital-admissions the upstream way, for ``bench_claims.py`` (runs in the oracle virtualenv).

A re-creation of cmu-delphi/covidcast-indicators' ``doctor_visits`` (``update_sensor``, ``sensor``, ``geo_maps``,
``smooth``) and ``claims_hosp`` (``load_data``, ``update_indicator``, ``indicator``) at commit b12b554e, on
delphi-utils 0.3.24 (``GeoMapper``, ``Weekday``): one region at a time, pandas groupbys, a Python loop per day
for the backfill and for the left Gaussian smoother, cvxpy for the weekday fits (Clarabel for doctor-visits,
ECOS, the legacy path, for hospital-admissions). Differences from the original, all forced or neutral:

* scikit-learn's ``MinMaxScaler`` (not in the oracle virtualenv) is its arithmetic written out
  (``x * scale + min_`` with ``scale = 1 / (max - min)``, 1 for a constant series, and back);
* the drop is read from a local path (no SFTP; network time is not counted on either side), no multiprocessing
  pool (upstream's ``parallel`` is false in its templates), and the files go where ``ARGS`` says.

Not imported by anything: ``bench_claims.py`` sends this file's source to ``oracle.run_oracle``, which defines
``ARGS``: ``which`` (``doctor`` or ``hospital``), ``drop``, ``export_dir``, ``drop_date``, ``start_date``,
``end_date`` (YYYY-MM-DD), ``weekday`` (list of bool), ``geos``. Prints one JSON line: seconds and files written.
"""

import json
import logging
import re
import sys
import time
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from delphi_utils import GeoMapper, Weekday

if "ARGS" not in globals():  # run by hand: python upstream_claims.py '{"which": ...}'
    ARGS = json.loads(sys.argv[1])

LOGGER = logging.getLogger("upstream_claims")
FACTS = {}  # what the run used, for the benchmark's checks: weekday fits, HRR links
FIRST_DATA_DATE = datetime(2020, 1, 1)
BANDWIDTH = 100
MAX_BACKFILL_WINDOW, MIN_CUM_VISITS, MIN_RECENT_VISITS, MIN_RECENT_OBS, MIN_DEN = 7, 500, 100, 3, 100


def left_gauss_linear(series, bandwidth=BANDWIDTH):
    """The local linear left Gaussian filter as upstream computes it: a 2x2 solve per day, all of the past."""
    n = len(series)
    out = np.zeros_like(series)
    design = np.vstack([np.ones(n), np.arange(n)]).T
    for i in range(n):
        weights = np.exp(-((np.arange(i + 1) - i) ** 2) / bandwidth)
        xwx = np.dot(design[: i + 1].T * weights, design[: i + 1])
        xwy = np.dot(design[: i + 1].T * weights, series[: i + 1].reshape(-1, 1))
        try:
            out[i] = np.dot(design[: i + 1], np.linalg.solve(xwx, xwy))[-1]
        except np.linalg.LinAlgError:
            out[i] = np.nan
    return out


def padded(den, num, min_include=None):
    """Upstream's backfill (doctor-visits) / backwards padding (hospital): reversed-time loop over days."""
    rev_den, rev_num = den[::-1], num[::-1]
    new_den = np.full(len(den), np.nan)
    new_num = np.full(rev_num.shape, np.nan)
    include = np.ones(len(den), dtype=bool)
    for i in range(len(den)):
        reach = np.where(rev_den[i:].cumsum() >= MIN_CUM_VISITS)[0]
        width = min(MAX_BACKFILL_WINDOW, reach[0]) if len(reach) else MAX_BACKFILL_WINDOW
        new_den[i] = rev_den[i: i + width + 1].sum()
        new_num[i] = rev_num[i: i + width + 1].sum(axis=0)
        if min_include is not None:
            if new_den[i] < min_include or rev_den[i:][:MIN_RECENT_OBS].sum() == 0:
                include[i] = False
    return new_den[::-1], new_num[::-1], include[::-1]


def minmax_fit(x):
    low, high = np.nanmin(x), np.nanmax(x)
    scale = 1.0 / (high - low) if high - low >= 10 * np.finfo(float).eps else 1.0
    return scale, -low * scale


# ---------------------------------------------------------------- doctor_visits
DV_CLI = ["Covid_like", "Flu_like", "Mixed"]
DV_COUNTS = DV_CLI + ["Flu1", "Denominator"]


def dv_read(path):
    dtypes = {"ServiceDate": str, "PatCountyFIPS": str, "Denominator": int, "Flu1": int, "Covid_like": int,
              "Flu_like": int, "Mixed": int, "PatAgeGroup": str, "Pat HRR Name": str, "Pat HRR ID": float}
    data = pd.read_csv(path, usecols=list(dtypes), dtype=dtypes, parse_dates=["ServiceDate"])
    assert data.duplicated(subset=["ServiceDate", "PatCountyFIPS", "PatAgeGroup", "Pat HRR Name",
                                   "Pat HRR ID"]).sum() == 0
    data = data.drop(columns=["Pat HRR Name", "Pat HRR ID"]).dropna()
    data = data[data["PatCountyFIPS"] != ""]
    return data.groupby(["ServiceDate", "PatCountyFIPS"]).sum(numeric_only=True).reset_index()


def dv_groups(gmpr, data, geo):
    if geo == "county":
        mega = gmpr.fips_to_megacounty(data, MIN_RECENT_VISITS, 7, fips_col="PatCountyFIPS", thr_col="Denominator",
                                       date_col="ServiceDate")
        mega = mega.rename({"megafips": "PatCountyFIPS"}, axis=1)
        return pd.concat([data, mega[mega.PatCountyFIPS.str.endswith("000")]]).groupby("PatCountyFIPS")
    code, column = {"state": ("state_id", "state_id"), "msa": ("msa", "cbsa_id"), "hhs": ("hhs", "hhs"),
                    "nation": ("nation", "nation"), "hrr": ("hrr", "hrr")}[geo]
    kwargs = {"new_col": column} if column != code else {}
    mapped = gmpr.add_geocode(data, "fips", code, from_col="PatCountyFIPS", **kwargs).drop(columns="PatCountyFIPS")
    if geo == "hrr":
        mapped = mapped.groupby(["ServiceDate", "hrr"]).apply(
            lambda g: g["weight"].values @ g[DV_COUNTS]).reset_index()
    else:
        mapped = mapped.groupby(["ServiceDate", column]).sum(numeric_only=True).reset_index()
    return mapped.groupby(column)


def dv_fit(sub, fit_dates, burn_in_dates, final_idxs, geo_id, jeffreys):
    sub = sub.set_index("ServiceDate")[DV_COUNTS]
    sub = sub.reindex(pd.date_range(fit_dates[0], fit_dates[-1], freq="D"), fill_value=0)
    sensor_idxs = np.where(sub.index >= burn_in_dates[0])[0]
    nums = np.column_stack([sub["Covid_like"], sub["Flu_like"] + sub["Mixed"], sub["Flu1"]]).astype(float)
    den, nums, include = padded(sub["Denominator"].to_numpy(dtype=float), nums, MIN_RECENT_VISITS)
    with np.errstate(divide="ignore", invalid="ignore"):
        if jeffreys:
            nums[:, :2] += 0.5
            rates = nums / (den[:, None] + 1)
        else:
            rates = nums / den[:, None]
    rates = np.where(np.isnan(rates), 0.0, rates)
    total = np.zeros(len(den))
    for j in (0, 1):
        if rates[:, j].sum() == 0:
            continue
        scale, offset = minmax_fit(rates[:, j])
        smoothed = left_gauss_linear(rates[:, j] * scale + offset)
        if j == 1:
            b_scale, b_offset = minmax_fit(rates[:, 2])
            smoothed = smoothed - left_gauss_linear(rates[:, 2] * b_scale + b_offset)
        total += (np.clip(smoothed, 0, None) - offset) / scale
    total, include, den = total[sensor_idxs], include[sensor_idxs], den[sensor_idxs]
    se = np.full_like(total, np.nan)
    se[include] = np.sqrt(total[include] * (1 - total[include]) / den[include])
    keep = [i for i in final_idxs if include[i]]
    return pd.DataFrame({"date": burn_in_dates[keep], "geo_id": geo_id, "val": total[keep], "se": se[keep]})


def doctor_visits():
    data = dv_read(ARGS["drop"])
    drop = pd.to_datetime(ARGS["drop_date"])
    start, end = pd.to_datetime(ARGS["start_date"]), pd.to_datetime(ARGS["end_date"])
    data = data[(data.ServiceDate >= FIRST_DATA_DATE) & (data.ServiceDate < drop)]
    fit_dates = np.array([FIRST_DATA_DATE + timedelta(days=x) for x in range((drop - FIRST_DATA_DATE).days)])
    burn_in = np.array([start + timedelta(days=x) for x in range((drop - start).days)])
    n_sensor = (end - start).days
    final_idxs = np.where((burn_in >= start) & (burn_in <= end))[0][:n_sensor]
    gmpr, files = GeoMapper(), 0
    links = gmpr.get_crosswalk("fips", "hrr")
    FACTS["hrr_links"] = links[links.fips.isin(set(data.PatCountyFIPS))][["fips", "hrr", "weight"]].values.tolist()
    FACTS["weekday_dates"] = [f"{d:%Y-%m-%d}" for d in sorted(set(data.ServiceDate))]
    for geo in ARGS["geos"]:
        for weekday in ARGS["weekday"]:
            params = Weekday.get_params(data, "Denominator", DV_CLI + ["Flu1"], "ServiceDate", [1, 1e5, 1e10, 1e15],
                                        LOGGER) if weekday else None
            if weekday:
                FACTS["weekday_beta"] = params.tolist()
            if weekday and np.any(np.all(params == 0, axis=1)):
                continue
            out = []
            for geo_id, sub in dv_groups(gmpr, data, geo):
                sub = sub.copy()
                if weekday:
                    sub = Weekday.calc_adjustment(params, sub, DV_CLI + ["Flu1"], "ServiceDate")
                out.append(dv_fit(sub, fit_dates, burn_in, final_idxs, geo_id, False))
            sensor = pd.concat(out)
            name = "smoothed_adj_cli" if weekday else "smoothed_cli"
            for day in sorted(set(sensor.date)):
                rows = sensor[sensor.date == day]
                with open(f"{ARGS['export_dir']}/{day:%Y%m%d}_{geo}_{name}.csv", "w") as out_file:
                    out_file.write("geo_id,val,se,direction,sample_size\n")
                    for row in rows.itertuples():
                        out_file.write("%s,%f,%s,%s,%s\n" % (row.geo_id, 100 * row.val, "NA", "NA", "NA"))
                files += 1
    return files


# ---------------------------------------------------------------- claims_hosp
def ch_load(path, drop, base_geo, numerator):
    dtypes = {"ServiceDate": str, "PatCountyFIPS": str, "Denominator": float, "Covid_like": float, "Flu1": float,
              "PatAgeGroup": str, "Pat HRR ID": str}
    data = pd.read_csv(path, usecols=list(dtypes), dtype=dtypes, parse_dates=["ServiceDate"])
    data = data.rename(columns={"Pat HRR ID": "hrr", "ServiceDate": "timestamp", "PatCountyFIPS": "fips",
                                "PatAgeGroup": "age_group"})
    data = data[(data.timestamp >= FIRST_DATA_DATE) & (data.timestamp < drop)]
    data = data[data[base_geo] != ""]
    data = data.groupby([base_geo, "timestamp"]).sum(numeric_only=True).dropna().fillna(0)
    data["num"], data["den"] = data[numerator], data["Denominator"]
    return data[["num", "den"]].reset_index()


def ch_reindex(gmpr, data, geo, fit_dates):
    if geo == "county":
        frame = gmpr.fips_to_megacounty(data, MIN_DEN, MAX_BACKFILL_WINDOW, thr_col="den", mega_col=geo)
    elif geo == "state":
        frame = gmpr.replace_geocode(data, from_code="fips", new_col=geo, new_code="state_id")
    elif geo in ("msa", "hhs", "nation"):
        frame = gmpr.replace_geocode(data, from_code="fips", new_code=geo)
    else:
        frame = data
    ids = pd.unique(frame[geo])
    frame = frame.set_index([geo, "timestamp"])
    index = pd.MultiIndex.from_product((ids, fit_dates), names=[geo, "timestamp"])
    return frame.reindex(index, fill_value=0).fillna(0)


def ch_fit(sub, burn_in):
    den, num, _ = padded(sub["den"].to_numpy(dtype=float), sub["num"].to_numpy(dtype=float).reshape(-1, 1))
    den_s = np.clip(left_gauss_linear(den), 0, None)
    num_s = np.clip(left_gauss_linear(num.flatten()), 0, den_s)
    rate = (num_s + 0.5) / (den_s + 1)
    frame = pd.DataFrame({"rate": rate, "den": den_s}, index=sub.index)[burn_in:]
    include = frame["den"] >= MIN_DEN
    frame["se"] = frame[include].eval("sqrt(rate * (1 - rate) / den)")
    return 100 * frame["rate"], 100 * frame["se"], include


def hospital_admissions():
    drop = pd.to_datetime(ARGS["drop_date"])
    start, end = pd.to_datetime(ARGS["start_date"]), pd.to_datetime(ARGS["end_date"])
    burn_in_date = start - timedelta(days=1)
    fit_dates = pd.date_range(FIRST_DATA_DATE, periods=(drop - FIRST_DATA_DATE).days, freq="D")
    burn_in = pd.date_range(burn_in_date, periods=(drop - burn_in_date).days, freq="D")
    output_dates = pd.date_range(start, periods=(end - start).days, freq="D")
    final = (burn_in >= start) & (burn_in <= end)
    gmpr, files = GeoMapper(), 0
    names = {"Covid_like": "covid19", "Flu1": "flu"}
    for geo in ARGS["geos"]:
        for weekday in ARGS["weekday"]:
            for numerator, disease in names.items():
                data = ch_load(ARGS["drop"], drop, "hrr" if geo == "hrr" else "fips", numerator)
                frame = ch_reindex(gmpr, data, geo, fit_dates)
                params = Weekday.get_params_legacy(frame, "den", ["num"], "timestamp", [1, 1e5], LOGGER) \
                    if weekday else None
                results = {}
                for geo_id, sub in frame.groupby(level=0):
                    sub = sub.reset_index()
                    if weekday:
                        sub = Weekday.calc_adjustment(params, sub, ["num"], "timestamp")
                    sub = sub.set_index("timestamp")
                    rate, se, include = ch_fit(sub, burn_in_date)
                    results[geo_id] = (rate.to_numpy()[final], include.to_numpy()[final])
                name = f"smoothed_{'adj_' if weekday else ''}{disease}_from_claims"
                for i, day in enumerate(output_dates):
                    with open(f"{ARGS['export_dir']}/{day:%Y%m%d}_{geo}_{name}.csv", "w") as out_file:
                        out_file.write("geo_id,val,se,direction,sample_size\n")
                        for geo_id, (rate, include) in results.items():
                            if include[i]:
                                out_file.write("%s,%f,%s,%s,%s\n" % (geo_id, rate[i], "NA", "NA", "NA"))
                    files += 1
    return files


started = time.perf_counter()
written = doctor_visits() if ARGS["which"] == "doctor" else hospital_admissions()
print(json.dumps({"seconds": time.perf_counter() - started, "files": written, **FACTS,
                  "peak_mb": int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read())[1]) / 1024}))
