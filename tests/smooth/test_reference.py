"""The kernels against the plain-numpy references, on random and real series, for every case and option."""

import numpy as np
import pytest

from delphi_signals.smooth import smooth_array
from delphi_signals.testing.smooth_reference import (
    CASES,
    reference_smooth,
    reference_window_stderr,
    reference_window_sum,
)

from .conftest import assert_close

BOUNDARY_OPTIONS = [
    dict(method="savgol", window=28, degree=2, bandwidth=144, boundary=b) for b in ("shortened_window", "identity", "nan")
] + [
    dict(method="savgol", window=7, degree=3, bandwidth=None, boundary="shortened_window"),
    dict(method="savgol", window=12, degree=0, bandwidth=36, boundary="identity"),
    dict(method="moving_average", window=7),
    dict(method="moving_average", window=14, min_count=10),
    dict(method="left_gauss_linear", bandwidth=144),
    dict(method="left_gauss_linear", bandwidth=36),
    dict(method="identity"),
]


@pytest.mark.parametrize("name", list(CASES))
def test_table_cases_match_reference_on_random_series(name, random_series):
    kwargs = CASES[name].ours
    assert_close(smooth_array(random_series, **kwargs), reference_smooth(random_series, **kwargs))


@pytest.mark.parametrize("name", list(CASES))
def test_table_cases_match_reference_on_real_incidence(name, real_incidence):
    kwargs = CASES[name].ours
    series = real_incidence[:12]
    assert_close(smooth_array(series, **kwargs), reference_smooth(series, **kwargs))


@pytest.mark.parametrize("kwargs", BOUNDARY_OPTIONS, ids=lambda k: "-".join(str(v) for v in k.values()))
def test_every_option_matches_reference_without_gaps(kwargs, random_series, real_incidence):
    for series in (random_series[:4], real_incidence[12:16]):
        assert_close(smooth_array(series, **kwargs), reference_smooth(series, **kwargs))


@pytest.mark.parametrize("impute", [None, "zeros", "savgol"])
@pytest.mark.parametrize("kwargs", BOUNDARY_OPTIONS[:3] + BOUNDARY_OPTIONS[5:8], ids=lambda k: k["method"])
def test_gappy_series_match_reference(kwargs, impute):
    rng = np.random.default_rng(3)
    x = rng.poisson(40, size=(6, 150)).astype(float)
    x[rng.random(x.shape) < 0.08] = np.nan
    x[0, :9] = np.nan  # leading NaNs
    x[1, 50:56] = np.nan  # a long gap
    assert_close(smooth_array(x, impute=impute, **kwargs), reference_smooth(x, impute=impute, **kwargs))


def test_window_stderr_and_sample_size_match_reference():
    from delphi_signals.smooth.api import _sample_size_array, _stderr_array

    rng = np.random.default_rng(5)
    se = rng.uniform(0.1, 3, size=(5, 60))
    se[rng.random(se.shape) < 0.1] = np.nan
    for min_count in (None, 4):
        got = _stderr_array(se, "moving_average", 7, 2, 144, "shortened_window", min_count, True)
        assert_close(got, reference_window_stderr(se, 7, min_count))
        got = _sample_size_array(se, 7, min_count, True)
        assert_close(got, reference_window_sum(se, 7, min_count))


def test_float32_input_gives_float32_close_to_float64(random_series):
    got = smooth_array(random_series.astype(np.float32), "savgol")
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, smooth_array(random_series, "savgol"), rtol=1e-5)


def test_strided_and_fortran_input_give_the_same_result(random_series):
    expected = smooth_array(random_series, "savgol")
    assert_close(smooth_array(np.asfortranarray(random_series), "savgol"), expected, rtol=0)
    assert_close(smooth_array(random_series.T.copy().T, "savgol"), expected, rtol=0)
    doubled = np.repeat(random_series, 2, axis=1)[:, ::2]
    assert not doubled.flags.c_contiguous
    assert_close(smooth_array(doubled, "moving_average"), smooth_array(random_series, "moving_average"), rtol=0)
