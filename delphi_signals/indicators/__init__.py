"""Indicators: one package per source, each with upstream's layout.

``run.py`` ``run_module(params)``, ``pull.py`` ``pull_data(params)``, ``geo.py`` ``geo_map()``, ``constants.py``,
``data_tools.py``. ``params`` is the upstream ``params.json`` dict (``common``, ``indicator`` …).

:func:`register` adds an :class:`Indicator` for the running process (a notebook's, say); installed packages
register theirs through the entry-point group ``delphi_signals.indicators`` (:mod:`.registry`).
"""

from .contract import Catalogue, Indicator, Signal
from .registry import get_indicator, register, sources, unregister

__all__ = ["Catalogue", "Indicator", "Signal", "get_indicator", "register", "sources", "unregister"]
