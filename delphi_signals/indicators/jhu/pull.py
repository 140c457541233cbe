"""Pull the JHU CSSE county time series into the dated input cache and read them."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ...cube import new_cube
from ...geo.tables import _read
from ...layout import DEFAULT_DATA_ROOT
from ...sources import fetch
from .constants import DEFAULT_BASE_URL, SOURCE
from .data_tools import county_cumulative, read_wide_csv


@lru_cache(maxsize=1)
def state_codes() -> dict[str, str]:
    """State (and territory) names as JHU writes them in ``Province_State`` → 2-digit FIPS state code."""
    states = _read("states")
    return dict(zip(states["state_name"], states["state_code"]))


def pull_data(metric: str, *, base_url: str = DEFAULT_BASE_URL, data_root=DEFAULT_DATA_ROOT, issue_date=None,
              force: bool = False):
    """Fetch ``time_series_covid19_{metric}_US.csv`` (cached per issue day) and return its county cube.

    Parameters
    ----------
    metric : {"confirmed", "deaths"}
    base_url : str
        A template with ``{metric}``: any fsspec URL or a local path.
    data_root : path
        The pipeline data root; the raw file lands in ``<data_root>/input/jhu-csse/<YYYYMMDD>_<file>.csv``.
    issue_date : date, optional
        The day the pull is for (default today).
    force : bool
        Fetch again even if that day's file is in the cache.

    Returns
    -------
    xarray.Dataset
        Cumulative counts over counties (incl. the states' megacounties ``SS000``), signal
        ``{metric}_cumulative_num``.
    """
    result = fetch(base_url.format(metric=metric), source=SOURCE, data_root=data_root, day=issue_date, force=force)
    series = read_wide_csv(result.path, metric)
    counties, cumulative = county_cumulative(series, state_codes())
    cube = new_cube(counties, series.dates, cumulative, source=SOURCE, signal=f"{metric}_cumulative_num",
                    geo_type="county", attrs={"input_file": str(result.path), "input_sha256": result.sha256})
    assert np.isfinite(cumulative).all()  # read_wide_csv rejects anything else
    return cube
