"""Test records to counts per zip code and day: the channels every later step reads.

Channel 0 (:data:`PRESENT`) counts the records of a zip and day whatever their result: upstream keeps a row for
such a (day, zip) even when every result is blank, and a region's row decides where the parent state's tests
are merged in and where megacounties exist. Then, for each age group ``g`` of :data:`~.constants.AGE_GROUPS`
in order, channel ``1 + 2g`` holds the tests (positive, negative or invalid) and ``2 + 2g`` the positives.
A blank age counts in ``total`` only; a blank result in no test count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .constants import AGE_BOUNDS, AGE_GROUPS

PRESENT = 0
N_GROUPS = len(AGE_GROUPS)
N_CHANNELS = 1 + 2 * N_GROUPS
RESULT_POSITIVE, RESULT_NEGATIVE, RESULT_INVALID, RESULT_BLANK = 0, 1, 2, 3
AGE_BLANK = -1
_BANDS = [name for name, _, _ in AGE_BOUNDS]
# the groups each age band counts in (besides total): its own, and age_0_17 for the two youngest bands
_GROUPS_OF_BAND = [[AGE_GROUPS.index(b)] + ([AGE_GROUPS.index("age_0_17")] if b in ("age_0_4", "age_5_17") else [])
                   for b in _BANDS]


def group_channels(group: int) -> tuple[int, int]:
    """``(tests, positives)`` channels of age group number ``group``.

    Examples
    --------
    >>> group_channels(0), group_channels(6)
    ((1, 2), (13, 14))
    """
    return 1 + 2 * group, 2 + 2 * group


@dataclass(frozen=True)
class DeviceRecords:
    """Clean test records, one entry per test: ``day`` (datetime64[D]), ``zip_index`` into ``zip_ids`` (the
    sorted known zips), ``result`` (``RESULT_*``) and ``band`` (index into the age bands, ``AGE_BLANK`` when
    the age is blank)."""

    day: np.ndarray
    zip_index: np.ndarray
    result: np.ndarray
    band: np.ndarray
    zip_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.day)


def zip_counts(records: DeviceRecords) -> tuple[np.ndarray, np.ndarray, sp.csr_array]:
    """Counts per zip and day: ``(zips with records, days, sparse (Z, T × C))``, over every day from the first to
    the last test day (dense in time, as upstream fills each region's dates).

    Examples
    --------
    >>> rec = DeviceRecords(np.array(["2020-07-18", "2020-07-20"], dtype="datetime64[D]"), np.array([0, 0]),
    ...                   np.array([RESULT_POSITIVE, RESULT_BLANK]), np.array([2, AGE_BLANK]), np.array(["22079"]))
    >>> zips, days, flat = zip_counts(rec)
    >>> counts = flat.toarray().reshape(1, len(days), N_CHANNELS)
    >>> zips.tolist(), len(days), counts[0, :, :3].tolist()
    (['22079'], 3, [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    >>> counts[0, 0, list(group_channels(3))].tolist()     # age 18-49: one test, positive
    [1.0, 1.0]
    """
    if len(records) == 0:
        return np.array([], dtype=str), np.array([], dtype="datetime64[D]"), sp.csr_array((0, 0))
    first = records.day.min()
    t = (records.day - first).astype(np.int64)
    n_time = int(t.max()) + 1
    used, z = np.unique(records.zip_index, return_inverse=True)
    # one key per distinct (zip, day, result, band): counts of identical records, then spread over channels
    key = ((z.astype(np.int64) * n_time + t) * 4 + records.result) * (len(_BANDS) + 1) + (records.band + 1)
    uniq, n = np.unique(key, return_counts=True)
    band = uniq % (len(_BANDS) + 1) - 1
    rest = uniq // (len(_BANDS) + 1)
    result = rest % 4
    cell = rest // 4  # z * n_time + t
    tested = result != RESULT_BLANK
    positive = result == RESULT_POSITIVE
    cols, vals = [cell * N_CHANNELS + PRESENT], [n]
    for flag, offset in ((tested, 0), (positive, 1)):
        cols.append(cell[flag] * N_CHANNELS + group_channels(0)[offset])
        vals.append(n[flag])
        for b, groups in enumerate(_GROUPS_OF_BAND):
            sel = flag & (band == b)
            for g in groups:
                cols.append(cell[sel] * N_CHANNELS + group_channels(g)[offset])
                vals.append(n[sel])
    cols = np.concatenate(cols)
    z_of = cols // (n_time * N_CHANNELS)
    within = cols % (n_time * N_CHANNELS)
    flat = sp.coo_array((np.concatenate(vals).astype(float), (z_of, within)),
                        shape=(len(used), n_time * N_CHANNELS)).tocsr()
    flat.sum_duplicates()
    days = first + np.arange(n_time).astype("timedelta64[D]")
    return records.zip_ids[used], days, flat
