"""Quidel (source ``quidel``): the percentage of Quidel Sofia antigen tests that are positive, with standard errors
and sample sizes, from device-level test records in an S3 bucket, through zip codes to county (with megacounties),
msa, hrr, state, hhs and nation (upstream ``quidel_covidtest``).

Modules: :mod:`.objects` (the bucket or local drop), :mod:`.pull` (the dated input cache), :mod:`.reader` (row
rules and bad-input drops), :mod:`.counts` (tests per zip and day), :mod:`.geo` (levels, megacounties, parent
states), :mod:`.data_tools` (pooling, top-up, estimates; the formula in :mod:`delphi_signals.estimators`),
:mod:`.run`.

**Differences from upstream.** Upstream tops a msa or hrr up from the alphabetically last state among its
counties (its docstring says the most populous), and after the first region whose parent state has no tests, no
later region (in id order) borrows at all. Both are fixed here: the parent is the state holding most of the
region's population, and each region borrows from its own parent when that parent has tests. Only the msa and
hrr smoothed signals change. ``indicator.reproduce_top_up_bugs: true`` reproduces upstream (its outputs are
then equal to upstream's). Also: a past issue is reproducible (one cached file per day received, not a
cumulative cache); a day without new objects exports from the tests already pulled (upstream crashes); rows
with unparsable fields are dropped and counted (upstream crashes or miscounts); an object upstream would refuse
stops the run with exit code 20 naming its key; the validator's ``smoothed_signals`` are every smoothed signal
(upstream listed only the all-ages one).
"""

from ...sources.demo import write_quidel_drops
from ..contract import Indicator
from .constants import CATALOGUE, PARAMS_DEFAULTS, RAW_INPUTS, SOURCE
from .pull import pull_data, resolve_versions
from .run import run_module

INDICATOR = Indicator(
    source=SOURCE, package=__name__, signals=CATALOGUE, raw_inputs=RAW_INPUTS, run_module=run_module,
    pull=pull_data, params_defaults=PARAMS_DEFAULTS, resolve_versions=resolve_versions, demo=write_quidel_drops,
    demo_base_url="", description="Percentage of Quidel antigen tests that are positive, by age group")
