"""Maps and series render offline to PNG (Agg backend), from the committed shapes."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from delphi_signals.errors import InputError  # noqa: E402
from delphi_signals.geo import aggregate, geo_values  # noqa: E402
from delphi_signals.plot import MISSING_COLOR, choropleth, series, shapes  # noqa: E402

import matplotlib.image  # noqa: E402


def pixel_at(ax, png_path, point):
    """RGB (0..1) of the saved PNG at a point given in map coordinates."""
    image = matplotlib.image.imread(png_path)
    x, y = ax.transData.transform((point.x, point.y))
    return image[image.shape[0] - 1 - int(y), int(x), :3]


@pytest.mark.parametrize("level", ["county", "state", "msa", "hrr"])
def test_choropleth_paints_each_region_in_its_value_colour_and_missing_ones_grey(level, jhu_cube, tmp_path):
    cube = jhu_cube if level == "county" else aggregate(jhu_cube, level)
    day = cube.time.values[-1]
    values = cube.value.sel(time=day).to_series()
    gdf = shapes(level).set_index("geo")
    drawn = gdf.loc[gdf.index.intersection(values.dropna().index)]
    biggest = drawn.geometry.area.sort_values().index[-3:]  # large regions: many pixels inside
    low, high = float(values.min()), float(values.max())
    grey_region = biggest[0]  # blanked below: must come out grey
    cube = cube.copy(deep=True)
    cube["value"].loc[{"geo": grey_region, "time": day}] = np.nan
    ax = choropleth(cube, time=day, cmap="viridis", vmin=low, vmax=high, legend=False)
    path = tmp_path / f"{level}.png"
    ax.figure.savefig(path, dpi=ax.figure.dpi)
    assert cube.attrs["signal"] in ax.get_title()
    colours = matplotlib.colormaps["viridis"]
    for region in biggest[1:]:
        want = colours((values[region] - low) / (high - low))[:3]  # expected from the cube, not from the map
        got = pixel_at(ax, path, gdf.geometry[region].representative_point())
        np.testing.assert_allclose(got, want, atol=2 / 255, err_msg=f"{level} {region} = {values[region]}")
    grey = matplotlib.colors.to_rgb(MISSING_COLOR)
    np.testing.assert_allclose(pixel_at(ax, path, gdf.geometry[grey_region].representative_point()), grey,
                               atol=2 / 255)
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


def test_a_maps_colour_bar_names_its_units(jhu_cube):
    import matplotlib.pyplot as plt

    from delphi_signals.geo import per_capita

    rates = per_capita(aggregate(jhu_cube, "state"))
    ax = choropleth(rates)
    colour_bar = [other for other in ax.figure.axes if other is not ax]
    assert [c.get_ylabel() for c in colour_bar] == ["per 100,000 people"]
    plt.close(ax.figure)
