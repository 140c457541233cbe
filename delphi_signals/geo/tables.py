"""The committed geography tables (``geodata/``): geo ids, populations and weighted crosswalks.

The folder is found through ``$DELPHI_SIGNALS_GEODATA`` or, by default, beside the package in the source
checkout (the project is installed editable). Tables are read once per process and cached.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xarray as xr

from ..cube import check_geo_type
from ..errors import InputError

GEODATA_ENV = "DELPHI_SIGNALS_GEODATA"
LEVELS = ("county", "zip", "state", "msa", "hrr", "hhs", "nation")
"""Geo types with tables (``dma`` and ``hsa_nci`` are valid cube geo types but have no tables here)."""

# (from, to) pairs a crosswalk exists for; identity pairs are always allowed
_PAIRS = {
    "county": ("state", "msa", "hrr", "hhs", "nation"),
    "zip": ("county", "state", "msa", "hrr", "hhs", "nation"),
    "state": ("hhs", "nation"),
    "hhs": ("nation",),
}


def geodata_dir() -> Path:
    """The folder holding the geography tables.

    ``$DELPHI_SIGNALS_GEODATA`` if set, else ``<checkout>/geodata`` when running from a checkout (or an
    editable install), else the copy a wheel ships inside the package (``delphi_signals/_geodata``).
    """
    here = Path(__file__).resolve().parents[1]
    checkout, shipped = here.parent / "geodata", here / "_geodata"
    path = Path(os.environ.get(GEODATA_ENV) or (checkout if (checkout / "counties.csv").is_file() else shipped))
    if not (path / "counties.csv").is_file():
        raise InputError(f"no geography tables in {path}: set ${GEODATA_ENV} to the geodata/ folder of a "
                         "delphi-signals checkout, or rebuild them with `python geodata/build.py`")
    return path


@lru_cache(maxsize=None)
def _read(name: str) -> pd.DataFrame:
    folder = geodata_dir()
    path = folder / f"{name}.csv"
    if not path.exists():
        path = folder / f"{name}.csv.gz"
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read geography table: {exc}", file=path) from exc


def _check_level(geo_type: str) -> str:
    check_geo_type(geo_type)
    if geo_type not in LEVELS:
        raise InputError(f"no geography tables for geo_type {geo_type!r}; tables exist for {', '.join(LEVELS)}")
    return geo_type


@lru_cache(maxsize=None)
def _population_series(geo_type: str) -> pd.Series:
    table, key = {
        "county": ("counties", "county"), "zip": ("zips", "zip"), "state": ("states", "state_id"),
        "msa": ("msa", "msa"), "hrr": ("hrr", "hrr"), "hhs": ("hhs", "hhs"), "nation": ("nation", "nation"),
    }[geo_type]
    df = _read(table)
    return pd.Series(pd.to_numeric(df["population"]).to_numpy(dtype=float), index=pd.Index(df[key], name="geo"))


def geo_values(geo_type: str) -> np.ndarray:
    """Every geo id of ``geo_type`` the tables know, sorted as strings.

    County ids include the state megacounties ``SS000``, the pseudo-counties ``70002``/``70003`` and the
    retired codes (46113, 02270, 02261, 51515) that real data still uses.

    Examples
    --------
    >>> ids = geo_values("county")
    >>> "06037" in ids, "01000" in ids, "46113" in ids
    (True, True, True)
    >>> len(geo_values("hhs")), geo_values("nation").tolist()
    (10, ['us'])
    """
    return np.sort(_population_series(_check_level(geo_type)).index.to_numpy(dtype=str))


def population(geo_type: str) -> xr.DataArray:
    """Population of every geo id of ``geo_type`` (Census 2020 estimates), NaN where a region has none.

    Megacounties ``SS000`` have no population (they contribute counts, never people). States, HHS regions
    and the nation sum real counties only, so pseudo-counties are not counted twice.

    Examples
    --------
    >>> int(population("county").sel(geo="01001"))
    56145
    >>> bool(np.isnan(population("county").sel(geo="01000")))
    True
    >>> int(population("nation").sel(geo="us"))
    333582354
    """
    series = _population_series(_check_level(geo_type)).sort_index()
    return xr.DataArray(series.to_numpy(), coords={"geo": series.index.to_numpy(dtype=str)}, dims="geo",
                        name="population", attrs={"geo_type": geo_type, "units": "people"})


@dataclass(frozen=True)
class Crosswalk:
    """A weighted map between two geo types: ``matrix[i, j]`` is the share of ``source[j]`` in ``target[i]``.

    ``matrix`` is a ``scipy.sparse.csr_array`` of shape ``(len(target), len(source))``. A column summing to
    1 means the source region lies wholly inside the targets; less than 1, partly outside every target
    (a zip partly outside any MSA); 0, not mapped at this level (a megacounty has no HRR).
    """

    from_type: str
    to_type: str
    source: np.ndarray
    target: np.ndarray
    matrix: sp.csr_array

    def to_frame(self) -> pd.DataFrame:
        """The links as a long frame ``(from_type, to_type, weight)``, one row per non-zero share."""
        coo = self.matrix.tocoo()
        return pd.DataFrame({self.from_type: self.source[coo.col], self.to_type: self.target[coo.row],
                             "weight": coo.data}).sort_values([self.from_type, self.to_type], ignore_index=True)


def _links(from_type: str, to_type: str) -> pd.DataFrame:
    """Long frame (src, dst, weight) for a supported pair."""
    counties, states = _read("counties"), _read("states")
    hhs_of = states.set_index("state_id")["hhs"]
    if from_type == "county":
        if to_type in ("hrr", "msa"):
            df = _read(f"county_{to_type}")
            return pd.DataFrame({"src": df["county"], "dst": df[to_type], "weight": df["weight"].astype(float)})
        if to_type == "state":
            return pd.DataFrame({"src": counties["county"], "dst": counties["state_id"], "weight": 1.0})
        if to_type == "hhs":
            return pd.DataFrame({"src": counties["county"], "dst": hhs_of.reindex(counties["state_id"]).to_numpy(),
                                 "weight": 1.0})
    if from_type == "zip":
        if to_type == "hhs":
            df = _read("zip_state")
            df = pd.DataFrame({"src": df["zip"], "dst": hhs_of.reindex(df["state_id"]).to_numpy(),
                               "weight": df["weight"].astype(float)})
            return df.groupby(["src", "dst"], as_index=False)["weight"].sum()
        if to_type in ("county", "state", "hrr", "msa"):
            df = _read(f"zip_{to_type}")
            col = "state_id" if to_type == "state" else to_type
            return pd.DataFrame({"src": df["zip"], "dst": df[col], "weight": df["weight"].astype(float)})
    if from_type == "state" and to_type == "hhs":
        return pd.DataFrame({"src": states["state_id"], "dst": states["hhs"], "weight": 1.0}).dropna()
    if to_type == "nation":
        return pd.DataFrame({"src": geo_values(from_type), "dst": "us", "weight": 1.0})
    raise AssertionError(f"unhandled pair {from_type}->{to_type}")  # pragma: no cover (guarded by _PAIRS)


@lru_cache(maxsize=None)
def crosswalk(from_type: str, to_type: str) -> Crosswalk:
    """The weighted crosswalk from one geo type to a coarser one, as a sparse matrix with its labels.

    Supported: county → state, msa, hrr, hhs, nation; zip → county, state, msa, hrr, hhs, nation;
    state → hhs, nation; hhs → nation; and any type to itself.

    Examples
    --------
    >>> cw = crosswalk("county", "state")
    >>> cw.matrix.shape == (len(cw.target), len(cw.source))
    True
    >>> cw.to_frame().query("county == '70002'")[["state", "weight"]].values.tolist()
    [['ma', 1.0]]
    """
    _check_level(from_type)
    _check_level(to_type)
    if from_type == to_type:
        ids = geo_values(from_type)
        return Crosswalk(from_type, to_type, ids, ids, sp.csr_array(sp.identity(len(ids), format="csr")))
    if to_type not in _PAIRS.get(from_type, ()):
        supported = "; ".join(f"{f} -> {', '.join(t)}" for f, t in _PAIRS.items())
        raise InputError(f"no crosswalk from {from_type} to {to_type}; supported: {supported}")
    links = _links(from_type, to_type)
    source = geo_values(from_type)
    target = np.sort(pd.unique(links["dst"].to_numpy(dtype=str)))
    col = pd.Index(source).get_indexer(links["src"].to_numpy(dtype=str))
    row = pd.Index(target).get_indexer(links["dst"].to_numpy(dtype=str))
    keep = col >= 0  # links from ids the population table does not know are a table error; drop none silently
    if not keep.all():
        raise InputError(f"crosswalk {from_type}->{to_type} names {int((~keep).sum())} unknown {from_type} ids",
                         file=geodata_dir())
    matrix = sp.csr_array((links["weight"].to_numpy(dtype=float), (row, col)), shape=(len(target), len(source)))
    matrix.sum_duplicates()
    matrix.sort_indices()
    return Crosswalk(from_type, to_type, source, target, matrix)
