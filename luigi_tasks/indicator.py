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

from delphi_signals.indicators.registry import indicator_module
from delphi_signals.log import get_logger
from delphi_signals.sources import cache_path, fetch
from delphi_signals.sources.demo import write_jhu

from .config import DelphiSignals, source_config

RAW_FILES = {"jhu-csse": {"confirmed": "time_series_covid19_confirmed_US", "deaths": "time_series_covid19_deaths_US"}}


def _base_url(source: str, date, root: Path) -> str:
    """The configured URL template, or the demo files for ``date`` (written first) when it is ``demo``."""
    url = source_config(source).base_url
    if url != "demo":
        return url
    folder = root / "demo" / source / f"{date:%Y%m%d}"
    if not all((folder / f"{name}.csv").exists() for name in RAW_FILES[source].values()):
        write_jhu(folder, date, seed=DelphiSignals().demo_seed)
    return str(folder / "time_series_covid19_{metric}_US.csv")


class Pull(luigi.Task):
    """Fetch the source's raw files for one issue date into the dated input cache."""

    source = luigi.Parameter(description="source name, e.g. jhu-csse")
    date = luigi.DateParameter(description="issue date")

    def output(self):
        root = DelphiSignals().root()
        return {metric: luigi.LocalTarget(cache_path(root, self.source, self.date, name, "csv"))
                for metric, name in RAW_FILES[self.source].items()}

    def run(self):
        root = DelphiSignals().root()
        url = _base_url(self.source, self.date, root)
        for metric, name in RAW_FILES[self.source].items():
            self.set_status_message(f"fetching {metric}")
            fetch(url.format(metric=metric), source=self.source, data_root=root, day=self.date, name=name, ext="csv")


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

    def params(self, export_dir: Path) -> dict:
        config = source_config(self.source)
        return {
            "common": {"export_dir": str(export_dir), "input_dir": str(DelphiSignals().root() / "input"),
                       "issue_date": self.date.isoformat()},
            "indicator": {"base_url": _base_url(self.source, self.date, DelphiSignals().root()),
                          "export_start_date": config.export_start_date,
                          "export_end_date": config.export_end_date},
        }

    def run(self):
        started = time.perf_counter()
        final = self._folder()
        staging = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        self.set_status_message("running indicator")
        paths = indicator_module(self.source).run_module(self.params(staging))
        manifest = {
            "source": self.source, "issue_date": self.date.isoformat(), "files": sorted(p.name for p in paths),
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
