"""Pull the JHU CSSE county time series into the dated input cache and read them.

Issue D uses the files as committed in the CSSE git history before D began (UTC): a version holding data
through day D-1 (:func:`resolve_version`). A local path or ``file://`` template is read as is (any issue).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import PurePosixPath

import numpy as np

from ...cube import new_cube
from ...geo import state_table
from ...layout import DEFAULT_DATA_ROOT
from ...log import get_logger
from ...sources import fetch
from ...sources.cache import parse_day
from ...sources.versions import (
    SourceVersion,
    current_version,
    fetch_commit,
    is_local,
    open_history,
    record_fetch,
    resolve_commit,
)
from .. import params as P
from .constants import DEFAULT_BASE_URL, DEFAULT_HISTORY, DEFAULT_HISTORY_RAW, METRICS, REPO_PATH, SOURCE
from .data_tools import county_cumulative, read_wide_csv, unmapped_uids

log = get_logger(__name__, source=SOURCE)


@lru_cache(maxsize=1)
def state_codes() -> dict[str, str]:
    """State (and territory) names as JHU writes them in ``Province_State`` → 2-digit FIPS state code."""
    states = state_table()
    return dict(zip(states["state_name"], states["state_code"]))


def pull_data(params: dict) -> None:
    """The contract's ``pull(params)``: fetch (and check) both metrics' raw files of one issue, as known then,
    into the dated input cache."""
    for metric in METRICS:
        pull_metric(metric, **pull_options(params))


def pull_options(params: dict) -> dict:
    """The keyword arguments of :func:`pull_metric` from a ``params`` dict.

    ``indicator.base_url`` (template with ``{metric}``), ``force_pull``, ``history`` (a commits API base or a
    local git clone; default the CSSE repository's API when ``base_url`` is the default), ``history_raw``,
    ``history_path`` (template with ``{metric}``), ``allow_current``; ``common.issue_date`` and the data root.

    Examples
    --------
    >>> pull_options({"common": {"issue_date": "2020-09-10"}, "indicator": {"history": "/repo"}})["history"]
    '/repo'
    """
    indicator = params.get("indicator") or {}
    base_url = indicator.get("base_url") or DEFAULT_BASE_URL
    default_history = DEFAULT_HISTORY if base_url == DEFAULT_BASE_URL else None
    return {"base_url": base_url, "data_root": P.data_root(params), "issue_date": P.issue_date(params),
            "force": bool(indicator.get("force_pull", False)),
            "history": indicator.get("history") or default_history,
            "history_raw": indicator.get("history_raw") or DEFAULT_HISTORY_RAW,
            "history_path": indicator.get("history_path") or REPO_PATH,
            "allow_current": bool(indicator.get("allow_current", False))}


def resolve_version(metric: str, *, base_url: str = DEFAULT_BASE_URL, issue_date=None, history=None,
                    history_raw: str = DEFAULT_HISTORY_RAW, history_path: str = REPO_PATH,
                    allow_current: bool = False):
    """What issue ``issue_date`` of ``metric`` fetches, and from where.

    A local ``base_url`` (path or ``file://``): that file, for any issue. With a ``history`` (commits API base
    URL, or a local git clone, see :func:`~delphi_signals.sources.versions.open_history`): the newest commit of
    ``history_path`` before the issue date began. Otherwise ``base_url`` serves only current data: refused for a
    past issue unless ``allow_current``.

    Returns
    -------
    (SourceVersion, history or None)

    Raises
    ------
    SourceVersionError
        No commit of the file before the issue date, or a past issue of a source without history.
    """
    day = parse_day(issue_date)
    url = base_url.format(metric=metric)
    if is_local(url):
        return SourceVersion(SOURCE, day, "local", None, url), None
    if history:
        repo = open_history(history, history_raw)
        return resolve_commit(repo, history_path.format(metric=metric), day, source=SOURCE), repo
    return current_version(SOURCE, day, url, allow_current=allow_current), None


def resolve_versions(params: dict) -> list[SourceVersion]:
    """The indicator contract's version check: the version of each metric's file for ``params``, resolved
    without fetching a data file (a commits listing at most).

    Raises
    ------
    SourceVersionError
        As :func:`resolve_version`.
    """
    options = {k: v for k, v in pull_options(params).items() if k not in ("data_root", "force")}
    return [resolve_version(metric, **options)[0] for metric in METRICS]


def pull_metric(metric: str, *, base_url: str = DEFAULT_BASE_URL, data_root=DEFAULT_DATA_ROOT, issue_date=None,
              force: bool = False, history=None, history_raw: str = DEFAULT_HISTORY_RAW,
              history_path: str = REPO_PATH, allow_current: bool = False):
    """Fetch ``time_series_covid19_{metric}_US.csv`` as known on ``issue_date`` (cached per issue day, with a
    ``.version.json`` sidecar) and return its county cube.

    Parameters
    ----------
    metric : {"confirmed", "deaths"}
    base_url : str
        A template with ``{metric}``: any fsspec URL or a local path.
    data_root : path
        The pipeline data root; the raw file lands in ``<data_root>/input/jhu-csse/<YYYYMMDD>_<file>.csv``.
    issue_date : date, optional
        The day the pull is for (default today).
    force : bool
        Fetch again even if that day's file is in the cache.
    history, history_raw, history_path, allow_current
        Where past versions come from; see :func:`resolve_version` (:func:`pull_options` reads them from
        ``params``).

    Returns
    -------
    xarray.Dataset
        Cumulative counts over counties (incl. the states' megacounties ``SS000``), signal
        ``{metric}_cumulative_num``; ``attrs["unmapped_uids"]`` lists the UIDs dropped because no rule maps
        them, ``attrs["input_version"]`` the version fetched (``local``, ``commit``, ``current``).
    """
    version, repo = resolve_version(metric, base_url=base_url, issue_date=issue_date, history=history,
                                    history_raw=history_raw, history_path=history_path, allow_current=allow_current)
    if version.kind == "commit":
        path = history_path.format(metric=metric)
        name = PurePosixPath(path).name.rsplit(".", 1)[0]
        result = fetch_commit(repo, path, version, data_root=data_root, name=name, ext="csv", force=force)
    else:
        result = record_fetch(fetch(version.url, source=SOURCE, data_root=data_root, day=version.issue_date,
                                    force=force), version)
    series = read_wide_csv(result.path, metric)
    codes = state_codes()
    counties, cumulative = county_cumulative(series, codes)
    cube = new_cube(counties, series.dates, cumulative, source=SOURCE, signal=f"{metric}_cumulative_num",
                    geo_type="county", attrs={"input_file": str(result.path), "input_sha256": result.sha256,
                                              "input_version": version.value or version.kind,
                                              "unmapped_uids": unmapped_uids(series, codes)})
    assert np.isfinite(cumulative).all()  # read_wide_csv rejects anything else
    return cube
