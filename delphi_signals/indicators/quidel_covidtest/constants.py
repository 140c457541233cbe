"""Names and fixed facts of the quidel indicator (upstream ``quidel_covidtest``).

The percentage of Quidel Sofia antigen tests that are positive, per region and day, from device-level test
records: ``covid_ag_raw_pct_positive`` (the day's tests) and ``covid_ag_smoothed_pct_positive`` (the last
7 days' tests, topped up from the parent state where a region has too few), for every test and for six age
groups, each with its standard error and its (fractional) sample size.
"""

import datetime as dt

from ..contract import Catalogue

SOURCE = "quidel"
CACHE_NAME = "tests"
RAW_INPUTS = ((CACHE_NAME, "csv"),)

MIN_OBS = 50
"""Fewest tests (after pooling) a published estimate rests on."""
POOL_DAYS = 7
"""Days pooled by the smoothed signal (the day and the 6 before)."""
END_FROM_RECEIVED_MINUS = 5
"""The export ends this many days before the day the newest tests were received."""
FIRST_EXPORT_DATE = dt.date(2020, 5, 26)
"""Nothing is exported before this day (upstream's floor)."""
MAX_STORAGE_LAG_DAYS = 90
"""A test stored more than this many days after its test date is dated by its storage date."""

GEOS = ("county", "msa", "hrr", "state", "hhs", "nation")
PARENT_GEOS = ("county", "msa", "hrr")
"""Levels whose smoothed signal borrows tests from a parent state (county also gets megacounties)."""

AGE_GROUPS = ("total", "age_0_4", "age_5_17", "age_18_49", "age_50_64", "age_65plus", "age_0_17")
"""Upstream's order; ``total`` has no suffix in signal names, ``age_0_17`` is ``age_0_4`` + ``age_5_17``."""
AGE_BOUNDS = (("age_0_4", 0.0, 5.0), ("age_5_17", 5.0, 18.0), ("age_18_49", 18.0, 50.0),
              ("age_50_64", 50.0, 65.0), ("age_65plus", 65.0, float("inf")))
"""The five disjoint age bands ``[low, high)`` a test's age falls in."""

SMOOTHERS = ("raw", "smoothed")

REQUIRED_COLUMNS = ("SofiaSerNum", "TestDate", "Facility", "City", "State", "Zip", "PatientAge", "Result1",
                    "Result2", "OverallResult", "StorageDate")
"""The columns upstream selects from every object: an object missing one is refused."""
RESULTS = ("positive", "negative", "invalid")
"""Accepted ``OverallResult`` values (case and surrounding blanks ignored); blank is allowed too."""


def suffix(age_group: str) -> str:
    """The signal name's suffix of an age group: ``""`` for ``total``.

    Examples
    --------
    >>> suffix("total"), suffix("age_0_4")
    ('', '_age_0_4')
    """
    return "" if age_group == "total" else f"_{age_group}"


def _wip_set(wip_signal) -> set[str] | bool:
    """Upstream's ``wip_signal``: ``True`` (every signal), a list of base names, or ``""``/``[""]`` (none)."""
    if wip_signal is True:
        return True
    if not wip_signal:
        return set()
    if isinstance(wip_signal, str):
        return {wip_signal}
    return {str(s) for s in wip_signal if s}


def catalogue(wip_signal=None) -> Catalogue:
    """The signals: raw and smoothed, for all tests and each age group; ``wip_`` where ``wip_signal`` asks
    (upstream's ``add_prefix`` on the base names ``covid_ag_{raw,smoothed}_pct_positive``, the age suffix after).

    Examples
    --------
    >>> names = catalogue().names()
    >>> len(names), names[:2]
    (14, ['covid_ag_raw_pct_positive', 'covid_ag_smoothed_pct_positive'])
    >>> catalogue(["covid_ag_raw_pct_positive"]).signal(smoother="raw", age="_age_0_4").name
    'wip_covid_ag_raw_pct_positive_age_0_4'
    >>> [s.name for s in catalogue().representatives()]      # one per family: raw, and smoothed
    ['covid_ag_raw_pct_positive', 'covid_ag_smoothed_pct_positive']
    """
    wip = _wip_set(wip_signal)

    def describe(parts):
        base = f"covid_ag_{parts['smoother']}_pct_positive"
        return dict(time_type="day", geo_types=GEOS, kind="ratio",
                    smoothing=POOL_DAYS if parts["smoother"] == "smoothed" else None,
                    wip=wip is True or base in wip, family=base, representative=parts["age"] == "")

    return Catalogue.product("covid_ag_{smoother}_pct_positive{age}",
                             {"age": [suffix(a) for a in AGE_GROUPS], "smoother": list(SMOOTHERS)}, describe)


def signal_for(cat: Catalogue, *, smoothed: bool, age_group: str):
    """The catalogue's signal for a smoother and an age group."""
    return cat.signal(smoother="smoothed" if smoothed else "raw", age=suffix(age_group))


CATALOGUE = catalogue()

PARAMS_DEFAULTS = {
    "indicator": {
        # s3://<bucket>/ (or a local folder laid out as the bucket, or a local drop file/folder)
        "base_url": None,
        "bucket_name": "",
        "aws_credentials": {"aws_access_key_id": "", "aws_secret_access_key": ""},
        "endpoint_url": None,
        "pull_start_date": "2020-05-26",
        "pull_end_date": "",
        "export_start_date": "2020-05-26",
        "export_end_date": "",
        "export_day_range": 40,
        "wip_signal": [""],
        # upstream's two bugs in the top-up from the parent state (see the package docstring); off: fixed
        "reproduce_top_up_bugs": False,
    },
    "validation": {
        "common": {"data_source": SOURCE, "span_length": 14, "min_expected_lag": {"all": "5"},
                   "max_expected_lag": {"all": "5"}, "dry_run": False,
                   "suppressed_errors": [
                       {"check_name": "check_rapid_change_num_rows", "signal": "covid_ag_raw_pct_positive",
                        "geo_type": geo} for geo in ("hrr", "msa", "county")]},
        "static": {"minimum_sample_size": 50},
        # every smoothed signal, as the catalogue says (upstream listed only the all-ages one, from before the
        # age groups existed; the age-group signals are pooled over 7 days just the same)
        "dynamic": {"ref_window_size": 7, "smoothed_signals": [s.name for s in CATALOGUE if s.is_smoothed]},
    },
    "archive": {"backend": "filesystem"},
    "delivery": {"mode": "diff"},  # upstream ran the archive differ for quidel
    # Sir Complains-a-lot, as upstream: max_age 6, the age-group signals retired
    "staleness": {"max_age": 6, "max_gap": 1, "gap_window": 7, "maintainers": [],
                  "retired-signals": [s.name for s in CATALOGUE if not s.name.endswith("_pct_positive")]},
}
