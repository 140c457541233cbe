"""A plain-pandas reference of the quidel method, written from upstream's description (not from our modules):
one loop per region with pandas rolling sums and merges, the geography from ``geodata/`` read with pandas.

``upstream=True`` makes its two top-up choices as upstream does (alphabetically last state of a msa/hrr; no
borrowing after the first region whose parent has no tests); ``False``: most populous state, each region apart.
Returns one long frame ``file, geo_id, val, se, sample_size`` (val and se rounded to 7 decimals).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from delphi_signals.geo import geodata_dir

GROUPS = ["total", "age_0_4", "age_5_17", "age_18_49", "age_50_64", "age_65plus", "age_0_17"]


def _table(name):
    path = geodata_dir() / f"{name}.csv"
    return pd.read_csv(path if path.exists() else path.with_suffix(".csv.gz"), dtype=str)


def tests_frame(path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    test = pd.to_datetime(df["TestDate"], format="mixed")
    stored = pd.to_datetime(df["StorageDate"], format="mixed")
    df = df[test <= stored].copy()
    test, stored = test[df.index], stored[df.index]
    df["day"] = np.where(stored - test > pd.Timedelta(days=90), stored, test)
    df["zip"] = df["Zip"].str.split("-").str[0].str.split(".").str[0].str.zfill(5)
    age = df["PatientAge"].replace({"<1": "0.5", ">85": "100", "": "-1"}).astype(float)
    df["group"] = pd.cut(age, [-0.5, 5, 18, 50, 65, np.inf], right=False,
                         labels=["age_0_4", "age_5_17", "age_18_49", "age_50_64", "age_65plus"]).astype(object)
    df["tested"] = df["OverallResult"] != ""
    df["positive"] = df["OverallResult"] == "positive"
    zips = _table("zips")
    return df[df["zip"].isin(zips.loc[zips["population"].notna(), "zip"])]


def zip_counts(df: pd.DataFrame) -> pd.DataFrame:
    out = df.groupby(["day", "zip"]).size().rename("rows").to_frame()
    for g in GROUPS:
        sel = df if g == "total" else df[df["group"].isin(["age_0_4", "age_5_17"] if g == "age_0_17" else [g])]
        out[f"tests_{g}"] = sel.groupby(["day", "zip"])["tested"].sum()
        out[f"pos_{g}"] = sel.groupby(["day", "zip"])["positive"].sum()
    return out.fillna(0.0).reset_index()


def to_level(counts: pd.DataFrame, level: str) -> pd.DataFrame:
    cols = [c for c in counts.columns if c not in ("day", "zip")]
    if level == "nation":
        walk = pd.DataFrame({"zip": counts["zip"].unique(), "geo": "us", "weight": 1.0})
    elif level == "hhs":
        walk = _table("zip_state").merge(_table("states")[["state_id", "hhs"]], on="state_id")
        walk = walk.rename(columns={"hhs": "geo"})
    else:
        walk = _table(f"zip_{level}").rename(columns={"state_id" if level == "state" else level: "geo"})
    walk["weight"] = walk["weight"].astype(float)
    merged = counts.merge(walk[["zip", "geo", "weight"]], on="zip")
    merged[cols] = merged[cols].mul(merged["weight"], axis=0)
    return merged.groupby(["day", "geo"], as_index=False)[cols].sum()


def parents(level: str, upstream: bool) -> pd.Series:
    counties = _table("counties")
    real = counties[counties["kind"] == "county"]
    if level == "county":
        return counties.set_index("county")["state_id"]
    links = _table(f"county_{level}").merge(real, on="county")
    if upstream:
        return links.groupby(level)["state_id"].max()
    links["people"] = links["population"].astype(float) * links["weight"].astype(float)
    by_state = links.groupby([level, "state_id"])["people"].sum().reset_index()
    return by_state.sort_values("people", ascending=False).drop_duplicates(level).set_index(level)["state_id"]


def megacounties(county: pd.DataFrame, threshold: float) -> pd.DataFrame:
    county = county.copy()
    county["mega"] = county["geo"].str[:2] + "000"
    frames = []
    for g in GROUPS:
        cols = [f"tests_{g}", f"pos_{g}"]
        folded = county[county[f"tests_{g}"] <= threshold]
        frames.append(folded.groupby(["day", "mega"])[cols].sum())
    exists = county[county["tests_total"] <= threshold][["day", "mega"]].drop_duplicates()
    mega = exists.set_index(["day", "mega"]).join(pd.concat(frames, axis=1)).fillna(0.0).reset_index()
    mega["rows"] = 1.0
    return pd.concat([county.drop(columns="mega"), mega.rename(columns={"mega": "geo"})], ignore_index=True)


def estimate(pos, tests, min_obs=50):
    n = np.where(tests >= min_obs, tests, np.nan)
    p = (pos + 0.5) / (n + 1)
    return 100 * p, 100 * np.sqrt(p * (1 - p) / n), n


def signals(level_frame, level, days, *, smoothed, state=None, parent_of=None, upstream=False):
    rows = []
    has_parent = True
    for geo, grp in level_frame.groupby("geo"):
        grp = grp.drop(columns="geo").set_index("day").reindex(days)
        present = grp["rows"].notna()
        grp = grp.fillna(0.0)
        ok_parent = False
        if parent_of is not None:
            par = state[state["geo"] == parent_of.get(geo, "")].drop(columns="geo").set_index("day").reindex(days)
            found = len(state[state["geo"] == parent_of.get(geo, "")]) > 0
            if upstream:
                has_parent = has_parent and found
                ok_parent = has_parent
            else:
                ok_parent = found
            par = par.where(present, 0.0).fillna(0.0)
        for g in GROUPS:
            tests, pos = grp[f"tests_{g}"].to_numpy(), grp[f"pos_{g}"].to_numpy()
            if smoothed:
                tests = pd.Series(tests).rolling(7, min_periods=1).sum().to_numpy()
                pos = pd.Series(pos).rolling(7, min_periods=1).sum().to_numpy()
                if ok_parent:
                    pt = pd.Series(par[f"tests_{g}"].to_numpy()).rolling(7, min_periods=1).sum().to_numpy()
                    pp = pd.Series(par[f"pos_{g}"].to_numpy()).rolling(7, min_periods=1).sum().to_numpy()
                    need = np.minimum(np.maximum(50 - tests, 0), tests)
                    with np.errstate(divide="ignore", invalid="ignore"):
                        share = need / pt
                    share[np.isnan(share) | (tests == 0) | (pt == 0)] = 0
                    share = np.minimum(share, 1)
                    tests, pos = tests + share * pt, pos + share * pp
            val, se, n = estimate(pos, tests)
            name = f"covid_ag_{'smoothed' if smoothed else 'raw'}_pct_positive" + ("" if g == "total" else f"_{g}")
            for d, v, s, k in zip(days, val, se, n):
                if not np.isnan(k):
                    rows.append((f"{d:%Y%m%d}_{level}_{name}.csv", geo, round(v, 7), round(s, 7), k))
    return rows


def reference(path, *, upstream: bool) -> pd.DataFrame:
    counts = zip_counts(tests_frame(path))
    days = pd.date_range(counts["day"].min(), counts["day"].max())
    state = to_level(counts, "state")
    rows = []
    for level in ("state", "hhs", "nation"):
        frame = to_level(counts, level)
        for smoothed in (False, True):
            rows += signals(frame, level, days, smoothed=smoothed)
    for level in ("county", "msa", "hrr"):
        frame = to_level(counts, level)
        parent_of = parents(level, upstream).to_dict()
        for smoothed in (False, True):
            this = megacounties(frame, 25 if smoothed else 50) if level == "county" else frame
            rows += signals(this, level, days, smoothed=smoothed, state=state, parent_of=parent_of,
                            upstream=upstream)
    return pd.DataFrame(rows, columns=["file", "geo_id", "val", "se", "sample_size"])
