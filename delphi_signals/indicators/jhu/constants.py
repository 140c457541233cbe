"""Names and fixed facts of the JHU CSSE indicator (spec: indicators.md §8)."""

from ...geo import county_split
from ..contract import Catalogue

SOURCE = "jhu-csse"
METRICS = ("confirmed", "deaths")
DEFAULT_BASE_URL = (
    "https://raw.githubusercontent.com/CSSEGISandData/COVID-19/master/csse_covid_19_data/"
    "csse_covid_19_time_series/time_series_covid19_{metric}_US.csv"
)
REPO_PATH = "csse_covid_19_data/csse_covid_19_time_series/time_series_covid19_{metric}_US.csv"
"""Where the files live in the CSSE git repository (``{metric}`` filled in)."""
DEFAULT_HISTORY = "https://api.github.com/repos/CSSEGISandData/COVID-19"
"""The commits API of the CSSE repository (``/commits?path=…&until=…``); a local clone's path works too."""
DEFAULT_HISTORY_RAW = "https://raw.githubusercontent.com/CSSEGISandData/COVID-19"
"""Raw files by commit: ``{DEFAULT_HISTORY_RAW}/{sha}/{REPO_PATH}``."""

# the non-date columns of the wide files, in order; the deaths file adds Population
ID_COLUMNS = ("UID", "iso2", "iso3", "code3", "FIPS", "Admin2", "Province_State", "Country_Region", "Lat", "Long_",
              "Combined_Key")
EXTRA_ID_COLUMNS = {"confirmed": (), "deaths": ("Population",)}
DATE_COLUMN = r"\d{1,2}/\d{1,2}/\d{2}"

GEO_RES = ("county", "state", "msa", "hrr", "hhs", "nation")

# sensor -> signal suffix; counts are aggregated, proportions computed after aggregation
SENSORS = {
    "new_counts": "incidence_num",
    "cumulative_counts": "cumulative_num",
    "incidence": "incidence_prop",
    "cumulative_prop": "cumulative_prop",
}
SMOOTHERS = {"": None, "7dav_": 7}  # signal prefix -> trailing moving-average window (None: raw)


def _describe(parts: dict) -> dict | None:
    window = SMOOTHERS[parts["smoother"]]
    cumulative = parts["sensor"].startswith("cumulative")
    if window and cumulative:  # no 7-day average of a running total
        return None
    return dict(time_type="day", geo_types=GEO_RES, kind="rate" if parts["sensor"].endswith("prop") else "count",
                cumulative=cumulative, smoothing=window, family=parts["metric"],
                representative=parts["sensor"] == "incidence_num" and window is None)


CATALOGUE = Catalogue.product("{metric}_{smoother}{sensor}",
                              {"smoother": SMOOTHERS, "metric": METRICS, "sensor": SENSORS.values()}, _describe)
"""The 12 signals: metric × sensor × smoother, without 7-day cumulative signals."""


def signal_names():
    """The 12 exported signal names, in export order.

    Examples
    --------
    >>> len(signal_names()), signal_names()[:2]
    (12, ['confirmed_incidence_num', 'confirmed_cumulative_num'])
    """
    return CATALOGUE.names()


RAW_INPUTS = tuple((f"time_series_covid19_{metric}_US", "csv") for metric in METRICS)
"""The raw files a pull writes: ``input/jhu-csse/<YYYYMMDD>_<name>.csv``."""

PARAMS_DEFAULTS = {
    "indicator": {"base_url": DEFAULT_BASE_URL, "export_start_date": None, "export_end_date": None},
    # upstream's params.json.template for jhu, except dry_run: our validator blocks delivery
    "validation": {
        "common": {"data_source": SOURCE, "span_length": 14, "min_expected_lag": {"all": "1"},
                   "max_expected_lag": {"all": "3"}, "dry_run": False,
                   "suppressed_errors": [{"check_name": "check_val_lt_0"}]},
        "static": {"minimum_sample_size": 0, "missing_se_allowed": True, "missing_sample_size_allowed": True},
        "dynamic": {"ref_window_size": 7},  # smoothed_signals: derived from the catalogue (Indicator.defaults)
    },
    "archive": {"backend": "filesystem"},
    "delivery": {"mode": "diff"},
    # Sir Complains-a-lot's limits for this source (upstream's keys); [nightly] staleness_config overrides
    "staleness": {"max_age": 2, "max_gap": 1, "gap_window": 7, "maintainers": []},
}

# UIDs whose counts are split over several counties (weights: population shares, as upstream)
UID_SPLITS = {
    84070002: county_split("Dukes and Nantucket", "ma"),
    84070003: county_split("Kansas City", "mo"),
}
UTAH_DISTRICTS = range(84070015, 84070021)  # Bear River … Weber-Morgan: Utah's megacounty
TERRITORY_UIDS = {16: "60000", 316: "66000", 580: "69000", 850: "78000", 630: "72000"}
# territories JHU reports as one row: their county row gets the territory's population (as upstream publishes
# county proportions for them); Puerto Rico has real municipios, so its 72000 stays a megacounty without people
TERRITORY_COUNTIES = {"60000": "as", "66000": "gu", "69000": "mp", "78000": "vi"}
CRUISE_SHIPS = {84088888: "Diamond Princess", 84099999: "Grand Princess"}
