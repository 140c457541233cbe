"""Counts per county and day to counts per region and day, at every geo level, as upstream maps claims.

Arrays are ``(region, count, time)``. Levels:

* ``state``, ``hhs``, ``nation``, ``msa``: sums over the member counties (crosswalks of ``geodata/``; a county
  outside every MSA is in no MSA);
* ``hrr``: sums weighted by the county's share in each HRR (a county split between HRRs gives each its share,
  so HRR counts are fractional, as upstream's);
* ``county``: the counties themselves, plus each state's megacounty ``SS000``: on each day, the counties whose
  denominators over the trailing ``window`` days are at most ``threshold`` are pooled into it
  (:func:`fold_megacounties`). Doctor-visits keeps those counties' own rows too (upstream concatenates them back);
  hospital-admissions replaces them (a county's series then has 0 on its folded days).
"""

from __future__ import annotations

import warnings

import numpy as np

from ...geo import crosswalk, megacounty_of
from ...geo.aggregate import UnmappedGeoWarning
from ...log import get_logger

log = get_logger(__name__)


def trailing_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Sum over the ``window`` calendar days ending at each day (the first days: over what there is).

    Examples
    --------
    >>> trailing_sum(np.array([[1.0, 2.0, 3.0, 4.0]]), 2).tolist()
    [[1.0, 3.0, 5.0, 7.0]]
    """
    padded = np.zeros(x.shape[:-1] + (x.shape[-1] + 1,))
    np.cumsum(x, axis=-1, out=padded[..., 1:])
    start = np.maximum(np.arange(1, x.shape[-1] + 1) - window, 0)
    return padded[..., 1:] - padded[..., start]


def fold_megacounties(county_ids, counts: np.ndarray, *, den_index: int, threshold: float, window: int,
                      keep_folded: bool) -> tuple[np.ndarray, np.ndarray]:
    """Counties plus megacounties: ``(ids, counts)`` with the megacounties ``SS000`` appended.

    A county-day is folded into its state's megacounty when the county's denominators (``counts[:, den_index]``)
    over the ``window`` days ending that day sum to at most ``threshold``. ``keep_folded``: the county keeps
    its own counts on folded days too (doctor-visits); else they become 0 (hospital-admissions). A megacounty
    appears when some county-day is folded into it.

    Examples
    --------
    >>> counts = np.array([[[5.0, 50.0]], [[500.0, 500.0]]])      # 2 counties, 1 count, 2 days
    >>> ids, out = fold_megacounties(["01001", "01003"], counts, den_index=0, threshold=100, window=1,
    ...                              keep_folded=False)
    >>> ids.tolist(), out[:, 0].tolist()
    (['01001', '01003', '01000'], [[0.0, 0.0], [500.0, 500.0], [5.0, 50.0]])
    """
    ids = np.asarray(county_ids, dtype=str)
    folded = trailing_sum(counts[:, den_index, :], window) <= threshold  # (G, T)
    mega = megacounty_of(ids)
    mega_ids, mega_index = np.unique(mega, return_inverse=True)
    mega_counts = np.zeros((len(mega_ids),) + counts.shape[1:])
    np.add.at(mega_counts, mega_index, counts * folded[:, None, :])
    used = np.zeros(len(mega_ids), dtype=bool)
    used[np.unique(mega_index[folded.any(axis=1)])] = True
    own = counts if keep_folded else counts * ~folded[:, None, :]
    return np.concatenate([ids, mega_ids[used]]), np.concatenate([own, mega_counts[used]])


def aggregate_counts(county_ids, counts: np.ndarray, level: str) -> tuple[np.ndarray, np.ndarray]:
    """Sum county counts ``(G, C, T)`` to ``level`` with the crosswalk's weights: ``(ids, (R, C, T))``.

    Only regions with at least one member county in ``county_ids`` are returned; counties the geography tables
    do not know are left out with an :class:`~delphi_signals.geo.aggregate.UnmappedGeoWarning`.

    Examples
    --------
    >>> counts = np.ones((3, 1, 2))
    >>> ids, out = aggregate_counts(["01001", "01003", "06037"], counts, "state")
    >>> ids.tolist(), out[:, 0, 0].tolist()
    (['al', 'ca'], [2.0, 1.0])
    """
    ids = np.asarray(county_ids, dtype=str)
    walk = crosswalk("county", level)
    cols = np.searchsorted(walk.source, ids)
    known = (cols < len(walk.source)) & (walk.source[np.minimum(cols, len(walk.source) - 1)] == ids)
    if not known.all():
        unknown = ids[~known]
        message = (f"{len(unknown)} county id(s) unknown to the geography tables, left out of the {level} counts: "
                   f"{', '.join(unknown[:5])}")
        warnings.warn(message, UnmappedGeoWarning, stacklevel=2)
        log.warning("unmapped county ids", level=level, count=int(len(unknown)), examples=unknown[:5].tolist())
    matrix = walk.matrix[:, cols[known]]
    flat = counts[known].reshape(int(known.sum()), -1)
    members = np.asarray(abs(matrix).sum(axis=1)).ravel() > 0
    summed = matrix[members] @ flat
    return walk.target[members], np.asarray(summed).reshape((int(members.sum()),) + counts.shape[1:])


def dense_counts(frame, key: str, columns, dates) -> tuple[np.ndarray, np.ndarray]:
    """Sum the rows of ``frame`` per ``key`` value and day into a dense ``(ids, (G, C, T))`` over ``dates``
    (a day without rows is 0). Rows with an empty key or a day outside ``dates`` are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"county": ["01001", "01001", "01003", ""], "n": [1.0, 2.0, 5.0, 9.0],
    ...                       "date": pd.to_datetime(["2020-02-01", "2020-02-01", "2020-02-02", "2020-02-02"])})
    >>> ids, counts = dense_counts(frame, "county", ["n"], pd.date_range("2020-02-01", periods=2))
    >>> ids.tolist(), counts[:, 0].tolist()
    (['01001', '01003'], [[3.0, 0.0], [0.0, 5.0]])
    """
    import pandas as pd

    dates = pd.DatetimeIndex(dates)
    keys = frame[key].to_numpy(dtype=str)
    t_index = dates.get_indexer(pd.DatetimeIndex(frame["date"]))
    use = (keys != "") & (t_index >= 0)
    ids, g_index = np.unique(keys[use], return_inverse=True)
    counts = np.zeros((len(ids), len(columns), len(dates)))
    for c, column in enumerate(columns):
        np.add.at(counts[:, c, :], (g_index, t_index[use]), frame[column].to_numpy(dtype=float)[use])
    return ids, counts
