"""Hypothesis properties of the smoothers."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from delphi_signals.smooth import smooth_array

FAST = settings(max_examples=60, deadline=None)


@FAST
@given(value=st.floats(-1e6, 1e6, allow_nan=False), window=st.integers(2, 30), length=st.integers(1, 80))
def test_moving_average_of_a_constant_is_the_constant(value, window, length):
    out = smooth_array(np.full(length, value), "moving_average", window)
    defined = out[~np.isnan(out)]
    assert len(defined) == (max(length - window + 1, 0) if length > 1 else 1)
    np.testing.assert_allclose(defined, value, rtol=1e-12, atol=1e-12 * abs(value))


@FAST
@given(
    degree=st.integers(0, 3),
    extra=st.integers(0, 20),
    coefs=st.lists(st.floats(-5, 5, allow_nan=False), min_size=4, max_size=4),
    bandwidth=st.sampled_from([None, 36.0, 144.0, 579.0]),
    length=st.integers(40, 90),
)
def test_savgol_reproduces_polynomials_of_its_degree(degree, extra, coefs, bandwidth, length):
    window = degree + 2 + extra
    t = np.arange(length, dtype=float) / 10
    poly = sum(c * t**k for k, c in enumerate(coefs[: degree + 1]))
    out = smooth_array(poly, "savgol", window, degree=degree, bandwidth=bandwidth)
    scale = 1 + np.abs(poly).max()
    # exact away from the boundary, and also inside it wherever the shortened fit is determined
    np.testing.assert_allclose(out[max(degree, 1):], poly[max(degree, 1):], rtol=0, atol=1e-8 * scale)


METHODS = [
    ("moving_average", dict(window=7)),
    ("savgol", dict(window=14, boundary="shortened_window")),
    ("savgol", dict(window=10, boundary="nan")),
    ("left_gauss_linear", dict(bandwidth=36)),
]


@FAST
@given(
    case=st.sampled_from(METHODS),
    x=st.lists(st.one_of(st.floats(-1e3, 1e3), st.just(float("nan"))), min_size=1, max_size=120),
)
def test_without_imputation_a_nan_blanks_every_window_it_touches(case, x):
    method, kwargs = case
    x = np.array(x)
    out = smooth_array(x, method, **kwargs)
    width = {"moving_average": 7, "savgol": kwargs.get("window"), "left_gauss_linear": 100}[method]
    start = np.flatnonzero(~np.isnan(x))
    if start.size == 0 or len(x) - start[0] < 2:
        return
    for i in np.flatnonzero(np.isnan(x)):
        if i < start[0]:
            assert np.isnan(out[i])
            continue
        # the gap's own day, and every later day whose full trailing window covers it
        assert np.isnan(out[i])
        for t in range(max(i, start[0] + width - 1), min(i + width, len(x))):
            assert np.isnan(out[t]), (i, t)


@FAST
@given(x=st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=60), impute=st.sampled_from(["zeros", "savgol"]))
def test_imputation_fills_every_gap_after_the_first_value(x, impute):
    x = np.array(x)
    x[1::3] = np.nan
    out = smooth_array(x, "identity", impute=impute)
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out[~np.isnan(x)], x[~np.isnan(x)])
