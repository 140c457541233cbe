"""Which indicator package serves which source name."""

from __future__ import annotations

import importlib

from ..errors import InputError

INDICATORS = {"jhu-csse": "jhu"}
"""source name (as in the API and the export folder) → package under ``delphi_signals.indicators``"""


def indicator_module(source: str):
    """The ``run`` module (with ``run_module(params)``) of the indicator that serves ``source``."""
    if source not in INDICATORS:
        raise InputError(f"no indicator serves source {source!r}; known: {', '.join(sorted(INDICATORS))}")
    return importlib.import_module(f".{INDICATORS[source]}.run", __package__)
