"""Quidel counts per zip code and day to every geo level (upstream's ``geo_maps``), with each region's parent state.

Counts are ``(region, time, channel)`` arrays (:mod:`.counts` names the channels). Zips map through the
population-weighted crosswalks of ``geodata/`` (a zip split between counties gives each its share, so counts
are fractional there, as upstream's); nation takes every known zip whole.

Parent states (the smoothed signal tops a region up from its parent, :mod:`.data_tools`):

* county: its state; megacounty ``SS000``: its state;
* msa, hrr: the state holding most of the region's population (its counties' populations times their share
  in the region) — or, with ``upstream=True``, upstream's choice: the alphabetically last state among the
  region's counties (upstream takes the ``max`` of every column of its county table per region; its docstring
  says the most populous).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ...geo import crosswalk, megacounty_of
from ...geo.tables import _read
from .counts import PRESENT, group_channels

TOLERANCE = 1e-6
"""Thresholds on weighted counts are compared with this slack: a count that is 50 in exact arithmetic (zip shares
adding up to whole tests) must not fall on the wrong side of a threshold of 50 by the order of a floating-point
sum (upstream's sums land on either side of it by chance)."""


def zip_to_level(zip_ids: np.ndarray, counts: sp.csr_array, n_time: int, level: str
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Sum zip counts to ``level``: ``(ids, (R, T, C))`` for the regions with at least one test row.

    ``counts`` is a sparse ``(Z, T × C)`` matrix over the sorted known zips ``zip_ids``.

    Examples
    --------
    >>> from delphi_signals.indicators.quidel_covidtest.counts import N_CHANNELS
    >>> flat = np.zeros((1, 2 * N_CHANNELS)); flat[0, :N_CHANNELS] = 1.0
    >>> ids, out = zip_to_level(np.array(["22079"]), sp.csr_array(flat), 2, "county")
    >>> ids.tolist(), out[:, :, 0].tolist()
    (['51059'], [[1.0, 0.0]])
    """
    walk = crosswalk("zip", level)
    cols = np.searchsorted(walk.source, zip_ids)
    matrix = walk.matrix[:, cols]
    summed = (matrix @ counts).tocsr()
    rows = np.flatnonzero(np.diff(summed.indptr) > 0)
    dense = summed[rows].toarray().reshape(len(rows), n_time, -1)
    present = dense[:, :, PRESENT].sum(axis=1) > 0
    return walk.target[rows][present], dense[present]


def add_megacounties(county_ids: np.ndarray, counts: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Counties plus each state's megacounty ``SS000``, as upstream (window of one day).

    For each age group apart, the county-days with rows whose tests of that group are at most ``threshold`` are
    summed into their state's megacounty; a megacounty has a row on a day when some county of its state with a
    row that day has at most ``threshold`` tests in all (upstream joins the age groups' megacounties on the
    days every group has one, and a county below the threshold in all is below it in every group). The
    counties keep their own rows.

    Examples
    --------
    >>> from delphi_signals.indicators.quidel_covidtest.counts import N_CHANNELS
    >>> counts = np.zeros((2, 1, N_CHANNELS)); counts[:, 0, 0] = 1; counts[:, 0, 1] = [10, 80]
    >>> ids, out = add_megacounties(np.array(["51059", "51143"]), counts, 50)
    >>> ids.tolist(), out[:, 0, 1].tolist()
    (['51059', '51143', '51000'], [10.0, 80.0, 10.0])
    """
    mega = megacounty_of(county_ids)
    mega_ids, mega_index = np.unique(mega, return_inverse=True)
    present = counts[:, :, PRESENT] > 0
    out = np.zeros((len(mega_ids),) + counts.shape[1:])
    n_groups = (counts.shape[2] - 1) // 2
    for g in range(n_groups):
        folded = present & (counts[:, :, group_channels(g)[0]] <= threshold + TOLERANCE)
        for channel in group_channels(g):
            np.add.at(out[:, :, channel], mega_index, counts[:, :, channel] * folded)
    mega_rows = np.zeros((len(mega_ids), counts.shape[1]), dtype=bool)
    np.logical_or.at(mega_rows, mega_index, present & (counts[:, :, group_channels(0)[0]] <= threshold + TOLERANCE))
    out *= mega_rows[:, :, None]
    out[:, :, PRESENT] = mega_rows
    keep = mega_rows.any(axis=1)
    return np.concatenate([county_ids, mega_ids[keep]]), np.concatenate([counts, out[keep]])


@lru_cache(maxsize=None)
def _county_states() -> pd.Series:
    counties = _read("counties")
    return counties.set_index("county")["state_id"]


def county_parents(county_ids: np.ndarray) -> np.ndarray:
    """The state id of each county or megacounty.

    Examples
    --------
    >>> county_parents(np.array(["51059", "51000"])).tolist()
    ['va', 'va']
    """
    return _county_states().reindex(county_ids).to_numpy(dtype=object).astype(str)


@lru_cache(maxsize=None)
def _region_parents(level: str, upstream: bool) -> pd.Series:
    links = _read(f"county_{level}")
    counties = _read("counties")
    real = counties[counties["kind"] == "county"].set_index("county")
    links = links[links["county"].isin(real.index)].copy()
    links["state_id"] = real["state_id"].reindex(links["county"]).to_numpy()
    if upstream:
        return links.groupby(level)["state_id"].max()
    links["people"] = real["population"].astype(float).reindex(links["county"]).to_numpy() * \
        links["weight"].astype(float).to_numpy()
    people = links.groupby([level, "state_id"], as_index=False)["people"].sum()
    people = people.sort_values([level, "people", "state_id"], ascending=[True, False, True])
    return people.drop_duplicates(level).set_index(level)["state_id"]


def region_parents(ids: np.ndarray, level: str, *, upstream: bool = False) -> np.ndarray:
    """The parent state of each msa or hrr: the most populous state in it, or upstream's alphabetically last.

    Examples
    --------
    >>> region_parents(np.array(["47900"]), "msa").tolist()          # Washington DC's metro area: Virginia's part
    ['va']
    >>> region_parents(np.array(["47900"]), "msa", upstream=True).tolist()
    ['wv']
    """
    return _region_parents(level, upstream).reindex(ids).fillna("").to_numpy(dtype=object).astype(str)
