"""JHU signals at each geo level: counts are aggregated, proportions computed after aggregation."""

from __future__ import annotations

import numpy as np

from ...geo import aggregate, per_capita

MEGACOUNTY_SUFFIX = "000"


def without_megacounties(cube):
    """The cube without the states' pseudo-regions ``SS000`` (unassigned counts, no population)."""
    keep = ~np.char.endswith(np.asarray(cube["geo"].values, dtype=str), MEGACOUNTY_SUFFIX)
    return cube.isel(geo=keep)


def geo_map(county_counts, geo_res: str, sensor_is_prop: bool):
    """One sensor's cube at ``geo_res`` from county counts (incl. megacounties).

    * county: counts as they are (megacounties included); proportions only for real counties;
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
    return without_megacounties(prop) if geo_res == "county" else prop
