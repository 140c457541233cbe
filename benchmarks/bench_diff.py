"""Archive diff of a full day of JHU exports: ours vs delphi-utils 0.3.24 ``FilesystemArchiveDiffer``, interleaved.

The cache is the export of the 2020-11-11 JHU version, today the export of the 2020-11-30 file (12 signals x
6 geo levels x every day: 21,000+ files, a few hundred MB). Both exports are built once by our JHU indicator and
kept under ``--work`` (default ``~/.cache/delphi-signals/bench_diff``). Timed: upstream's ``diff_exports()``
(in its own virtualenv, ``benchmarks/oracle.py``) against our ``ArchiveDiffer.diff()``, each writing its diff
files; ours with the cache as :meth:`commit` leaves it (with its hash record) and, for reference, without the
record (bytes compared). The rows must agree: every upstream ``.csv.diff`` equals our file of the same name
(values NA-aware, deleted rows coded 4), and upstream's new files equal ours byte for byte. Target: >= 4x.

Run: ``python benchmarks/bench_diff.py [--repeat 3]``. Exit code 1 if the target is missed or the rows differ.
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from delphi_signals.indicators.jhu.run import run_module
from delphi_signals.io.archive import CACHE_MANIFEST, ArchiveDiffer
from delphi_signals.testing import realdata_dir

sys.path.insert(0, str(Path(__file__).parent))
from oracle import run_oracle  # noqa: E402
from results import record, target_met, timed  # noqa: E402

TARGET = 4.0
VERSIONS = {"cache": ("vintages/time_series_covid19_{metric}_US__thru_20201111.csv", "2020-11-12"),
            "today": ("time_series_covid19_{metric}_US.csv", "2020-12-01")}
SEVEN = ["geo_id", "val", "se", "sample_size", "missing_val", "missing_se", "missing_sample_size"]

ORACLE_SCRIPT = """
import time
from pathlib import Path
from delphi_utils.archive import FilesystemArchiveDiffer
for stray in Path(ARGS["export"]).glob("*.csv.diff"):
    stray.unlink()
differ = FilesystemArchiveDiffer(ARGS["cache"], ARGS["export"])
differ.update_cache()
t0 = time.perf_counter()
deleted, common_diffs, new = differ.diff_exports()
elapsed = time.perf_counter() - t0
changed = sorted(Path(k).name for k, v in common_diffs.items() if v is not None)
print(json.dumps({"seconds": elapsed, "changed": changed, "new": sorted(Path(p).name for p in new),
                  "deleted": sorted(Path(p).name for p in deleted)}))
"""


def build_exports(work: Path) -> dict[str, Path]:
    """The two JHU exports, built by our indicator once and reused."""
    folders = {}
    for name, (template, issue) in VERSIONS.items():
        folder = work / name / "jhu-csse"
        done = folder.parent / "_DONE"
        if not done.exists():
            shutil.rmtree(folder.parent, ignore_errors=True)
            params = {"common": {"export_dir": str(folder), "input_dir": str(work / "input"), "issue_date": issue},
                      "indicator": {"base_url": str(realdata_dir() / "jhu_csse" / template)}}
            print(f"exporting the {name} version (one time) ...", flush=True)
            run_module(params)
            done.write_text(issue)
        folders[name] = folder
    return folders


def long_frame(paths) -> pd.DataFrame:
    """The rows of the files as one frame keyed by (file, geo_id), seven float columns (plain pandas)."""
    lines = ["file," + ",".join(SEVEN) + "\n"]
    for path in paths:
        header, *rows = path.read_text().splitlines()
        name = path.name.removesuffix(".diff")
        columns = header.split(",")
        if columns[0] == "":  # upstream's diff files write the geo_id index without its name
            columns[0] = "geo_id"
        assert columns == SEVEN, (path, header)
        lines.extend(f"{name},{row}\n" for row in rows)
    frame = pd.read_csv(io.StringIO("".join(lines)), dtype={"geo_id": str, "file": str})
    frame[SEVEN[1:]] = frame[SEVEN[1:]].astype(float)
    return frame.set_index(["file", "geo_id"]).sort_index()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path.home() / ".cache" / "delphi-signals" / "bench_diff")
    args = parser.parse_args(argv)
    folders = build_exports(args.work)
    runs = args.work / "runs"
    shutil.rmtree(runs, ignore_errors=True)
    cache = runs / "cache"
    ArchiveDiffer(cache, folders["cache"], issue_date=VERSIONS["cache"][1]).commit()  # the cache as we keep it
    bare_cache = runs / "bare_cache"
    shutil.copytree(folders["cache"], bare_cache)  # the same files without our hash record
    upstream_export = runs / "upstream_export"  # upstream writes its .csv.diff files next to the export
    subprocess.run(["cp", "-al", str(folders["today"]), str(upstream_export)], check=True)
    n_files = {k: sum(1 for _ in f.glob("*.csv")) for k, f in folders.items()}
    size_mb = sum(p.stat().st_size for f in folders.values() for p in f.glob("*.csv")) / 1e6
    warm = runs / "warm"
    ArchiveDiffer(cache, folders["today"]).diff(warm)  # numba cache load / compile outside the timing
    shutil.rmtree(warm)
    base, ours, bare = [], [], []
    for r in range(args.repeat):  # interleaved, so both sides see the same machine load
        result = run_oracle(ORACLE_SCRIPT, {"cache": str(bare_cache), "export": str(upstream_export)})
        base.append(result["seconds"])
        out = runs / f"ours{r}"
        t, summary = timed(ArchiveDiffer(cache, folders["today"]).diff, out)
        ours.append(t)
        t, bare_summary = timed(ArchiveDiffer(bare_cache, folders["today"]).diff, runs / f"bare{r}")
        bare.append(t)
        if r < args.repeat - 1:
            shutil.rmtree(out)
            shutil.rmtree(runs / f"bare{r}")
    out = runs / f"ours{args.repeat - 1}"
    assert not (bare_cache / CACHE_MANIFEST).exists()
    same_lists = (summary["changed"] == result["changed"] == bare_summary["changed"]
                  and summary["new"] == result["new"]
                  and result["deleted"] == sorted(summary["vanished"] + summary["outside_window"]))
    theirs = long_frame(sorted(upstream_export.glob("*.csv.diff")))
    mine = long_frame([out / n for n in summary["changed"]])
    try:
        pd.testing.assert_frame_equal(mine, theirs, check_exact=True)
        same_rows = True
    except AssertionError as exc:
        print(f"rows differ: {str(exc)[:400]}")
        same_rows = False
    same_new = all((out / n).read_bytes() == (folders["today"] / n).read_bytes() for n in summary["new"])
    ratio, bare_ratio = statistics.median(base) / statistics.median(ours), statistics.median(base) / statistics.median(bare)
    deleted_rows = int((mine[["missing_val", "missing_se", "missing_sample_size"]] == 4).all(axis=1).sum())
    print(f"cache {n_files['cache']} files, today {n_files['today']} files, {size_mb:.0f} MB in all; "
          f"{len(summary['new'])} new, {len(summary['changed'])} changed ({len(mine)} rows, {deleted_rows} deleted), "
          f"{len(summary['unchanged'])} unchanged; median of {args.repeat} interleaved runs")
    print(f"upstream FilesystemArchiveDiffer.diff_exports {statistics.median(base):8.3f} s  "
          f"(runs {', '.join(f'{x:.2f}' for x in base)})")
    print(f"ours ArchiveDiffer.diff (hash record)         {statistics.median(ours):8.3f} s  "
          f"(runs {', '.join(f'{x:.2f}' for x in ours)})  ratio {ratio:5.1f}x  (target >= {TARGET:.0f}x)")
    print(f"ours ArchiveDiffer.diff (no record: bytes)    {statistics.median(bare):8.3f} s  "
          f"(runs {', '.join(f'{x:.2f}' for x in bare)})  ratio {bare_ratio:5.1f}x  (reference)")
    print(f"same files: {same_lists}; same rows in every changed file: {same_rows}; new files byte-identical: "
          f"{same_new}")
    checks = f"same files {same_lists}, same rows {same_rows}, new files identical {same_new}"
    record("diff", f"full JHU day ({n_files['today']:,} files)", ours=statistics.median(ours),
           baseline=statistics.median(base), unit="s", target=TARGET,
           baseline_name="delphi-utils 0.3.24 FilesystemArchiveDiffer", note=checks)
    record("diff", "same, cache without hash record", ours=statistics.median(bare),
           baseline=statistics.median(base), unit="s", baseline_name="delphi-utils 0.3.24 FilesystemArchiveDiffer")
    ok = same_lists and same_rows and same_new and target_met(ratio, TARGET)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
