"""JHU signals at each geo level: counts are aggregated, proportions computed after aggregation."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ...geo import aggregate, per_capita, population
from ...nancodes import MISSING_NAMES, Nans
from .constants import TERRITORY_COUNTIES

MEGACOUNTY_SUFFIX = "000"


def without_megacounties(cube):
    """The cube without the states' pseudo-regions ``SS000`` (unassigned counts, no population); the
    territories' county rows (:data:`~.constants.TERRITORY_COUNTIES`) stay."""
    geo = np.asarray(cube["geo"].values, dtype=str)
    keep = ~np.char.endswith(geo, MEGACOUNTY_SUFFIX) | np.isin(geo, list(TERRITORY_COUNTIES))
    return cube.isel(geo=keep)


def territory_per_capita(counts, prop, scale: float = 100_000):
    """``prop`` with the territories' county rows per ``scale`` people of the territory (``geodata`` states).

    Examples
    --------
    >>> import pandas as pd
    >>> from delphi_signals.cube import new_cube
    >>> counts = new_cube(["66000", "01001"], pd.date_range("2020-09-01", periods=1), [[1593.58], [56.145]],
    ...                   source="jhu-csse", signal="x", geo_type="county")
    >>> out = territory_per_capita(counts, per_capita(counts))
    >>> [round(v, 6) for v in out.value.values.ravel().tolist()]  # Guam: 159,358 people
    [1000.0, 100.0]
    """
    geo = np.asarray(counts["geo"].values, dtype=str)
    is_territory = np.isin(geo, list(TERRITORY_COUNTIES))
    if not is_territory.any():
        return prop
    people = np.full(len(geo), np.nan)
    people[is_territory] = population("state").sel(geo=[TERRITORY_COUNTIES[g] for g in geo[is_territory]]).values
    rows = xr.DataArray(is_territory, dims="geo")
    factor = xr.DataArray(scale / people, dims="geo")
    out = prop.copy()
    for q in ("value", "stderr"):  # element-wise (xarray), so numpy- and dask-backed cubes alike
        dims = prop[q].dims
        values = counts[q] * factor
        out[q] = xr.where(rows, values, prop[q]).transpose(*dims).assign_attrs(prop[q].attrs)
        name = MISSING_NAMES[q]
        code = xr.where(values.isnull(), counts[name], np.int8(Nans.NOT_MISSING)).astype(np.int8)
        out[name] = (xr.where(rows, code, prop[name]).astype(np.int8).transpose(*dims)
                     .assign_attrs(prop[name].attrs))
    return out


def geo_map(county_counts, geo_res: str, sensor_is_prop: bool):
    """One sensor's cube at ``geo_res`` from county counts (incl. megacounties).

    * county: counts as they are (megacounties included); proportions for real counties and for the
      territories' rows (60000, 66000, 69000, 78000: the territory's population), not for the states'
      megacounties;
    * state, hhs, nation: megacounties add their counts (and no people) to their state;
    * msa, hrr: megacounties have no region there and are left out (as upstream);
    * proportions per 100,000 people, from aggregated counts and the region's population.
    """
    if geo_res == "county":
        counts = county_counts
    else:
        counts = aggregate(county_counts, geo_res, "sum")
    if not sensor_is_prop:
        return counts
    prop = per_capita(counts)
    return without_megacounties(territory_per_capita(counts, prop)) if geo_res == "county" else prop
