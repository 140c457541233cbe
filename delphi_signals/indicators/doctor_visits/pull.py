"""Pull the day's outpatient claims drop (SFTP folder, local folder or file) into the input cache and read it."""

from __future__ import annotations

import pandas as pd

from ..claims.drops import DropName, check_local_drop, drop_date, fetch_drop
from ..claims.reader import read_drop
from .constants import CACHE_NAME, DROP_KIND, LAYOUT, SOURCE


def resolve_versions(params: dict):
    """The indicator contract's version check: the drop the issue takes, or exit code 20 when there is none or it
    is unusable (:func:`~delphi_signals.indicators.claims.drops.check_local_drop`)."""
    return [check_local_drop(params, DROP_KIND, source=SOURCE, layout=LAYOUT, cache_name=CACHE_NAME)]


def fetch_data(params: dict):
    """The indicator contract's pull: copy the issue's drop into the input cache (read later, by ``run_module``)."""
    return fetch_drop(params, DROP_KIND, source=SOURCE, cache_name=CACHE_NAME)[0]


def pull_data(params: dict) -> tuple[pd.DataFrame, DropName | None, object]:
    """Fetch the issue's drop into ``input/doctor-visits/<YYYYMMDD>_outpatient.csv.gz`` and read it strictly.

    Returns
    -------
    frame, drop, drop_day
        The drop's rows (:func:`~delphi_signals.indicators.claims.reader.read_drop`), its parsed name (None for
        a file whose name does not parse) and its drop date (``indicator.drop_date`` first).
    """
    path, drop = fetch_drop(params, DROP_KIND, source=SOURCE, cache_name=CACHE_NAME)
    frame = read_drop(path, LAYOUT, name=drop.name if drop else None)
    return frame, drop, drop_date(params, drop, source=SOURCE)
