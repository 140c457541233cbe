"""Luigi configuration classes: every path and source setting comes from ``luigi.cfg`` through these.

``[delphi_signals]`` holds the data root, the database URL and the params folder (defaults in
:mod:`delphi_signals.layout`); each registered indicator gets a section named after its source
(``[jhu-csse]``, ``[hhs]`` …), generated from the registry, so a new indicator needs no edit here.
"""

from __future__ import annotations

from pathlib import Path

import luigi

from delphi_signals.indicators.registry import get_indicator, sources
from delphi_signals.layout import DEFAULT_DATA_ROOT, DEFAULT_PARAMS_DIR, DataRoot


class DelphiSignals(luigi.Config):
    """Section ``[delphi_signals]``: where every stage writes."""

    @classmethod
    def get_task_family(cls):
        return "delphi_signals"

    data_root = luigi.Parameter(default=DEFAULT_DATA_ROOT,
                                description="root of input/, export/, reports/, receiving/ …")
    db_url = luigi.OptionalParameter(default=None,
                                     description="SQLAlchemy URL of the epidata database (default: a SQLite file "
                                                 "under the data root)")
    params_dir = luigi.Parameter(default=DEFAULT_PARAMS_DIR,
                                 description="folder of per-source params overrides, <source>.json")
    demo_seed = luigi.IntParameter(default=0, description="seed of the offline demo source")

    def root(self) -> Path:
        return Path(self.data_root)

    def layout(self) -> DataRoot:
        return DataRoot(self.data_root)

    def database_url(self) -> str:
        return self.db_url or self.layout().db_url()


class SourceConfig(luigi.Config):
    """Base of the per-source sections (``[jhu-csse]`` …): where the raw data comes from, what to export."""

    source = ""
    base_url = luigi.OptionalParameter(default=None, description="'demo' for the offline simulation, else any "
                                       "fsspec URL or path (template) of the source's raw data (default: the "
                                       "indicator's params_defaults, else its demo)")
    export_start_date = luigi.OptionalParameter(default=None, description="first day to export (default: all)")
    export_end_date = luigi.OptionalParameter(default=None, description="last day to export (default: all)")
    allow_current = luigi.BoolParameter(default=False, description="label current data with a past issue date "
                                        "when the source keeps no history (never for a backfill you publish)")

    @classmethod
    def get_task_family(cls):
        return cls.source


def _config_class(source: str) -> type[SourceConfig]:
    name = "".join(part.capitalize() for part in source.replace("_", "-").split("-")) + "Config"
    return type(name, (SourceConfig,), {"source": source, "__module__": __name__,
                                        "__doc__": f"Section ``[{source}]``."})


SOURCE_CONFIGS = {source: _config_class(source) for source in sources()}


def source_config(source: str) -> SourceConfig:
    """The config section of ``source``; an unknown source names the known ones."""
    get_indicator(source)  # raises UnknownNameError listing the registered sources
    if source not in SOURCE_CONFIGS:  # registered after this module was imported
        SOURCE_CONFIGS[source] = _config_class(source)
    return SOURCE_CONFIGS[source]()
