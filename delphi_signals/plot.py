"""Maps and time series of signal cubes, drawn offline from the committed boundary shapes (``geodata/shapes``).

Choropleths use an Albers equal-area projection of the lower 48 (EPSG:5070) with Alaska, Hawaii and Puerto
Rico moved and scaled into insets, missing regions in light grey.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import xarray as xr

from .errors import InputError
from .geo.tables import geodata_dir

MAP_LEVELS = ("county", "state", "msa", "hrr")
ALBERS = "EPSG:5070"
# inset (state FIPS) -> (scale, x, y): scaled about its lower-left corner, which then moves to (x, y) in metres
_INSETS = {"02": (0.35, -2_300_000, -600_000), "15": (1.0, -1_200_000, -400_000),
           "72": (1.0, 1_500_000, -250_000)}
_STATE_FIPS = {"ak": "02", "hi": "15", "pr": "72"}
MISSING_COLOR = "lightgrey"


@lru_cache(maxsize=None)
def shapes(geo_type: str):
    """The simplified boundaries of ``geo_type`` as a GeoDataFrame in map coordinates (insets applied).

    Regions outside the map frame (Guam, the Northern Marianas, American Samoa, the far Aleutians) are left
    out; Alaska, Hawaii and Puerto Rico are drawn as insets below the lower 48.

    Examples
    --------
    >>> gdf = shapes("state")
    >>> {"ca", "ak", "hi", "pr"} <= set(gdf["geo"]), gdf.crs.to_string()
    (True, 'EPSG:5070')
    """
    import geopandas as gpd
    from shapely import affinity, box

    if geo_type not in MAP_LEVELS:
        raise InputError(f"no map shapes for geo_type {geo_type!r}; maps exist for {', '.join(MAP_LEVELS)}")
    path = geodata_dir() / "shapes" / f"{geo_type}.geojson.gz"
    gdf = gpd.read_file(f"/vsigzip/{path}")
    # drops the Pacific islands, the Aleutians west of 180 degrees and the Virgin Islands (beyond the frame)
    gdf = gdf.clip(box(-180, 15, -65.15, 72)).to_crs(ALBERS)
    gdf = gdf[~gdf.geometry.is_empty].reset_index(drop=True)
    part = _inset_part(gdf, geo_type)
    hawaii = (part == "15").to_numpy()  # main islands only: the northwestern atolls would stretch the inset
    main_islands = gpd.GeoSeries([box(-161, 18, -154, 23)], crs=4326).to_crs(ALBERS).iloc[0]
    gdf.loc[hawaii, "geometry"] = gdf.geometry[hawaii].intersection(main_islands)
    geoms = gdf.geometry.copy()
    for key, (scale, x0, y0) in _INSETS.items():
        members = part == key
        if not members.any():
            continue
        minx, miny, _, _ = geoms[members].total_bounds
        geoms[members] = [
            affinity.translate(affinity.scale(g, scale, scale, origin=(minx, miny)), x0 - minx, y0 - miny)
            for g in geoms[members]
        ]
    return gdf.set_geometry(gpd.GeoSeries(geoms, crs=ALBERS, index=gdf.index))


def _inset_part(gdf, geo_type: str) -> pd.Series:
    """Which inset (state FIPS "02", "15", "72") each region belongs to, else None."""
    if geo_type == "state":
        return gdf["geo"].map(_STATE_FIPS)
    if geo_type == "county":
        return gdf["geo"].str[:2].where(gdf["geo"].str[:2].isin(list(_INSETS)))
    # msa / hrr ids do not say their state: place them by where they lie (lon/lat of the centroid)
    lonlat = gdf.geometry.to_crs(4326).representative_point()
    lon, lat = lonlat.x, lonlat.y
    return pd.Series(np.select([lat > 51, (lon < -150) & (lat < 25), (lon > -68) & (lat < 19)],
                               ["02", "15", "72"], default=None), index=gdf.index).replace({"None": None})


def choropleth(cube: xr.Dataset, time=None, ax=None, *, variable: str = "value", cmap: str = "viridis",
               vmin=None, vmax=None, title: str | None = None, legend: bool = True):
    """Map one day of a cube: a choropleth of ``variable`` over the cube's regions.

    Parameters
    ----------
    cube : xarray.Dataset
        A county, state, msa or hrr cube.
    time : date-like, optional
        The day to draw; default the last day with any data.
    ax : matplotlib Axes, optional
        Where to draw; a new figure otherwise.
    cmap, vmin, vmax :
        Colour scale; by default the 2nd and 98th percentiles of the day's values, so outliers do not wash
        out the map. The colour bar is labelled with the variable's ``units`` attr (``per 100,000 people``
        after :func:`~delphi_signals.geo.per_capita`), else the cube's, else the variable's name.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from delphi_signals.testing import make_cube
    >>> ax = choropleth(make_cube(["ca", "pa"], days=3, geo_type="state"))
    >>> ax.get_title()
    'test_signal (state), 2020-03-03'
    """
    import matplotlib.pyplot as plt

    geo_type = cube.attrs.get("geo_type")
    gdf = shapes(geo_type)
    da = cube[variable]
    if time is None:
        has_data = da.notnull().any("geo").values
        if not has_data.any():
            raise InputError(f"cube {cube.attrs.get('signal')!r} has no {variable} to map")
        time = cube["time"].values[np.flatnonzero(has_data)[-1]]
    day = da.sel(time=np.datetime64(pd.Timestamp(time), "ns")).to_series()
    day.index = day.index.astype(str)
    gdf = gdf.assign(**{variable: gdf["geo"].map(day).astype(float)})
    finite = gdf[variable].dropna()
    if vmin is None and len(finite):
        vmin = float(np.percentile(finite, 2))
    if vmax is None and len(finite):
        vmax = float(np.percentile(finite, 98))
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 6))
    units = da.attrs.get("units") or cube.attrs.get("units") or variable
    show_legend = legend and len(finite) > 0
    gdf.plot(column=variable, ax=ax, cmap=cmap, vmin=vmin, vmax=vmax, legend=show_legend,
             legend_kwds={"label": units, "shrink": 0.7} if show_legend else None,
             linewidth=0.1, edgecolor="white", missing_kwds={"color": MISSING_COLOR})
    ax.set_axis_off()
    ax.set_title(title or f"{cube.attrs.get('signal')} ({geo_type}), {pd.Timestamp(time).date()}")
    return ax


def fault_windows(cube: xr.Dataset, geo) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """Runs of consecutive time steps where a region of ``geo`` has faults (the cube's ``fault_ids``).

    Returns ``(first, last, ids)`` per run, ``ids`` the comma-joined fault ids met in it; none without
    ``fault_ids``.

    Examples
    --------
    >>> from delphi_signals.testing import make_cube
    >>> cube = make_cube(["ca"], days=5, geo_type="state")
    >>> cube["fault_ids"] = (("geo", "time"), np.array([["", "3", "3,4", "", "4"]], dtype=object))
    >>> [(a.day - cube.time[0].dt.day.item(), b.day - cube.time[0].dt.day.item(), ids)
    ...  for a, b, ids in fault_windows(cube, ["ca"])]
    [(1, 2, '3,4'), (4, 4, '4')]
    """
    if "fault_ids" not in cube.data_vars:
        return []
    geo = [geo] if isinstance(geo, str) else list(geo)
    ids = cube["fault_ids"].sel(geo=geo)
    if "issue" in ids.dims:
        ids = ids.isel(issue=-1)
    per_time = [sorted({i for cell in column for i in str(cell).split(",") if i}, key=int)
                for column in ids.transpose("time", "geo").values]
    times = pd.DatetimeIndex(cube["time"].values)
    windows, start, seen = [], None, set()
    for k, found in enumerate(per_time + [[]]):
        if found and start is None:
            start, seen = k, set()
        if found:
            seen.update(found)
        elif start is not None:
            windows.append((times[start], times[k - 1], ",".join(sorted(seen, key=int))))
            start = None
    return windows


def series(cube: xr.Dataset, geo, ax=None, *, variable: str = "value", band: bool = True, faults: bool = True,
           windows=None):
    """Time series of ``variable`` for the regions ``geo``, with a ±1 stderr band where stderr exists, and the
    time ranges of faults shaded.

    The shaded ranges are ``windows`` (``(first, last, label)`` tuples) when given, else those of the cube's
    ``fault_ids`` (``Epidata.fetch(..., faults=True)``; see :func:`fault_windows`); ``faults=False`` shades
    nothing.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> from delphi_signals.testing import make_cube
    >>> ax = series(make_cube(["ca", "pa"], days=5, geo_type="state"), geo=["ca", "pa"])
    >>> [line.get_label() for line in ax.get_lines()]
    ['ca', 'pa']
    """
    import matplotlib.pyplot as plt

    geo = [geo] if isinstance(geo, str) else list(geo)
    unknown = sorted(set(geo) - set(map(str, cube["geo"].values)))
    if unknown:
        raise InputError(f"geo id(s) not in the cube: {', '.join(unknown)}", field="geo")
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4))
    times = pd.DatetimeIndex(cube["time"].values)
    for g in geo:
        y = cube[variable].sel(geo=g).values
        (line,) = ax.plot(times, y, label=g)
        if band and variable == "value":
            se = cube["stderr"].sel(geo=g).values
            if np.isfinite(se).any():
                ax.fill_between(times, y - se, y + se, color=line.get_color(), alpha=0.2, linewidth=0)
    if faults:
        step = pd.Timedelta(days=7 if cube.attrs.get("time_type") == "week" else 1)
        for first, last, label in (fault_windows(cube, geo) if windows is None else windows):
            ax.axvspan(pd.Timestamp(first) - step / 2, pd.Timestamp(last) + step / 2, color="tab:red", alpha=0.15,
                       linewidth=0, label=f"fault {label}")
    ax.set_ylabel(cube[variable].attrs.get("units", variable))
    ax.set_title(f"{cube.attrs.get('source')}: {cube.attrs.get('signal')}")
    ax.legend()
    return ax
