"""Rebuild the committed geography tables of delphi-signals from pinned public wheels.

Usage::

    python geodata/build.py            # downloads the two wheels with pip, checks sha256, rewrites geodata/
    python geodata/build.py --wheels DIR   # use wheels already in DIR (still checked by sha256)

Inputs (both Census-derived, see ``geodata/README.md``):

* ``delphi-utils`` 0.3.24: the crosswalk and population CSVs in ``delphi_utils/data/2020/``;
* ``plotly-geo`` 1.0.0: the Census 2016 cartographic boundary shapefiles (counties, states, 1:500k).

The outputs are deterministic: sorted rows, fixed float formatting, gzip without a timestamp.
Upstream data bugs fixed here (each has a test in ``tests/geo/test_geodata.py``):

1. pseudo-counties ``70002`` (Dukes+Nantucket, MA) and ``70003`` (Kansas City, MO) carry state code 70 upstream,
   so they landed in Palau (``pw``) and in HHS region 9; here they belong to ``ma``/``mo`` and their counts
   are split over their member counties for zip-based levels (hrr, msa);
2. the nation (and Palau) population counted those pseudo-counties on top of their member counties; here
   only real counties carry population into states, HHS regions and the nation;
3. old and new county codes were mixed (zip-derived tables use 46113, 02270, 02261, 51515; population and
   state tables use 46102, 02158, 02063/02066, 51019), so some counties silently vanished at some levels;
   here every code of either vintage maps to every level.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

WHEELS = {
    "delphi-utils": ("0.3.24", "delphi_utils-0.3.24-py3-none-any.whl",
                     "b98ea579976dfcbfeaa9f64c180c9219369f55412d187f9fb8d94b4d6a0d332c"),
    "plotly-geo": ("1.0.0", "plotly_geo-1.0.0-py3-none-any.whl",
                   "9f695ca0a48494c821d8ab612d33b092bc64ec8de86d021c5209cc0b217aa9ce"),
}
DATA = "delphi_utils/data/2020/"
SHAPES = "_plotly_geo/package_data/"

PSEUDO_COUNTIES = {
    # code: (state_id, member counties, name)
    "70002": ("ma", ["25007", "25019"], "Dukes and Nantucket"),
    "70003": ("mo", ["29095", "29047", "29037", "29165"], "Kansas City"),
}
RETIRED_COUNTIES = {
    # old code: current code(s) covering the same land
    "46113": ["46102"],  # Shannon County SD renamed Oglala Lakota (2015)
    "02270": ["02158"],  # Wade Hampton AK renamed Kusilvak (2015)
    "02261": ["02063", "02066"],  # Valdez-Cordova AK split into Chugach and Copper River (2019)
    "51515": ["51019"],  # Bedford city VA merged into Bedford County (2013)
}
SIMPLIFY_DEGREES = {"county": 0.02, "state": 0.02, "msa": 0.02, "hrr": 0.02}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheels(folder: Path) -> dict[str, Path]:
    """The pinned wheels in ``folder`` (downloaded with pip if absent), each checked against its sha256."""
    paths = {}
    for name, (version, filename, digest) in WHEELS.items():
        path = folder / filename
        if not path.exists():
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder),
                            f"{name}=={version}"], check=True)
        got = sha256(path)
        if got != digest:
            raise SystemExit(f"{path}: sha256 {got} does not match the pinned {digest}")
        paths[name] = path
    return paths


def read_table(wheel: zipfile.ZipFile, name: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(wheel.read(DATA + name)), dtype=str)


def load_upstream(path: Path) -> dict[str, pd.DataFrame]:
    names = ["fips_pop", "fips_state_table", "fips_hrr_table", "fips_msa_table", "state_codes_table",
             "state_code_hhs_table", "zip_fips_table", "zip_hrr_table", "zip_msa_table", "zip_pop"]
    with zipfile.ZipFile(path) as wheel:
        tables = {n: read_table(wheel, n + ".csv") for n in names}
    for key in ("fips_pop", "zip_pop"):
        tables[key]["pop"] = tables[key]["pop"].astype(np.int64)
    for key in ("fips_hrr_table", "zip_fips_table", "zip_msa_table"):
        tables[key]["weight"] = tables[key]["weight"].astype(float)
    return tables


def build_states(up) -> pd.DataFrame:
    states = up["state_codes_table"].merge(up["state_code_hhs_table"], on="state_code", how="left")
    return states.sort_values("state_id").reset_index(drop=True)


def build_counties(up, states) -> pd.DataFrame:
    """One row per county code users meet: current counties, megacounties ``SS000``, pseudo and retired codes.

    ``kind`` says how a code counts toward population: only ``county`` rows carry population up.
    """
    code_to_id = states.set_index("state_code")["state_id"]
    pop = up["fips_pop"].set_index("fips")["pop"]
    rows = []
    for fips in up["fips_state_table"]["fips"]:
        if fips in PSEUDO_COUNTIES:
            state, members, _ = PSEUDO_COUNTIES[fips]
            rows.append((fips, state, "pseudo", pop[fips]))
        elif fips.endswith("000"):
            rows.append((fips, code_to_id[fips[:2]], "megacounty", np.nan))
        else:
            rows.append((fips, code_to_id[fips[:2]], "county", pop[fips]))
    for old, new in RETIRED_COUNTIES.items():
        rows.append((old, code_to_id[old[:2]], "retired", pop[new].sum()))
    counties = pd.DataFrame(rows, columns=["county", "state_id", "kind", "population"])
    counties["population"] = counties["population"].astype("Int64")
    return counties.sort_values("county").reset_index(drop=True)


def _member_split(up) -> pd.DataFrame:
    """(code, member, share): pseudo and retired codes as population shares of current counties."""
    pop = up["fips_pop"].set_index("fips")["pop"]
    rows = []
    for code, (_, members, _) in PSEUDO_COUNTIES.items():
        rows += [(code, m, pop[m] / pop[members].sum()) for m in members]
    for old, new in RETIRED_COUNTIES.items():
        rows += [(old, m, pop[m] / pop[new].sum()) for m in new]
    return pd.DataFrame(rows, columns=["code", "member", "share"])


def build_zip_county(up) -> pd.DataFrame:
    """zip -> current county code, weight = share of the zip's population; retired codes split by population."""
    zc = up["zip_fips_table"].rename(columns={"fips": "county"})
    split = _member_split(up)
    split = split[split["code"].isin(RETIRED_COUNTIES)]
    old = zc.merge(split, left_on="county", right_on="code")
    old = old.assign(county=old["member"], weight=old["weight"] * old["share"])[["zip", "county", "weight"]]
    out = pd.concat([zc[~zc["county"].isin(RETIRED_COUNTIES)], old])
    return out.groupby(["zip", "county"], as_index=False)["weight"].sum()


def _extend_county_links(links: pd.DataFrame, up, key: str) -> pd.DataFrame:
    """Give every current, pseudo and retired county code the links of the land it covers.

    ``links`` is (county, key, weight) for whatever codes upstream used; a code missing from it gets the
    population-weighted links of its members (pseudo-counties) or its other-vintage twin (retired codes).
    """
    have = set(links["county"])
    extra = []
    twins = {new: old for old, news in RETIRED_COUNTIES.items() for new in news}
    for new, old in twins.items():  # current code lacking links: borrow the old code's (same land)
        if new not in have and old in have:
            extra.append(links[links["county"] == old].assign(county=new))
    split = _member_split(up)
    for code, parts in split.groupby("code"):
        if code in have:
            continue
        member_links = links.merge(parts, left_on="county", right_on="member")
        # a pseudo-county (or a retired code whose twin has links) gets its members' links, pooled by population
        member_links = member_links.assign(weight=member_links["weight"] * member_links["share"])
        if len(member_links):
            extra.append(member_links.assign(county=code)[["county", key, "weight"]])
    out = pd.concat([links] + extra)
    out = out.groupby(["county", key], as_index=False)["weight"].sum()
    return out.sort_values(["county", key]).reset_index(drop=True)


def build_county_hrr(up) -> pd.DataFrame:
    return _extend_county_links(up["fips_hrr_table"].rename(columns={"fips": "county"}), up, "hrr")


def build_county_msa(up) -> pd.DataFrame:
    links = up["fips_msa_table"].rename(columns={"fips": "county"}).assign(weight=1.0)
    return _extend_county_links(links, up, "msa")


def build_zip_table(up) -> pd.DataFrame:
    """One row per zip any table names, with its population (empty for the few zips zip_pop lacks)."""
    names = set(up["zip_fips_table"]["zip"]) | set(up["zip_hrr_table"]["zip"]) | set(up["zip_msa_table"]["zip"])
    names |= set(up["zip_pop"]["zip"])
    pop = up["zip_pop"].set_index("zip")["pop"]
    zips = pd.DataFrame({"zip": sorted(names)})
    zips["population"] = pop.reindex(zips["zip"]).astype("Int64").to_numpy()
    return zips


def build_zip_links(up, zip_county, counties) -> dict[str, pd.DataFrame]:
    state_of = counties.set_index("county")["state_id"]
    zip_state = zip_county.assign(state_id=state_of.reindex(zip_county["county"]).to_numpy())
    zip_state = zip_state.groupby(["zip", "state_id"], as_index=False)["weight"].sum()
    zip_hrr = up["zip_hrr_table"].assign(weight=1.0)
    zip_msa = up["zip_msa_table"][["zip", "msa", "weight"]]
    return {"zip_state": zip_state, "zip_hrr": zip_hrr, "zip_msa": zip_msa}


def populations(counties, county_msa, zips, zip_hrr, states) -> dict[str, pd.DataFrame]:
    real = counties[counties["kind"] == "county"]
    state_pop = real.groupby("state_id")["population"].sum()
    st = states.assign(population=state_pop.reindex(states["state_id"]).to_numpy())
    st["population"] = st["population"].astype("Int64")
    hhs = st.groupby("hhs", as_index=False)["population"].sum()
    hhs = hhs.sort_values("hhs", key=lambda s: s.astype(int)).reset_index(drop=True)
    msa = county_msa.merge(real[["county", "population"]], on="county")
    msa = msa.assign(population=msa["population"].astype(float) * msa["weight"]).groupby("msa", as_index=False)[
        "population"].sum()
    msa["population"] = msa["population"].round().astype(np.int64)
    hrr = zip_hrr.merge(zips.dropna(), on="zip").groupby("hrr", as_index=False)["population"].sum()
    hrr = hrr.sort_values("hrr", key=lambda s: s.astype(int)).reset_index(drop=True)
    nation = pd.DataFrame({"nation": ["us"], "population": [int(real["population"].sum())]})
    return {"states": st, "hhs": hhs, "msa": msa, "hrr": hrr, "nation": nation}


def write_csv(df: pd.DataFrame, name: str, compress: bool = False) -> Path:
    text = df.to_csv(index=False, float_format="%.12g", lineterminator="\n").encode()
    path = HERE / (name + (".csv.gz" if compress else ".csv"))
    if compress:
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as fh:
            fh.write(text)
    else:
        path.write_bytes(text)
    return path


def build_shapes(wheel_path: Path, counties, county_msa, county_hrr, states) -> None:
    import geopandas as gpd

    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel_path) as wheel:
        for member in wheel.namelist():
            if member.startswith(SHAPES + "cb_2016"):
                wheel.extract(member, tmp)
        base = Path(tmp) / SHAPES
        county = gpd.read_file(base / "cb_2016_us_county_500k.shp").set_crs(4269)
        state = gpd.read_file(base / "cb_2016_us_state_500k.shp").set_crs(4269)
    county = county[["GEOID", "NAME", "geometry"]].rename(columns={"GEOID": "geo", "NAME": "name"})
    county = county.sort_values("geo").reset_index(drop=True)
    state = state.assign(geo=state["STUSPS"].str.lower())[["geo", "NAME", "geometry"]].rename(columns={"NAME": "name"})
    state = state.sort_values("geo").reset_index(drop=True)
    # HRRs are zip-based; approximate each by the counties whose largest share lies in it
    main_hrr = county_hrr.sort_values(["county", "weight"], ascending=[True, False]).drop_duplicates("county")
    shapes = {"county": county, "state": state}
    for level, links in (("msa", county_msa), ("hrr", main_hrr)):
        parts = county.merge(links[["county", level]], left_on="geo", right_on="county")
        dissolved = parts.dissolve(by=level, as_index=False)[[level, "geometry"]].rename(columns={level: "geo"})
        shapes[level] = dissolved.sort_values("geo", key=lambda s: s.astype(int)).reset_index(drop=True)
    for level, gdf in shapes.items():
        gdf = gdf.copy()
        gdf["geometry"] = gdf.geometry.simplify_coverage(SIMPLIFY_DEGREES[level]).make_valid()
        with tempfile.TemporaryDirectory() as tmp:
            plain = Path(tmp) / f"{level}.geojson"
            gdf.to_file(plain, driver="GeoJSON", engine="pyogrio",
                        layer_options={"COORDINATE_PRECISION": 3, "WRITE_BBOX": "NO"})
            (HERE / "shapes").mkdir(exist_ok=True)
            with open(HERE / "shapes" / f"{level}.geojson.gz", "wb") as raw, \
                    gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as fh:
                fh.write(plain.read_bytes())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="folder holding (or receiving) the pinned wheels")
    parser.add_argument("--no-shapes", action="store_true", help="skip the boundary shapes")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.wheels or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        wheels = fetch_wheels(folder)
        up = load_upstream(wheels["delphi-utils"])
        states = build_states(up)
        counties = build_counties(up, states)
        county_hrr = build_county_hrr(up)
        county_msa = build_county_msa(up)
        zip_county = build_zip_county(up)
        zips = build_zip_table(up)
        zip_links = build_zip_links(up, zip_county, counties)
        pops = populations(counties, county_msa, zips, zip_links["zip_hrr"], states)
        write_csv(counties, "counties")
        write_csv(pops["states"], "states")
        write_csv(pops["hhs"], "hhs")
        write_csv(pops["msa"], "msa")
        write_csv(pops["hrr"], "hrr")
        write_csv(pops["nation"], "nation")
        write_csv(county_hrr, "county_hrr")
        write_csv(county_msa, "county_msa")
        write_csv(zips, "zips", compress=True)
        write_csv(zip_county, "zip_county", compress=True)
        for name, table in zip_links.items():
            write_csv(table.sort_values(list(table.columns[:2])), name, compress=True)
        if not args.no_shapes:
            build_shapes(wheels["plotly-geo"], counties, county_msa, county_hrr, states)
    print(f"wrote the geography tables to {HERE}")


if __name__ == "__main__":
    main()
