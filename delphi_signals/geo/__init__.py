"""Geography: geo ids, populations, crosswalks and NaN-safe aggregation of signal cubes across geo levels.

The tables live in ``geodata/`` (rebuilt by ``geodata/build.py`` from pinned public wheels; located via
``$DELPHI_SIGNALS_GEODATA`` or the source checkout).

Examples
--------
>>> from delphi_signals.testing import make_cube
>>> cube = make_cube(["01001", "01003", "06037"], days=3, kind="count")
>>> aggregate(cube, "nation").geo.values.tolist()
['us']
"""

from .aggregate import UnmappedGeoWarning, aggregate, operator, per_capita
from .megacounty import megacounty_of, to_megacounty
from .tables import LEVELS, Crosswalk, crosswalk, geo_values, geodata_dir, population

__all__ = [
    "LEVELS", "Crosswalk", "UnmappedGeoWarning", "aggregate", "crosswalk", "geo_values", "geodata_dir",
    "megacounty_of", "operator", "per_capita", "population", "to_megacounty",
]
