"""The ``params`` dict every indicator's ``run_module(params)`` takes (upstream's ``params.json``).

Keys read by the indicators here::

    {
      "common": {
        "export_dir": "var/export/jhu-csse/20201130",   # where the day's CSVs are written
        "input_dir": "var/input",                          # the dated input cache root: <input_dir>/<source>/
        "issue_date": "2020-11-30",                        # the pull / issue day (default: today)
        "log_filename": null
      },
      "indicator": {
        "base_url": ".../time_series_covid19_{metric}_US.csv",   # any fsspec URL or local path
        "export_start_date": "2020-02-20",                        # or "latest" / null: from the first day
        "export_end_date": null,                                  # null: through the last day
        "force_pull": false
      }
    }
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..layout import DataRoot


def deep_merge(base: dict, override: dict) -> dict:
    """``base`` updated by ``override``, recursively for nested dicts (lists and scalars are replaced).

    Examples
    --------
    >>> deep_merge({"validation": {"static": {"a": 1, "b": 2}}}, {"validation": {"static": {"b": 3}}})
    {'validation': {'static': {'a': 1, 'b': 3}}}
    """
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def params_file(params_dir, source: str) -> Path:
    """``<params_dir>/<source>.json``: a source's overrides, in upstream's ``params.json`` layout."""
    return Path(params_dir) / f"{source}.json"


def indicator_params(defaults: dict, *, source: str, params_dir=None, common: dict | None = None,
                     indicator: dict | None = None) -> dict:
    """An indicator's params: its ``defaults``, deep-merged with ``params/<source>.json`` if it exists, then
    with the run's ``common`` and ``indicator`` values (``None`` values leave the default in place).

    A params file that is not valid JSON is an :class:`~delphi_signals.errors.InputError` naming the file
    and line.

    Examples
    --------
    >>> p = indicator_params({"validation": {"static": {"missing_se_allowed": True}}}, source="x",
    ...                      common={"issue_date": "2020-11-30"})
    >>> p["validation"]["static"]["missing_se_allowed"], p["common"]["issue_date"]
    (True, '2020-11-30')
    """
    params = copy.deepcopy(defaults)
    if params_dir is not None:
        path = params_file(params_dir, source)
        if path.exists():
            try:
                params = deep_merge(params, json.loads(path.read_text()))
            except json.JSONDecodeError as exc:
                raise InputError(f"not valid JSON: {exc.msg}", file=path, line=exc.lineno) from None
    run = {"common": common or {}, "indicator": indicator or {}}
    run = {section: {k: v for k, v in values.items() if v is not None} for section, values in run.items()}
    return deep_merge(params, run)


def _get(params: dict, section: str, key: str, default=None):
    return (params.get(section) or {}).get(key, default)


def data_root(params: dict) -> Path:
    """The pipeline data root: the parent of ``common.input_dir`` (which must be ``<data_root>/input``)."""
    input_dir = Path(_get(params, "common", "input_dir", None) or DataRoot().path / "input")
    if input_dir.name != "input":
        raise InputError(f"common.input_dir must be <data_root>/input, got {str(input_dir)!r}", field="input_dir")
    return input_dir.parent


def export_dir(params: dict) -> Path:
    """``common.export_dir`` (required)."""
    value = _get(params, "common", "export_dir")
    if not value:
        raise InputError("params lack common.export_dir", field="export_dir")
    return Path(value)


def issue_date(params: dict) -> dt.date:
    """``common.issue_date`` or today."""
    value = _get(params, "common", "issue_date")
    return pd.Timestamp(value).date() if value else dt.date.today()


def export_range(params: dict) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """``indicator.export_start_date`` / ``export_end_date`` as timestamps (``None``: open-ended).

    ``"latest"`` as a start date means the end date (or the issue date's eve when there is none).

    Examples
    --------
    >>> export_range({"indicator": {"export_start_date": "2020-03-01"}})
    (Timestamp('2020-03-01 00:00:00'), None)
    """
    start = _get(params, "indicator", "export_start_date")
    end = _get(params, "indicator", "export_end_date")
    end = pd.Timestamp(end) if end else None
    if start == "latest":
        start = end if end is not None else pd.Timestamp(issue_date(params)) - pd.Timedelta(days=1)
    return (pd.Timestamp(start) if start else None), end
