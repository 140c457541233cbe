"""Real JHU CSSE versions (``$DELPHI_SIGNALS_REALDATA/jhu_csse``) as epidata rows, one issue per version."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

# every county of Delaware, DC, Rhode Island and Vermont: 23 counties, 4 states
STATE_PREFIXES = {"10": "de", "11": "dc", "44": "ri", "50": "vt"}
VERSIONS = {  # file suffix -> issue (the day after the data's last day)
    "__thru_20200909": 20200910, "__thru_20200929": 20200930, "__thru_20201111": 20201112, "": 20201201}


def version_path(realdata, suffix: str, metric: str = "confirmed"):
    folder = realdata / "jhu_csse" / ("vintages" if suffix else "")
    return folder / f"time_series_covid19_{metric}_US{suffix}.csv"


def read_counties(path, prefixes=STATE_PREFIXES) -> pd.DataFrame:
    """Cumulative counts of the counties above: index 5-digit FIPS, columns days (``datetime.date``)."""
    raw = pd.read_csv(path)
    fips = raw["FIPS"].dropna().astype(int).astype(str).str.zfill(5)
    raw = raw.loc[fips.index].set_index(fips.to_numpy())
    raw = raw[raw.index.str[:2].isin(list(prefixes)) & (raw.index.str[2:] != "000")
              & ~raw.index.str[:3].isin(["800", "900"])]
    days = [c for c in raw.columns if c[0].isdigit() and "/" in c]
    out = raw[days].astype(float)
    out.columns = [dt.datetime.strptime(c, "%m/%d/%y").date() for c in days]
    return out.sort_index()


def rows_for(counts: pd.DataFrame, first: dt.date, last: dt.date, issue: int, *, signal="confirmed_cumulative_num",
             blank=(), prefixes=STATE_PREFIXES) -> pd.DataFrame:
    """County rows and their state sums for days ``first..last`` at ``issue``; ``blank``: (fips, day) left empty."""
    days = [d for d in counts.columns if first <= d <= last]
    part = counts[days].copy()
    for fips, day in blank:
        part.loc[fips, day] = np.nan
    states = part.groupby(part.index.str[:2].map(prefixes)).sum(min_count=1)
    frames = []
    for geo_type, table in (("county", part), ("state", states)):
        long = table.stack(future_stack=True).rename("value").reset_index()
        long.columns = ["geo_value", "day", "value"]
        frames.append(long.assign(geo_type=geo_type))
    rows = pd.concat(frames, ignore_index=True)
    issue_day = dt.datetime.strptime(str(issue), "%Y%m%d").date()
    return pd.DataFrame({
        "source": "jhu-csse", "signal": signal, "time_type": "day", "geo_type": rows["geo_type"],
        "time_value": [int(d.strftime("%Y%m%d")) for d in rows["day"]], "geo_value": rows["geo_value"],
        "issue": issue, "lag": [(issue_day - d).days for d in rows["day"]], "value": rows["value"],
        "stderr": np.nan, "sample_size": np.nan, "missing_value": np.where(rows["value"].isna(), 5, 0),
        "missing_stderr": 1, "missing_sample_size": 1})
