"""Numba kernels of the archive differ: merge two sorted files row by row, render the diff rows.

Rows are the output of :func:`~delphi_signals.io.csv_reader.parse_joined`: packed geo keys (their integer
order is the geo ids' byte order), ``(rows, 3)`` quantities (NaN = missing) and ``(rows, 3)`` codes (-1 = none).
A merge writes, per file pair, the rows of its diff in geo order: ``k >= 0`` is today's row ``k`` (new or
changed), ``-(i + 1)`` the cached row ``i`` (deleted).
"""

from __future__ import annotations

import numba
import numpy as np

from .formatting import _put_code, _put_integral, _put_na, _put_rounded7, fast_formattable

ROW_CAPACITY = 96
"""Bytes that hold any rendered row: geo (8), three numbers (<= 1 + 18 each), three codes (<= 1 + 4 each), newline."""
_DELETED = 4
_COMMA, _NEWLINE = 44, 10


@numba.njit(cache=True, nogil=True, parallel=True)
def unsorted_files(keys, first_row, n_rows):
    """Files whose geo keys are not strictly increasing (unsorted, or a geo id repeated)."""
    out = np.zeros(first_row.shape[0], dtype=np.bool_)
    for f in numba.prange(first_row.shape[0]):
        for r in range(first_row[f] + 1, first_row[f] + n_rows[f]):
            if keys[r] <= keys[r - 1]:
                out[f] = True
                break
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def _same_rounded(a, b):
    if a != a or b != b:
        return a != a and b != b  # NA equals NA
    return np.rint(a * 1e7) == np.rint(b * 1e7)


@numba.njit(cache=True, nogil=True, inline="always")
def _same_row(old_q, old_c, i, new_q, new_c, k):
    if not (_same_rounded(old_q[i, 0], new_q[k, 0]) and _same_rounded(old_q[i, 1], new_q[k, 1])):
        return False
    a, b = old_q[i, 2], new_q[k, 2]
    if not (a == b or (a != a and b != b)):  # sample_size is not rounded
        return False
    for c in range(3):
        if old_c[i, c] != new_c[k, c]:
            return False
    return True


@numba.njit(cache=True, nogil=True, parallel=True)
def merge_pairs(old_keys, old_q, old_c, old_first, old_n, new_keys, new_q, new_c, new_first, new_n, out_rows,
                out_first, out_count):
    """For each file pair ``j``, the diff rows in geo order into ``out_rows[out_first[j]:+out_count[j]]``."""
    for j in numba.prange(old_first.shape[0]):
        i, i_end = old_first[j], old_first[j] + old_n[j]
        k, k_end = new_first[j], new_first[j] + new_n[j]
        o = out_first[j]
        while i < i_end or k < k_end:
            if k == k_end or (i < i_end and old_keys[i] < new_keys[k]):
                out_rows[o] = -(i + 1)
                o += 1
                i += 1
            elif i == i_end or new_keys[k] < old_keys[i]:
                out_rows[o] = k
                o += 1
                k += 1
            else:
                if not _same_row(old_q, old_c, i, new_q, new_c, k):
                    out_rows[o] = k
                    o += 1
                i += 1
                k += 1
        out_count[j] = o - out_first[j]


@numba.njit(cache=True, nogil=True, inline="always")
def _put_geo(out, pos, key):
    for shift in range(56, -8, -8):
        byte = (key >> np.uint64(shift)) & np.uint64(255)
        if byte == 0:
            break
        out[pos] = np.uint8(byte)
        pos += 1
    return pos


@numba.njit(cache=True, nogil=True)
def _render_pair(old_keys, new_keys, new_q, new_c, rows, first, count, out, pos):
    """Render one pair's diff rows at ``out[pos:]``; return the end, or -1 if a number needs Python's repr."""
    for r in range(first, first + count):
        row = rows[r]
        if row < 0:
            pos = _put_geo(out, pos, old_keys[-row - 1])
            for _ in range(3):
                out[pos] = _COMMA
                pos = _put_na(out, pos + 1)
            for _ in range(3):
                out[pos] = _COMMA
                out[pos + 1] = 48 + _DELETED
                pos += 2
        else:
            pos = _put_geo(out, pos, new_keys[row])
            for q in range(3):
                out[pos] = _COMMA
                pos += 1
                x = new_q[row, q]
                if x != x:
                    pos = _put_na(out, pos)
                elif not fast_formattable(x, q < 2):
                    return -1
                elif q < 2:
                    pos = _put_rounded7(out, pos, np.rint(x * 1e7))
                else:
                    pos = _put_integral(out, pos, x)
            for c in range(3):
                out[pos] = _COMMA
                pos += 1
                code = np.int64(new_c[row, c])
                pos = _put_na(out, pos) if code == -1 else _put_code(out, pos, code)
        out[pos] = _NEWLINE
        pos += 1
    return pos


@numba.njit(cache=True, nogil=True, parallel=True)
def render_pairs(old_keys, new_keys, new_q, new_c, rows, out_first, out_count, out, lengths):
    """Render every pair's rows into ``out[ROW_CAPACITY * out_first[j]:]``; ``lengths[j]`` -1 = needs Python."""
    for j in numba.prange(out_first.shape[0]):
        start = ROW_CAPACITY * out_first[j]
        end = _render_pair(old_keys, new_keys, new_q, new_c, rows, out_first[j], out_count[j], out, start)
        lengths[j] = end - start if end >= 0 else -1
