"""Which indicator package serves which source name, and the raw inputs each one pulls."""

from __future__ import annotations

import importlib

from ..errors import InputError

INDICATORS = {"jhu-csse": "jhu", "hhs": "hhs_hosp", "nchs-mortality": "nchs_mortality"}
"""source name (as in the API and the export folder) → package under ``delphi_signals.indicators``"""

RAW_INPUTS = {
    "jhu-csse": [("time_series_covid19_confirmed_US", "csv"), ("time_series_covid19_deaths_US", "csv")],
    "hhs": [("covid_hosp", "json")],
    "nchs-mortality": [("nchs_weekly_deaths", "csv")],
}
"""source → the ``(name, ext)`` of each raw file its pull writes to ``input/<source>/<YYYYMMDD>_<name>.<ext>``"""


def _package(source: str) -> str:
    if source not in INDICATORS:
        raise InputError(f"no indicator serves source {source!r}; known: {', '.join(sorted(INDICATORS))}")
    return f"{__package__}.{INDICATORS[source]}"


def indicator_module(source: str):
    """The ``run`` module (with ``run_module(params)``) of the indicator that serves ``source``."""
    return importlib.import_module(f"{_package(source)}.run")


def pull_inputs(source: str, params: dict) -> None:
    """Fetch (and check) the raw inputs of ``source`` for ``params`` into the dated input cache."""
    pull = importlib.import_module(f"{_package(source)}.pull")
    if source == "jhu-csse":
        from .jhu.constants import METRICS

        for metric in METRICS:
            pull.pull_data(metric, **pull.pull_options(params))
    else:
        pull.pull_data(params)
