"""A numba parser for the body of a Delphi CSV file.

It handles exactly the format Delphi writes (unquoted fields, ``NA``/``nan``/``none``/empty for missing,
decimal or scientific numbers) and reports the first bad line and field instead of guessing. Decimal strings
are converted exactly: a mantissa below 2**53 scaled by an exact power of ten is correctly rounded (a single
IEEE division or multiplication); any other number is handed back for Python's ``float``.
"""

from __future__ import annotations

import numba
import numpy as np

TARGET_IGNORE, TARGET_GEO = -1, 0  # quantity q -> 1 + q, code c -> 4 + c
OK, BAD_FIELD_COUNT, BAD_NUMBER, BAD_GEO, NOT_FINITE, QUOTED = 0, 1, 2, 3, 4, 5
MAX_GEO_BYTES = 8
_EXACT_POWERS = np.array([10.0**i for i in range(23)])  # every 10**i, i <= 22, is an exact double
_TWO53 = 2**53


@numba.njit(cache=True, nogil=True)
def _lower(c):
    return c + 32 if 65 <= c <= 90 else c


@numba.njit(cache=True, nogil=True)
def _is_missing_token(buf, a, b):
    n = b - a
    if n == 0:
        return True
    if n == 2:
        return _lower(buf[a]) == 110 and _lower(buf[a + 1]) == 97  # na
    if n == 3:
        return _lower(buf[a]) == 110 and _lower(buf[a + 1]) == 97 and _lower(buf[a + 2]) == 110  # nan
    if n == 4:
        return (_lower(buf[a]) == 110 and _lower(buf[a + 1]) == 111 and _lower(buf[a + 2]) == 110
                and _lower(buf[a + 3]) == 101)  # none
    return False


@numba.njit(cache=True, nogil=True)
def _parse_number(buf, a, b, powers):
    """Return (status, value); status OK, BAD_NUMBER, NOT_FINITE, or -1 = exact conversion not possible."""
    if _is_missing_token(buf, a, b):
        return OK, np.nan
    i = a
    negative = False
    if buf[i] == 45 or buf[i] == 43:
        negative = buf[i] == 45
        i += 1
    if i < b and _lower(buf[i]) == 105:  # inf, infinity
        return NOT_FINITE, 0.0
    mantissa = np.int64(0)
    digits = 0
    overflow = False
    exponent = 0
    seen_digit = False
    while i < b and 48 <= buf[i] <= 57:
        seen_digit = True
        if mantissa < 100_000_000_000_000_000:
            mantissa = mantissa * 10 + (buf[i] - 48)
        else:
            overflow = True
            exponent += 1
        digits += 1
        i += 1
    if i < b and buf[i] == 46:
        i += 1
        while i < b and 48 <= buf[i] <= 57:
            seen_digit = True
            if mantissa < 100_000_000_000_000_000:
                mantissa = mantissa * 10 + (buf[i] - 48)
                exponent -= 1
            else:
                overflow = True
            i += 1
    if not seen_digit:
        return BAD_NUMBER, 0.0
    if i < b and (buf[i] == 101 or buf[i] == 69):
        i += 1
        exp_negative = False
        if i < b and (buf[i] == 45 or buf[i] == 43):
            exp_negative = buf[i] == 45
            i += 1
        if i >= b:
            return BAD_NUMBER, 0.0
        e = 0
        while i < b and 48 <= buf[i] <= 57:
            if e < 10_000:
                e = e * 10 + (buf[i] - 48)
            i += 1
        exponent += -e if exp_negative else e
    if i != b:
        return BAD_NUMBER, 0.0
    if overflow or mantissa >= _TWO53 or exponent < -22 or exponent > 22:
        return -1, 0.0
    value = float(mantissa)
    value = value / powers[-exponent] if exponent < 0 else value * powers[exponent]
    return OK, -value if negative else value


@numba.njit(cache=True, nogil=True)
def parse_body(buf, start, targets, max_rows, powers):
    """Parse data lines from ``buf[start:]`` in one pass.

    Returns ``status, bad_line, bad_field, n_rows, geo_keys, quantities, codes, slow`` where ``bad_line``
    counts from 1 at the header, ``geo_keys`` pack each geo id left-aligned in a uint64 (so their order is
    the ids' byte order), ``slow`` lists ``(row, target, begin, end)`` of numbers left for Python, codes are
    -1 where none was given and quantities NaN where missing.
    """
    n_fields = targets.shape[0]
    geo_keys = np.zeros(max_rows, dtype=np.uint64)
    quantities = np.full((max_rows, 3), np.nan)
    codes = np.full((max_rows, 3), -1, dtype=np.int8)
    slow = np.empty((max_rows * 3 + 1, 4), dtype=np.int64)
    n_slow = 0
    row = 0
    line = 1
    pos = start
    n = buf.shape[0]
    while pos < n:
        line += 1
        if buf[pos] == 10 or (buf[pos] == 13 and pos + 1 < n and buf[pos + 1] == 10):  # blank line
            pos += 1 if buf[pos] == 10 else 2
            continue
        field = 0
        a = pos
        while True:
            b = a
            while b < n and buf[b] != 44 and buf[b] != 10:
                if buf[b] == 34:
                    return QUOTED, line, field, row, geo_keys, quantities, codes, slow[:n_slow]
                b += 1
            at_end = b >= n or buf[b] == 10
            stop = b - 1 if at_end and b > a and buf[b - 1] == 13 else b
            if field >= n_fields:
                return BAD_FIELD_COUNT, line, field, row, geo_keys, quantities, codes, slow[:n_slow]
            target = targets[field]
            if target == TARGET_GEO:
                if stop == a or stop - a > MAX_GEO_BYTES:
                    return BAD_GEO, line, field, row, geo_keys, quantities, codes, slow[:n_slow]
                key = np.uint64(0)
                for k in range(a, stop):
                    key = (key << np.uint64(8)) | np.uint64(buf[k])
                geo_keys[row] = key << np.uint64(8 * (MAX_GEO_BYTES - (stop - a)))
            elif target >= 1:
                status, value = _parse_number(buf, a, stop, powers)
                if status == -1:
                    slow[n_slow, 0] = row
                    slow[n_slow, 1] = target
                    slow[n_slow, 2] = a
                    slow[n_slow, 3] = stop
                    n_slow += 1
                elif status != OK:
                    return status, line, field, row, geo_keys, quantities, codes, slow[:n_slow]
                elif target <= 3:
                    quantities[row, target - 1] = value
                elif value == value:
                    if value != np.floor(value) or value < -128 or value > 127:
                        return BAD_NUMBER, line, field, row, geo_keys, quantities, codes, slow[:n_slow]
                    codes[row, target - 4] = np.int8(value)
            field += 1
            a = b + 1
            if at_end:
                break
        if field != n_fields:
            return BAD_FIELD_COUNT, line, field, row, geo_keys, quantities, codes, slow[:n_slow]
        row += 1
        pos = a
    return OK, 0, 0, row, geo_keys, quantities, codes, slow[:n_slow]


def decode_geo_keys(keys: np.ndarray) -> np.ndarray:
    """Strings back from the left-aligned packed geo keys of :func:`parse_body`.

    Examples
    --------
    >>> key = np.frombuffer(b"01001".ljust(8, b"\\0"), dtype=">u8").astype(np.uint64)
    >>> decode_geo_keys(key).tolist()
    ['01001']
    """
    return np.asarray(keys, dtype=np.uint64).astype(">u8").view("S8").astype(str)
