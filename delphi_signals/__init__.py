"""delphi-signals: versioned, validated epidemiological signals as xarray cubes.

The public names most users need are importable from here::

    import delphi_signals as ds
    cube = ds.from_frame(df, source="jhu-csse", signal="confirmed_incidence_num", geo_type="county")
    ds.write_csvs(cube, "export/")
"""

from . import accessor as _accessor  # noqa: F401  (registers ``cube.epi``)
from .cube import blank, check_cube, empty_cells, from_frame, new_cube, to_frame
from .errors import CubeContractError, DatabaseError, DelphiSignalsError, InputError, ValidationError
from .io import parse_filename, read_csvs, write_csvs
from .geo import UnmappedGeoWarning, aggregate, crosswalk, geo_values, per_capita, population, to_megacounty
from .nancodes import Nans
from .smooth import adjust_weekday, fit_weekday  # smoothing itself: delphi_signals.smooth.smooth, cube.epi.smooth

__version__ = "0.1.0"

__all__ = [
    "CubeContractError", "DatabaseError", "DelphiSignalsError", "InputError", "Nans", "UnmappedGeoWarning",
    "ValidationError", "adjust_weekday", "aggregate", "blank", "check_cube", "crosswalk", "empty_cells", "fit_weekday",
    "from_frame", "geo_values", "new_cube", "parse_filename", "per_capita", "population", "read_csvs",
    "to_frame", "to_megacounty", "write_csvs",
]


def __getattr__(name):
    if name == "plot":  # matplotlib and geopandas load only when maps are asked for
        import importlib

        return importlib.import_module(".plot", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
