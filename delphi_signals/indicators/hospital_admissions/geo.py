"""Hospital-admissions counts to every geo level (upstream's ``geo_reindex``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..claims.regions import aggregate_counts, dense_counts, fold_megacounties
from ..claims.naming import MEGACOUNTY_THRESHOLD, MEGACOUNTY_WINDOW


def geo_map(frame: pd.DataFrame, columns, dates, geo_res: str) -> tuple[np.ndarray, np.ndarray]:
    """Counts ``(R, C, T)`` over ``dates`` at ``geo_res`` from the drop's rows (``columns``: the counts, the
    denominator first).

    ``hrr``: by the drop's own ``Pat HRR ID`` (rows without one left out), as upstream; ``county``: counties with
    more than 100 admissions over the trailing 7 days keep their day, the others go to the state's megacounty
    ``SS000`` (and count 0 in their own row that day, as upstream); ``msa``, ``state``, ``hhs``, ``nation``: sums
    of the counties.
    """
    if geo_res == "hrr":
        return dense_counts(frame, "hrr", columns, dates)
    ids, counts = dense_counts(frame, "county", columns, dates)
    if geo_res == "county":
        return fold_megacounties(ids, counts, den_index=0, threshold=MEGACOUNTY_THRESHOLD, window=MEGACOUNTY_WINDOW,
                                 keep_folded=False)
    return aggregate_counts(ids, counts, geo_res)
