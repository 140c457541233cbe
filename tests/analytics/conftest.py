"""The analytics tests reuse the epidata database fixtures: every database test runs on SQLite and MariaDB."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_EPIDATA_CONFTEST = Path(__file__).parent.parent / "epidata" / "conftest.py"
_spec = importlib.util.spec_from_file_location("epidata_fixtures", _EPIDATA_CONFTEST)
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)

db_url = _fixtures.db_url
engine = _fixtures.engine
