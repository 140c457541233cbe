"""Maps and series render offline to PNG (Agg backend), from the committed shapes."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from delphi_signals.errors import InputError  # noqa: E402
from delphi_signals.geo import aggregate, geo_values  # noqa: E402
from delphi_signals.plot import MISSING_COLOR, choropleth, series, shapes  # noqa: E402


@pytest.mark.parametrize("level", ["county", "state", "msa", "hrr"])
def test_choropleth_renders_each_level_to_png(level, jhu_cube, tmp_path):
    cube = jhu_cube if level == "county" else aggregate(jhu_cube, level)
    ax = choropleth(cube)
    path = tmp_path / f"{level}.png"
    ax.figure.savefig(path, dpi=40)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000
    assert cube.attrs["signal"] in ax.get_title()
    matplotlib.pyplot.close(ax.figure)


def test_alaska_hawaii_and_puerto_rico_are_on_the_map_below_the_lower_48():
    gdf = shapes("state").set_index("geo")
    lower48_bottom = gdf.drop(["ak", "hi", "pr"]).total_bounds[1]
    for state in ("ak", "hi", "pr"):
        assert gdf.loc[[state]].total_bounds[3] < lower48_bottom + 400_000, state


def test_regions_without_data_are_grey(make_cube):
    cube = make_cube(["ca", "pa"], days=1, geo_type="state")
    ax = choropleth(cube, legend=False)
    grey = matplotlib.colors.to_rgba(MISSING_COLOR)
    faces = [np.atleast_2d(c.get_facecolor()) for c in ax.collections]
    grey_patches = sum(int(np.allclose(row, grey)) for f in faces for row in f)
    coloured = sum(int(not np.allclose(row, grey)) for f in faces for row in f)
    assert grey_patches >= 1 and coloured == 2
    matplotlib.pyplot.close(ax.figure)


def test_series_draws_one_line_per_region_and_rejects_unknown_ids(make_cube):
    cube = make_cube(list(geo_values("state")[:3]), days=10, geo_type="state")
    ax = series(cube, geo=["ak", "al"])
    assert [line.get_label() for line in ax.get_lines()] == ["ak", "al"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), cube.value.sel(geo="ak").values)
    with pytest.raises(InputError, match="not in the cube: zz"):
        series(cube, geo=["zz"])
    matplotlib.pyplot.close("all")
