"""The import stage: ``Import(source, date)`` loads ``receiving/issue_YYYYMMDD/<source>/`` into the database.

Target: the folder's marker row (``folder:<source>/issue_YYYYMMDD`` in ``import_marker``), committed in the
same transaction as the folder's rows, so the task is complete exactly when its data is in the database; a
crash before the commit leaves neither. A folder imported by hand instead (``delphi-signals import``, file by
file) counts as done once none of its files is left waiting: the notion of "imported" ``status`` shares
(:class:`ImportedIssue`). ``resources = {"epidata_db": 1}``: one load at a time per scheduler
(the store's database lock serialises loads from anywhere else).
"""

from __future__ import annotations

from pathlib import Path

import luigi
import sqlalchemy as sa

from delphi_signals.epidata import schema, store
from delphi_signals.epidata.importer import import_folder
from delphi_signals.log import get_logger

from .config import DelphiSignals


class EpidataMarker(luigi.Target):
    """A marker row of the epidata database: it exists once the load that wrote it has committed."""

    def __init__(self, url: str, marker: str):
        self.url, self.marker = url, marker

    def exists(self) -> bool:
        parsed = sa.engine.make_url(self.url)
        if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
            return False  # no database yet: asking would create an empty file
        engine = schema.engine_for(self.url)
        try:
            if not sa.inspect(engine).has_table(schema.import_marker.name):
                return False
            return store.marker_exists(engine, self.marker)
        finally:
            engine.dispose()


class ImportedIssue(luigi.Target):
    """An issue folder in the database by the one notion of "imported" that ``status`` uses too
    (:func:`delphi_signals.epidata.imported.issue_imported`): its folder marker, or every file of it handled by a
    hand import (``delphi-signals import``), none left waiting."""

    def __init__(self, url: str, data_root, source: str, date):
        self.url, self.data_root, self.source, self.date = url, data_root, source, date

    def exists(self) -> bool:
        from delphi_signals.epidata.imported import issue_imported

        parsed = sa.engine.make_url(self.url)
        if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
            return False  # no database yet: asking would create an empty file
        engine = schema.engine_for(self.url)
        try:
            return issue_imported(engine, self.data_root, self.source, self.date)
        finally:
            engine.dispose()


class Delivered(luigi.ExternalTask):
    """The folder ``receiving/issue_YYYYMMDD/<source>/`` that a delivery step fills."""

    source = luigi.Parameter(description="source name, e.g. jhu-csse")
    date = luigi.DateParameter(description="issue date")

    def output(self):
        return luigi.LocalTarget(DelphiSignals().root() / "receiving" / f"issue_{self.date:%Y%m%d}" / self.source)


class Import(luigi.Task):
    """Load one source's issue folder in one transaction; failed files go to the archive with their reasons."""

    source = luigi.Parameter(description="source name, e.g. jhu-csse")
    date = luigi.DateParameter(description="issue date")
    resources = {"epidata_db": 1}

    def requires(self):
        return Delivered(source=self.source, date=self.date)

    def output(self):
        config = DelphiSignals()
        return ImportedIssue(config.database_url(), config.root(), self.source, self.date)

    def run(self):
        self.set_status_message("importing")
        config = DelphiSignals()
        summary = import_folder(config.root(), config.database_url(), self.source, self.date)
        self.set_status_message(f"{summary['files_ok']} files loaded, {summary['files_failed']} failed")
        get_logger(__name__, source=self.source).info(
            "import task finished", issue=f"{self.date:%Y%m%d}", files_ok=summary["files_ok"],
            files_failed=summary["files_failed"], rows=summary["rows"])
