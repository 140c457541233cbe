"""Names and fixed facts of the HHS hospital-admissions indicator (spec: indicators.md §8)."""

import datetime as dt

from ..contract import Catalogue

SOURCE = "hhs"
DEFAULT_BASE_URL = ("https://api.delphi.cmu.edu/epidata/covid_hosp_state_timeseries/"
                    "?states={states}&dates=20200101-{end}")
"""Epidata ``covid_hosp`` endpoint; ``{states}`` and ``{end}`` (YYYYMMDD) are filled by :func:`pull.source_url`."""
CACHE_NAME = "covid_hosp"
EPIDATA_ENDPOINT = "https://api.delphi.cmu.edu/epidata/covid_hosp_state_timeseries/"
FIRST_DAY = dt.date(2020, 1, 1)  # requests cover FIRST_DAY .. the issue date
CHUNK_DAYS = 31  # days per request: the API caps the rows of one answer
API_KEY_ENV = "DELPHI_EPIDATA_KEY"  # optional Epidata API key; or indicator.api_key

# base signal -> the previous_day_admission_* columns summed into it
SIGNAL_COLUMNS = {
    "confirmed_admissions_covid_1d": (
        "previous_day_admission_adult_covid_confirmed",
        "previous_day_admission_pediatric_covid_confirmed",
    ),
    "sum_confirmed_suspected_admissions_covid_1d": (
        "previous_day_admission_adult_covid_confirmed",
        "previous_day_admission_adult_covid_suspected",
        "previous_day_admission_pediatric_covid_confirmed",
        "previous_day_admission_pediatric_covid_suspected",
    ),
    "confirmed_admissions_influenza_1d": ("previous_day_admission_influenza_confirmed",),
}
ID_FIELDS = ("state", "date")
REQUIRED_FIELDS = ID_FIELDS + tuple(dict.fromkeys(c for cols in SIGNAL_COLUMNS.values() for c in cols))

GEOS = ("state", "hhs", "nation")
SENSORS = {"": False, "_prop": True}  # suffix -> per 100,000 people
SMOOTHERS = {"": None, "_7dav": 7}  # suffix -> trailing moving-average window (None: raw)
INCIDENCE_BASE = 100_000

# Massachusetts flu fix (covidcast-indicators #1360): ma flu rows without a value on Tuesdays after this
# day are dropped, not written as missing.
MA_FLU_FIX_AFTER = dt.date(2021, 8, 1)
MA_FLU_SIGNAL = "confirmed_admissions_influenza_1d"


def _describe(parts: dict) -> dict:
    window = SMOOTHERS[parts["smoother"]]
    return dict(time_type="day", geo_types=GEOS, kind="rate" if SENSORS[parts["sensor"]] else "count",
                smoothing=window, family=parts["base"],
                representative=not SENSORS[parts["sensor"]] and window is None)


CATALOGUE = Catalogue.product("{base}{sensor}{smoother}",
                              {"base": SIGNAL_COLUMNS, "sensor": SENSORS, "smoother": SMOOTHERS}, _describe)
"""The 12 signals: base × {count, ``_prop``} × {raw, ``_7dav``}."""


def signal_names():
    """The 12 exported signal names, in export order.

    Examples
    --------
    >>> names = signal_names()
    >>> len(names), names[:3]
    (12, ['confirmed_admissions_covid_1d', 'confirmed_admissions_covid_1d_7dav', 'confirmed_admissions_covid_1d_prop'])
    >>> "sum_confirmed_suspected_admissions_covid_1d_prop_7dav" in names
    True
    """
    return CATALOGUE.names()


RAW_INPUTS = ((CACHE_NAME, "json"),)

PARAMS_DEFAULTS = {
    "indicator": {"base_url": DEFAULT_BASE_URL, "export_start_date": None, "export_end_date": None},
    "validation": {
        "common": {"data_source": SOURCE, "span_length": 14, "min_expected_lag": {"all": "1"},
                   "max_expected_lag": {"all": "7"}, "dry_run": False, "suppressed_errors": []},
        "static": {"minimum_sample_size": 0, "missing_se_allowed": True, "missing_sample_size_allowed": True},
        "dynamic": {"ref_window_size": 7},  # smoothed_signals: derived from the catalogue (Indicator.defaults)
    },
    "archive": {"backend": "filesystem"},
    # upstream's hospital-admissions pipelines never used the differ: each issue delivers the whole export
    "delivery": {"mode": "full"},
    # Sir Complains-a-lot's limits for this source (upstream's keys); [nightly] staleness_config overrides
    "staleness": {"max_age": 8, "max_gap": 1, "gap_window": 7, "maintainers": []},
}
