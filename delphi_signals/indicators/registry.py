"""Which indicators exist: every :class:`~.contract.Indicator` registered under the entry-point group
``delphi_signals.indicators``.

A package adds an indicator by declaring, in its own ``setup.py`` or ``pyproject.toml``::

    entry_points={"delphi_signals.indicators": ["my-source = my_package:INDICATOR"]}

The entry point's name is the source name; the object it points to is the package's ``Indicator``.

In a notebook or a script, :func:`register` adds an ``Indicator`` for the running Python process (the Luigi
tasks and command-line functions called in that process see it), beside the installed entry points.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from ..errors import InputError, UnknownNameError
from .contract import Indicator

GROUP = "delphi_signals.indicators"
_REGISTERED: dict[str, Indicator] = {}


def register(indicator: Indicator, *, replace: bool = True) -> Indicator:
    """Register ``indicator`` for this Python process, under its source name; return it.

    It shadows an installed indicator of the same source name (``replace=False`` refuses that instead).

    Examples
    --------
    >>> from delphi_signals.indicators.contract import Catalogue, Indicator
    >>> cat = Catalogue.product("toy_{s}", {"s": ["num"]}, lambda p: dict(time_type="day", geo_types=("state",),
    ...                         kind="count", family="toy", representative=True))
    >>> _ = register(Indicator("doctest-toy", __name__, cat, (("raw", "csv"),), run_module=print, pull=print))
    >>> "doctest-toy" in sources(), get_indicator("doctest-toy").signals.names()
    (True, ['toy_num'])
    >>> unregister("doctest-toy")
    """
    if not isinstance(indicator, Indicator):
        raise InputError(f"register() takes an Indicator, got {type(indicator).__name__}")
    if not replace and indicator.source in sources():
        raise InputError(f"source {indicator.source!r} is registered already")
    _REGISTERED[indicator.source] = indicator
    return indicator


def unregister(source: str) -> None:
    """Forget an indicator :func:`register` added (installed entry points stay)."""
    _REGISTERED.pop(source, None)


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
    return sorted(set(_entry_points()) | set(_REGISTERED))


def get_indicator(source: str) -> Indicator:
    """The indicator registered for ``source``; an unknown source names the known ones.

    Examples
    --------
    >>> get_indicator("jhu-csse").signals.names()[:2]
    ['confirmed_incidence_num', 'confirmed_cumulative_num']
    """
    if source in _REGISTERED:
        return _REGISTERED[source]
    eps = _entry_points()
    if source not in eps:
        raise UnknownNameError("source", source, sources())
    indicator = eps[source].load()
    if not isinstance(indicator, Indicator) or indicator.source != source:
        raise InputError(f"entry point {eps[source].value!r} of group {GROUP} must be an Indicator with "
                         f"source {source!r}")
    return indicator


def indicators() -> list[Indicator]:
    """Every registered indicator, by source name."""
    return [get_indicator(s) for s in sources()]
