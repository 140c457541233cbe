import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import delphi_signals as ds
from delphi_signals.errors import InputError
from delphi_signals.testing.io_reference import pandas_write_csvs

finite = st.one_of(
    st.floats(-1e12, 1e12, allow_nan=False),
    st.floats(-1e-3, 1e-3, allow_nan=False),
    st.sampled_from([0.0, -0.0, 1e-7, 5e-8, 4.9e-8, 1.23e-5, 150.0, 99999999.99999999, 1e8, 1e15, 2.5, 1 / 3]),
)


@st.composite
def cubes(draw, time_type="day"):
    n_geo, n_time = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    shape = (n_geo, n_time)
    quantities = [draw(hnp.arrays(np.float64, shape, elements=finite)) for _ in range(3)]
    quantities[1] = np.abs(quantities[1])
    quantities[2] = np.abs(np.round(quantities[2]))
    codes = []
    for q in quantities:
        holes = draw(hnp.arrays(np.bool_, shape))
        q[holes] = np.nan
        codes.append(np.where(holes, draw(hnp.arrays(np.int8, shape, elements=st.integers(1, 5))), 0))
    codes[0][0, 0] = 0  # at least one row, so at least one file
    quantities[0][0, 0] = 1.0
    geo = [f"{i + 1:02d}{3 * i + 1:03d}" for i in range(n_geo)]
    start = pd.Timestamp("2020-12-20") if time_type == "week" else pd.Timestamp("2020-02-27")
    times = pd.date_range(start, periods=n_time, freq="7D" if time_type == "week" else "D")
    return ds.new_cube(geo, times, *quantities, source="src", signal="sig", geo_type="county", time_type=time_type,
                       missing_value=codes[0], missing_stderr=codes[1], missing_sample_size=codes[2])


def rounded(cube):
    """What reading the files back gives: val and se rounded, regions with no row at all gone."""
    out = cube.copy(deep=True).isel(geo=~ds.empty_cells(cube).all("time").values)
    for name in ("value", "stderr"):
        out[name].values[:] = np.round(out[name].values, 7)
    return out


settings.register_profile("csv", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("time_type", ["day", "week"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_round_trip_is_lossless_up_to_rounding(tmp_path_factory, time_type, data):
    cube = data.draw(cubes(time_type))
    folder = tmp_path_factory.mktemp("rt") / "src"
    ds.write_csvs(cube, folder, write_empty=True)
    back = ds.read_csvs(folder)
    ds.check_cube(back)
    xr.testing.assert_identical(back, rounded(cube))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cube=cubes())
def test_output_is_byte_identical_to_pandas_to_csv(tmp_path_factory, cube):
    ours, theirs = tmp_path_factory.mktemp("ours") / "src", tmp_path_factory.mktemp("theirs") / "src"
    paths = ds.write_csvs(cube, ours)
    reference = pandas_write_csvs(cube, theirs)
    assert [p.name for p in paths] == [p.name for p in reference]
    for path in paths:
        assert filecmp.cmp(path, theirs / path.name, shallow=False), path.read_text()


def test_special_values_match_pandas(tmp_path):
    values = np.array([[1e-9, -1e-9, 1.23e-5, 5e9, np.inf, 0.1 + 0.2, 1e20, -0.0]])
    sizes = np.array([[2.5, 1e16, 3.0, 0.0, 7.0, 1e15 - 1, np.nan, -0.0]])
    cube = ds.new_cube(["01001"], pd.date_range("2020-03-01", periods=8), values, np.abs(values), sizes,
                       source="src", signal="sig", geo_type="county")
    ours = ds.write_csvs(cube, tmp_path / "ours")
    pandas_write_csvs(cube, tmp_path / "theirs")
    for path in ours:
        assert path.read_bytes() == (tmp_path / "theirs" / path.name).read_bytes()
    assert ours[4].read_text().splitlines()[1].startswith("01001,inf,inf,7.0")


def test_rows_sorted_range_empty_files_and_no_temp_files(tmp_path, make_cube):
    cube = make_cube(geo=["06037", "01001", "36061"], days=5, nan_fraction=0.0)
    cube["value"].values[:, 2] = np.nan
    for name in ("stderr", "sample_size"):
        cube[name].values[:, 2] = np.nan
    cube = ds.new_cube(cube.geo.values, cube.time.values, cube.value.values, cube.stderr.values,
                       cube.sample_size.values, source="s", signal="x", geo_type="county")
    paths = ds.write_csvs(cube, tmp_path, start="2020-03-02", end="2020-03-04", missing_columns=False)
    assert [p.name[:8] for p in paths] == ["20200302", "20200304"]
    lines = paths[0].read_text().splitlines()
    assert lines[0] == "geo_id,val,se,sample_size"
    assert [line.split(",")[0] for line in lines[1:]] == ["01001", "06037", "36061"]
    with_empty = ds.write_csvs(cube, tmp_path / "e", write_empty=True)
    assert len(with_empty) == 5 and with_empty[2].read_text() == "geo_id,val,se,sample_size,missing_val,missing_se,missing_sample_size\n"
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "name, expected",
    [
        ("x/jhu-csse/20200310_state_confirmed_7dav_incidence_prop.csv",
         ("jhu-csse", "confirmed_7dav_incidence_prop", "state", "day", 20200310)),
        ("x/src/20200310_hsa_nci_some_signal.csv", ("src", "some_signal", "hsa_nci", "day", 20200310)),
        ("x/SRC/Weekly_202053_Nation_Sig.CSV", ("src", "sig", "nation", "week", 202053)),
    ],
)
def test_parse_filename(name, expected):
    assert tuple(ds.parse_filename(name)[:5]) == expected


@pytest.mark.parametrize(
    "name, message",
    [
        ("src/20200310_city_x.csv", "file name must be"),
        ("src/2020031_state_x.csv", "file name must be"),
        ("src/20200230_state_x.csv", "not a calendar day"),
        ("src/weekly_202153_state_x.csv", "not an epiweek"),
        ("src/20200310_state_x.txt", "file name must be"),
    ],
)
def test_bad_filenames_are_named(name, message):
    with pytest.raises(InputError, match=message) as err:
        ds.parse_filename(name)
    assert err.value.file == Path(name)


@pytest.mark.parametrize(
    "body, line, field, message",
    [
        ("geo_id,val,se,sample_size\nca,1.0,NA,NA\npa,abc,NA,NA\n", 3, "val", "not a number"),
        ("geo_id,val,se,sample_size\nca,1.0,NA\n", 2, "sample_size", "wrong number of fields"),
        ("geo_id,val,se,sample_size\nca,1.0,NA,NA,7\n", 2, "#5 (beyond the header)", "wrong number of fields"),
        ("geo_id,val,se,sample_size\nca,inf,NA,NA\n", 2, "val", "infinite"),
        ('geo_id,val,se,sample_size\n"ca",1,NA,NA\n', 2, "geo_id", "quoted"),
        ("geo_id,val,se,sample_size\n,1,NA,NA\n", 2, "geo_id", "geo_id must be"),
        ("geo_id,val,se,sample_size,missing_val\nca,NA,NA,NA,2.5\n", 2, "missing_val", "not a number"),
        ("geo_id,val,se,sample_size\nca,1e,NA,NA\n", 2, "val", "not a number"),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path, body, line, field, message):
    path = tmp_path / "src" / "20200301_state_x.csv"
    path.parent.mkdir()
    path.write_text(body)
    with pytest.raises(InputError, match=message) as err:
        ds.read_csvs(path)
    assert (err.value.file, err.value.line, err.value.field) == (path, line, field)
    assert str(err.value).startswith(f"{path}, line {line}, field {field}: ")


@pytest.mark.parametrize(
    "body, message",
    [("", "empty file"), ("geo_id,val\nca,1\n", "header lacks column"), ("geo_id,val,se,sample_size\nca,1,NA,NA\nca,2,NA,NA\n", "geo_id repeated: ca")],
)
def test_bad_files_are_named(tmp_path, body, message):
    path = tmp_path / "src" / "20200301_state_x.csv"
    path.parent.mkdir()
    path.write_text(body)
    with pytest.raises(InputError, match=message):
        ds.read_csvs(path)


def test_reader_accepts_what_the_importer_accepts(tmp_path):
    path = tmp_path / "src" / "20200301_state_x.csv"
    path.parent.mkdir()
    # extra columns ignored, long names, CRLF, blank lines, na spellings, 17 significant digits, exponents
    path.write_bytes(b"geo_id,direction,value,stderr,sample_size,missing_value\r\n"
                     b"ca,1,0.12345678901234567,nan,None,\r\n\r\npa,0,-2.5E+2,,NA,0\r\nny,0,NA,1e-3,12,3\r\n")
    cube = ds.read_csvs(path)
    assert cube.value.sel(geo="ca").item() == 0.12345678901234567
    assert cube.value.sel(geo="pa").item() == -250.0
    assert np.isnan(cube.value.sel(geo="ny").item()) and cube.missing_value.sel(geo="ny").item() == 3
    assert cube.stderr.sel(geo="ny").item() == 0.001 and cube.sample_size.sel(geo="ny").item() == 12.0
    assert cube.missing_stderr.sel(geo="ca").item() == ds.Nans.OTHER


def test_several_signals_come_back_as_a_dict(tmp_path, make_cube):
    ds.write_csvs(make_cube(n_geo=2, days=2, signal="a", source="s"), tmp_path / "s")
    ds.write_csvs(make_cube(n_geo=2, days=2, signal="b", source="s", geo_type="state"), tmp_path / "s")
    cubes = ds.read_csvs(tmp_path / "s")
    assert set(cubes) == {("s", "a", "county", "day"), ("s", "b", "state", "day")}


def test_numbers_parse_exactly_like_python_float():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0, 1e3, 2000), rng.uniform(0, 1e-4, 500), np.round(rng.normal(0, 10, 500), 7)])
    text = [repr(float(v)) for v in values] + ["1e22", "1e-22", "123456789012345678", "4.9e-324", "1.7976931348623157e308"]
    from delphi_signals.io.parsing import _EXACT_POWERS, parse_body
    body = "".join(f"g,{t},NA,NA\n" for t in text).encode()
    status, _, _, n, _, quantities, _, slow = parse_body(np.frombuffer(body, np.uint8), 0, np.array([0, 1, 2, 3]),
                                                         len(text) + 1, _EXACT_POWERS)
    assert status == 0 and n == len(text)
    fast = np.ones(n, bool)
    fast[slow[:, 0]] = False
    expected = np.array([float(t) for t in text])
    assert (quantities[:n][fast, 0] == expected[fast]).all()
    assert fast[2500:3000].all()  # every value of 7 decimals or fewer digits takes the exact fast path
    assert fast.sum() > 1500  # and so do most reprs of arbitrary doubles (17 significant digits do not)


def test_golden_2020_outputs_read_and_write_back_the_same(realdata, tmp_path):
    golden = realdata / "delphi_fixtures" / "jhu_golden_2020-06-25" / "tests" / "receiving"
    cubes = ds.read_csvs(golden)
    assert len(cubes) == 64 and all(c.sizes["time"] == 8 for c in cubes.values())
    out = tmp_path / "receiving"
    written = []
    for cube in cubes.values():
        ds.check_cube(cube)
        written += ds.write_csvs(cube, out, missing_columns=False)
    assert sorted(p.name for p in written) == sorted(p.name for p in golden.glob("*.csv"))
    for path in written:
        ours = pd.read_csv(path, dtype={"geo_id": str})
        theirs = pd.read_csv(golden / path.name, dtype={"geo_id": str})
        assert ours.geo_id.tolist() == sorted(theirs.geo_id), path.name
        theirs = theirs.set_index("geo_id").loc[ours.geo_id]
        np.testing.assert_allclose(ours.val, theirs.val, rtol=0, atol=5e-8)
        assert ours.se.isna().all() and ours.sample_size.isna().all()


def test_rows_in_any_order_land_in_their_cells(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "20200301_state_x.csv").write_text("geo_id,val,se,sample_size\nca,1,NA,NA\npa,2,NA,NA\n")
    (folder / "20200302_state_x.csv").write_text("geo_id,val,se,sample_size\npa,4,NA,NA\nny,5,NA,NA\nca,3,NA,NA\n")
    cube = ds.read_csvs(folder)
    assert cube.geo.values.tolist() == ["ca", "ny", "pa"]
    np.testing.assert_array_equal(cube.value.values, [[1, 3], [np.nan, 5], [2, 4]])
