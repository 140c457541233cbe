"""Shared fixtures: builders (not fixed objects), the real-data folder, Luigi settings and the two databases."""

import os

# the Luigi layer's choice (see luigi_tasks/__init__.py), made before numba starts a thread pool in this process:
# Luigi tests fork worker processes, and numba's OpenMP pool is not fork-safe
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# no test may depend on the machine's speed: Hypothesis's default 200 ms deadline per example fails property
# tests on a loaded two-core machine, so the whole suite runs without one (explicit settings inherit this)
settings.register_profile("no-deadline", deadline=None)
settings.load_profile("no-deadline")

from delphi_signals.testing import make_cube as _make_cube  # noqa: E402
from delphi_signals.testing.databases import mariadb_database  # noqa: E402
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


@pytest.fixture
def luigi_settings():
    """Set Luigi configuration options for one test: ``luigi_settings({(section, key): value, ...})``.

    Every option set is put back (or removed) when the test ends, and Luigi's task instance cache is cleared
    each time, so tasks see the new values. ``None`` removes an option.
    """
    import luigi

    config = luigi.configuration.get_config()
    saved = {}

    def apply(settings: dict) -> None:
        for (section, key), value in settings.items():
            saved.setdefault((section, key), config.get(section, key, None))
            if value is None:
                if config.has_option(section, key):
                    config.remove_option(section, key)
            else:
                config.set(section, key, value)
        luigi.task_register.Register.clear_instance_cache()

    yield apply
    apply(saved)


# --- the epidata database: every database test runs twice, on a SQLite file and on a fresh MariaDB database.
# The MariaDB server comes from $DELPHI_SIGNALS_TEST_MYSQL (default mysql+pymysql://root@127.0.0.1:3306); each test
# gets a database of its own with a unique name, dropped afterwards. An unreachable server fails the test (no
# skips): the MariaDB half is part of what these tests show.

BACKENDS = ("sqlite", "mariadb")


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """URL of an empty database: a SQLite file under ``tmp_path``, or a fresh MariaDB database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'epidata.sqlite'}"
        return
    url, drop = mariadb_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def engine(db_url):
    """An engine on ``db_url`` with the schema created (:func:`delphi_signals.epidata.schema.create_schema`)."""
    from delphi_signals.epidata.schema import create_schema, engine_for

    eng = engine_for(db_url)
    create_schema(eng)
    try:
        yield eng
    finally:
        eng.dispose()
