"""Names and fixed facts of the NCHS mortality indicator (upstream ``nchs_mortality/constants.py``)."""

from ..contract import Catalogue

SOURCE = "nchs-mortality"
DEFAULT_BASE_URL = "https://data.cdc.gov/resource/r8kw-7aab.csv"
"""The SODA endpoint of the Socrata table "Provisional COVID-19 Death Counts by Week Ending Date and State"."""
CACHE_NAME = "nchs_weekly_deaths"
SODA_PAGE_SIZE = 50_000  # rows per SODA request ($limit); the table has ~20,000 rows today
SODA_TOKEN_ENV = "SODA_APP_TOKEN"  # optional app token (raises the SODA rate limit); or indicator.soda_app_token

# the table's columns, in order (the 2020 Socrata export); names NCHS used for them at other times
COLUMNS = ("data_as_of", "start_week", "end_week", "group", "state", "indicator", "covid_deaths", "total_deaths",
           "percent_of_expected_deaths", "pneumonia_deaths", "pneumonia_and_covid_19_deaths", "influenza_deaths",
           "pneumonia_influenza_or_covid_19_deaths", "footnote")
ALIASES = {"timestamp": "start_week", "start_date": "start_week", "end_date": "end_week",
           "covid_19_deaths": "covid_deaths", "pneumonia_and_covid_deaths": "pneumonia_and_covid_19_deaths"}
"""The rename table (upstream's ``standardize_columns``): a column name of some layout -> our name. Column
names are first normalised (lower case, runs of other characters -> ``_``), so the human headers of the
``rows.csv`` download ("Start Date", "COVID-19 Deaths") land on the SODA field names."""
OPTIONAL = ("footnote", "data_as_of", "indicator")
LATER_COLUMNS = ("year", "month", "mmwr_week", "week_ending_date")  # the current layout's extra columns
PERCENT = {"percent_of_expected_deaths": "deaths_percent_of_expected"}  # a ratio: one signal, no num/prop
NATION_ROW = "United States"  # the table's own national total (counts deaths in suppressed states; no PR)
WEEKLY_GROUP_KEY = "by week"  # group compared case-insensitively ("By week" in 2020, "By Week" today)

# count column -> signal stem (upstream SENSOR_NAME_MAP); each gets _num and _prop
METRICS = {
    "covid_deaths": "deaths_covid_incidence",
    "total_deaths": "deaths_allcause_incidence",
    "pneumonia_deaths": "deaths_pneumonia_notflu_incidence",
    "pneumonia_and_covid_19_deaths": "deaths_covid_and_pneumonia_notflu_incidence",
    "influenza_deaths": "deaths_flu_incidence",
    "pneumonia_influenza_or_covid_19_deaths": "deaths_pneumonia_or_flu_or_covid_incidence",
}
SENSORS = {"num": False, "prop": True}  # suffix -> per 100,000 people
GEOS = ("state", "nation")
INCIDENCE_BASE = 100_000
WEEKLY_GROUP = "By week"  # rows of other groups (e.g. "By Total") are not weeks
NOT_STATES = ("United States",)  # the table's own total: the nation signals, not a state
NEW_YORK, NEW_YORK_CITY = "New York", "New York City"  # NCHS reports NYC apart; we add it to NY


def _describe(parts: dict) -> dict:
    return dict(time_type="week", geo_types=GEOS, kind="rate" if SENSORS[parts["sensor"]] else "count",
                family=parts["stem"], representative=not SENSORS[parts["sensor"]])


CATALOGUE = Catalogue.product("{stem}_{sensor}", {"stem": METRICS.values(), "sensor": SENSORS}, _describe) + \
    Catalogue.product("{ratio}", {"ratio": PERCENT.values()},
                      lambda parts: dict(time_type="week", geo_types=GEOS, kind="ratio", family=parts["ratio"],
                                         representative=True))
"""The 13 weekly signals: count metric × {``_num``, ``_prop``}, and ``deaths_percent_of_expected`` as published."""


def signal_names():
    """The 13 exported signal names: count metric × {``_num``, ``_prop``}, and ``deaths_percent_of_expected``.

    Examples
    --------
    >>> names = signal_names()
    >>> len(names), names[:2], names[-1]
    (13, ['deaths_covid_incidence_num', 'deaths_covid_incidence_prop'], 'deaths_percent_of_expected')
    """
    return CATALOGUE.names()


RAW_INPUTS = ((CACHE_NAME, "csv"),)

PARAMS_DEFAULTS = {
    "indicator": {"base_url": DEFAULT_BASE_URL, "export_start_date": None, "export_end_date": None},
    "validation": {
        "common": {"data_source": SOURCE, "span_length": 28, "min_expected_lag": {"all": "1"},
                   "max_expected_lag": {"all": "28"}, "dry_run": False, "suppressed_errors": []},
        "static": {"minimum_sample_size": 0, "missing_se_allowed": True, "missing_sample_size_allowed": True},
        "dynamic": {"ref_window_size": 28},  # smoothed_signals: derived from the catalogue (Indicator.defaults)
    },
    "archive": {"backend": "filesystem"},
    "delivery": {"mode": "diff"},
    # Sir Complains-a-lot's limits for this source (upstream's keys); [nightly] staleness_config overrides
    "staleness": {"max_age": 16, "max_gap": 1, "gap_window": 21, "maintainers": []},
}
