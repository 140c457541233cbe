"""The JHU CSSE indicator run the upstream way, for ``bench_indicator.py`` (runs in the oracle virtualenv).

A faithful re-creation of cmu-delphi/covidcast-indicators ``jhu/delphi_jhu`` (last version: ``pull.py``,
``geo.py`` with ``add_county_pop``, ``run.py``) on delphi-utils 0.3.24 (``GeoMapper``, ``Smoother``,
``create_export_csv``); spec: ``indicators.md`` §8, §4, §2. Differences from the original, all forced:

* delphi-utils 0.3.24 no longer ships the ``jhu_uid`` crosswalk, so ``replace_geocode(df, "jhu_uid", "fips")``
  is done by hand exactly as it was (inner merge with the weighted table, data columns × weight, ``groupby
  ([timestamp, fips]).sum()``) with a table written by the benchmark from our ``uid_to_fips``;
* ``DataFrame.append`` (removed in pandas 2) is ``pd.concat``;
* the file is read from a local path (upstream read the URL: network time is not counted on either side).

Not imported by anything: ``bench_indicator.py`` sends this file's source to ``oracle.run_oracle``, which
defines ``ARGS``: ``base_url`` (template with ``{metric}``), ``uid_table`` (CSV jhu_uid,fips,weight),
``export_dir``, ``start_date`` (YYYY-MM-DD), ``tables_out`` (where to write the tables upstream used).
Prints one JSON line: stage times and facts about the run.
"""

import json
import sys
import time
from itertools import product

import numpy as np
import pandas as pd
from delphi_utils import GeoMapper, Smoother, create_export_csv

if "ARGS" not in globals():  # run by hand: python upstream_jhu.py '{"base_url": ...}'
    ARGS = json.loads(sys.argv[1])

TIMES = {"pull": 0.0, "geo": 0.0, "geomapper_init": 0.0, "smooth": 0.0, "export": 0.0}
INCIDENCE_BASE = 100000
VALID_GEO_RES = ("county", "state", "msa", "hrr", "hhs", "nation")
METRICS = ["deaths", "confirmed"]
SENSORS = ["new_counts", "cumulative_counts", "incidence", "cumulative_prop"]
SMOOTHERS = ["unsmoothed", "seven_day_average"]
SENSOR_NAME_MAP = {"new_counts": "incidence_num", "cumulative_counts": "cumulative_num",
                   "incidence": "incidence_prop", "cumulative_prop": "cumulative_prop"}
SMOOTHERS_MAP = {
    "unsmoothed": (Smoother("identity").smooth, ""),
    "seven_day_average": (Smoother("moving_average", window_length=7).smooth, "7dav_"),
}


def geomapper():
    """``GeoMapper()`` as upstream called it (once per geo_map call); its cost is also booked separately."""
    t = time.perf_counter()
    gmpr = GeoMapper()
    TIMES["geomapper_init"] += time.perf_counter() - t
    return gmpr


# ---------------------------------------------------------------- pull.py
def download_data(base_url, metric):
    df = pd.read_csv(base_url.format(metric=metric))
    df = df.filter(regex=r"\d{1,2}\/\d{1,2}\/\d{2}|UID").melt(
        id_vars=["UID"], var_name="timestamp", value_name="cumulative_counts")
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    return df


def replace_uid_with_fips(df, uid_table):
    """``GeoMapper.replace_geocode(df, "jhu_uid", "fips", from_col="UID")`` of delphi-utils ≤ 0.3.x."""
    df = df.merge(uid_table, left_on="UID", right_on="jhu_uid", how="inner").drop(columns=["UID", "jhu_uid"])
    data_cols = list(set(df.columns) - {"timestamp", "fips", "weight"})
    df[data_cols] = df[data_cols].multiply(df["weight"], axis=0)
    df.drop("weight", axis=1, inplace=True)
    return df.groupby(["timestamp", "fips"]).sum(numeric_only=True).reset_index()


def create_diffs_column(df):
    df = df.set_index(["fips", "timestamp"])
    df["new_counts"] = df.groupby(level=0)["cumulative_counts"].diff()
    na_value_mask = df["new_counts"].isna()
    df.loc[na_value_mask, "new_counts"] = df.loc[na_value_mask, "cumulative_counts"]
    return df.reset_index()


def sanity_check_data(df):
    days_by_fips = df.groupby("fips").count()["cumulative_counts"].unique()
    unique_days = df["timestamp"].unique()
    if (len(days_by_fips) > 1) or (days_by_fips[0] != len(unique_days)):
        raise ValueError("Differing number of days by fips")
    n_days = (max(unique_days) - min(unique_days)) / np.timedelta64(1, "D") + 1
    if n_days != len(unique_days):
        raise ValueError("Not every day is represented.")


def pull_jhu_data(base_url, metric, uid_table):
    df = download_data(base_url, metric)
    geomapper()  # upstream built one here too
    df = replace_uid_with_fips(df, uid_table)
    df = create_diffs_column(df)
    sanity_check_data(df)
    return df[["fips", "timestamp", "new_counts", "cumulative_counts"]]


# ---------------------------------------------------------------- geo.py
def add_county_pop(df, gmpr):
    is_territory_mega = df.fips.isin(["78000", "69000", "66000", "60000"])
    territories = df[is_territory_mega]
    territories_state_id = gmpr.add_geocode(territories, "fips", "state_id")
    territories_pop = gmpr.add_population_column(territories_state_id, "state_id", dropna=False)
    territories_pop.drop("state_id", axis=1, inplace=True)
    nonterritories = df[~is_territory_mega]
    nonterritories_pop = gmpr.add_population_column(nonterritories, "fips", dropna=False)
    return pd.concat([nonterritories_pop, territories_pop], ignore_index=True)


def geo_map(df, geo_res, sensor):
    df = df.copy()
    if geo_res not in VALID_GEO_RES:
        raise ValueError(f"geo_res must be one of {VALID_GEO_RES}")
    gmpr = geomapper()
    df = add_county_pop(df, gmpr)
    unassigned_counties = df[df["fips"].str.endswith("000")].copy()
    df = df[~df["fips"].str.endswith("000")].copy()
    if geo_res == "county":
        if sensor not in ("incidence", "cumulative_prop"):
            df = pd.concat([df, unassigned_counties]) if not unassigned_counties.empty else df
        df.rename(columns={"fips": "geo_id"}, inplace=True)
    elif geo_res in ("state", "hhs", "nation"):
        geo = "state_id" if geo_res == "state" else geo_res
        df = pd.concat([df, unassigned_counties]) if not unassigned_counties.empty else df
        df = gmpr.replace_geocode(df, "fips", geo, new_col="geo_id", date_col="timestamp")
    else:
        df = gmpr.replace_geocode(df, "fips", geo_res, new_col="geo_id", date_col="timestamp")
    df["incidence"] = df["new_counts"] / df["population"] * INCIDENCE_BASE
    df["cumulative_prop"] = df["cumulative_counts"] / df["population"] * INCIDENCE_BASE
    return df


# ---------------------------------------------------------------- run.py
def interior_nans(series_by_geo):
    """How many values are NaN after the first non-NaN of their geo: what savgol imputation would fill."""
    seen = series_by_geo.notna().groupby(level=1).cummax()
    return int((series_by_geo.isna() & seen).sum())


def run_module():
    start_date = pd.Timestamp(ARGS["start_date"]).to_pydatetime()
    facts = {"interior_nans_before_7dav": 0, "csv_export_count": 0}
    t = time.perf_counter()
    uid_table = pd.read_csv(ARGS["uid_table"], dtype={"jhu_uid": np.int64, "fips": str, "weight": float})
    geomapper()  # run_module's own GeoMapper()
    dfs = {metric: pull_jhu_data(ARGS["base_url"], metric, uid_table) for metric in METRICS}
    TIMES["pull"] += time.perf_counter() - t
    for metric, geo_res, sensor, smoother in product(METRICS, VALID_GEO_RES, SENSORS, SMOOTHERS):
        if "cumulative" in sensor and "seven_day_average" in smoother:
            continue
        t0 = time.perf_counter()
        df = geo_map(dfs[metric], geo_res, sensor)
        df.set_index(["timestamp", "geo_id"], inplace=True)
        t1 = time.perf_counter()
        df["val"] = df[sensor].groupby(level=1).transform(SMOOTHERS_MAP[smoother][0])
        t2 = time.perf_counter()
        df["se"] = np.nan
        df["sample_size"] = np.nan
        df = df[~df["val"].isnull()]
        df = df.reset_index()
        sensor_name = SMOOTHERS_MAP[smoother][1] + SENSOR_NAME_MAP[sensor]
        dates = create_export_csv(df, export_dir=ARGS["export_dir"], start_date=start_date, metric=metric,
                                  geo_res=geo_res, sensor=sensor_name)
        t3 = time.perf_counter()
        facts["csv_export_count"] += int(dates.size)
        TIMES["geo"] += t1 - t0
        TIMES["smooth"] += t2 - t1
        TIMES["export"] += t3 - t2
    return dfs, facts


def used_tables(dfs):
    """The geography upstream used, for the benchmark's table comparison (untimed, after the run).

    For each level: fips -> region links (with weights) of the fips in the data, and each region's
    population as the run computed it (the aggregated ``population`` column).
    """
    gmpr = GeoMapper()
    df = dfs["confirmed"]
    fips = pd.Series(sorted(df["fips"].unique()), name="fips")
    links = [pd.DataFrame({"level": "county", "fips": fips, "geo_id": fips, "weight": 1.0})]
    pops = []
    for geo_res in VALID_GEO_RES:
        mapped = geo_map(df[df["timestamp"] == df["timestamp"].min()], geo_res, "incidence")
        pops.append(pd.DataFrame({"level": geo_res, "geo_id": mapped["geo_id"].astype(str),
                                  "population": mapped["population"]}))
        if geo_res == "county":
            continue
        frame = pd.DataFrame({"fips": fips})
        target = "state_id" if geo_res == "state" else geo_res
        frame = gmpr.add_geocode(frame, "fips", target, dropna=True)
        if "weight" not in frame.columns:
            frame["weight"] = 1.0
        links.append(pd.DataFrame({"level": geo_res, "fips": frame["fips"], "geo_id": frame[target].astype(str),
                                   "weight": frame["weight"].astype(float)}))
    pd.concat(links).to_csv(f"{ARGS['tables_out']}/upstream_links.csv", index=False)
    pd.concat(pops).to_csv(f"{ARGS['tables_out']}/upstream_population.csv", index=False)


def interior_nan_check(dfs):
    """Inputs of the 7-day average with a NaN after their first value (savgol imputation would act there)."""
    count = 0
    for metric, geo_res, sensor in product(METRICS, VALID_GEO_RES, ("new_counts", "incidence")):
        df = geo_map(dfs[metric], geo_res, sensor).set_index(["timestamp", "geo_id"]).sort_index()
        count += interior_nans(df[sensor])
    return count


if __name__ == "__main__":
    started = time.perf_counter()
    dfs, facts = run_module()
    total = time.perf_counter() - started
    facts["interior_nans_before_7dav"] = interior_nan_check(dfs)
    used_tables(dfs)
    import delphi_utils
    print(json.dumps({"total": total, **TIMES, **facts, "pandas": pd.__version__,
                      "delphi_utils": getattr(delphi_utils, "__version__", "0.3.24")}))
