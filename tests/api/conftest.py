"""A database with known rows, served by a real ``delphi-signals serve`` process, once per backend."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from delphi_signals.epidata import store
from delphi_signals.epidata.schema import covidcast_meta_cache, create_schema, engine_for
from delphi_signals.testing.servers import backend_database, start_api_server

REPO = Path(__file__).resolve().parents[2]

SOURCE = "test-src"
DAYS = pd.date_range("2020-06-01", periods=10)
STATES = ["ca", "ny", "tx"]
COUNTIES = [f"{i:05d}" for i in range(1001, 1401)]  # 400 county ids: 4,000 rows, past the legacy row cap


def _int_day(day) -> int:
    return int(pd.Timestamp(day).strftime("%Y%m%d"))


def make_rows() -> pd.DataFrame:
    """Every stored row: two state signals issued 1 and 3 days after each day (revised), a county signal."""
    rng = np.random.default_rng(3)
    rows = []
    for signal in ("sig_a", "sig_b"):
        for day in DAYS:
            for geo in STATES:
                first = float(rng.integers(0, 1000))
                for lag, value in ((1, first), (3, first + float(rng.integers(1, 50)))):
                    issue = day + pd.Timedelta(days=lag)
                    rows.append((SOURCE, signal, "day", "state", _int_day(day), geo, _int_day(issue), lag, value,
                                 np.nan, np.nan, 0, 5, 5))
    for day in DAYS:
        for geo in COUNTIES:
            rows.append((SOURCE, "sig_county", "day", "county", _int_day(day), geo, _int_day(day + pd.Timedelta(days=2)),
                         2, float(int(geo) % 97), 0.5, 30.0, 0, 0, 0))
    return pd.DataFrame(rows, columns=list(store.ROW_COLUMNS))


def meta_entries(rows: pd.DataFrame) -> list[dict]:
    """The metadata cache entries of the rows' latest versions, computed here with pandas."""
    latest = rows.sort_values("issue").groupby(["signal", "geo_type", "time_value", "geo_value"]).tail(1)
    out = []
    for (signal, geo_type), g in latest.groupby(["signal", "geo_type"]):
        out.append({"data_source": SOURCE, "signal": signal, "time_type": "day", "geo_type": geo_type,
                    "min_time": int(g.time_value.min()), "max_time": int(g.time_value.max()),
                    "num_locations": int(g.geo_value.nunique()), "min_value": float(g.value.min()),
                    "max_value": float(g.value.max()), "mean_value": float(g.value.mean()),
                    "stdev_value": float(g.value.std(ddof=0)), "last_update": 1600000000,
                    "max_issue": int(g.issue.max()), "min_issue": int(g.issue.min()),
                    "min_lag": int(g.lag.min()), "max_lag": int(g.lag.max())})
    return out


def start_server(url: str, env: dict | None = None):
    """A real ``delphi-signals serve`` over ``url``: ``(process, base URL of /epidata)``."""
    proc, root = start_api_server(url, env)
    return proc, f"{root}/epidata"


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def served(request, tmp_path_factory):
    """``(base_url, db_url, rows)``: a running server over a database holding :func:`make_rows`."""
    url, drop = backend_database(request.param, tmp_path_factory, "api")
    rows = make_rows()
    engine = engine_for(url)
    create_schema(engine)
    with store.locked_transaction(engine) as conn:
        store.load_rows(conn, rows)
    with engine.begin() as conn:
        conn.execute(covidcast_meta_cache.insert().values(timestamp=1600000000,
                                                          epidata=json.dumps(meta_entries(rows))))
    engine.dispose()
    proc, base = start_server(url)
    try:
        yield base, url, rows
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        drop()


COVIDCAST_PINS = ["covidcast==0.2.2", "numpy<2", "pandas<2"]


@pytest.fixture(scope="session")
def covidcast_python() -> Path:
    """Python of a virtualenv with the covidcast 0.2.2 client (it needs pandas < 2), built once and cached."""
    import venv

    root = Path(os.environ.get("DELPHI_SIGNALS_COVIDCAST_VENV",
                               Path.home() / ".cache" / "delphi-signals" / "covidcast-venv-0.2.2"))
    marker = root / ".installed"
    if not marker.exists():  # built beside it and renamed into place, so a half-built one is never used
        building = root.with_name(f".{root.name}.{os.getpid()}")
        venv.EnvBuilder(with_pip=True, clear=True).create(building)
        subprocess.run([str(building / "bin" / "python"), "-m", "pip", "install", "-q", *COVIDCAST_PINS], check=True)
        (building / ".installed").write_text("\n".join(COVIDCAST_PINS))
        if marker.exists():  # another run finished first
            shutil.rmtree(building)
        else:
            shutil.rmtree(root, ignore_errors=True)
            os.rename(building, root)
    return root / "bin" / "python"
