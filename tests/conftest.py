"""Shared fixtures: builders (not fixed objects) and the real-data folder."""

import os

# the Luigi layer's choice (see luigi_tasks/__init__.py), made before numba starts a thread pool in this process:
# Luigi tests fork worker processes, and numba's OpenMP pool is not fork-safe
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")

import pytest  # noqa: E402

from delphi_signals.testing import make_cube as _make_cube  # noqa: E402
from delphi_signals.testing import realdata_dir  # noqa: E402


@pytest.fixture
def make_cube():
    """Builder of random cubes: ``make_cube(n_geo=..., days=..., nan_fraction=..., time_type=...)``."""
    return _make_cube


@pytest.fixture(scope="session")
def realdata():
    """``../shared/realdata`` through ``$DELPHI_SIGNALS_REALDATA``; CI always sets it."""
    path = realdata_dir()
    if path is None or not path.is_dir():
        pytest.fail("DELPHI_SIGNALS_REALDATA must name the shared real-data folder (.ci/run sets it)")
    return path
