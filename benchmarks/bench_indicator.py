"""The full JHU CSSE indicator run on the real files, ours against the upstream way, per stage and end to end.

Input: the real ``time_series_covid19_{confirmed,deaths}_US.csv`` (through 2020-11-30: 314 days) from
``$DELPHI_SIGNALS_REALDATA/jhu_csse`` (default ``../shared/realdata`` next to the checkout; never copied into
the repo). Both sides export every day of 12 signals × 6 geo levels (county, state, msa, hrr, hhs, nation):
22,464 CSV files each, into a scratch folder.

* Ours: ``delphi_signals.indicators.jhu.run.run_module(params)`` end to end (fresh data root each run, so
  the copy into the dated input cache is counted), with thin timers around the stages it calls
  (``pull_metric``, ``geo_map``, ``smooth``, ``write_csvs``; the rest is "other"). A warm-up run on a
  tiny slice of the files pays the import, numba cache loading and JIT first; its time is reported apart.
  Median of ``--repeats`` runs (default 3), numba pinned to ``--threads`` (default 1, like the oracle).
* Upstream: ``benchmarks/upstream_jhu.py`` — cmu-delphi's ``jhu`` pipeline on delphi-utils 0.3.24
  (GeoMapper, Smoother, create_export_csv) in its own virtualenv (``benchmarks/oracle.py``, one BLAS thread),
  once per invocation, between our first and second runs. Its UID → fips table (no longer shipped by
  delphi-utils) is written here from our ``uid_to_fips``.

Values: every file name both sides wrote is compared row by row (same (date, geo_id) rows; ``val`` equal
within one unit in the 7th decimal, the export rounding, plus 1e-12 relative: our crosswalk weights carry 12
significant digits). Where a region's geography differs between upstream's tables and ours
(``geodata/README.md``: retired county codes, zip-derived HRR links and populations), rows differ
legitimately: the tables both runs actually used (county → region links of the data's counties; each
region's population) are compared first, and rows of regions whose links (counts) or links/population
(proportions) differ are reported — how many, by how much — but not gated. Gate: every row of every region
whose tables agree is equal (on the real files: all county, msa and nation counts, county and msa props,
55 of 56 states, 9 of 10 HHS regions, 304 of 306 HRRs for counts), the same file names on both sides, at
most one region excluded for county or state counts, at least 90 % of all rows gated.

Target (issue 5): ours ≥ 5× faster end to end; exit status 1 on a miss or a value mismatch.

    python benchmarks/bench_indicator.py [--repeats 3] [--threads 1] [--workdir DIR] [--keep] [--rows N]
"""

from __future__ import annotations

import argparse
import gc
import io
import logging
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import record, target_met  # noqa: E402

TARGET = 5.0
START = "2020-01-22"
ISSUE = "2020-11-30"
METRICS = ("confirmed", "deaths")
LEVELS = ("county", "state", "msa", "hrr", "hhs", "nation")
# stage -> (module whose global is wrapped with a timer, name of the function)
STAGES = {"pull": ("jhu.run", "pull_metric"), "geo": ("jhu.run", "geo_map"), "smooth": ("jhu.run", "smooth"),
          "export": ("runner", "write_csvs")}
STAGE_LABELS = {"pull": "pull/parse", "geo": "geo", "smooth": "smoothing", "export": "export", "other": "other"}
# one unit in the 7th decimal (both sides round there); relative: our crosswalk weights are stored to 12
# significant digits (upstream's to 17), which moves a weighted sum by up to ~5e-13 of its value
ATOL, RTOL = 1.5e-7, 1e-12
NOTES = {  # why the tables differ where they do (geodata/README.md, spec indicators.md §1.2, §8)
    "02261": "Valdez-Cordova, split in 2019 into 02063/02066, still reported by JHU under 84002261; upstream's 2020 "
             "tables have neither a population nor a state/hhs link for it (its counts vanish from ak and HHS 10 "
             "but reach the nation, its people count nowhere); ours maps the retired code with its successors' "
             "population (geodata fix 3)",
    "02158": "Kusilvak and 46102 Oglala Lakota: current codes, but upstream's fips->hrr table (zip-derived) knows "
             "only the old 02270/46113, so it drops them from their HRRs; ours links both vintages",
    "60000": "the territories JHU reports as one row (60000, 66000, 69000, 78000): upstream's 2020 table has no "
             "population for their county rows, so it wrote no proportion there; ours divides by the territory's "
             "population (as upstream publishes them since)",
    "hrr": "HRR populations: upstream sums county population x fips->hrr weight over the data's counties, ours is "
         "the HRR's zip populations (geodata hrr.csv): every HRR differs slightly, so no hrr proportion is gated",
}


def realdata_dir() -> Path:
    return Path(os.environ.get("DELPHI_SIGNALS_REALDATA", REPO.parent / "shared" / "realdata"))


def input_files(folder: Path) -> dict[str, Path]:
    return {m: folder / f"time_series_covid19_{m}_US.csv" for m in METRICS}


def slice_inputs(source: dict[str, Path], out: Path, rows: int | None, days: int | None) -> Path:
    """The first ``rows`` rows (and ``days`` date columns) of both files, for warm-up and quick checks."""
    out.mkdir(parents=True, exist_ok=True)
    for metric, path in source.items():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        n_id = 12 if metric == "deaths" else 11
        cols = list(frame.columns[:n_id]) + list(frame.columns[n_id:][:days] if days else frame.columns[n_id:])
        frame.iloc[:rows][cols].to_csv(out / path.name, index=False)
    return out


# ------------------------------------------------------------------------------------------------ ours
def params_for(root: Path, input_folder: Path) -> dict:
    return {"common": {"export_dir": str(root / "export"), "input_dir": str(root / "input"), "issue_date": ISSUE},
            "indicator": {"base_url": str(input_folder / "time_series_covid19_{metric}_US.csv"),
                          "export_start_date": START}}


def run_ours(root: Path, input_folder: Path) -> dict:
    """One instrumented ``run_module``: total seconds, seconds per stage, files written."""
    import importlib

    from delphi_signals.indicators.jhu import run as jrun

    times = defaultdict(float)
    modules = {stage: importlib.import_module(f"delphi_signals.indicators.{module}")
               for stage, (module, _) in STAGES.items()}
    originals = {stage: getattr(modules[stage], name) for stage, (_, name) in STAGES.items()}

    def timed(fn, stage):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times[stage] += time.perf_counter() - t
        return wrapper

    for stage, (_, name) in STAGES.items():
        setattr(modules[stage], name, timed(originals[stage], stage))
    gc.collect()
    try:
        t = time.perf_counter()
        paths = jrun.run_module(params_for(root, input_folder))
        total = time.perf_counter() - t
    finally:
        for stage, (_, name) in STAGES.items():
            setattr(modules[stage], name, originals[stage])
    times = {stage: times[stage] for stage in STAGES}
    times["other"] = total - sum(times.values())
    return {"total": total, **times, "files": len(paths)}


# ------------------------------------------------------------------------------------------------ upstream
def write_uid_table(source: dict[str, Path], path: Path) -> int:
    """The weighted jhu_uid → fips table upstream's GeoMapper used to ship, from our ``uid_to_fips``."""
    from delphi_signals.indicators.jhu.data_tools import uid_to_fips
    from delphi_signals.indicators.jhu.pull import state_codes

    rows = {}
    codes = state_codes()
    for file in source.values():
        frame = pd.read_csv(file, usecols=["UID", "Province_State"])
        for uid, state in zip(frame["UID"].astype(np.int64).tolist(), frame["Province_State"].astype(str)):
            for fips, weight in (uid_to_fips(uid, state, codes) or {}).items():
                rows[(uid, fips)] = weight
    table = pd.DataFrame([(u, f, w) for (u, f), w in rows.items()], columns=["jhu_uid", "fips", "weight"])
    table.to_csv(path, index=False, float_format="%.17g")
    return len(table)


def run_upstream(input_folder: Path, uid_table: Path, export_dir: Path, tables_out: Path) -> dict:
    from oracle import run_oracle

    script = (Path(__file__).resolve().parent / "upstream_jhu.py").read_text()
    args = {"base_url": str(input_folder / "time_series_covid19_{metric}_US.csv"), "uid_table": str(uid_table),
            "export_dir": str(export_dir), "start_date": START, "tables_out": str(tables_out)}
    export_dir.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    result = run_oracle(script, args)
    result["process"] = time.perf_counter() - t  # incl. interpreter start and imports (not counted)
    result["other"] = result["total"] - sum(result[s] for s in STAGES)
    return result


# ------------------------------------------------------------------------------------------------ values
def read_pairs(folder: Path) -> dict[tuple[str, str], pd.DataFrame]:
    """Every file of a folder, as one frame (date, geo_id, val) per (signal, geo); ``val`` NaN where "NA"."""
    groups = defaultdict(list)
    for path in folder.iterdir():
        day, geo, signal = path.name[:8], *path.name[9:-4].split("_", 1)
        groups[(signal, geo)].append((day, path))
    out = {}
    for key, items in groups.items():
        items.sort()
        bodies, counts = [], []
        for _, path in items:
            data = path.read_bytes()
            body = data[data.index(b"\n") + 1:]
            bodies.append(body)
            counts.append(body.count(b"\n"))
        frame = pd.read_csv(io.BytesIO(b"".join(bodies)), header=None, usecols=[0, 1], names=["geo_id", "val"],
                            dtype={"geo_id": str}, na_values=["NA"], keep_default_na=False)
        frame.insert(0, "date", np.repeat([int(d) for d, _ in items], counts))
        out[key] = frame
    return out


def our_tables(counties: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Our links (level, fips, geo_id, weight) for the data's counties, and population (level, geo_id)."""
    from delphi_signals.geo import crosswalk, population

    links, pops = [], []
    for level in ("state", "msa", "hrr", "hhs", "nation"):
        frame = crosswalk("county", level).to_frame()
        frame = frame[frame["county"].isin(counties)]
        links.append(pd.DataFrame({"level": level, "fips": frame["county"], "geo_id": frame[level],
                                   "weight": frame["weight"]}))
    from delphi_signals.indicators.jhu.constants import TERRITORY_COUNTIES

    for level in ("county", "state", "msa", "hrr", "hhs", "nation"):
        pop = population(level).to_series()
        if level == "county":  # the indicator gives a territory's county row the territory's population
            states = population("state").to_series()
            pop = pop.copy()
            pop.loc[list(TERRITORY_COUNTIES)] = states.loc[list(TERRITORY_COUNTIES.values())].to_numpy()
        pops.append(pd.DataFrame({"level": level, "geo_id": pop.index, "population": pop.to_numpy()}))
    return pd.concat(links, ignore_index=True), pd.concat(pops, ignore_index=True)


def table_differences(tables_dir: Path) -> dict[str, dict]:
    """Regions per level whose county links (``"links"``) or population (``"population"``) differ.

    Links: the (county, region, weight) triples of the counties in the data; population: each region's as the
    run used it (upstream: summed over the data's counties after its crosswalk; ours: the geodata tables).
    ``"population"`` also holds the regions whose links differ (a proportion depends on both).
    """
    up_links = pd.read_csv(tables_dir / "upstream_links.csv", dtype={"fips": str, "geo_id": str})
    counties = up_links.loc[up_links.level == "county", "fips"].to_numpy()
    up_pop = pd.read_csv(tables_dir / "upstream_population.csv", dtype={"geo_id": str})
    our_links, our_pop = our_tables(counties)
    out = {}
    for level in LEVELS:
        link_detail = pd.DataFrame(columns=["up", "ours"])
        if level != "county":
            a = up_links[up_links.level == level].set_index(["fips", "geo_id"])["weight"]
            b = our_links[our_links.level == level].set_index(["fips", "geo_id"])["weight"]
            both = pd.concat([a.rename("up"), b.rename("ours")], axis=1).fillna(0.0)
            link_detail = both[~np.isclose(both["up"], both["ours"], rtol=1e-11, atol=1e-15)]
        differ_links = set(link_detail.index.get_level_values(1)) if len(link_detail) else set()
        # population as each side used it, for the regions the run produced
        a = up_pop[up_pop.level == level].set_index("geo_id")["population"]
        # a region the data reaches but upstream's table lacks had no population there (e.g. 60000 before 2021)
        a = a.reindex(a.index.union(pd.Index(up_links.loc[up_links.level == level, "geo_id"].unique())))
        b = our_pop[our_pop.level == level].set_index("geo_id")["population"].reindex(a.index)
        same = np.isclose(a, b, rtol=1e-12, atol=0) | (a.isna() & b.isna())
        out[level] = {"links": differ_links, "population": set(a.index[~same]) | differ_links,
                      "link_detail": link_detail, "regions": len(a),
                      "population_detail": pd.DataFrame({"upstream": a[~same], "ours": b[~same]})}
    return out


def compare(ours_dir: Path, up_dir: Path, diffs: dict) -> tuple[list[dict], dict]:
    """Row-by-row comparison of every (signal, geo); rows keyed by (date, geo_id)."""
    ours, up = read_pairs(ours_dir), read_pairs(up_dir)
    names_o = {p.name for p in ours_dir.iterdir()}
    names_u = {p.name for p in up_dir.iterdir()}
    summary = {"files_both": len(names_o & names_u), "only_ours": sorted(names_o - names_u),
               "only_upstream": sorted(names_u - names_o), "ours_na": 0}
    rows = []
    empty = pd.DataFrame({"date": pd.Series(dtype=int), "geo_id": pd.Series(dtype=str),
                          "val": pd.Series(dtype=float)})
    for key in sorted(set(ours) | set(up), key=lambda k: (LEVELS.index(k[1]), k[0].endswith("prop"), k[0])):
        signal, geo = key
        kind = "population" if signal.endswith("_prop") else "links"
        excluded = diffs[geo][kind]
        o, u = ours.get(key, empty), up.get(key, empty)
        summary["ours_na"] += int(o["val"].isna().sum())
        o, u = o[o["val"].notna()], u[u["val"].notna()]
        m = o.merge(u, on=["date", "geo_id"], how="outer", suffixes=("_o", "_u"), indicator=True)
        a, b = m["val_o"].to_numpy(float), m["val_u"].to_numpy(float)
        absd = np.abs(a - b)
        scale = np.maximum(np.abs(a), np.abs(b))
        rel = np.divide(absd, scale, out=np.zeros_like(absd), where=scale > 0)
        equal = absd <= ATOL + RTOL * scale  # False where only one side has the row (NaN)
        gated = ~m["geo_id"].isin(excluded).to_numpy()
        both = (m["_merge"] == "both").to_numpy()
        ok = both & equal & gated
        expl = ~equal & ~gated
        expl_both = expl & both
        rows.append({
            "signal": signal, "geo": geo, "kind": "props" if kind == "population" else "nums",
            "rows": len(m), "gated_rows": int(gated.sum()),
            "regions": m["geo_id"].nunique(), "gated_regions": m.loc[gated, "geo_id"].nunique(),
            "bad": int((~equal & gated).sum()),
            "bad_examples": m.loc[~equal & gated, ["date", "geo_id", "val_o", "val_u"]].head(3).values.tolist(),
            "explained": int(expl.sum()), "explained_regions": sorted(set(m.loc[expl, "geo_id"])),
            "only_ours": int((m["_merge"] == "left_only").sum()), "only_up": int((m["_merge"] == "right_only").sum()),
            "max_abs": float(absd[expl_both].max()) if expl_both.any() else 0.0,
            "max_rel": float(rel[expl_both].max()) if expl_both.any() else 0.0,
            "exact": int((both & (absd == 0)).sum()),
            "gated_not_exact": int((gated & ~(both & (absd == 0))).sum()),
            "ok_abs": float(absd[ok].max()) if ok.any() else 0.0,
            "ok_rel": float(rel[ok].max()) if ok.any() else 0.0,
        })
    return rows, summary


def print_tables(diffs: dict) -> None:
    print("geography tables, upstream (delphi-utils 0.3.24 2020, as its run used them) vs ours (geodata/):")
    for level, d in diffs.items():
        links, pop = d["link_detail"], d["population_detail"]
        parts = [f"{len(d['population'])} of {d['regions']} regions excluded for props"
                 + (f", {len(d['links'])} for nums" if level != "county" else "")]
        if len(links):
            parts.append("links differ: " + ", ".join(
                f"{f}->{g} {u:.4g}/{o:.4g}" for (f, g), (u, o) in zip(links.index[:4], links.to_numpy()[:4]))
                + (f" (+{len(links) - 4})" if len(links) > 4 else ""))
        if len(pop):
            rel = ((pop["ours"] - pop["upstream"]).abs() / pop["upstream"]).to_numpy(float)
            rel = f"max {np.max(rel[np.isfinite(rel)]):.1e} relative" if np.isfinite(rel).any() else "none upstream"
            parts.append(f"population differs in {len(pop)} ({rel}; "
                         + ", ".join(f"{g} {u:,.0f}/{o:,.0f}" for g, (u, o) in
                                     zip(pop.index[:3], pop[["upstream", "ours"]].to_numpy()[:3])) + ")")
        else:
            parts.append("populations agree")
        print(f"  {level:<7}" + "; ".join(parts))
    print("  (weights and populations given upstream/ours; NaN: no population in upstream's table)")
    seen = set()
    for d in diffs.values():
        seen |= {f for f, _ in d["link_detail"].index} | set(d["population_detail"].index)
    if len(diffs["hrr"]["population_detail"]):
        seen.add("hrr")
    seen.discard("1")  # an HRR or HHS id, not a county
    for code, note in NOTES.items():
        if code in seen:
            print(f"  {code}: {note}")


def print_values(rows: list[dict], summary: dict) -> None:
    print(f"\n{'signal':<30}{'geo':<7}{'rows':>9}{'exact':>9}{'bad':>5}{'gated regions':>15}"
          f"{'explained rows':>16}{'max |d|':>10}{'max rel':>9}  explained regions")
    for r in rows:
        regions = ",".join(r["explained_regions"][:4]) + (f",+{len(r['explained_regions']) - 4}"
                                                          if len(r["explained_regions"]) > 4 else "")
        one_side = (f" (only ours {r['only_ours']})" if r["only_ours"] else "") + (
            f" (only upstream {r['only_up']})" if r["only_up"] else "")
        print(f"{r['signal']:<30}{r['geo']:<7}{r['rows']:>9}{r['exact']:>9}{r['bad']:>5}"
              f"{r['gated_regions']:>8} of {r['regions']:<4}{r['explained']:>16}{r['max_abs']:>10.3g}"
              f"{r['max_rel']:>9.1e}  {regions}{one_side}")
    print("rows: (date, geo) rows either side wrote; exact: bit-equal values; bad: rows differing in a region whose "
          "tables agree (gate: 0); explained: rows in regions whose links/population differ (not gated)")
    print(f"\n{'summary by level':<18}{'gated rows':>13}{'identical':>11}  pairs fully identical")
    for level in LEVELS:
        for kind in ("nums", "props"):
            sel = [r for r in rows if r["geo"] == level and r["kind"] == kind]
            gated_rows = sum(r["gated_rows"] for r in sel)
            identical = all(r["bad"] == 0 for r in sel)
            full = sum(r["bad"] == 0 and r["explained"] == 0 for r in sel)
            verdict = "-" if not gated_rows else "yes" if identical else "NO"
            print(f"  {level + ' ' + kind:<16}{gated_rows:>13,}{verdict:>11}  {full} of {len(sel)}")
    ok = [r for r in rows if r["gated_rows"]]
    print(f"gated rows not bit-equal (last-digit rounding): {sum(r['gated_not_exact'] for r in rows):,} of "
          f"{sum(r['gated_rows'] for r in rows):,}")
    print(f"accepted differences in gated rows: max |d| {max(r['ok_abs'] for r in ok):.2g}, max relative "
          f"{max(r['ok_rel'] for r in ok):.2g}; {sum(r['rows'] - r['exact'] for r in rows):,} of "
          f"{sum(r['rows'] for r in rows):,} rows not bit-equal in all; rows we write with val NA (+ missing code), "
          f"which upstream drops: {summary['ours_na']}")


# ------------------------------------------------------------------------------------------------ main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="our timed runs (median)")
    parser.add_argument("--threads", type=int, default=1, help="numba threads for ours (oracle: 1 BLAS thread)")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (exports, logs, tables)")
    parser.add_argument("--rows", type=int, help="only the first N rows of each file (a quick check, no target)")
    args = parser.parse_args(argv)

    source = input_files(realdata_dir() / "jhu_csse")
    for path in source.values():
        if not path.exists():
            print(f"missing {path} (set DELPHI_SIGNALS_REALDATA)", file=sys.stderr)
            return 2
    work = Path(tempfile.mkdtemp(prefix="bench_indicator_", dir=args.workdir))
    try:
        return bench(args, source, work)
    finally:
        if args.keep:
            print(f"scratch kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def bench(args, source, work: Path) -> int:
    input_folder = source["confirmed"].parent
    if args.rows:
        input_folder = slice_inputs(source, work / "subset", args.rows, None)
    t = time.perf_counter()
    import numba

    from delphi_signals.indicators.jhu import run as _  # noqa: F401  (import cost, reported)
    import_s = time.perf_counter() - t
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))

    from delphi_signals.log import get_logger

    get_logger(__name__)  # configures the handler; our logs go to a file, same cost as stderr
    log_file = open(work / "ours.log", "w")  # noqa: SIM115
    logging.getLogger("delphi_signals").handlers[0].setStream(log_file)
    # warm-up: first call in the process (numba cache / JIT, table loading) on a tiny slice
    tiny = slice_inputs(source, work / "tiny", 40, 30)
    t = time.perf_counter()
    run_ours(work / "warmup", tiny)
    warm_s = time.perf_counter() - t
    shutil.rmtree(work / "warmup")

    n_uids = write_uid_table(source, work / "jhu_uid_fips.csv")
    print(f"JHU CSSE, issue {ISSUE}: {input_folder}; uid table {n_uids} rows; ours numba threads "
          f"{numba.get_num_threads()}, oracle 1 BLAS thread; machine {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"ours: import {import_s:.2f} s, first run in the process (tiny slice: JIT/cache, tables) "
          f"{warm_s:.2f} s — not in the figures below")

    ours_runs = []
    up = None
    for i in range(max(args.repeats, 1)):
        root = work / f"ours{i}"
        ours_runs.append(run_ours(root, input_folder))
        print(f"  ours run {i + 1}: {ours_runs[-1]['total']:.2f} s, {ours_runs[-1]['files']} files", flush=True)
        if i:
            shutil.rmtree(work / f"ours{i - 1}")
        if up is None:  # upstream once, after our first run: both share the machine's load of the moment
            print("  upstream run (delphi-utils 0.3.24, its own venv) ...", flush=True)
            (work / "tables").mkdir()
            up = run_upstream(input_folder, work / "jhu_uid_fips.csv", work / "upstream" / "export", work / "tables")
            print(f"  upstream: {up['total']:.2f} s, {up['csv_export_count']} files "
                  f"(process {up['process']:.1f} s incl. interpreter and imports)", flush=True)
    log_file.close()
    ours_dir = work / f"ours{len(ours_runs) - 1}" / "export"
    med = {k: float(np.median([r[k] for r in ours_runs])) for k in ("total", *STAGES, "other")}

    print()
    print(f"{'stage':<22}{'upstream s':>11}{'ours s (median)':>17}{'ratio':>9}   ours runs")
    for stage in (*STAGES, "other"):
        ratio = f"{up[stage] / med[stage]:8.1f}x" if min(med[stage], up[stage]) > 0.05 else f"{'-':>9}"
        runs = " ".join(f"{r[stage]:.2f}" for r in ours_runs)
        print(f"{STAGE_LABELS[stage]:<22}{up[stage]:11.2f}{med[stage]:17.2f}{ratio}   {runs}")
    ratio = up["total"] / med["total"]
    print(f"{'end to end':<22}{up['total']:11.2f}{med['total']:17.2f}{ratio:8.1f}x   "
          + " ".join(f"{r['total']:.2f}" for r in ours_runs))
    no_init = up["total"] - up["geomapper_init"]
    print(f"  upstream geo includes {up['geomapper_init']:.2f} s of GeoMapper() construction (upstream built one "
          f"per geo_map call, {72 + 3} in all); without it upstream is {no_init:.2f} s, "
          f"ratio {no_init / med['total']:.1f}x")
    print(f"  upstream smoothing: 7dav inputs with interior NaNs (where its default savgol imputation would act): "
          f"{up['interior_nans_before_7dav']}")

    # ---- values
    diffs = table_differences(work / "tables")
    rows, summary = compare(ours_dir, work / "upstream" / "export", diffs)
    print()
    print(f"values: {summary['files_both']} file names written by both sides, only ours "
          f"{len(summary['only_ours'])}, only upstream {len(summary['only_upstream'])}; equal means "
          f"|d| <= {ATOL:g} + {RTOL:g}·|v| (export rounding; our weights have 12 significant digits)")
    print_tables(diffs)
    print_values(rows, summary)
    failures = [f"{r['signal']} {r['geo']}: {r['bad']} rows differ where the tables agree, e.g. {r['bad_examples']}"
                for r in rows if r["bad"]]
    if summary["only_ours"] or summary["only_upstream"]:
        failures.append(f"file names differ: only ours {summary['only_ours'][:3]}, "
                        f"only upstream {summary['only_upstream'][:3]}")
    for level in ("county", "state") if not args.rows else ():  # the gate must never shrink to nothing
        sel = [r for r in rows if r["geo"] == level and r["kind"] == "nums"]
        if not sel or any(r["gated_regions"] < r["regions"] - 1 for r in sel):
            failures.append(f"{level} nums: more than one region excluded from the gate")
    if not args.rows and sum(r["gated_rows"] for r in rows) < 0.9 * sum(r["rows"] for r in rows):
        failures.append("less than 90% of the rows are gated")
    print()
    speed_ok = target_met(ratio, TARGET) or bool(args.rows)
    n_files = len(list(ours_dir.glob("*.csv")))
    for stage in STAGES:
        if min(med[stage], up[stage]) > 0.05:
            record("indicator", f"JHU run, stage: {STAGE_LABELS[stage].strip()}", ours=med[stage], baseline=up[stage],
                   unit="s", baseline_name="delphi-utils 0.3.24 + upstream jhu run_module")
    record("indicator", f"JHU run_module end to end, real data ({n_files:,} files)", ours=med["total"],
           baseline=up["total"], unit="s", target=None if args.rows else TARGET,
           baseline_name="delphi-utils 0.3.24 + upstream jhu run_module",
           note="values agree wherever the tables agree" if not failures else f"{len(failures)} value check(s) failed")
    print(f"end to end: upstream {up['total']:.2f} s, ours {med['total']:.2f} s (median of {len(ours_runs)}) -> "
          f"{ratio:.1f}x (target {TARGET:.0f}x{', not applied with --rows' if args.rows else ''})")
    if not speed_ok:
        failures.append(f"speed-up {ratio:.1f}x < {TARGET:.0f}x")
    for f in failures:
        print(f"  FAIL: {f}")
    print("PASS" if not failures else "FAIL")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
