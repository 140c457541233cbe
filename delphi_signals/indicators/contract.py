"""The indicator contract: what an indicator package declares once, as data plus functions.

An indicator package (``delphi_signals/indicators/<name>/`` or any installed package) exposes one
:class:`Indicator` object and registers it under the entry-point group ``delphi_signals.indicators``
(see :mod:`.registry`). Everything else — the Luigi sections, the command line's source choices, the demo
files, the validator's and differ's settings (its smoothed signals), Sir Complains-a-lot's limits, the nightly
coverage's representative signals — is derived from that object.

A signal's name is never typed by hand: a :class:`Catalogue` formats every name once from a template and its
parts, and the build code asks the catalogue for a signal by its parts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from ..errors import UnknownNameError

TIME_TYPES = ("day", "week")
KINDS = ("count", "rate", "ratio")
"""``count``: a sum of events (aggregated by summing); ``rate``: per 100,000 people (computed after
aggregation); ``ratio``: a ratio the source publishes (never aggregated)."""


def signal_name(template: str, parts: Mapping[str, str], *, wip: bool = False) -> str:
    """The one place a signal name is formatted: ``template`` filled with ``parts``, ``wip_`` prefixed if asked.

    Examples
    --------
    >>> signal_name("{metric}_{smoother}{sensor}", {"metric": "deaths", "smoother": "7dav_", "sensor": "incidence_num"})
    'deaths_7dav_incidence_num'
    >>> signal_name("{base}", {"base": "new_test"}, wip=True)
    'wip_new_test'
    """
    name = template.format(**parts)
    return f"wip_{name}" if wip else name


@dataclass(frozen=True)
class Signal:
    """One published signal of an indicator: its name and the facts other stages read.

    Attributes
    ----------
    name : str
        The published name (with its ``wip_`` prefix if any).
    time_type : {"day", "week"}
    geo_types : tuple of str
        The levels it is exported at.
    kind : {"count", "rate", "ratio"}
    cumulative : bool
        A running total (the validator's average-change check skips these).
    smoothing : int or None
        Trailing window of the moving average, in time units (``None``: raw).
    active : bool
        Still published; a retired signal stays in the catalogue so old data keeps its meaning.
    wip : bool
        Work in progress (``wip_`` prefix).
    family : str
        The time-series family (e.g. all ``confirmed_*`` signals of JHU).
    representative : bool
        The family's representative signal, which the nightly coverage report follows.
    parts : tuple of (str, str)
        The template parts the name was formatted from.
    """

    name: str
    time_type: str
    geo_types: tuple[str, ...]
    kind: str
    cumulative: bool = False
    smoothing: int | None = None
    active: bool = True
    wip: bool = False
    family: str = ""
    representative: bool = False
    parts: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        if self.time_type not in TIME_TYPES:
            raise UnknownNameError("time type", self.time_type, TIME_TYPES)
        if self.kind not in KINDS:
            raise UnknownNameError("signal kind", self.kind, KINDS)

    @property
    def is_smoothed(self) -> bool:
        return self.smoothing is not None


class Catalogue(tuple):
    """The signals of one indicator, in export order, with lookups by name and by parts.

    Examples
    --------
    >>> cat = Catalogue.product(
    ...     "{metric}_{sensor}", {"metric": ["cases", "deaths"], "sensor": ["num", "prop"]},
    ...     lambda p: dict(time_type="day", geo_types=("state",), kind="rate" if p["sensor"] == "prop" else "count",
    ...                    family=p["metric"], representative=p["sensor"] == "num"))
    >>> cat.names()
    ['cases_num', 'cases_prop', 'deaths_num', 'deaths_prop']
    >>> cat.signal(metric="deaths", sensor="prop").kind
    'rate'
    >>> cat["cases_num"].representative
    True
    """

    @classmethod
    def product(cls, template: str, axes: Mapping[str, Iterable[str]],
                describe: Callable[[dict], dict | None], *, wip: bool = False) -> "Catalogue":
        """Every combination of the ``axes`` values (first axis outermost), described by ``describe(parts)``.

        ``describe`` returns the :class:`Signal` fields other than ``name`` and ``parts``, or ``None`` to leave
        that combination out.
        """
        keys = list(axes)
        signals = []
        for values in itertools.product(*(list(axes[k]) for k in keys)):
            parts = dict(zip(keys, values))
            facts = describe(parts)
            if facts is None:
                continue
            is_wip = facts.pop("wip", wip)
            signals.append(Signal(name=signal_name(template, parts, wip=is_wip), wip=is_wip,
                                  parts=tuple(parts.items()), **facts))
        return cls(signals)

    def __add__(self, other) -> "Catalogue":
        return Catalogue(tuple(self) + tuple(other))

    def names(self, *, active_only: bool = True) -> list[str]:
        """The signal names, in export order."""
        return [s.name for s in self if s.active or not active_only]

    def __getitem__(self, key):
        if isinstance(key, str):
            for s in self:
                if s.name == key:
                    return s
            raise UnknownNameError("signal", key, self.names(active_only=False))
        return tuple.__getitem__(self, key)

    def __contains__(self, key) -> bool:
        if isinstance(key, str):
            return any(s.name == key for s in self)
        return tuple.__contains__(self, key)

    def signal(self, **parts) -> Signal:
        """The signal formatted from exactly these parts."""
        wanted = {k: str(v) for k, v in parts.items()}
        for s in self:
            if dict(s.parts) == wanted:
                return s
        raise UnknownNameError("signal parts", wanted, [dict(s.parts) for s in self])

    def representatives(self) -> list[Signal]:
        """The representative signal of each family (active signals only)."""
        return [s for s in self if s.representative and s.active]


@dataclass(frozen=True)
class Indicator:
    """An indicator, declared once.

    Attributes
    ----------
    source : str
        The data source name as published (API ``data_source``, export folder, Luigi section), e.g. ``jhu-csse``.
    package : str
        The Python package holding ``run.py`` etc.
    signals : Catalogue
    raw_inputs : tuple of (name, ext)
        The raw files a pull writes to ``input/<source>/<YYYYMMDD>_<name>.<ext>``.
    run_module : callable
        ``run_module(params) -> list[Path]``: pull (from the cache), build and export one issue.
    pull : callable
        ``pull(params) -> None``: fetch the raw inputs of one issue into the dated cache.
    params_defaults : dict
        Upstream's ``params.json`` sections this indicator starts from: ``indicator`` (its ``base_url`` is
        where the data comes from unless ``luigi.cfg`` says otherwise), ``validation``, ``archive``,
        ``delivery``, and ``staleness`` (Sir Complains-a-lot's limits for this source, upstream's keys:
        ``max_age``, ``max_gap``, ``gap_window``, ``maintainers``, ``retired-signals``). Deep-merged with
        ``params/<source>.json`` when one exists. :attr:`defaults` fills in what the catalogue implies.
    resolve_versions : callable or None
        ``resolve_versions(params) -> list[SourceVersion]``: how the source reproduces the issue in ``params``
        (a commit, an ``as_of``, a local file, or "current"), resolved without fetching data; raises
        :class:`~delphi_signals.sources.errors.SourceVersionError` when it cannot. ``None``: a local
        ``base_url`` serves any issue, anything else only today's (a past issue is refused unless
        ``indicator.allow_current``; see :meth:`versions`).
    demo : callable or None
        ``demo(folder, issue_date, seed=...)`` writes the offline demo's raw files of one issue.
    demo_base_url : str
        The ``base_url`` the demo files answer to, relative to the demo folder.
    description : str
    """

    source: str
    package: str
    signals: Catalogue
    raw_inputs: tuple[tuple[str, str], ...]
    run_module: Callable
    pull: Callable
    params_defaults: dict = field(default_factory=dict)
    resolve_versions: Callable | None = None
    demo: Callable | None = None
    demo_base_url: str = ""
    description: str = ""

    @property
    def defaults(self) -> dict:
        """:attr:`params_defaults` completed from the catalogue (a new dict each time).

        * ``validation.dynamic.smoothed_signals``: the catalogue's smoothed signals, unless given;
        * ``staleness``: ``max_age`` 7 days for an indicator with daily signals, 21 for a weekly one, unless
          given, then upstream's defaults for the other keys (see :mod:`delphi_signals.analytics.staleness`).

        Examples
        --------
        >>> cat = Catalogue.product("x_{s}", {"s": ["num", "7dav_num"]}, lambda p: dict(
        ...     time_type="day", geo_types=("state",), kind="count", smoothing=7 if "7dav" in p["s"] else None))
        >>> d = Indicator("x", "x", cat, (("raw", "csv"),), run_module=print, pull=print).defaults
        >>> d["validation"]["dynamic"]["smoothed_signals"], d["staleness"]["max_age"]
        (['x_7dav_num'], 7)
        """
        from .params import deep_merge

        derived = {
            "validation": {"dynamic": {"smoothed_signals": [s.name for s in self.signals if s.is_smoothed]}},
            "staleness": {"max_age": 7 if "day" in self.time_types else 21},
        }
        return deep_merge(derived, self.params_defaults)

    def versions(self, params: dict) -> list:
        """What a pull of the issue in ``params`` fetches: :attr:`resolve_versions`, else the default policy (a
        local ``indicator.base_url`` serves any issue; anything else only today's, unless
        ``indicator.allow_current``). Raises :class:`~delphi_signals.sources.errors.SourceVersionError`."""
        if self.resolve_versions is not None:
            return self.resolve_versions(params)
        from ..sources.versions import current_version
        from .params import issue_date

        indicator = params.get("indicator") or {}
        return [current_version(self.source, issue_date(params), str(indicator.get("base_url") or ""),
                                allow_current=bool(indicator.get("allow_current", False)))]

    @property
    def geo_types(self) -> tuple[str, ...]:
        """Every level any active signal is exported at, in first-seen order."""
        return tuple(dict.fromkeys(g for s in self.signals if s.active for g in s.geo_types))

    @property
    def time_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.time_type for s in self.signals if s.active))
