"""The quidel run the upstream way, for ``bench_quidel.py`` (runs in the oracle virtualenv, delphi-utils 0.3.24).

The method of cmu-delphi/covidcast-indicators ``quidel_covidtest`` (commit b12b554e), composed here on
delphi-utils 0.3.24 (``GeoMapper``, ``create_export_csv``) and pandas as its ``pull``, ``geo_maps``,
``generate_sensor`` and ``run`` modules do it: read every object, fix the zips one by one, fix the dates, count
per (day, zip) with a groupby per age group, map with ``GeoMapper.replace_geocode``, add the parent state
(upstream's alphabetically last one) and megacounties, then one ``apply_async`` per (level, age group, signal)
on a process pool of ``ARGS["workers"]`` (upstream: ``min(8, cpu_count())``), each looping over the regions with
``fill_dates`` and numpy, and writing with ``create_export_csv``. Differences, all forced or neutral: objects are
read from a local folder laid out as the bucket (no network on either side); pandas 2 no longer accepts
``agg({"SofiaSerNum": "nunique"})`` on a grouped series, so ``nunique()`` is called; no backfill files.

``ARGS``: ``folder``, ``issue_date`` (YYYY-MM-DD), ``export_dir``, ``export_start_date``, ``export_day_range``,
``workers``. Prints one JSON line: seconds per stage, files written.
"""

import json
import os
import sys
import time
from datetime import datetime, timedelta
from functools import reduce
from itertools import product
from multiprocessing import Pool

import numpy as np
import pandas as pd
from delphi_utils import GeoMapper, create_export_csv

if "ARGS" not in globals():
    ARGS = json.loads(sys.argv[1])

MIN_OBS, POOL_DAYS = 50, 7
AGE_GROUPS = ["total", "age_0_4", "age_5_17", "age_18_49", "age_50_64", "age_65plus", "age_0_17"]
DATA_COLS = ["totalTest", "numUniqueDevices", "positiveTest"]
GEO_KEY = {"county": "fips", "msa": "msa", "hrr": "hrr", "state": "state_id", "nation": "nation", "hhs": "hhs"}
COLUMNS = ["SofiaSerNum", "TestDate", "Facility", "City", "State", "Zip", "PatientAge", "Result1", "Result2",
           "OverallResult", "StorageDate", "fname"]
GMPR = GeoMapper()


# ---------------------------------------------------------------- pull
def read_objects(folder, issue):
    frames = []
    for day in sorted(os.listdir(os.path.join(folder, "quidel-demo"))):
        received = datetime.strptime(day, "%Y_%m_%d")
        if received > issue:
            continue
        for name in sorted(os.listdir(os.path.join(folder, "quidel-demo", day))):
            if "-sars" in name and name.endswith(".csv"):
                frame = pd.read_csv(os.path.join(folder, "quidel-demo", day, name),
                                    parse_dates=["StorageDate", "TestDate"], low_memory=False)
                frame["fname"] = name
                frames.append(frame[COLUMNS])
                newest = received
    return pd.concat(frames), newest


def five_digit_zips(df):
    out = []
    for z in df["Zip"].values:
        if isinstance(z, str) and "-" in z:
            out.append(int(z.split("-")[0]))
        else:
            out.append(int(float(z)))
    df["zip"] = out
    return df


def dated(df):
    df.insert(2, "timestamp", df["TestDate"])
    df = df[df["TestDate"] <= df["StorageDate"]]
    late = df["StorageDate"] - df["TestDate"] > pd.Timedelta(days=90)
    df["timestamp"].values[late] = df["StorageDate"].values[late]
    return df


def counts(df):
    keys = ["timestamp", "zip"]

    def count(sel, name):
        out = sel.groupby(by=keys, as_index=False)["OverallResult"].count()
        return out.rename(columns={"OverallResult": name})

    merged = count(df, "totalTest_total").merge(
        df.groupby(by=keys, as_index=False)["SofiaSerNum"].nunique().rename(
            columns={"SofiaSerNum": "numUniqueDevices_total"}), on=keys, how="left").merge(
        count(df[df["OverallResult"] == "positive"], "positiveTest_total"), on=keys, how="left"
    ).fillna(0).drop_duplicates()
    age = df["PatientAge"].fillna(-1)
    age = age.where(age != "<1", 0.5).where(age != ">85", 100).astype(float)
    label = pd.Series(None, index=df.index, dtype=object)
    for name, low, high in (("age_0_4", -np.inf, 5), ("age_5_17", 5, 18), ("age_18_49", 18, 50),
                            ("age_50_64", 50, 65), ("age_65plus", 65, np.inf)):
        label[(age >= low) & (age < high)] = name
    label[age == -1] = "NA"
    df = df.assign(label=label)
    for group in AGE_GROUPS[1:]:
        ages = ["age_0_4", "age_5_17"] if group == "age_0_17" else [group]
        sel = df[df["label"].isin(ages)]
        devices = sel.groupby(by=keys, as_index=False)["SofiaSerNum"].nunique().rename(
            columns={"SofiaSerNum": f"numUniqueDevices_{group}"})
        merged = merged.merge(devices, on=keys, how="left").merge(
            count(sel[sel["OverallResult"] == "positive"], f"positiveTest_{group}"), on=keys, how="left").merge(
            count(sel, f"totalTest_{group}"), on=keys, how="left").fillna(0).drop_duplicates()
    return merged


# ---------------------------------------------------------------- geo_maps
def geo_map(geo, data):
    key = GEO_KEY[geo]
    data = GMPR.add_population_column(data.copy(), "zip")
    cols = ["population"] + ["_".join(p) for p in product(DATA_COLS, AGE_GROUPS)]
    data = GMPR.replace_geocode(data, from_code="zip", new_code=key, date_col="timestamp", data_cols=cols)
    if geo in ("state", "hhs", "nation"):
        return data, key
    states = GMPR.get_crosswalk(from_code="fips", to_code="state")
    if geo == "county":
        mix = states[["fips", "state_id"]]
    else:
        mix = GMPR.get_crosswalk(from_code="fips", to_code=geo)[["fips", geo]].merge(
            states[["fips", "state_id"]], on="fips", how="inner")
        mix = GMPR.add_population_column(mix, "fips").groupby(geo).max().reset_index().drop(
            ["fips", "population"], axis=1)
    data = data.merge(mix, how="left", on=key).drop(columns=["population"]).dropna()
    return data.groupby(["timestamp", key, "state_id"]).sum(numeric_only=True).reset_index(), key


def with_megacounties(data, smooth):
    threshold = MIN_OBS / 2 if smooth else MIN_OBS
    megas = []
    for group in AGE_GROUPS:
        cols = [f"{c}_{group}" for c in DATA_COLS]
        df = GMPR.fips_to_megacounty(data[cols + ["timestamp", "fips"]], threshold, 1, fips_col="fips",
                                     thr_col=f"totalTest_{group}", date_col="timestamp")
        df = df.rename({"megafips": "fips"}, axis=1)
        megas.append(df[df.fips.str.endswith("000")])
    mega = reduce(lambda x, y: pd.merge(x, y, on=["timestamp", "fips"]), megas)
    mega = GMPR.add_geocode(mega, from_code="fips", new_code="state_id", from_col="fips", new_col="state_id")
    return pd.concat([data, mega])


# ---------------------------------------------------------------- data_tools
def filled(frame, first, last):
    cols = frame.columns
    parts = [frame]
    for day in (first, last):
        if day not in frame.index:
            parts.append(pd.DataFrame(dict.fromkeys(cols, 0.0), columns=cols, index=[day]))
    return pd.concat(parts).sort_index().asfreq("D", fill_value=0).fillna(0)


def window_sum(x, k=POOL_DAYS):
    return np.convolve(np.append(np.zeros(k - 1), x), np.ones(k, dtype=int), "valid")


def raw(pos, tests):
    tests = tests.astype(float)
    tests[tests < MIN_OBS] = np.nan
    p = (pos.astype(float) + 0.5) / (tests + 1)
    return p, np.sqrt(p * (1 - p) / tests), tests


def smoothed(pos, tests, ppos=None, ptests=None):
    pos, tests = window_sum(pos.astype(float)), window_sum(tests.astype(float))
    if ptests is not None:
        pp, pt = window_sum(ppos.astype(float)), window_sum(ptests.astype(float))
        need = np.minimum(np.maximum(MIN_OBS - tests, 0), tests)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = need / pt
            share[np.isnan(share) | (tests == 0) | (pt == 0)] = 0
            share[share > 1] = 1
        pos, tests = pos + share * pp, tests + share * pt
    return raw(pos, tests)


# ---------------------------------------------------------------- generate_sensor + run
def nonparent(groups, key, smooth, first, last, group, geo, signal, export_dir, start, end):
    frames = []
    for region in groups.groups:
        g = filled(groups.get_group(region).drop(columns=[key]).set_index("timestamp"), first, last)
        fn = smoothed if smooth else raw
        p, se, n = fn(g[f"positiveTest_{group}"].values, g[f"totalTest_{group}"].values)
        frames.append(pd.DataFrame({"geo_id": region, "timestamp": g.index, "val": p * 100, "se": se * 100,
                                    "sample_size": n}))
    df = pd.concat(frames)
    df = df[df["sample_size"].notnull()]
    return len(create_export_csv(df, geo_res=geo, sensor=signal, export_dir=export_dir, start_date=start,
                                 end_date=end))


def parent(state_groups, data, key, smooth, first, last, group, geo, signal, export_dir, start, end):
    has_parent = True
    if key == "fips":
        data = with_megacounties(data, smooth)
    frames = []
    for region, g in data.groupby(key):
        try:
            par = state_groups.get_group(g["state_id"].values[0])
            g = g.merge(par, how="left", on="timestamp", suffixes=("", "_parent"))
            g = g.drop(columns=[key, "state_id", "state_id_parent"])
        except KeyError:
            has_parent = False
            g = g.drop(columns=[key, "state_id"])
        g = filled(g.set_index("timestamp"), first, last)
        pos, tests = g[f"positiveTest_{group}"].values, g[f"totalTest_{group}"].values
        if smooth and has_parent:
            p, se, n = smoothed(pos, tests, g[f"positiveTest_{group}_parent"].values,
                                g[f"totalTest_{group}_parent"].values)
        elif smooth:
            p, se, n = smoothed(pos, tests)
        else:
            p, se, n = raw(pos, tests)
        frames.append(pd.DataFrame({"geo_id": region, "timestamp": g.index, "val": p * 100, "se": se * 100,
                                    "sample_size": n}))
    df = pd.concat(frames)
    df = df[df["sample_size"].notnull()]
    return len(create_export_csv(df, geo_res=geo, sensor=signal, export_dir=export_dir, start_date=start,
                                 end_date=end, remove_null_samples=True))


def main():
    times = {}
    t0 = time.perf_counter()
    issue = datetime.strptime(ARGS["issue_date"], "%Y-%m-%d")
    df, received = read_objects(ARGS["folder"], issue)
    df = dated(five_digit_zips(df))
    data = counts(df)
    times["pull"] = time.perf_counter() - t0
    end = received - timedelta(days=5)
    start = datetime.strptime(ARGS["export_start_date"], "%Y-%m-%d")
    if (end - start).days > ARGS["export_day_range"]:
        start = end - timedelta(days=ARGS["export_day_range"])
    first, last = data["timestamp"].min(), data["timestamp"].max()
    sensors = [("covid_ag_smoothed_pct_positive", True), ("covid_ag_raw_pct_positive", False)]
    written = 0
    t1 = time.perf_counter()
    with Pool(ARGS["workers"]) as pool:
        jobs = []
        for geo in ("hhs", "nation", "state"):
            geo_data, key = geo_map(geo, data)
            groups = geo_data.groupby(key)
            for group, (sensor, smooth) in product(AGE_GROUPS, sensors):
                name = sensor if group == "total" else f"{sensor}_{group}"
                jobs.append(pool.apply_async(nonparent, (groups, key, smooth, first, last, group, geo, name,
                                                         ARGS["export_dir"], start, end)))
        for geo in ("county", "msa", "hrr"):
            geo_data, key = geo_map(geo, data)
            for group, (sensor, smooth) in product(AGE_GROUPS, sensors):
                name = sensor if group == "total" else f"{sensor}_{group}"
                jobs.append(pool.apply_async(parent, (groups, geo_data, key, smooth, first, last, group, geo, name,
                                                      ARGS["export_dir"], start, end)))
        written = sum(job.get() for job in jobs)
    times["signals"] = time.perf_counter() - t1
    times["total"] = time.perf_counter() - t0
    import resource

    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({**times, "files": written, "peak_mb": peak / 1024}))


main()
