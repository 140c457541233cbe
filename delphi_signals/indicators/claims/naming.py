"""Facts both claims indicators share: their levels, the megacounty rule and the obfuscated-prefix names."""

GEOS = ("county", "msa", "hrr", "state", "hhs", "nation")
"""Upstream's order: state, msa, hrr, county, hhs, nation (the files are the same in any order)."""
DEFAULT_PREFIX = "wip_XXXXX"
MEGACOUNTY_THRESHOLD, MEGACOUNTY_WINDOW = 100, 7
"""A county-day with at most 100 visits over the last 7 days is folded into its state's megacounty."""


def prefix_part(prefix: str) -> str:
    """The name part of an obfuscated prefix: ``wip_XXXXX`` → ``XXXXX_`` (the catalogue adds ``wip_`` itself and
    marks the signal work in progress), any other prefix ``p`` → ``p_``.

    >>> prefix_part("wip_XXXXX"), prefix_part("beta")
    ('XXXXX_', 'beta_')
    """
    return (prefix[4:] if prefix.startswith("wip_") else prefix) + "_"


def params_defaults(source: str, catalogue, indicator: dict) -> dict:
    """A claims indicator's ``params.json`` defaults: its own ``indicator`` section, then what both share
    (upstream's ``validation`` defaults, minimum sample size 5, the catalogue's smoothed signals; the whole export
    delivered every day, as upstream never ran the differ for them; Sir Complains-a-lot's limits, ``max_age`` 5 as
    upstream)."""
    return {
        "indicator": {**indicator, "obfuscated_prefix": DEFAULT_PREFIX, "parallel": False,
                      "ftp_credentials": {"host": "", "user": "", "pass": "", "port": 2222},
                      "export_start_date": None, "export_end_date": None},
        "validation": {
            "common": {"data_source": source, "span_length": 14, "min_expected_lag": {"all": "3"},
                       "max_expected_lag": {"all": "4"}, "dry_run": False, "suppressed_errors": []},
            "static": {"minimum_sample_size": 5, "missing_se_allowed": True, "missing_sample_size_allowed": True},
            "dynamic": {"ref_window_size": 7, "smoothed_signals": [s.name for s in catalogue if s.is_smoothed]},
        },
        "archive": {"backend": "filesystem"},
        "delivery": {"mode": "full"},
        "staleness": {"max_age": 5, "max_gap": 1, "gap_window": 7, "maintainers": []},  # upstream's limits
    }
