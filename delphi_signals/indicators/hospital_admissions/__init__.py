"""Hospital admissions (source ``hospital-admissions``): the percentage of inpatient admissions with COVID-19 or
influenza, from daily claims drops on an SFTP server, smoothed and weekday-adjusted, at county, msa, hrr, state,
hhs and nation (upstream ``claims_hosp``; the method shared with doctor-visits is in :mod:`..claims`)."""

from ...sources.demo import write_inpatient_drop
from ..contract import Indicator
from .constants import CATALOGUE, PARAMS_DEFAULTS, RAW_INPUTS, SOURCE
from .pull import fetch_data, resolve_versions
from .run import run_module

INDICATOR = Indicator(
    source=SOURCE, package=__name__, signals=CATALOGUE, raw_inputs=RAW_INPUTS, run_module=run_module,
    pull=fetch_data, params_defaults=PARAMS_DEFAULTS, resolve_versions=resolve_versions, demo=write_inpatient_drop,
    demo_base_url="", description="Percentage of inpatient admissions with COVID-19 or influenza, from claims")
