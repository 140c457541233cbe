"""Builders of small, stated test data, shared by tests, benchmarks and notebooks.

Each builder returns a fresh object from explicit arguments and a seed, so a test says what data it needs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..cube import new_cube

REALDATA_ENV = "DELPHI_SIGNALS_REALDATA"


def realdata_dir() -> Path | None:
    """The folder of real published data named by ``$DELPHI_SIGNALS_REALDATA``, or ``None`` if unset."""
    path = os.environ.get(REALDATA_ENV)
    return Path(path).resolve() if path else None


def county_ids(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct county FIPS codes, drawn at random, sorted.

    Real counties (no megacounties, pseudo or retired codes) while they last; beyond the ~3,220 real ones,
    made-up ``9xxxx`` codes that map nowhere fill the rest.
    """
    from ..geo.tables import _read

    counties = _read("counties")
    real = counties.loc[counties["kind"] == "county", "county"].to_numpy(dtype=str)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(real, size=min(n, len(real)), replace=False).tolist()
    chosen += [f"9{i:04d}" for i in range(n - len(chosen))]
    return sorted(chosen)


def make_cube(
    geo=None,
    days: int = 30,
    *,
    n_geo: int = 5,
    start: str = "2020-03-01",
    geo_type: str = "county",
    time_type: str = "day",
    nan_fraction: float = 0.0,
    stderr: bool = True,
    sample_size: bool = True,
    kind: str = "rate",
    seed: int = 0,
    source: str = "test-source",
    signal: str = "test_signal",
):
    """A random signal cube.

    Parameters
    ----------
    geo : list of str, optional
        Geo ids; default ``n_geo`` county ids (or ``"a0"``-style state ids for ``geo_type="state"``).
    days : int
        Length of the time axis (days, or weeks when ``time_type="week"``).
    nan_fraction : float
        Fraction of cells whose value (and stderr, sample_size) is NaN.
    kind : {"rate", "count"}
        Rates are uniform in [0, 100) with stderr and sample_size; counts are Poisson draws.

    Examples
    --------
    >>> make_cube(n_geo=3, days=7).value.shape
    (3, 7)
    """
    rng = np.random.default_rng(seed)
    if geo is None:
        if geo_type == "state":
            letters = "abcdefghijklmnopqrstuvwxyz"
            geo = [letters[i // 26] + letters[i % 26] for i in range(n_geo)]
        else:
            geo = county_ids(n_geo, seed)
    shape = (len(geo), days)
    if kind == "count":
        value = rng.poisson(50, size=shape).astype(float)
    else:
        value = rng.uniform(0, 100, size=shape)
    se = rng.uniform(0.01, 5, size=shape) if stderr else None
    n = rng.integers(5, 5_000, size=shape).astype(float) if sample_size else None
    if nan_fraction:
        holes = rng.random(shape) < nan_fraction
        value[holes] = np.nan
        if se is not None:
            se[holes] = np.nan
        if n is not None:
            n[holes] = np.nan
    step = "D" if time_type == "day" else "7D"
    first = pd.Timestamp(start)
    if time_type == "week":
        first -= pd.Timedelta(days=(first.day_of_week + 1) % 7)
    times = pd.date_range(first, periods=days, freq=step)
    return new_cube(geo, times, value, se, n, source=source, signal=signal, geo_type=geo_type, time_type=time_type)
