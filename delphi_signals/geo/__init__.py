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
from .names import county_ids, state_fips, state_ids, state_table
from .splits import COUNTY_SPLITS, county_split, spread_to_counties
from .tables import LEVELS, Crosswalk, crosswalk, geo_values, geodata_dir, population

__all__ = [
    "COUNTY_SPLITS", "LEVELS", "Crosswalk", "UnmappedGeoWarning", "aggregate", "county_ids", "county_split",
    "crosswalk", "geo_values", "geodata_dir", "megacounty_of", "operator", "per_capita", "population",
    "spread_to_counties", "state_fips", "state_ids", "state_table", "to_megacounty",
]
