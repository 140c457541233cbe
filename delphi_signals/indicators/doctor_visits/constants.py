"""Names and fixed facts of the doctor-visits indicator (upstream ``doctor_visits``).

The percentage of outpatient doctor visits with a COVID-like illness, per region and day, from daily claims
drops ``…EDI_AGG_OUTPATIENT_DDMMYYYY_HHMM<TZ>.csv.gz``; smoothed (``smoothed_cli``) and also weekday-adjusted
(``smoothed_adj_cli``). With standard errors on (``indicator.se``) the values are Jeffreys estimates and the
signals are published under the obfuscated prefix (``wip_XXXXX_smoothed_cli``).
"""

import datetime as dt

from ..claims.naming import DEFAULT_PREFIX, GEOS, params_defaults, prefix_part
from ..claims.reader import COUNT_COLS, ID_COLS, DropLayout
from ..contract import Catalogue

SOURCE = "doctor-visits"
DROP_KIND = "OUTPATIENT"
CACHE_NAME = "outpatient"
RAW_INPUTS = ((CACHE_NAME, "csv.gz"),)
FIRST_DATA_DATE = dt.date(2020, 1, 1)
"""Upstream's first day of data: service dates before it are left out silently."""
NUMERATORS = ("Covid_like", "Flu_like", "Mixed", "Flu1")
DENOMINATOR = "Denominator"
LAYOUT = DropLayout(counts=COUNT_COLS, ids=ID_COLS)


def _describe(parts: dict, wip: bool) -> dict:
    return dict(time_type="day", geo_types=GEOS, kind="ratio", smoothing=7, family="cli",
                wip=wip and parts["prefix"] != "",
                representative=parts["prefix"] == "" and parts["adj"] == "")


def catalogue(prefix: str | None = None) -> Catalogue:
    """The signals: ``smoothed_cli`` and ``smoothed_adj_cli``, plain and under ``<prefix>_``.

    Examples
    --------
    >>> catalogue().names()
    ['smoothed_cli', 'smoothed_adj_cli', 'wip_XXXXX_smoothed_cli', 'wip_XXXXX_smoothed_adj_cli']
    >>> catalogue("wip_abc").signal(prefix="abc_", adj="adj_").name
    'wip_abc_smoothed_adj_cli'
    """
    prefix = prefix or DEFAULT_PREFIX
    prefixes = ["", prefix_part(prefix)]
    return Catalogue.product("{prefix}smoothed_{adj}cli", {"prefix": prefixes, "adj": ["", "adj_"]},
                             lambda parts: _describe(parts, prefix.startswith("wip_")))


def signal_for(params: dict, *, adjusted: bool):
    """The catalogue signal a run with ``params`` publishes (obfuscated when ``indicator.se``)."""
    indicator = params.get("indicator") or {}
    prefix = str(indicator.get("obfuscated_prefix") or DEFAULT_PREFIX)
    cat = catalogue(prefix)
    return cat.signal(prefix=prefix_part(prefix) if indicator.get("se") else "", adj="adj_" if adjusted else "")


CATALOGUE = catalogue()

PARAMS_DEFAULTS = params_defaults(SOURCE, CATALOGUE, {
    "base_url": None, "drop_date": "", "n_backfill_days": 70, "n_waiting_days": 3, "weekday": [True, False],
    "se": False})
