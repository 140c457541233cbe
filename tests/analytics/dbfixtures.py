"""The epidata database fixtures for the analytics tests: every database test runs on SQLite and MariaDB.

Imported by the test modules (``from dbfixtures import db_url``) rather than from a ``conftest.py``
here: with ``--doctest-modules`` a conftest in a folder sorting before ``tests/conftest.py`` takes the module
name ``conftest`` first and breaks the collection of the top-level one.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_EPIDATA_CONFTEST = Path(__file__).parent.parent / "epidata" / "conftest.py"
_spec = importlib.util.spec_from_file_location("epidata_fixtures", _EPIDATA_CONFTEST)
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)

db_url = _fixtures.db_url
engine = _fixtures.engine
