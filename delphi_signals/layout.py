"""Where everything lives: the data root and the one folder layout every stage shares.

The defaults are defined here and nowhere else: the data root ``var`` (relative to the working directory),
the Luigi configuration ``luigi.cfg``, the per-source params folder ``params`` and the embedded database
``sqlite:///<data_root>/epidata.sqlite``.

Examples
--------
>>> root = DataRoot("var")
>>> str(root.export("jhu-csse", "2020-11-30"))
'var/export/jhu-csse/20201130'
>>> str(root.receiving("2020-11-30", "jhu-csse"))
'var/receiving/issue_20201130/jhu-csse'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

DEFAULT_DATA_ROOT = "var"
DEFAULT_CONFIG = "luigi.cfg"
DEFAULT_PARAMS_DIR = "params"


def default_db_url(data_root=DEFAULT_DATA_ROOT) -> str:
    """The embedded database: a SQLite file under the data root (absolute, so it does not move with the cwd)."""
    return f"sqlite:///{(Path(data_root) / 'epidata.sqlite').resolve()}"


def _day(date) -> str:
    return f"{pd.Timestamp(date):%Y%m%d}" if not isinstance(date, dt.date) else f"{date:%Y%m%d}"


@dataclass(frozen=True)
class DataRoot:
    """The data root and its stage folders (ARCHITECTURE.md, "Pipeline stages and their files")."""

    path: Path = Path(DEFAULT_DATA_ROOT)

    def __init__(self, path=DEFAULT_DATA_ROOT):
        object.__setattr__(self, "path", Path(path))

    def input(self, source: str) -> Path:
        """Raw files as fetched: ``input/<source>/<YYYYMMDD>_<name>.<ext>``."""
        return self.path / "input" / source

    def demo(self, source: str, date) -> Path:
        """The offline demo's raw files of one issue."""
        return self.path / "demo" / source / _day(date)

    def export(self, source: str, date) -> Path:
        """One issue's dense export."""
        return self.path / "export" / source / _day(date)

    def reports(self, source: str) -> Path:
        return self.path / "reports" / source

    def nightly(self, date) -> Path:
        return self.path / "reports" / "nightly" / _day(date)

    def diff(self, source: str, date) -> Path:
        return self.path / "diff" / source / _day(date)

    def archive_cache(self, source: str) -> Path:
        """The differ's cache of what was published."""
        return self.path / "cache" / source

    def receiving(self, issue, source: str) -> Path:
        return self.path / "receiving" / f"issue_{_day(issue)}" / source

    def archive(self, outcome: str, source: str) -> Path:
        """``archive/successful/<source>`` or ``archive/failed/<source>``."""
        return self.path / "archive" / outcome / source

    def db_url(self) -> str:
        return default_db_url(self.path)
