"""delphi-signals: versioned, validated epidemiological signals as xarray cubes.

The public names most users need are importable from here::

    import delphi_signals as ds
    cube = ds.from_frame(df, source="jhu-csse", signal="confirmed_incidence_num", geo_type="county")
    ds.write_csvs(cube, "export/")
"""

from .cube import check_cube, empty_cells, from_frame, new_cube, to_frame
from .errors import CubeContractError, DatabaseError, DelphiSignalsError, InputError, ValidationError
from .io import parse_filename, read_csvs, write_csvs
from .nancodes import Nans

__version__ = "0.1.0"

__all__ = [
    "CubeContractError", "DatabaseError", "DelphiSignalsError", "InputError", "Nans", "ValidationError",
    "check_cube", "empty_cells", "from_frame", "new_cube", "parse_filename", "read_csvs", "to_frame",
    "write_csvs",
]
