"""JHU CSSE cases and deaths (source ``jhu-csse``): county time series → 12 signals at 6 geo levels."""

from ...sources.demo import write_jhu
from ..contract import Indicator
from .constants import CATALOGUE, PARAMS_DEFAULTS, RAW_INPUTS, SOURCE
from .pull import pull_data, resolve_versions
from .run import run_module

INDICATOR = Indicator(
    source=SOURCE, package=__name__, signals=CATALOGUE, raw_inputs=RAW_INPUTS, run_module=run_module,
    pull=pull_data, params_defaults=PARAMS_DEFAULTS, resolve_versions=resolve_versions, demo=write_jhu,
    demo_base_url="time_series_covid19_{metric}_US.csv",
    description="JHU CSSE confirmed cases and deaths by county (cumulative counts → incidence, per capita, 7-day "
                "averages)")
