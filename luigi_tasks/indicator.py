"""The indicator stage: ``Pull(source, date)`` fetches raw files, ``Export(source, date)`` writes the CSVs.

Targets (see ARCHITECTURE.md, "Pipeline stages"): the raw files ``input/<source>/<YYYYMMDD>_<name>.<ext>``,
and ``export/<source>/<YYYYMMDD>/_SUCCESS``, a JSON manifest written last. The export is built in a staging
sibling and swapped into place in one step (:func:`delphi_signals.atomic.swap_dir`), so a crash at any
instant leaves the old export or the new one, never half of either, and never neither.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import luigi

from delphi_signals import atomic
from delphi_signals.errors import InputError
from delphi_signals.indicators.params import indicator_params
from delphi_signals.indicators.registry import get_indicator
from delphi_signals.io import parse_filename
from delphi_signals.io.archive import export_window
from delphi_signals.log import get_logger
from delphi_signals.sources import cache_path

from .config import DelphiSignals, source_config
from .measure import peak_memory_mb


class NotConfiguredError(InputError):
    """A source that can run nowhere: no ``base_url`` anywhere and no offline demo."""


def not_configured_hint(source: str) -> str:
    """What an operator reads about a source that cannot run: ``not configured: set base_url in [<source>]``."""
    return f"not configured: set base_url in [{source}]"


def configured_base_url(source: str) -> str | None:
    """Where ``source``'s raw data comes from: ``base_url`` in its ``luigi.cfg`` section, else in
    ``<params_dir>/<source>.json`` or the indicator's ``params_defaults`` (``indicator.base_url``), else
    ``"demo"`` when the indicator has an offline demo; ``None`` when it is configured nowhere.

    ``"demo"`` for an indicator without a demo counts as not configured.
    """
    indicator = get_indicator(source)
    url = source_config(source).base_url
    if not url:
        params = indicator_params(indicator.defaults, source=source, params_dir=DelphiSignals().params_dir)
        url = (params.get("indicator") or {}).get("base_url") or ("demo" if indicator.demo is not None else None)
    if url == "demo" and indicator.demo is None:
        return None
    return url


def is_configured(source: str) -> bool:
    """True when :func:`configured_base_url` finds where ``source``'s data comes from."""
    return configured_base_url(source) is not None


def base_url(source: str, date) -> str:
    """The configured URL template (:func:`configured_base_url`), or the offline demo's files for ``date``
    (written first) when it is ``demo``; :class:`NotConfiguredError` when the source can run nowhere.

    The demo files of a day live in ``<data_root>/demo/<source>/<YYYYMMDD>/``, named as the source's raw inputs,
    and are written only if one is missing.
    """
    url = configured_base_url(source)
    if url is None:
        raise NotConfiguredError(f"{source} is {not_configured_hint(source)} of luigi.cfg (or indicator.base_url "
                                 f"in its params); it has no offline demo")
    if url != "demo":
        return url
    indicator = get_indicator(source)
    folder = DelphiSignals().layout().demo(source, date)
    if not all((folder / f"{raw}.{ext}").exists() for raw, ext in indicator.raw_inputs):
        indicator.demo(folder, date, seed=DelphiSignals().demo_seed)
    return str(folder / indicator.demo_base_url)


def params_for(source: str, date, export_dir: Path | None = None) -> dict:
    """The ``params`` dict of one issue: the indicator's defaults, ``params/<source>.json``, then ``luigi.cfg``."""
    config, settings = source_config(source), DelphiSignals()
    common = {"input_dir": str(settings.layout().path / "input"), "issue_date": date.isoformat(),
              "export_dir": None if export_dir is None else str(export_dir)}
    indicator = {"base_url": base_url(source, date), "export_start_date": config.export_start_date,
                 "export_end_date": config.export_end_date, "allow_current": config.allow_current or None}
    return indicator_params(get_indicator(source).defaults, source=source, params_dir=settings.params_dir,
                            common=common, indicator=indicator)


def check_reproducible(source: str, date) -> list:
    """The versions a pull of ``date`` would fetch; :class:`SourceVersionError` if the source cannot give it."""
    return get_indicator(source).versions(params_for(source, date))


class SourceTask(luigi.Task):
    """A task about one source and one issue date; an unknown source fails at construction, naming the known."""

    source = luigi.Parameter(description="source name, e.g. jhu-csse")
    date = luigi.DateParameter(description="issue date")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        get_indicator(self.source)


class Pull(SourceTask):
    """Fetch the source's raw files for one issue date into the dated input cache."""

    def output(self):
        root = DelphiSignals().root()
        return {name: luigi.LocalTarget(cache_path(root, self.source, self.date, name, ext))
                for name, ext in get_indicator(self.source).raw_inputs}

    def run(self):
        self.set_status_message("fetching")
        params = params_for(self.source, self.date)
        indicator = get_indicator(self.source)
        if indicator.resolve_versions is None:  # the default policy: a past issue of current data is refused
            indicator.versions(params)
        indicator.pull(params)


def manifest(source: str, date, paths: list[Path], started: float) -> dict:
    """The ``_SUCCESS`` manifest of an export: what was written, its window, and what it cost.

    ``first_time_value``/``last_time_value`` are the days (``YYYYMMDD``) the run was meant to export: the
    configured export window, else the span of the files. A published file outside them is simply not
    exported today; one inside them that is gone was deleted (the archive differ reads these).
    """
    names = [parse_filename(p) for p in paths]
    config = source_config(source)
    window = export_window([p.name for p in paths], config.export_start_date, config.export_end_date)
    return {
        "source": source, "issue_date": date.isoformat(), "files": sorted(p.name for p in paths),
        "file_count": len(paths), "bytes": sum(p.stat().st_size for p in paths),
        "signals": sorted({n.signal for n in names}), "geo_types": sorted({n.geo_type for n in names}),
        "first_time_value": window and window[0], "last_time_value": window and window[1],
        "elapsed_seconds": round(time.perf_counter() - started, 3), "peak_memory_mb": peak_memory_mb(),
    }


class Export(SourceTask):
    """Run the source's indicator for one issue date and export its CSVs."""

    def requires(self):
        return Pull(source=self.source, date=self.date)

    def folder(self) -> Path:
        return DelphiSignals().layout().export(self.source, self.date)

    def output(self):
        return luigi.LocalTarget(self.folder() / "_SUCCESS")

    def run(self):
        started = time.perf_counter()
        final = self.folder()
        atomic.remove_stale(final)
        staging = atomic.staging_dir(final)
        self.set_status_message("running indicator")
        paths = get_indicator(self.source).run_module(params_for(self.source, self.date, staging))
        summary = manifest(self.source, self.date, paths, started)
        atomic.sync_filesystem(staging)  # the CSVs (written without fsync) on disk before the manifest vouches
        atomic.write_text(staging / "_SUCCESS", json.dumps(summary, indent=1))
        atomic.swap_dir(staging, final)
        get_logger(__name__, source=self.source).info(
            "export finished", issue=self.date.isoformat(), file_count=summary["file_count"],
            elapsed_seconds=summary["elapsed_seconds"], export_dir=str(final))
