"""Series for the smoothing tests: random, and real daily incidence from the JHU CSSE county file."""

import numpy as np
import pandas as pd
import pytest


def assert_close(got, ref, rtol=1e-10):
    """Same NaN pattern, and |got - ref| <= rtol * max(|ref|, scale of the row).

    The row scale (its largest |value|) stands in where a smoothed value is near zero: real incidence has
    negative corrections, so a window can sum to ~0 and a purely relative test would measure noise.
    """
    got, ref = np.atleast_2d(got), np.atleast_2d(ref)
    assert got.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg="NaN patterns differ")
    scale = np.nanmax(np.abs(np.where(np.isnan(ref), 0, ref)), axis=-1, keepdims=True)
    bound = rtol * np.maximum(np.abs(ref), scale)
    bad = ~np.isnan(ref) & ~(np.abs(got - ref) <= bound)
    assert not bad.any(), f"{bad.sum()} values differ, e.g. at {np.argwhere(bad)[:3].tolist()}"


@pytest.fixture(scope="session")
def real_incidence(realdata):
    """(30 counties, 313 days) of real daily confirmed cases: first differences of the cumulative counts,
    negative corrections kept; counties picked across the size range."""
    frame = pd.read_csv(realdata / "jhu_csse" / "time_series_covid19_confirmed_US.csv")
    frame = frame[frame["FIPS"].notna() & (frame["FIPS"] < 80000)]
    days = [c for c in frame.columns if c.count("/") == 2]
    cumulative = frame[days].to_numpy(dtype=float)
    order = np.argsort(cumulative[:, -1])
    picked = order[np.linspace(0, len(order) - 1, 30).astype(int)]
    return np.diff(cumulative[picked], axis=1)


@pytest.fixture
def random_series():
    """(8, 90) gap-free random series with a trend and noise."""
    rng = np.random.default_rng(7)
    trend = np.linspace(10, 200, 90) * rng.uniform(0.5, 2, size=(8, 1))
    return trend + rng.normal(0, 15, size=(8, 90))
