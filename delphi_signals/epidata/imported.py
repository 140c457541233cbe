"""Which delivered issues are in the database: one notion of "imported" for every way files get loaded.

The pipeline's ``Import(source, date)`` loads ``receiving/issue_YYYYMMDD/<source>/`` in one transaction and
writes the folder marker ``folder:<source>/issue_YYYYMMDD``; ``delphi-signals import`` (the hand import, the
recovery path) loads the same files in batches and writes one ``file_outcome`` row per file, loaded or set
aside. Both record every file they handled in ``file_outcome`` under ``issue_YYYYMMDD/<name>``, so an issue
folder is (for ``status`` and for the ``Import`` task's completeness alike, :func:`issue_imported`):

* **imported** when its folder marker exists, or when the importer handled files of it and none is left
  waiting in ``receiving/issue_YYYYMMDD/<source>/``;
* **imported in part** when the importer handled files of it and others are still waiting there (a hand
  import that stopped part-way);
* **not imported** otherwise (still waiting, or never delivered).

Examples
--------
>>> from delphi_signals.epidata import schema
>>> engine = schema.engine_for("sqlite://")
>>> schema.create_schema(engine)
>>> with engine.begin() as conn:
...     _ = conn.execute(schema.file_outcome.insert(), [{"source": "jhu-csse", "outcome": "success",
...         "file_name": "issue_20201130/20201129_state_x.csv", "row_count": 5, "recorded_timestamp": 0}])
>>> handled = handled_issues(engine)
>>> handled["jhu-csse"]["2020-11-30"]
{'folder_marker': False, 'files': 1}
>>> issue_import_state(handled["jhu-csse"]["2020-11-30"], waiting_files=0)
'imported'
>>> issue_import_state(handled["jhu-csse"]["2020-11-30"], waiting_files=3)
'in part'
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from . import schema

_FOLDER_MARKER = re.compile(r"folder:(.+)/issue_([0-9]{8})")
_ISSUE_FILE = re.compile(r"issue_([0-9]{8})[/\\]")


def _iso(day: str) -> str:
    return f"{day[:4]}-{day[4:6]}-{day[6:]}"


def handled_issues(engine, source: str | None = None, day: str | None = None) -> dict[str, dict[str, dict]]:
    """Per source and issue day (``YYYY-MM-DD``): whether its folder marker exists and how many of its files
    the importer handled (loaded or set aside); only ``source`` and only the issue ``day`` (``YYYYMMDD``) when
    given. An engine whose database has no schema yet handled nothing."""
    found: dict[str, dict[str, dict]] = {}

    def entry(source: str, day: str) -> dict:
        return found.setdefault(source, {}).setdefault(_iso(day), {"folder_marker": False, "files": 0})

    if engine is None or not sa.inspect(engine).has_table(schema.import_marker.name):
        return found
    marker_pattern = f"folder:{source or '%'}/issue_{day or '%'}"
    file_pattern = f"issue_{day or '%'}%"
    with engine.connect() as conn:
        markers = conn.execute(sa.select(schema.import_marker.c.marker)
                               .where(schema.import_marker.c.marker.like(marker_pattern))).scalars()
        for marker in markers:
            if match := _FOLDER_MARKER.fullmatch(marker):
                entry(match.group(1), match.group(2))["folder_marker"] = True
        outcome = schema.file_outcome.c
        query = sa.select(outcome.source, outcome.file_name).where(outcome.file_name.like(file_pattern))
        if source is not None:
            query = query.where(outcome.source == source)
        rows = conn.execute(query)
        for source_name, file_name in rows:
            if match := _ISSUE_FILE.match(file_name):
                entry(source_name, match.group(1))["files"] += 1
    return found


def issue_import_state(handled: dict | None, waiting_files: int) -> str:
    """``"imported"``, ``"in part"`` or ``"not imported"`` (see the module docstring) for one issue folder:
    ``handled`` is its entry of :func:`handled_issues` (``None`` when absent), ``waiting_files`` how many of
    its files are still in ``receiving/``."""
    if handled and handled["folder_marker"]:
        return "imported"
    if handled and handled["files"]:
        return "in part" if waiting_files else "imported"
    return "not imported"


def issue_imported(engine, data_root, source: str, issue_day) -> bool:
    """Whether the issue folder ``receiving/issue_YYYYMMDD/<source>/`` under ``data_root`` is imported (see the
    module docstring); ``issue_day`` a date or ``YYYYMMDD``."""
    from pathlib import Path

    day = issue_day if isinstance(issue_day, str) else f"{issue_day:%Y%m%d}"
    handled = handled_issues(engine, source, day).get(source, {}).get(_iso(day))
    folder = Path(data_root) / "receiving" / f"issue_{day}" / source
    waiting = sum(1 for f in folder.iterdir() if f.is_file()) if folder.is_dir() else 0
    return issue_import_state(handled, waiting) == "imported"
