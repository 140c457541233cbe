"""Luigi configuration classes: every path and source setting comes from ``luigi.cfg`` through these."""

from __future__ import annotations

from pathlib import Path

import luigi


class DelphiSignals(luigi.Config):
    """Section ``[delphi_signals]``: where every stage writes."""

    @classmethod
    def get_task_family(cls):
        return "delphi_signals"

    data_root = luigi.Parameter(default="var", description="root of input/, export/, reports/, receiving/ …")
    demo_seed = luigi.IntParameter(default=0, description="seed of the offline demo source")
    db_url = luigi.OptionalParameter(default=None, description="epidata database URL (default: the SQLite file "
                                     "epidata.sqlite under data_root)")

    def root(self) -> Path:
        return Path(self.data_root)

    def database_url(self) -> str:
        """``db_url``, or ``sqlite:///<data_root>/epidata.sqlite`` when it is not set."""
        return self.db_url or f"sqlite:///{(self.root() / 'epidata.sqlite').resolve()}"


class SourceConfig(luigi.Config):
    """Base of the per-source sections (``[jhu-csse]`` …): where the raw data comes from, what to export."""

    source = ""
    base_url = luigi.Parameter(default="demo", description="'demo' for the offline simulation, else any fsspec "
                               "URL or path template with {metric}")
    export_start_date = luigi.OptionalParameter(default=None, description="first day to export (default: all)")
    export_end_date = luigi.OptionalParameter(default=None, description="last day to export (default: all)")

    @classmethod
    def get_task_family(cls):
        return cls.source


class JhuCsseConfig(SourceConfig):
    """Section ``[jhu-csse]``."""

    source = "jhu-csse"


class HhsConfig(SourceConfig):
    """Section ``[hhs]``."""

    source = "hhs"


class NchsMortalityConfig(SourceConfig):
    """Section ``[nchs-mortality]``."""

    source = "nchs-mortality"


SOURCE_CONFIGS = {cls.source: cls for cls in (JhuCsseConfig, HhsConfig, NchsMortalityConfig)}


def source_config(source: str) -> SourceConfig:
    """The config section of ``source``; an unknown source is a clear error."""
    try:
        return SOURCE_CONFIGS[source]()
    except KeyError:
        raise luigi.parameter.ParameterException(
            f"unknown source {source!r}; known: {', '.join(sorted(SOURCE_CONFIGS))}") from None
