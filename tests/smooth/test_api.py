"""smooth() on cubes: edge cases of spec §2, codes, attrs, errors, dask."""

import numpy as np
import pytest
import xarray as xr

from delphi_signals.cube import check_cube
from delphi_signals.errors import InputError
from delphi_signals.nancodes import Nans
from delphi_signals.smooth import smooth, smooth_array
from delphi_signals.testing.smooth_reference import reference_window_stderr, reference_window_sum

from .conftest import assert_close

nan = np.nan


@pytest.mark.parametrize("method", ["moving_average", "savgol", "left_gauss_linear"])
def test_length_one_series_is_returned_raw(method):
    assert smooth_array([nan, nan, 5.0], method, 3).tolist()[2] == 5.0
    assert smooth_array([5.0], method).tolist() == [5.0]


def test_leading_nans_stay_and_boundary_counts_from_first_value():
    x = np.array([nan, nan, 1.0, 2.0, 4.0, 8.0])
    assert_close(smooth_array(x, "moving_average", 3), [nan, nan, nan, nan, 7 / 3, 14 / 3])
    # shortened window: first value raw, second under-determined for degree 2 -> raw, third a quadratic
    # through 3 points -> exact
    out = smooth_array(x, "savgol", 5, degree=2, bandwidth=None)
    assert_close(out[:5], [nan, nan, 1.0, 2.0, 4.0])


def test_series_shorter_than_window():
    x = np.array([3.0, 5.0, 7.0])
    assert np.isnan(smooth_array(x, "moving_average", 7)).all()
    assert_close(smooth_array(x, "savgol", 28, boundary="identity"), x)
    assert np.isnan(smooth_array(x, "savgol", 28, boundary="nan")).all()
    # a line is fitted exactly by the shortened window
    assert_close(smooth_array(x, "savgol", 28, degree=1), x)


def test_all_nan_series_passes_through():
    assert np.isnan(smooth_array(np.full((2, 9), nan), "savgol", 5, impute="savgol")).all()


def test_gap_stays_gap_by_default_and_is_filled_on_request():
    x = np.array([1.0, 2.0, 3.0, nan, 5.0, 6.0, 7.0])
    assert np.isnan(smooth_array(x, "moving_average", 2)[3:5]).all()
    assert_close(smooth_array(x, "moving_average", 2, impute="savgol"), [nan, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
    assert_close(smooth_array(x, "identity", impute="zeros"), [1, 2, 3, 0, 5, 6, 7])


def test_moving_average_min_count():
    x = np.array([1.0, nan, 3.0, nan, nan, nan])
    assert_close(smooth_array(x, "moving_average", 3, min_count=1), [1.0, 1.0, 2.0, 3.0, 3.0, nan])


def test_cube_moving_average_values_stderr_sample_size_codes(make_cube):
    cube = make_cube(n_geo=4, days=40, nan_fraction=0.1, seed=2)
    cube["missing_value"].values[0, 5] = Nans.CENSORED
    cube["value"].values[0, 5] = nan
    out = smooth(cube, "moving_average", window=7)
    check_cube(out)
    assert_close(out.value.values, smooth_array(cube.value.values, "moving_average", 7))
    assert_close(out.stderr.values, reference_window_stderr(cube.stderr.values, 7))
    assert_close(out.sample_size.values, reference_window_sum(cube.sample_size.values, 7))
    assert int(out.missing_value[0, 5]) == Nans.CENSORED  # still missing: the reason is kept
    assert (out.missing_value.values[1:, :6] == Nans.OTHER).all() and (out.missing_value.values[0, :5] == Nans.OTHER).all()
    assert out.attrs["cell_methods"] == "time: mean (interval: 7 days)"
    assert out.attrs["signal"] == cube.attrs["signal"]
    assert cube.value.attrs == out.value.attrs


def test_cube_savgol_imputed_cells_become_not_missing(make_cube):
    cube = make_cube(n_geo=3, days=60, nan_fraction=0.05, seed=4)
    out = smooth(cube, "savgol", impute="savgol")
    check_cube(out)
    filled = cube.value.isnull() & out.value.notnull()
    assert filled.any() and (out.missing_value.values[filled.values] == Nans.NOT_MISSING).all()
    assert out.sample_size.isnull().all() and (out.missing_sample_size == Nans.NOT_APPLICABLE).all()
    assert out.stderr.notnull().any()
    assert "local polynomial of degree 2" in out.attrs["cell_methods"]
    assert "gaps filled" in out.attrs["cell_methods"]


def test_savgol_stderr_is_filter_propagation(make_cube):
    cube = make_cube(n_geo=2, days=40)
    out = smooth(cube, "savgol", window=10, degree=1, bandwidth=36)
    from delphi_signals.smooth.coefficients import savgol_table

    taps = savgol_table(10, 1, 36, "shortened_window")[0]
    se = cube.stderr.values[1, 20 - 9:21]
    assert out.stderr.values[1, 20] == pytest.approx(np.sqrt(np.sum(taps**2 * se**2)), rel=1e-12)


def test_transposed_and_versioned_cubes(make_cube):
    cube = make_cube(n_geo=5, days=50, nan_fraction=0.05)
    expected = smooth(cube, "savgol", impute="savgol")
    flipped = smooth(cube.transpose("time", "geo"), "savgol", impute="savgol")
    assert flipped.value.dims == ("time", "geo")
    xr.testing.assert_identical(flipped.transpose("geo", "time"), expected)
    versioned = xr.concat([cube, cube * 2], dim="issue").transpose("geo", "time", "issue")
    out = smooth(versioned, "moving_average")
    assert out.value.dims == ("geo", "time", "issue")
    assert_close(out.value.isel(issue=1).values, 2 * smooth(cube).value.values)


def test_rename_on_request_only(make_cube):
    cube = make_cube(signal="confirmed_incidence_num")
    assert smooth(cube, rename="x_7dav").attrs["signal"] == "x_7dav"
    with pytest.raises(InputError, match="rename must be the new signal name"):
        smooth(cube, rename=True)  # names come from a signal catalogue, never guessed
    assert smooth(cube).attrs["signal"] == "confirmed_incidence_num"


def test_weekly_cube_interval_in_weeks(make_cube):
    out = smooth(make_cube(days=10, time_type="week"), window=4)
    assert out.attrs["cell_methods"] == "time: mean (interval: 4 weeks)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(method="causal_savgol"), "unknown smoothing method 'causal_savgol'; expected one of identity, "
                                       "moving_average, savgol, left_gauss_linear"),
        (dict(window=1), "window must be a whole number of days >= 2, got 1"),
        (dict(window=7.5), "window must be a whole number of days >= 2, got 7.5"),
        (dict(method="savgol", degree=28), "savgol degree must be a whole number in 0..window-1 = 27, got 28"),
        (dict(method="savgol", min_count=3), "min_count applies to the moving average only, not to 'savgol'"),
        (dict(boundary="reflect"), "unknown boundary 'reflect'; expected one of shortened_window, identity, nan"),
        (dict(impute="linear"), "unknown impute 'linear'; expected None, 'zeros' or 'savgol'"),
    ],
)
def test_error_messages(make_cube, kwargs, message):
    with pytest.raises(InputError) as err:
        smooth(make_cube(), **kwargs)
    assert str(err.value) == message


def test_dask_backed_cube_gives_the_same_result(make_cube):
    cube = make_cube(n_geo=7, days=80, nan_fraction=0.05, seed=9)
    for kwargs in (dict(method="moving_average", min_count=5), dict(method="savgol", impute="savgol"),
                   dict(method="left_gauss_linear")):
        lazy = smooth(cube.chunk({"geo": 3}), **kwargs)
        assert lazy.value.chunks is not None
        xr.testing.assert_identical(lazy.compute(), smooth(cube, **kwargs))


def test_dask_time_chunks_are_refused(make_cube):
    with pytest.raises(InputError, match=r"one dask chunk \(it has 3\); rechunk first"):
        smooth(make_cube(days=30).chunk({"time": 10}))


def test_dask_distributed_local_cluster(make_cube):
    distributed = pytest.importorskip("distributed")
    cube = make_cube(n_geo=6, days=60, nan_fraction=0.05, seed=11)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        lazy = smooth(cube.chunk({"geo": 2}), "savgol", impute="savgol")
        result = lazy.compute()
    xr.testing.assert_identical(result, smooth(cube, "savgol", impute="savgol"))
