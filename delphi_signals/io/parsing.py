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


@numba.njit(cache=True, nogil=True, inline="always")
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


@numba.njit(cache=True, nogil=True, inline="always")
def _digits(buf, i, b, mantissa):
    """Accumulate decimal digits from ``buf[i:b]``; return the new position and mantissa."""
    while i < b:
        digit = buf[i] - 48
        if digit < 0 or digit > 9:
            break
        mantissa = mantissa * 10 + digit
        i += 1
    return i, mantissa


@numba.njit(cache=True, nogil=True, inline="always")
def _parse_number(buf, a, b, powers):
    """Return (status, value); status OK, BAD_NUMBER, NOT_FINITE, or -1 = exact conversion not possible."""
    if a == b:
        return OK, np.nan
    i = a
    negative = buf[i] == 45
    if negative or buf[i] == 43:
        i += 1
    if i < b and (buf[i] < 48 or buf[i] > 57) and buf[i] != 46:
        if _is_missing_token(buf, a, b):
            return OK, np.nan
        if _lower(buf[i]) == 105:  # inf, infinity
            return NOT_FINITE, 0.0
        return BAD_NUMBER, 0.0
    start = i
    i, mantissa = _digits(buf, i, b, np.int64(0))
    int_digits = i - start
    frac_digits = 0
    if i < b and buf[i] == 46:
        i += 1
        frac_start = i
        i, mantissa = _digits(buf, i, b, mantissa)
        frac_digits = i - frac_start
    if int_digits + frac_digits == 0:
        return BAD_NUMBER, 0.0
    exponent = -frac_digits
    if i < b and (buf[i] == 101 or buf[i] == 69):
        i += 1
        exp_negative = False
        if i < b and (buf[i] == 45 or buf[i] == 43):
            exp_negative = buf[i] == 45
            i += 1
        exp_start = i
        i, e = _digits(buf, i, b, np.int64(0))
        if i == exp_start or i - exp_start > 4:
            return BAD_NUMBER if i == exp_start else -1, 0.0
        exponent += -e if exp_negative else e
    if i != b:
        return BAD_NUMBER, 0.0
    # beyond 18 digits the int64 mantissa may have wrapped; beyond 2**53 it is not exact as a double
    if int_digits + frac_digits > 18 or mantissa >= _TWO53 or exponent < -22 or exponent > 22:
        return -1, 0.0
    value = float(mantissa)
    value = value / powers[-exponent] if exponent < 0 else value * powers[exponent]
    return OK, -value if negative else value


@numba.njit(cache=True, nogil=True)
def _parse_range(buf, start, stop, targets, n_fields, powers, geo_keys, quantities, codes, slow, row0, slow0):
    """Parse the data lines of ``buf[start:stop]`` into the output arrays from row ``row0`` (and ``slow0``).

    Returns ``(status, bad_line, bad_field, n_rows, n_slow)``; lines count from 1 at the header.
    """
    row = row0
    n_slow = slow0
    line = 1
    pos = start
    while pos < stop:
        line += 1
        if buf[pos] == 10 or (buf[pos] == 13 and pos + 1 < stop and buf[pos + 1] == 10):  # blank line
            pos += 1 if buf[pos] == 10 else 2
            continue
        field = 0
        a = pos
        while True:
            if field >= n_fields:
                return BAD_FIELD_COUNT, line, field, row - row0, n_slow - slow0
            target = targets[field]
            if target >= 1:  # the common case in one pass: [-]digits[.digits] then the delimiter
                i = a + 1 if a < stop and buf[a] == 45 else a
                j, mantissa = _digits(buf, i, stop, np.int64(0))
                int_digits = j - i
                frac_digits = 0
                if j < stop and buf[j] == 46:
                    k, mantissa = _digits(buf, j + 1, stop, mantissa)
                    frac_digits = k - j - 1
                    j = k
                n_digits = int_digits + frac_digits
                if 0 < n_digits <= 15 and (j >= stop or buf[j] == 44 or buf[j] == 10
                                           or (buf[j] == 13 and j + 1 < stop and buf[j + 1] == 10)):
                    value = float(mantissa) / powers[frac_digits]  # exact: < 2**53 over an exact power
                    value = -value if i > a else value
                    if target <= 3:
                        quantities[row, target - 1] = value
                    elif value != np.floor(value) or value < -128 or value > 127:
                        return BAD_NUMBER, line, field, row - row0, n_slow - slow0
                    else:
                        codes[row, target - 4] = np.int8(value)
                    b = j + 1 if j < stop and buf[j] == 13 else j
                    field += 1
                    a = b + 1
                    if b >= stop or buf[b] == 10:
                        break
                    continue
            b = a
            while b < stop and buf[b] != 44 and buf[b] != 10:
                if buf[b] == 34:
                    return QUOTED, line, field, row - row0, n_slow - slow0
                b += 1
            at_end = b >= stop or buf[b] == 10
            end = b - 1 if at_end and b > a and buf[b - 1] == 13 else b
            if target == TARGET_GEO:
                if end == a or end - a > MAX_GEO_BYTES:
                    return BAD_GEO, line, field, row - row0, n_slow - slow0
                key = np.uint64(0)
                for k in range(a, end):
                    key = (key << np.uint64(8)) | np.uint64(buf[k])
                geo_keys[row] = key << np.uint64(8 * (MAX_GEO_BYTES - (end - a)))
            elif target >= 1:
                status, value = _parse_number(buf, a, end, powers)
                if status == -1:
                    slow[n_slow, 0] = row
                    slow[n_slow, 1] = target
                    slow[n_slow, 2] = a
                    slow[n_slow, 3] = end
                    n_slow += 1
                elif status != OK:
                    return status, line, field, row - row0, n_slow - slow0
                elif target <= 3:
                    quantities[row, target - 1] = value
                elif value == value:
                    if value != np.floor(value) or value < -128 or value > 127:
                        return BAD_NUMBER, line, field, row - row0, n_slow - slow0
                    codes[row, target - 4] = np.int8(value)
            field += 1
            a = b + 1
            if at_end:
                break
        if field != n_fields:
            return BAD_FIELD_COUNT, line, field, row - row0, n_slow - slow0
        row += 1
        pos = a
    return OK, 0, 0, row - row0, n_slow - slow0


def _outputs(total_rows: int):
    return (np.zeros(total_rows, dtype=np.uint64), np.full((total_rows, 3), np.nan),
            np.full((total_rows, 3), -1, dtype=np.int8), np.empty((3 * total_rows + 1, 4), dtype=np.int64))


def parse_body(buf, start, targets, max_rows, powers=_EXACT_POWERS):
    """Parse the data lines of one file, ``buf[start:]`` (``targets``: parser target of each header column).

    Returns ``status, bad_line, bad_field, n_rows, geo_keys, quantities, codes, slow`` where ``geo_keys`` pack
    each geo id left-aligned in a uint64 (so their order is the ids' byte order), ``slow`` lists
    ``(row, target, begin, end)`` of numbers left for Python, codes are -1 where none was given and quantities
    NaN where missing.
    """
    keys, quantities, codes, slow = _outputs(max_rows)
    status, line, field, n_rows, n_slow = _parse_range(buf, start, buf.shape[0], targets, targets.shape[0], powers,
                                                       keys, quantities, codes, slow, 0, 0)
    return status, line, field, n_rows, keys, quantities, codes, slow[:n_slow]


@numba.njit(cache=True, nogil=True, parallel=True)
def _parse_files(buf, starts, stops, targets, n_fields, row0, powers, geo_keys, quantities, codes, slow, results):
    for f in numba.prange(starts.shape[0]):
        status, line, field, n_rows, n_slow = _parse_range(
            buf, starts[f], stops[f], targets[f], n_fields[f], powers, geo_keys, quantities, codes, slow,
            row0[f], 3 * row0[f])
        results[f, 0] = status
        results[f, 1] = line
        results[f, 2] = field
        results[f, 3] = n_rows
        results[f, 4] = n_slow


@numba.njit(cache=True, nogil=True, parallel=True)
def count_lines(buf, starts, stops):
    """Upper bound of the data lines of each range ``buf[starts[f]:stops[f]]`` (newlines + 1)."""
    out = np.ones(starts.shape[0], dtype=np.int64)
    for f in numba.prange(starts.shape[0]):
        n = 0
        for i in range(starts[f], stops[f]):
            n += buf[i] == 10
        out[f] += n
    return out


@numba.njit(cache=True, nogil=True)
def scatter_rows(sorted_keys, geo_keys, quantities, codes, first_row, n_rows, columns, n_time, out_q, out_c, counts):
    """Place each file's rows at ``(geo, columns[file])`` of the ``(3, geo * time)`` outputs; count cell hits."""
    n_geo = sorted_keys.shape[0]
    for f in range(first_row.shape[0]):
        column = columns[f]
        g = 0
        for row in range(first_row[f], first_row[f] + n_rows[f]):
            key = geo_keys[row]
            while g < n_geo and sorted_keys[g] < key:  # rows come sorted by geo id: walk forward
                g += 1
            if g == n_geo or sorted_keys[g] != key:  # not sorted after all: search
                g = np.searchsorted(sorted_keys, key)
            cell = g * n_time + column
            counts[cell] += 1
            for q in range(3):
                out_q[q, cell] = quantities[row, q]
                out_c[q, cell] = codes[row, q]


def parse_files(buf, starts, stops, targets, n_fields, max_rows):
    """Parse many files' bodies (``buf[starts[f]:stops[f]]``) at once, in parallel over files.

    ``targets`` is ``(files, columns)``, ``n_fields`` the header width of each file and ``max_rows`` an upper
    bound of each file's data lines. Returns ``row0`` (each file's first output row), ``results``
    (``status, bad_line, bad_field, n_rows, n_slow`` per file) and the output arrays ``geo_keys``,
    ``quantities``, ``codes`` and ``slow`` (file ``f``'s slow numbers start at row ``3 * row0[f]``).
    """
    row0 = np.zeros(len(starts), dtype=np.int64)
    np.cumsum(max_rows[:-1], out=row0[1:])
    keys, quantities, codes, slow = _outputs(int(max_rows.sum()))
    results = np.zeros((len(starts), 5), dtype=np.int64)
    _parse_files(buf, starts, stops, targets, n_fields, row0, _EXACT_POWERS, keys, quantities, codes, slow, results)
    return row0, results, keys, quantities, codes, slow


def decode_geo_keys(keys: np.ndarray) -> np.ndarray:
    """Strings back from the left-aligned packed geo keys of :func:`parse_body`.

    Examples
    --------
    >>> key = np.frombuffer(b"01001".ljust(8, b"\\0"), dtype=">u8").astype(np.uint64)
    >>> decode_geo_keys(key).tolist()
    ['01001']
    """
    return np.asarray(keys, dtype=np.uint64).astype(">u8").view("S8").astype(str)
