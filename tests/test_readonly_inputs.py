"""Read-only, non-contiguous and big-endian float arrays are accepted everywhere and give the ordinary result.

pandas 3's ``to_numpy()`` returns read-only arrays, slices and transposes are strided, and files read with an
explicit ``>f8`` dtype are big-endian: each public function is fed each kind (as a direct argument or as the
data of a cube variable) and must return exactly what it returns for an ordinary array.
"""

import filecmp

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from delphi_signals.cube import from_frame, new_cube
from delphi_signals.geo.aggregate import aggregate
from delphi_signals.io.csv_writer import write_csvs
from delphi_signals.smooth import smooth, smooth_array
from delphi_signals.smooth.weekday import adjust_weekday, fit_weekday, solve_weekday

KINDS = ("read-only", "strided", "fortran", "big-endian", "read-only big-endian strided")
GEO = ["01001", "01003", "06037", "06059"]
FAST = settings(max_examples=10, deadline=None)


def assert_kind(arr: np.ndarray, kind: str):
    """``arr`` really is of the odd kind (so each test exercises what it says)."""
    if "read-only" in kind:
        assert not arr.flags.writeable
    if "strided" in kind:
        assert not arr.flags.c_contiguous and not arr.flags.f_contiguous
    if kind == "fortran":
        assert not arr.flags.c_contiguous
    if "big-endian" in kind:
        assert not arr.dtype.isnative


def odd(x: np.ndarray, kind: str) -> np.ndarray:
    """An array equal to ``x`` of the given odd kind."""
    if kind == "read-only":
        out = x.copy()
        out.flags.writeable = False
    elif kind == "strided":
        wide = np.full(x.shape[:-1] + (2 * x.shape[-1],), -7.0)
        wide[..., ::2] = x
        out = wide[..., ::2]
    elif kind == "fortran":
        out = np.asfortranarray(x) if x.ndim > 1 else x[::-1].copy()[::-1]  # 1-D: a reversed view
    elif kind == "big-endian":
        out = x.astype(">f8")
    else:
        wide = np.full(x.shape[:-1] + (2 * x.shape[-1],), -7.0, dtype=">f8")
        wide[..., ::2] = x
        out = wide[..., ::2]
        out.flags.writeable = False
    assert_kind(out, kind)
    np.testing.assert_array_equal(out, x)
    return out


def with_odd_data(cube: xr.Dataset, kind: str) -> xr.Dataset:
    """The same cube whose float variables hold arrays of ``kind`` (xarray keeps them as they are)."""
    out = cube.copy()
    for name in ("value", "stderr", "sample_size"):
        out[name] = xr.Variable(("geo", "time"), odd(cube[name].values, kind), attrs=cube[name].attrs)
        assert_kind(out[name].values, kind)
    return out


def assert_same_cube(got: xr.Dataset, want: xr.Dataset):
    assert list(got.data_vars) == list(want.data_vars)
    for name in want.data_vars:
        np.testing.assert_array_equal(np.asarray(got[name].values, dtype=want[name].dtype), want[name].values,
                                      err_msg=name)
    assert got.attrs == want.attrs


counts = st.lists(st.one_of(st.integers(0, 500).map(float), st.just(float("nan"))), min_size=4 * 21,
                  max_size=4 * 21).map(lambda v: np.array(v).reshape(4, 21))


@FAST
@given(value=counts, kind=st.sampled_from(KINDS))
def test_new_cube_and_from_frame(value, kind):
    time = pd.date_range("2020-03-01", periods=21)
    stderr = np.sqrt(np.abs(value))
    want = new_cube(GEO, time, value, stderr, value + 1, source="t", signal="s", geo_type="county")
    got = new_cube(GEO, time, odd(value, kind), odd(stderr, kind), odd(value + 1, kind),
                   source="t", signal="s", geo_type="county")
    assert_same_cube(got, want)
    got.value.values[0, 0] = 1.5  # the cube's own arrays are writable
    rows = {"geo_value": np.repeat(GEO, 21), "time_value": np.tile(time, 4)}
    plain = pd.DataFrame({**rows, "value": value.ravel(), "stderr": stderr.ravel()})
    frame = pd.DataFrame({**rows, "value": odd(value.ravel(), kind), "stderr": odd(stderr.ravel(), kind)},
                         copy=False)
    assert_same_cube(from_frame(frame, source="t", signal="s", geo_type="county"),
                     from_frame(plain, source="t", signal="s", geo_type="county"))


@FAST
@given(value=counts, kind=st.sampled_from(KINDS), to=st.sampled_from(["state", "nation"]),
       how=st.sampled_from(["sum", "mean"]))
def test_geo_aggregate(value, kind, to, how):
    cube = new_cube(GEO, pd.date_range("2020-03-01", periods=21), value, np.sqrt(np.abs(value)), value + 1,
                    source="t", signal="s", geo_type="county")
    assert_same_cube(aggregate(with_odd_data(cube, kind), to, how), aggregate(cube, to, how))


@FAST
@given(value=counts, kind=st.sampled_from(KINDS),
       method=st.sampled_from([("moving_average", {}), ("savgol", {"impute": "savgol"}),
                               ("left_gauss_linear", {})]))
def test_smooth(value, kind, method):
    name, kwargs = method
    cube = new_cube(GEO, pd.date_range("2020-03-01", periods=21), value, np.sqrt(np.abs(value)), value + 1,
                    source="t", signal="s", geo_type="county")
    assert_same_cube(smooth(with_odd_data(cube, kind), name, **kwargs), smooth(cube, name, **kwargs))
    np.testing.assert_array_equal(smooth_array(odd(value, kind), name, **kwargs), smooth_array(value, name, **kwargs))


@FAST
@given(seed=st.integers(0, 2**16), kind=st.sampled_from(KINDS))
def test_weekday_fit_and_adjustment(seed, kind):
    rng = np.random.default_rng(seed)
    time = pd.date_range("2020-03-02", periods=35)
    num = rng.poisson(50 * np.exp(0.3 * np.sin(np.arange(35) * 2 * np.pi / 7)), size=(4, 35)).astype(float)
    den = rng.uniform(1, 2, size=(4, 35))
    dow = time.day_of_week.to_numpy()
    want = solve_weekday(num, den, dow)
    got = solve_weekday(odd(num, kind), odd(den, kind), dow)
    np.testing.assert_array_equal(got.beta, want.beta)
    np.testing.assert_array_equal(got.steps, want.steps)

    def arrays(n, d):
        coords = {"geo": GEO, "time": time}
        return (xr.DataArray(n, coords=coords, dims=("geo", "time")),
                xr.DataArray(d, coords=coords, dims=("geo", "time")))

    for by in (None, "geo"):
        plain = fit_weekday(*arrays(num, den), by=by)
        odd_fit = fit_weekday(*arrays(odd(num, kind), odd(den, kind)), by=by)
        xr.testing.assert_identical(odd_fit, plain)
    cube = new_cube(GEO, time, num, source="t", signal="s", geo_type="county")
    params = fit_weekday(cube, new_cube(GEO, time, den, source="t", signal="d", geo_type="county"), by="geo")
    assert_same_cube(adjust_weekday(with_odd_data(cube, kind), params), adjust_weekday(cube, params))


@pytest.mark.parametrize("kind", KINDS)
def test_write_csvs(tmp_path, kind):
    rng = np.random.default_rng(5)
    value = rng.uniform(0, 100, size=(4, 6))
    value[1, 2] = np.nan
    cube = new_cube(GEO, pd.date_range("2020-03-01", periods=6), value, value / 10, np.round(value * 3),
                    source="t", signal="s", geo_type="county")
    want = write_csvs(cube, tmp_path / "plain")
    got = write_csvs(with_odd_data(cube, kind), tmp_path / "odd")
    assert [p.name for p in got] == [p.name for p in want] and len(want) == 6
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "plain", tmp_path / "odd", [p.name for p in want],
                                               shallow=False)
    assert not mismatch and not errors and len(match) == 6
