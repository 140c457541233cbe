"""``cube.epi``: the function API as methods of a signal cube, for notebooks and method chains.

Every method forwards to the function of the same name; nothing is computed or kept here (xarray recreates
the accessor freely).

Examples
--------
>>> from delphi_signals.testing import make_cube
>>> cube = make_cube(["01001", "01003"], days=10, kind="count")
>>> cube.epi.smooth("moving_average", 7).epi.aggregate("state").geo.values.tolist()
['al']
"""

from __future__ import annotations

import xarray as xr


@xr.register_dataset_accessor("epi")
class EpiAccessor:
    """Signal-cube methods: ``check``, ``blank``, ``to_frame``, ``write_csvs``, ``smooth``, ``aggregate``, ``per_capita``,
    ``to_megacounty``, ``adjust_weekday``, ``choropleth``, ``series``."""

    def __init__(self, cube: xr.Dataset):
        self._cube = cube

    def check(self) -> xr.Dataset:
        """:func:`delphi_signals.check_cube`."""
        from .cube import check_cube

        return check_cube(self._cube)

    def blank(self, where, code=None, **kwargs) -> xr.Dataset:
        """:func:`delphi_signals.cube.blank`."""
        from .cube import blank
        from .nancodes import Nans

        return blank(self._cube, where, Nans.OTHER if code is None else code, **kwargs)

    def to_frame(self):
        """:func:`delphi_signals.to_frame`."""
        from .cube import to_frame

        return to_frame(self._cube)

    def write_csvs(self, export_dir, **kwargs):
        """:func:`delphi_signals.write_csvs`."""
        from .io import write_csvs

        return write_csvs(self._cube, export_dir, **kwargs)

    def smooth(self, method="moving_average", window=None, **kwargs) -> xr.Dataset:
        """:func:`delphi_signals.smooth.smooth`."""
        from .smooth import smooth

        return smooth(self._cube, method, window, **kwargs)

    def adjust_weekday(self, params) -> xr.Dataset:
        """:func:`delphi_signals.smooth.adjust_weekday`."""
        from .smooth import adjust_weekday

        return adjust_weekday(self._cube, params)

    def aggregate(self, to: str, how: str = "sum", *, strict: bool = False) -> xr.Dataset:
        """:func:`delphi_signals.geo.aggregate`."""
        from .geo import aggregate

        return aggregate(self._cube, to, how, strict=strict)

    def per_capita(self, scale: float = 100_000) -> xr.Dataset:
        """:func:`delphi_signals.geo.per_capita`."""
        from .geo import per_capita

        return per_capita(self._cube, scale)

    def to_megacounty(self, threshold: float, window: int) -> xr.Dataset:
        """:func:`delphi_signals.geo.to_megacounty`."""
        from .geo import to_megacounty

        return to_megacounty(self._cube, threshold, window)

    def choropleth(self, time=None, ax=None, **kwargs):
        """:func:`delphi_signals.plot.choropleth`."""
        from .plot import choropleth

        return choropleth(self._cube, time, ax, **kwargs)

    def series(self, geo, ax=None, **kwargs):
        """:func:`delphi_signals.plot.series`."""
        from .plot import series

        return series(self._cube, geo, ax, **kwargs)
