"""Doctor-visits county counts to every geo level (upstream's ``geo_maps``)."""

from __future__ import annotations

import numpy as np

from ..claims.regions import aggregate_counts, fold_megacounties
from ..claims.naming import MEGACOUNTY_THRESHOLD, MEGACOUNTY_WINDOW


def geo_map(county_ids, counts: np.ndarray, geo_res: str) -> tuple[np.ndarray, np.ndarray]:
    """County counts ``(G, 5, T)`` (the four numerators, then the denominator) at ``geo_res``.

    ``county``: every county with its own counts, plus each state's megacounty ``SS000`` pooling the county-days
    with at most 100 visits over the trailing 7 days (those counties keep their own rows too, as upstream);
    other levels: sums over the crosswalk (HRR: weighted by each county's share).

    Examples
    --------
    >>> counts = np.ones((2, 5, 3))
    >>> ids, out = geo_map(["01001", "01003"], counts, "county")
    >>> ids.tolist(), out[:, 4].tolist()
    (['01001', '01003', '01000'], [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    """
    if geo_res == "county":
        return fold_megacounties(county_ids, counts, den_index=4, threshold=MEGACOUNTY_THRESHOLD,
                                 window=MEGACOUNTY_WINDOW, keep_folded=True)
    return aggregate_counts(county_ids, counts, geo_res)
