"""HHS hospital admissions (source ``hhs``): the Epidata ``covid_hosp`` state time series → 12 signals at
state, HHS region and nation (spec: indicators.md §8, "HHS hospitalizations")."""

from ...sources.demo import HHS_FILE, write_hhs
from ..contract import Indicator
from .constants import CATALOGUE, PARAMS_DEFAULTS, RAW_INPUTS, SOURCE
from .pull import pull_data, resolve_versions
from .run import run_module

INDICATOR = Indicator(
    source=SOURCE, package=__name__, signals=CATALOGUE, raw_inputs=RAW_INPUTS, run_module=run_module,
    pull=pull_data, params_defaults=PARAMS_DEFAULTS, resolve_versions=resolve_versions, demo=write_hhs, demo_base_url=HHS_FILE,
    description="HHS confirmed and suspected COVID-19 and influenza hospital admissions by state")
