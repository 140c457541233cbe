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
