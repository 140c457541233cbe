"""Numba kernels that render Delphi CSV rows byte for byte as pandas ``to_csv`` would.

pandas writes a float with Python's shortest round-trip ``repr``. For a value already rounded to 7
decimals with ``|x| < 1e8``, that repr is the digits of ``k = rint(x * 1e7)`` with trailing zeros stripped
(scientific ``d.ddde-0N`` below 1e-4), because no shorter decimal lies within half an ulp of ``x``. Integral
sample sizes below 1e15 print as ``N.0``. Anything else (huge, non-integral sample sizes, infinities) is
rendered by Python's ``repr`` beforehand and copied in from a side table.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_ZERO, _DOT, _COMMA, _MINUS, _NEWLINE = 48, 46, 44, 45, 10
_FAST_LIMIT = 1e15  # |k| below this keeps every digit of k exact in a double


_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), dtype=np.uint8).copy()


@numba.njit(cache=True, nogil=True, inline="always")
def _count_digits(k):
    n = 1
    while k >= 100:
        k //= 100
        n += 2
    return n + 1 if k >= 10 else n


@numba.njit(cache=True, nogil=True, inline="always")
def _put_fixed(out, pos, k, n):
    """Write ``k >= 0`` as exactly ``n`` digits (zero-padded), two at a time; return the new position."""
    i = pos + n
    while i - pos >= 2:
        pair = 2 * (k % 100)
        k //= 100
        out[i - 1] = _PAIRS[pair + 1]
        out[i - 2] = _PAIRS[pair]
        i -= 2
    if i > pos:
        out[pos] = _ZERO + k % 10
    return pos + n


@numba.njit(cache=True, nogil=True, inline="always")
def _put_digits(out, pos, k):
    """Write the decimal digits of ``k >= 0``; return the new position."""
    if k < 10:
        out[pos] = _ZERO + k
        return pos + 1
    return _put_fixed(out, pos, k, _count_digits(k))


@numba.njit(cache=True, nogil=True, inline="always")
def _put_na(out, pos):
    """Write ``NA``; return the new position."""
    out[pos] = 78  # N
    out[pos + 1] = 65  # A
    return pos + 2


@numba.njit(cache=True, nogil=True, inline="always")
def _put_code(out, pos, code):
    """Write an integer missing-value code (a minus sign, then its digits); return the new position."""
    if code < 0:
        out[pos] = _MINUS
        pos += 1
        code = -code
    return _put_digits(out, pos, code)


@numba.njit(cache=True, nogil=True)
def _put_rounded7(out, pos, y):
    """Write ``repr(k / 1e7)`` for the integral double ``y = rint(x * 1e7)``."""
    if y < 0 or (y == 0 and math.copysign(1.0, y) < 0):
        out[pos] = _MINUS
        pos += 1
    k = np.int64(abs(y))
    if k == 0:
        out[pos] = _ZERO
        out[pos + 1] = _DOT
        out[pos + 2] = _ZERO
        return pos + 3
    if k < 1000:  # below 1e-4: scientific, d[.ddd]e-0N
        n = 1 if k < 10 else (2 if k < 100 else 3)
        exponent = 8 - n
        while k % 10 == 0:
            k //= 10
            n -= 1
        lead = k
        for _ in range(n - 1):
            lead //= 10
        out[pos] = _ZERO + lead
        pos += 1
        if n > 1:
            out[pos] = _DOT
            rest = k - lead * 10 ** (n - 1)
            for i in range(n - 1, 0, -1):
                out[pos + i] = _ZERO + rest % 10
                rest //= 10
            pos += n
        out[pos] = 101  # 'e'
        out[pos + 1] = _MINUS
        out[pos + 2] = _ZERO + exponent // 10
        out[pos + 3] = _ZERO + exponent % 10
        return pos + 4
    pos = _put_digits(out, pos, k // 10_000_000)
    out[pos] = _DOT
    frac = k % 10_000_000
    if frac == 0:
        out[pos + 1] = _ZERO
        return pos + 2
    width = 7
    while frac % 10 == 0:
        frac //= 10
        width -= 1
    return _put_fixed(out, pos + 1, frac, width)


@numba.njit(cache=True, nogil=True)
def _put_integral(out, pos, x):
    """Write ``repr(x)`` for an integral double ``|x| < 1e15``: digits then ``.0``."""
    if x < 0 or (x == 0 and math.copysign(1.0, x) < 0):
        out[pos] = _MINUS
        pos += 1
    pos = _put_digits(out, pos, np.int64(abs(x)))
    out[pos] = _DOT
    out[pos + 1] = _ZERO
    return pos + 2


@numba.njit(cache=True, nogil=True)
def fast_formattable(x, rounded):
    """Whether :func:`render_rows` formats ``x`` itself (else it needs a ``repr`` from the side table)."""
    if rounded:
        return abs(x) < 1e8
    return abs(x) < _FAST_LIMIT and x == math.floor(x)


@numba.njit(cache=True, nogil=True)
def _render_column(geo_bytes, geo_len, order, keep, quantities, rounded, side_index, side_blob, side_start,
                   codes, out, t):
    pos = 0
    for g in order:
        if not keep[t, g]:
            continue
        for i in range(geo_len[g]):
            out[pos + i] = geo_bytes[g, i]
        pos += geo_len[g]
        for q in range(quantities.shape[0]):
            out[pos] = _COMMA
            pos += 1
            x = quantities[q, t, g]
            s = side_index[q, t, g]
            if s >= 0:
                for i in range(side_start[s], side_start[s + 1]):
                    out[pos] = side_blob[i]
                    pos += 1
            elif x != x:
                pos = _put_na(out, pos)
            elif rounded[q]:
                pos = _put_rounded7(out, pos, np.rint(x * 1e7))
            else:
                pos = _put_integral(out, pos, x)
        for c in range(codes.shape[0]):
            out[pos] = _COMMA
            pos += 1
            pos = _put_code(out, pos, np.int64(codes[c, t, g]))
        out[pos] = _NEWLINE
        pos += 1
    return pos


@numba.njit(cache=True, nogil=True, parallel=True)
def render_rows(geo_bytes, geo_len, order, keep, quantities, rounded, side_index, side_blob, side_start,
                codes, out, lengths):
    """Render the rows of each time column ``t`` into ``out[t, :lengths[t]]``, time columns in parallel.

    Parameters are arrays over ``(time, geo)`` (``quantities``, ``codes`` and ``side_index`` have a leading
    variable axis), so each time column is contiguous; ``order`` lists the geo rows in output order, ``keep``
    marks the cells that are rows, ``side_index`` points non-NaN cells that need Python's ``repr`` into
    ``side_blob``; ``out`` is ``(time, capacity)``.
    """
    for t in numba.prange(keep.shape[0]):
        lengths[t] = _render_column(geo_bytes, geo_len, order, keep, quantities, rounded, side_index, side_blob,
                                    side_start, codes, out[t], t)


@numba.njit(cache=True, nogil=True)
def needs_repr(quantities, rounded, keep):
    """Mask of kept, non-NaN cells the kernel cannot format exactly by itself."""
    out = np.zeros(quantities.shape, dtype=np.bool_)
    for q in range(quantities.shape[0]):
        for t in range(quantities.shape[1]):
            for g in range(quantities.shape[2]):
                x = quantities[q, t, g]
                if keep[t, g] and x == x and not fast_formattable(x, rounded[q]):
                    out[q, t, g] = True
    return out
