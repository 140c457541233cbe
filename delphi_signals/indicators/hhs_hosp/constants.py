"""Names and fixed facts of the HHS hospital-admissions indicator (spec: indicators.md §8)."""

import datetime as dt

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


def signal_names():
    """The 12 exported signal names: base × {count, ``_prop``} × {raw, ``_7dav``}.

    Examples
    --------
    >>> names = signal_names()
    >>> len(names), names[:3]
    (12, ['confirmed_admissions_covid_1d', 'confirmed_admissions_covid_1d_7dav', 'confirmed_admissions_covid_1d_prop'])
    >>> "sum_confirmed_suspected_admissions_covid_1d_prop_7dav" in names
    True
    """
    return [f"{base}{sensor}{smoother}" for base in SIGNAL_COLUMNS for sensor in SENSORS for smoother in SMOOTHERS]
