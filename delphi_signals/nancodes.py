"""Missing-value codes and the one rule set that keeps codes and NaNs consistent.

Each quantity (``value``, ``stderr``, ``sample_size``) has a code column (``missing_value`` …) saying why
it is missing. The codes are Delphi's ``Nans`` (also served by the Epidata API).
"""

from __future__ import annotations

from enum import IntEnum

import numba
import numpy as np

QUANTITIES = ("value", "stderr", "sample_size")
MISSING_NAMES = {q: f"missing_{q}" for q in QUANTITIES}
UNKNOWN = -1
"""Placeholder for "no code given" before :func:`repair_codes` decides one."""


class Nans(IntEnum):
    """Why a quantity is missing (Delphi's codes 0..5)."""

    NOT_MISSING = 0
    NOT_APPLICABLE = 1  # not expected, e.g. the stderr of a count
    REGION_EXCEPTION = 2  # the source does not serve this region
    CENSORED = 3  # suppressed for privacy or small samples
    DELETED = 4  # published in an earlier issue, gone now
    OTHER = 5


def repair_codes(quantity, codes=None) -> tuple[np.ndarray, int]:
    """Make missing codes agree with which quantities are NaN, by the Epidata importer's rules.

    1. no code (``None``, NaN or :data:`UNKNOWN`), quantity present → ``NOT_MISSING``;
    2. no code, quantity NaN → ``OTHER``;
    3. a non-zero code but the quantity present → ``NOT_MISSING`` (a contradiction, counted);
    4. ``NOT_MISSING`` but the quantity NaN → ``OTHER`` (a contradiction, counted);
    5. otherwise the code is kept.

    Parameters
    ----------
    quantity : array_like of float
        The values; NaN means missing.
    codes : array_like, optional
        The codes given (any numeric dtype; NaN or -1 where none was given). ``None``: no codes at all.

    Returns
    -------
    codes : numpy.ndarray of int8
        Consistent codes, same shape as ``quantity``.
    contradictions : int
        How many given codes contradicted the quantity (rules 3 and 4), for the caller to log.

    Examples
    --------
    >>> codes, n = repair_codes([1.0, np.nan, 2.0, np.nan], [np.nan, np.nan, 3, 0])
    >>> codes.tolist(), n
    ([0, 5, 0, 5], 2)
    """
    values = np.ascontiguousarray(quantity, dtype=np.float64)
    if codes is None:
        given = np.full(values.shape, UNKNOWN, dtype=np.int8)
    else:
        raw = np.asarray(codes)
        if raw.dtype.kind == "f":
            raw = np.where(np.isnan(raw), UNKNOWN, raw)
        given = np.ascontiguousarray(raw, dtype=np.int8)
    out = np.empty(values.shape, dtype=np.int8)
    contradictions = _repair(values.reshape(-1), given.reshape(-1), out.reshape(-1))
    return out, int(contradictions)


@numba.njit(["int64(float64[::1], int8[::1], int8[::1])"], cache=True, nogil=True)
def _repair(values, given, out):
    """One pass of the five rules; returns how many given codes contradicted their value."""
    contradictions = 0
    for i in range(values.shape[0]):
        present = values[i] == values[i]
        code = given[i]
        if present:
            out[i] = 0
            if code != UNKNOWN and code != 0:
                contradictions += 1
        elif code == UNKNOWN:
            out[i] = 5
        elif code == 0:
            out[i] = 5
            contradictions += 1
        else:
            out[i] = code
    return contradictions
