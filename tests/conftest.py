"""Shared fixtures: builders (not fixed objects) and the real-data folder."""

import pytest

from delphi_signals.testing import make_cube as _make_cube
from delphi_signals.testing import realdata_dir


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
