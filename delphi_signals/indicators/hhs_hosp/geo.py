"""HHS state counts to the indicator's geo levels (state, hhs, nation), and per 100,000 people."""

from __future__ import annotations

import xarray as xr

from ... import geo as G
from .constants import INCIDENCE_BASE


def geo_map(state_counts: xr.Dataset, geo_res: str, prop: bool) -> xr.Dataset:
    """Aggregate state counts to ``geo_res`` (sum; missing stays missing), then per 100,000 if ``prop``.

    The proportion is ``Σ count / Σ population × 100,000`` over the region's states (populations from
    ``geodata/``), computed after aggregation.

    Examples
    --------
    >>> import pandas as pd
    >>> from delphi_signals.cube import new_cube
    >>> cube = new_cube(["ct", "ma"], pd.date_range("2021-09-10", periods=1), [[10.0], [20.0]],
    ...                 source="hhs", signal="x", geo_type="state")
    >>> geo_map(cube, "hhs", prop=False).value.values.tolist()
    [[30.0]]
    >>> pop = float(G.population("hhs").sel(geo="1"))
    >>> bool(abs(geo_map(cube, "hhs", prop=True).value.item() - 30.0 / pop * 1e5) < 1e-12)
    True
    """
    out = state_counts if geo_res == "state" else G.aggregate(state_counts, geo_res, how="sum")
    return G.per_capita(out, scale=INCIDENCE_BASE) if prop else out
