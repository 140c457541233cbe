"""Regions by the names sources write: states by name, postal abbreviation or FIPS code; counties by name.

Sources write states every way: ``California``, ``CA``, ``ca``, ``06``, ``6``. :func:`state_ids` turns a
whole column of them into the ids every cube and export uses, in one vectorized lookup over the ``geodata``
states table (the 50 states, DC and the territories); :func:`state_fips` gives the 2-digit FIPS codes (the
``SS`` of a state's megacounty ``SS000``). :func:`county_ids` finds counties by name within their state
(the names of the Census 2016 boundary files in ``geodata/shapes``).
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache

import numpy as np
import pandas as pd

from ..errors import InputError
from .tables import _read, geodata_dir


@lru_cache(maxsize=1)
def _lookup() -> pd.Series:
    """Every spelling (lower case, stripped) → state id."""
    states = _read("states")
    ids = states["state_id"].astype(str)
    keys = pd.concat([states["state_name"].str.lower(), ids, states["state_code"].astype(str).str.zfill(2),
                      states["state_code"].astype(int).astype(str)])
    values = pd.concat([ids] * 4)
    return pd.Series(values.to_numpy(), index=keys.to_numpy()).groupby(level=0).first()


def state_table() -> pd.DataFrame:
    """The states table: ``state_id``, ``state_name``, ``state_code`` (FIPS), ``hhs``, ``population``.

    Examples
    --------
    >>> state_table().set_index("state_id").loc["ca", ["state_name", "state_code"]].tolist()
    ['California', '06']
    """
    return _read("states").copy()


def state_ids(values, *, unknown: str = "raise") -> np.ndarray:
    """The state id of each of ``values`` (names, abbreviations or FIPS codes, any case, mixed).

    Parameters
    ----------
    values : array_like
        One spelling per element; integers are FIPS codes.
    unknown : {"raise", "empty"}
        What an unrecognized spelling gives: an :class:`~delphi_signals.errors.InputError` listing them, or
        ``""``.

    Examples
    --------
    >>> state_ids(["California", "NY", "06", 48, " district of columbia "]).tolist()
    ['ca', 'ny', 'ca', 'tx', 'dc']
    >>> state_ids(["Texas", "Atlantis"], unknown="empty").tolist()
    ['tx', '']
    """
    raw = pd.Series(np.asarray(values, dtype=object).ravel())
    keys = raw.map(lambda v: str(int(v)) if isinstance(v, (int, np.integer)) else str(v)).str.strip().str.lower()
    found = keys.map(_lookup())
    missing = found.isna()
    if missing.any() and unknown == "raise":
        examples = sorted(set(raw[missing].astype(str)))[:10]
        raise InputError(f"unknown state(s): {', '.join(examples)} (give a name, a postal abbreviation or a FIPS "
                         "code)", field="state")
    return found.fillna("").to_numpy(dtype=str).reshape(np.shape(values))


def state_fips(values, *, unknown: str = "raise") -> np.ndarray:
    """The 2-digit FIPS code of each of ``values`` (see :func:`state_ids`); ``""`` for unknown ones if asked.

    Examples
    --------
    >>> state_fips(["Missouri", "ks"]).tolist()
    ['29', '20']
    """
    ids = state_ids(values, unknown=unknown)
    codes = _read("states").set_index("state_id")["state_code"].astype(str).str.zfill(2)
    return pd.Series(ids.ravel()).map(codes).fillna("").to_numpy(dtype=str).reshape(ids.shape)


@lru_cache(maxsize=1)
def _county_lookup() -> pd.Series:
    """``(state id, county name lower case)`` → county FIPS, from the county boundary file."""
    with gzip.open(geodata_dir() / "shapes" / "county.geojson.gz", "rt") as handle:
        features = json.load(handle)["features"]
    geo = [f["properties"]["geo"] for f in features]
    names = [str(f["properties"].get("name") or "").strip().lower() for f in features]
    counties = _read("counties").set_index("county")["state_id"]
    states = [counties.get(g, "") for g in geo]
    return pd.Series(geo, index=pd.MultiIndex.from_arrays([states, names])).groupby(level=[0, 1]).first()


def county_ids(names, states, *, unknown: str = "raise") -> np.ndarray:
    """The 5-digit FIPS code of each county ``names[i]`` of state ``states[i]`` (any spelling of the state).

    A trailing " County" / " Parish" is ignored; an unknown name raises :class:`~delphi_signals.errors.InputError`
    listing them, or gives ``""`` with ``unknown="empty"`` (for "Unknown", "Out of state" rows the source
    keeps apart).

    Examples
    --------
    >>> county_ids(["Jackson", "Cass County", "Unknown"], ["Missouri", "MO", "mo"], unknown="empty").tolist()
    ['29095', '29037', '']
    """
    state = pd.Series(state_ids(states, unknown=unknown).ravel())
    name = pd.Series(np.asarray(names, dtype=object).ravel()).astype(str).str.strip().str.lower()
    name = name.str.replace(r"\s+(county|parish)$", "", regex=True)
    found = pd.Series(_county_lookup().reindex(pd.MultiIndex.from_arrays([state, name])).to_numpy())
    missing = found.isna()
    if missing.any() and unknown == "raise":
        examples = sorted({f"{n} ({s})" for n, s in zip(name[missing], state[missing])})[:10]
        raise InputError(f"unknown county name(s): {', '.join(examples)}", field="county")
    return found.fillna("").to_numpy(dtype=str).reshape(np.shape(names))
