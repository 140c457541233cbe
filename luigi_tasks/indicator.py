"""The indicator stage: ``Pull(source, date)`` fetches raw files, ``Export(source, date)`` writes the CSVs.

Targets (see ARCHITECTURE.md, "Pipeline stages"): the raw files ``input/<source>/<YYYYMMDD>_<name>.<ext>``,
and ``export/<source>/<YYYYMMDD>/_SUCCESS``, a JSON manifest written last. The export is built in a temporary
sibling directory and renamed into place, so a crash leaves the old state or the new one, never half.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import time
from pathlib import Path

import luigi

from delphi_signals.io.archive import export_window
from delphi_signals.indicators.registry import RAW_INPUTS, indicator_module, pull_inputs
from delphi_signals.log import get_logger
from delphi_signals.sources import cache_path
from delphi_signals.sources.demo import (
    HHS_FILE,
    NCHS_FILE,
    write_hhs,
    write_jhu,
    write_nchs,
)

from .config import DelphiSignals, source_config

DEMO_FILES = {
    "jhu-csse": (write_jhu, "time_series_covid19_{metric}_US.csv"),
    "hhs": (write_hhs, HHS_FILE),
    "nchs-mortality": (write_nchs, NCHS_FILE),
}
"""source → (the demo writer, the base_url it serves, relative to the day's demo folder)"""
DEMO_SOURCES = set(DEMO_FILES)


def _base_url(source: str, date, root: Path) -> str:
    """The configured URL template, or the demo files for ``date`` (written first) when it is ``demo``.

    The demo files of a day live in ``<root>/demo/<source>/<YYYYMMDD>/``, named as the source's raw inputs
    (``RAW_INPUTS``), and are written only if one is missing.
    """
    url = source_config(source).base_url
    if url != "demo":
        return url
    if source not in DEMO_SOURCES:
        raise luigi.parameter.ParameterException(
            f"the offline demo covers {', '.join(sorted(DEMO_SOURCES))}; set base_url in the [{source}] section")
    write, name = DEMO_FILES[source]
    folder = root / "demo" / source / f"{date:%Y%m%d}"
    if not all((folder / f"{raw}.{ext}").exists() for raw, ext in RAW_INPUTS[source]):
        write(folder, date, seed=DelphiSignals().demo_seed)
    return str(folder / name)


def indicator_params(source: str, date, export_dir: Path) -> dict:
    """The ``params`` dict an indicator's ``run_module`` takes, from ``luigi.cfg``."""
    config, root = source_config(source), DelphiSignals().root()
    return {
        "common": {"export_dir": str(export_dir), "input_dir": str(root / "input"), "issue_date": date.isoformat()},
        "indicator": {"base_url": _base_url(source, date, root), "export_start_date": config.export_start_date,
                      "export_end_date": config.export_end_date},
    }


class Pull(luigi.Task):
    """Fetch the source's raw files for one issue date into the dated input cache."""

    source = luigi.Parameter(description="source name, e.g. jhu-csse")
    date = luigi.DateParameter(description="issue date")

    def output(self):
        root = DelphiSignals().root()
        return {name: luigi.LocalTarget(cache_path(root, self.source, self.date, name, ext))
                for name, ext in RAW_INPUTS[self.source]}

    def run(self):
        self.set_status_message("fetching")
        pull_inputs(self.source, indicator_params(self.source, self.date, Path("unused")))


class Export(luigi.Task):
    """Run the source's indicator for one issue date and export its CSVs."""

    source = luigi.Parameter(description="source name, e.g. jhu-csse")
    date = luigi.DateParameter(description="issue date")

    def requires(self):
        return Pull(source=self.source, date=self.date)

    def _folder(self) -> Path:
        return DelphiSignals().root() / "export" / self.source / f"{self.date:%Y%m%d}"

    def output(self):
        return luigi.LocalTarget(self._folder() / "_SUCCESS")

    def run(self):
        started = time.perf_counter()
        final = self._folder()
        staging = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        self.set_status_message("running indicator")
        paths = indicator_module(self.source).run_module(indicator_params(self.source, self.date, staging))
        config = source_config(self.source)
        window = export_window([p.name for p in paths], config.export_start_date, config.export_end_date)
        manifest = {
            "source": self.source, "issue_date": self.date.isoformat(), "files": sorted(p.name for p in paths),
            # the days this run was meant to export: a cached file outside them is not exported today,
            # one inside them that is gone was deleted (the archive differ reads these)
            "first_time_value": window and window[0], "last_time_value": window and window[1],
            "file_count": len(paths), "bytes": sum(p.stat().st_size for p in paths),
            "elapsed_seconds": round(time.perf_counter() - started, 3),
            "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        staging.mkdir(parents=True, exist_ok=True)
        (staging / "_SUCCESS").write_text(json.dumps(manifest, indent=1))
        if final.exists():  # a rerun replaces the whole day's export
            shutil.rmtree(final)
        os.replace(staging, final)
        get_logger(__name__, source=self.source).info(
            "export finished", issue=self.date.isoformat(), file_count=len(paths),
            elapsed_seconds=manifest["elapsed_seconds"])
