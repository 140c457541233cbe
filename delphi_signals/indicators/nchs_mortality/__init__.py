"""NCHS provisional death counts (source ``nchs-mortality``): the weekly state table → 13 weekly signals at state
and nation (six counts and per 100,000, and ``deaths_percent_of_expected``), exported with ``weekly_YYYYWW_``
file names. The nation is the table's own ``United States`` rows."""


from ...sources.demo import NCHS_FILE, write_nchs
from ..contract import Indicator
from .constants import CATALOGUE, PARAMS_DEFAULTS, RAW_INPUTS, SOURCE
from .pull import pull_data, resolve_versions
from .run import run_module

INDICATOR = Indicator(
    source=SOURCE, package=__name__, signals=CATALOGUE, raw_inputs=RAW_INPUTS, run_module=run_module,
    pull=pull_data, params_defaults=PARAMS_DEFAULTS, resolve_versions=resolve_versions, demo=write_nchs, demo_base_url=NCHS_FILE,
    description="NCHS provisional weekly deaths (COVID-19, pneumonia, influenza, all causes) by state")
