"""Areas some sources report apart from their counties, and how their counts go back to those counties.

JHU CSSE (and sources copying its layout) reports Kansas City, Missouri apart from the four counties it
lies in, and Dukes and Nantucket, Massachusetts as one row. :data:`COUNTY_SPLITS` gives each such area's
counties with weights (shares of the area's population, as upstream's JHU pipeline used; they sum to 1), and
:func:`spread_to_counties` moves a tidy frame's rows of those areas onto the counties.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import UnknownNameError
from .names import state_ids

COUNTY_SPLITS: dict[tuple[str, str], dict[str, float]] = {
    ("mo", "kansas city"): {"29095": 674158 / 1084897, "29047": 221939 / 1084897, "29037": 99478 / 1084897,
                            "29165": 89322 / 1084897},
    ("ma", "dukes and nantucket"): {"25007": 16535 / 26707, "25019": 10172 / 26707},
}
"""``(state id, area name in lower case)`` → ``{county FIPS: weight}``."""


def county_split(area: str, state: str) -> dict[str, float]:
    """The counties (and weights) of ``area`` in ``state`` (any spelling of the state).

    Examples
    --------
    >>> {fips: round(w, 4) for fips, w in county_split("Dukes and Nantucket", "Massachusetts").items()}
    {'25007': 0.6191, '25019': 0.3809}
    """
    key = (str(state_ids([state])[0]), area.strip().lower())
    if key not in COUNTY_SPLITS:
        raise UnknownNameError("split area", f"{area} ({state})", [f"{a} ({s})" for s, a in COUNTY_SPLITS])
    return dict(COUNTY_SPLITS[key])


def spread_to_counties(frame: pd.DataFrame, *, area: str, state: str, values=("value",),
                       geo: str = "geo_value") -> pd.DataFrame:
    """``frame`` with each row of a split area replaced by one row per county, ``values`` times its weight.

    Rows of other areas keep their ``geo`` column; the split rows get their county's FIPS code there. The
    columns ``area`` and ``state`` name the area and its state.

    Examples
    --------
    >>> rows = pd.DataFrame({"area": ["Kansas City", "Jackson"], "state": ["MO", "MO"], "value": [100.0, 7.0],
    ...                      "geo_value": ["", "29095"]})
    >>> out = spread_to_counties(rows, area="area", state="state")
    >>> out.groupby("geo_value").value.sum().round(2).to_dict()
    {'29037': 9.17, '29047': 20.46, '29095': 69.14, '29165': 8.23}
    """
    keys = list(zip(state_ids(frame[state].to_numpy(), unknown="empty"),
                    frame[area].astype(str).str.strip().str.lower()))
    is_split = np.array([k in COUNTY_SPLITS for k in keys], dtype=bool)
    parts = [frame.loc[~is_split]]
    for position in np.flatnonzero(is_split):
        row = frame.iloc[[position]]
        weights = COUNTY_SPLITS[keys[position]]
        spread = row.loc[row.index.repeat(len(weights))].copy()
        spread[geo] = list(weights)
        for column in values:
            spread[column] = spread[column].to_numpy(dtype=float) * np.array(list(weights.values()))
        parts.append(spread)
    return pd.concat(parts, ignore_index=True)
