"""Names and fixed facts of the hospital-admissions indicator (upstream ``claims_hosp``).

The percentage of inpatient admissions with a COVID-19 (or influenza) diagnosis, per region and day, from daily
claims drops ``…EDI_AGG_INPATIENT_DDMMYYYY_HHMM<TZ>.csv.gz``: ``smoothed_covid19_from_claims``,
``smoothed_flu_from_claims`` and their weekday-adjusted ``smoothed_adj_*``. With ``indicator.write_se`` the
signals carry standard errors and are published under ``<obfuscated_prefix>_``.
"""

import datetime as dt

from ..claims.naming import DEFAULT_PREFIX, GEOS, params_defaults, prefix_part
from ..claims.reader import AGE_COL, COUNTY_COL, DATE_COL, HRR_NAME_COL, DropLayout
from ..contract import Catalogue

SOURCE = "hospital-admissions"
DROP_KIND = "INPATIENT"
CACHE_NAME = "inpatient"
RAW_INPUTS = ((CACHE_NAME, "csv.gz"),)
FIRST_DATA_DATE = dt.date(2020, 1, 1)
DENOMINATOR = "Denominator"
NUMERATORS = {"Covid_like": "covid19", "Flu1": "flu"}
"""Drop column -> the disease in the signal name."""
LAYOUT = DropLayout(counts=(DENOMINATOR, *NUMERATORS), ids=(DATE_COL, COUNTY_COL, HRR_NAME_COL, AGE_COL),
                    hrr_ids=True)


def _describe(parts: dict, wip: bool) -> dict:
    return dict(time_type="day", geo_types=GEOS, kind="ratio", smoothing=7, family=parts["disease"],
                wip=wip and parts["prefix"] != "",
                representative=parts["prefix"] == "" and parts["adj"] == "")


def catalogue(prefix: str | None = None) -> Catalogue:
    """The signals: ``smoothed_[adj_]{covid19,flu}_from_claims``, plain and under ``<prefix>_``.

    Examples
    --------
    >>> catalogue().names()[:4]
    ['smoothed_covid19_from_claims', 'smoothed_adj_covid19_from_claims', 'smoothed_flu_from_claims', 'smoothed_adj_flu_from_claims']
    >>> catalogue("foo_obfuscated").signal(prefix="foo_obfuscated_", adj="", disease="flu").name
    'foo_obfuscated_smoothed_flu_from_claims'
    """
    prefix = prefix or DEFAULT_PREFIX
    prefixes = ["", prefix_part(prefix)]
    return Catalogue.product("{prefix}smoothed_{adj}{disease}_from_claims",
                             {"prefix": prefixes, "disease": list(NUMERATORS.values()), "adj": ["", "adj_"]},
                             lambda parts: _describe(parts, prefix.startswith("wip_")))


def signal_for(params: dict, *, disease: str, adjusted: bool):
    """The catalogue signal a run with ``params`` publishes (obfuscated when ``indicator.write_se``)."""
    indicator = params.get("indicator") or {}
    prefix = str(indicator.get("obfuscated_prefix") or DEFAULT_PREFIX)
    return catalogue(prefix).signal(prefix=prefix_part(prefix) if indicator.get("write_se") else "",
                                    disease=disease, adj="adj_" if adjusted else "")


CATALOGUE = catalogue()

PARAMS_DEFAULTS = params_defaults(SOURCE, CATALOGUE, {
    "base_url": None, "start_date": None, "end_date": None, "drop_date": None, "n_backfill_days": 70,
    "n_waiting_days": 3, "write_se": False, "geos": list(GEOS), "weekday": [True, False]})
