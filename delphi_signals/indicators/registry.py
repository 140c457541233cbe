"""Which indicators exist: every :class:`~.contract.Indicator` registered under the entry-point group
``delphi_signals.indicators``.

A package adds an indicator by declaring, in its own ``setup.py`` or ``pyproject.toml``::

    entry_points={"delphi_signals.indicators": ["my-source = my_package:INDICATOR"]}

The entry point's name is the source name; the object it points to is the package's ``Indicator``.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from ..errors import InputError, UnknownNameError
from .contract import Indicator

GROUP = "delphi_signals.indicators"


def _entry_points() -> dict:
    found = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep)  # the first distribution on sys.path wins, as for imports
    return found


def sources() -> list[str]:
    """The registered source names, sorted.

    Examples
    --------
    >>> {"jhu-csse", "hhs", "nchs-mortality"} <= set(sources())
    True
    """
    return sorted(_entry_points())


def get_indicator(source: str) -> Indicator:
    """The indicator registered for ``source``; an unknown source names the known ones.

    Examples
    --------
    >>> get_indicator("jhu-csse").signals.names()[:2]
    ['confirmed_incidence_num', 'confirmed_cumulative_num']
    """
    eps = _entry_points()
    if source not in eps:
        raise UnknownNameError("source", source, sorted(eps))
    indicator = eps[source].load()
    if not isinstance(indicator, Indicator) or indicator.source != source:
        raise InputError(f"entry point {eps[source].value!r} of group {GROUP} must be an Indicator with "
                         f"source {source!r}")
    return indicator


def indicators() -> list[Indicator]:
    """Every registered indicator, by source name."""
    return [get_indicator(s) for s in sources()]
