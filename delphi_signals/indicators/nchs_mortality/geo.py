"""NCHS weekly state counts to the indicator's geo levels (state, nation), and per 100,000 people."""

from __future__ import annotations

import xarray as xr

from ... import geo as G
from .constants import INCIDENCE_BASE


def geo_map(state_counts: xr.Dataset, geo_res: str, prop: bool) -> xr.Dataset:
    """Aggregate weekly state counts to ``geo_res`` (sum over the states with a count), then per 100,000.

    A cube already at ``geo_res`` (the nation's own rows) is only turned into a proportion.

    The proportion is computed after aggregation: ``Σ count / population × 100,000`` with the populations
    of ``geodata/``. Suppressed (blank) state counts are left out of a sum, so an aggregated count is a
    lower bound in weeks with suppression (the indicator's nation comes from the table's own total instead).

    Examples
    --------
    >>> import pandas as pd
    >>> from delphi_signals.cube import new_cube
    >>> cube = new_cube(["al", "ak"], pd.to_datetime(["2020-06-14"]), [[88.0], [0.0]], source="nchs-mortality",
    ...                 signal="x", geo_type="state", time_type="week")
    >>> out = geo_map(cube, "nation", prop=False)
    >>> out.geo.values.tolist(), out.value.values.tolist(), out.epiweek.values.tolist()
    (['us'], [[88.0]], [202025])
    """
    out = state_counts if state_counts.attrs.get("geo_type") == geo_res else G.aggregate(state_counts, geo_res, how="sum")
    return G.per_capita(out, scale=INCIDENCE_BASE) if prop else out
